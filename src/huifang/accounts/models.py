"""Users, linked to staff, the roles granted to them with a data scope (SPEC §0), their sessions."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from huifang.accounts.choices import Role, ScopeKind


class User(AbstractUser):
    """A person who signs in; usually a staff member of a unit."""

    staff = models.OneToOneField(
        "org.Staff",
        verbose_name=_("员工"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="user",
    )

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def roles(self) -> set[str]:
        """The role codes granted to the user."""
        return {grant.role for grant in self.role_grants.all()}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles() & set(roles))


class RoleGrant(models.Model):
    """A role held by a user over a scope: one unit, one region or all (SPEC §0)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    scope = models.CharField(_("数据范围"), max_length=16, choices=ScopeKind.choices)
    unit = models.ForeignKey(
        "org.Unit", verbose_name=_("机构"), on_delete=models.PROTECT, null=True, blank=True
    )
    region = models.ForeignKey(
        "org.Region", verbose_name=_("分公司"), on_delete=models.PROTECT, null=True, blank=True
    )
    granted_at = models.DateTimeField(_("授权时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("角色授权")
        verbose_name_plural = _("角色授权")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "scope", "unit", "region"], name="uniq_grant"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(scope=ScopeKind.ALL, unit__isnull=True, region__isnull=True)
                    | models.Q(scope=ScopeKind.REGION, unit__isnull=True, region__isnull=False)
                    | models.Q(scope=ScopeKind.BRANCH, unit__isnull=False, region__isnull=True)
                ),
                name="grant_scope_target",
            ),
        ]

    def __str__(self) -> str:
        target = self.unit_id or self.region_id or "*"
        return f"{self.user} {self.role}@{target}"

    def clean(self) -> None:
        if self.scope == ScopeKind.BRANCH and not self.unit_id:
            raise ValidationError(_("本机构范围须指定机构"))
        if self.scope == ScopeKind.REGION and not self.region_id:
            raise ValidationError(_("分公司范围须指定分公司"))


class UserSession(models.Model):
    """A session a user signed in with, recorded at login so that deactivation can end it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_ins")
    session_key = models.CharField(_("会话"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("登录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("登录会话")
        verbose_name_plural = _("登录会话")

    def __str__(self) -> str:
        return f"{self.user} @ {self.created_at}"  # never the key: it is a bearer credential
