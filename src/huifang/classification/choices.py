"""Codes of client classification (SPEC §3, §12)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RatingKind(models.TextChoices):
    """What a classification run rates (CLS-2..4)."""

    ANNUAL = "annual", _("年度评级")
    QUARTERLY = "quarterly", _("季度评级")
    NEW_ACCOUNTS = "new_accounts", _("新开户分类")
    MANUAL = "manual", _("营业部动态分类")


class ChangeReason(models.TextChoices):
    """Why a class changed: the ``reason`` of ``huifang export classes`` (SPEC §12)."""

    ANNUAL = "annual", _("年度评级")
    QUARTERLY_UPGRADE = "quarterly_upgrade", _("季度升级")
    NEW_ACCOUNT = "new_account", _("新开户分类")
    MANUAL = "manual", _("营业部动态分类")


REASON_OF_KIND = {
    RatingKind.ANNUAL: ChangeReason.ANNUAL,
    RatingKind.QUARTERLY: ChangeReason.QUARTERLY_UPGRADE,
    RatingKind.NEW_ACCOUNTS: ChangeReason.NEW_ACCOUNT,
    RatingKind.MANUAL: ChangeReason.MANUAL,
}
