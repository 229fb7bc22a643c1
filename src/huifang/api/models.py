"""API tokens of system accounts (intraday events, MRG-3/MRG-4/SPC-2 "intraday through the API").

A token is a bearer credential for one user: what it may do is what the user's role
grants and data scope allow (SPEC §0). Only its SHA-256 is kept; the token itself is
shown once, when it is created (``huifang apitoken create``). A revoked token stays,
so that the audit trail's references to it keep their meaning.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True)


class ApiToken(models.Model):
    """接口令牌: a named bearer token of one user; ``digest`` = SHA-256 of the token."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.PROTECT,
        related_name="api_tokens",
    )
    name = models.CharField(_("名称"), max_length=64)
    prefix = models.CharField(_("前缀"), max_length=16)  # shown in lists and audit rows
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"))
    revoked_at = models.DateTimeField(_("吊销时间"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["user_id", "name", "id"]
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=models.Q(revoked_at__isnull=True),
                name="uniq_active_api_token_name",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.name} ({self.prefix}…)"  # never the token
