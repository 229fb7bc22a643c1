"""Policies, their versions and rules (SPEC preamble, CLS-5, §4).

A ``Policy`` is the brokerage's regulation; a ``PolicyVersion`` a complete set of
``Rule`` rows with an effective date, author and reason. Drafts are editable; an
approved version is frozen — by the services, by ``save``/``delete`` here, and by
database triggers (``policy.triggers``), so that an auditor can trust that every
class and task citing a version was produced by exactly those rules.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from huifang.core.fields import KeyField
from huifang.policy.choices import VersionStatus


class VersionFrozen(RuntimeError):
    """An approved policy version (or one of its rules) was about to change."""


class Policy(models.Model):
    """制度: the brokerage's versioned set of classification and callback rules."""

    code = KeyField(_("制度代码"), max_length=32, primary_key=True)
    name = models.CharField(_("名称"), max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = _("制度")
        verbose_name_plural = _("制度")

    def __str__(self) -> str:
        return self.name


class PolicyVersion(models.Model):
    """One version of a policy: draft until a compliance user (not its author) approves it."""

    policy = models.ForeignKey(
        Policy, verbose_name=_("制度"), on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField(_("版本号"))
    status = models.CharField(
        _("状态"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    effective_from = models.DateField(_("生效日期"))
    reason = models.TextField(_("修订理由"))
    based_on = models.ForeignKey(
        "self",
        verbose_name=_("基于版本"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    author = models.CharField(_("起草人"), max_length=150)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("起草时间"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("批准人"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("批准时间"), null=True, blank=True)
    approval_note = models.TextField(_("批准意见"), blank=True)
    # CLS-5: whether this version changed a class standard, and the reason compliance gave
    # for a change beyond the yearly limit.
    changes_standard = models.BooleanField(_("调整分类标准"), default=False)
    standard_override_reason = models.TextField(_("标准调整超限理由"), blank=True)

    class Meta:
        ordering = ["policy", "-number"]
        verbose_name = _("制度版本")
        verbose_name_plural = _("制度版本")
        constraints = [
            models.UniqueConstraint(fields=["policy", "number"], name="uniq_policy_version")
        ]

    def __str__(self) -> str:
        return f"{self.policy_id} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and _stored_status(self.pk) == VersionStatus.APPROVED:
            raise VersionFrozen(f"{self}: an approved version cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if _stored_status(self.pk) == VersionStatus.APPROVED:
            raise VersionFrozen(f"{self}: an approved version cannot be deleted")
        return super().delete(*args, **kwargs)

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


def _stored_status(pk: int | None) -> str | None:
    if pk is None:
        return None
    return PolicyVersion.objects.filter(pk=pk).values_list("status", flat=True).first()


class Rule(models.Model):
    """One rule of a version: an instance of a rule kind (``policy.kinds``) with its parameters.

    ``code`` is unique in the version ("CLS-1", "CLS-8.important"); ``spec_id`` is the
    SPEC ID it implements and ``citation`` the seed article, both shown in the UI.
    """

    version = models.ForeignKey(
        PolicyVersion, verbose_name=_("版本"), on_delete=models.PROTECT, related_name="rules"
    )
    position = models.PositiveIntegerField(_("顺序"))
    code = models.CharField(_("规则代码"), max_length=40)
    spec_id = models.CharField(_("规则编号"), max_length=16)
    kind = models.CharField(_("规则类型"), max_length=40)
    title = models.CharField(_("名称"), max_length=200)
    citation = models.CharField(_("来源"), max_length=200)
    note = models.TextField(_("说明"), blank=True)
    enabled = models.BooleanField(_("启用"), default=True)
    params = models.JSONField(_("参数"))

    class Meta:
        ordering = ["version", "position"]
        verbose_name = _("规则")
        verbose_name_plural = _("规则")
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="uniq_rule_code_in_version")
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.version})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if _stored_status(self.version_id) == VersionStatus.APPROVED:
            raise VersionFrozen(f"{self}: the rules of an approved version cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        if _stored_status(self.version_id) == VersionStatus.APPROVED:
            raise VersionFrozen(f"{self}: the rules of an approved version cannot be deleted")
        return super().delete(*args, **kwargs)
