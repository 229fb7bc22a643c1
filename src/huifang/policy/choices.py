"""Codes of the policy app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class VersionStatus(models.TextChoices):
    """Stored status; "in force", "scheduled" and "superseded" follow from dates (``version_state``)."""

    DRAFT = "draft", _("草稿")
    APPROVED = "approved", _("已批准")


class VersionState(models.TextChoices):
    """What a version is on a given day (shown in the UI)."""

    DRAFT = "draft", _("草稿")
    SCHEDULED = "scheduled", _("已批准待生效")
    IN_FORCE = "in_force", _("现行")
    SUPERSEDED = "superseded", _("已被取代")
