"""Client classes, their history, the runs that set them, advisers and visits (SPEC §3).

- ``ClientClass``: the current class of a client under each class standard of the
  policy (``scheme`` = the standard's rule code, "CLS-1" the primary one).
- ``ClassChange``: every change of class with old, new, policy version, inputs, date
  and reason (CLS-9) — append-only (database triggers), written in bulk by the batch
  engine, one audited change set per ``ClassificationRun``.
- ``AdviserAssignment``: the named adviser of the client's branch (CLS-7).
- ``YearlyVisit``: the home visits a client received in a year; VIP, core and important
  clients are owed one (CLS-7).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from huifang.classification.choices import ChangeReason, RatingKind
from huifang.core.scope import BranchScopedQuerySet


class ClassificationRun(models.Model):
    """One rating: its kind, dates, policy version and what it changed (CLS-2..4, CLS-9)."""

    kind = models.CharField(_("评级类型"), max_length=16, choices=RatingKind.choices)
    rating_date = models.DateField(_("评级日期"))
    statistical_date = models.DateField(_("统计日"))
    commission_year = models.PositiveSmallIntegerField(_("佣金年度"))
    period = models.CharField(_("评级期间"), max_length=16)
    policy_version = models.ForeignKey(
        "policy.PolicyVersion", verbose_name=_("制度版本"), on_delete=models.PROTECT
    )
    client = models.ForeignKey(
        "clients.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )
    actor = models.CharField(_("操作人"), max_length=150)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    rated = models.PositiveIntegerField(_("评级客户数"), default=0)
    changed = models.PositiveIntegerField(_("分类变更数"), default=0)
    counts = models.JSONField(_("分类分布"), default=dict)
    timings = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("分类评级批次")
        verbose_name_plural = _("分类评级批次")
        indexes = [models.Index(fields=["kind", "period"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.period} #{self.pk}"


class ClientClassQuerySet(BranchScopedQuerySet["ClientClass"]):
    branch_field = "client__branch"


class ClientClass(models.Model):
    """The current class of a client under one class standard; ``class_code`` "" = none."""

    client = models.ForeignKey(
        "clients.Client",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,  # the (client, scheme) unique index serves
        related_name="classes",
    )
    scheme = models.CharField(_("分类标准"), max_length=40)
    class_code = models.CharField(_("类别"), max_length=32, blank=True)
    since = models.DateField(_("生效日期"))
    policy_version = models.ForeignKey(
        "policy.PolicyVersion",
        verbose_name=_("制度版本"),
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    reason = models.CharField(_("原因"), max_length=24, choices=ChangeReason.choices)
    run = models.ForeignKey(
        ClassificationRun,
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    objects = ClientClassQuerySet.as_manager()

    class Meta:
        ordering = ["client", "scheme"]
        verbose_name = _("客户类别")
        verbose_name_plural = _("客户类别")
        constraints = [
            models.UniqueConstraint(fields=["client", "scheme"], name="uniq_client_class_scheme")
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.scheme}={self.class_code}"


class ClassChangeQuerySet(BranchScopedQuerySet["ClassChange"]):
    branch_field = "client__branch"


class ClassChange(models.Model):
    """One change of class (CLS-9): old, new, policy version, inputs, date and reason.

    Append-only; ``inputs`` is the JSON text of the measures the standard used.
    """

    run = models.ForeignKey(
        ClassificationRun, on_delete=models.PROTECT, db_constraint=False, related_name="+"
    )
    client = models.ForeignKey(
        "clients.Client",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,  # the (client, effective_date) index serves
        related_name="class_changes",
    )
    scheme = models.CharField(_("分类标准"), max_length=40)
    old_class = models.CharField(_("原类别"), max_length=32, blank=True)
    new_class = models.CharField(_("新类别"), max_length=32, blank=True)
    reason = models.CharField(_("原因"), max_length=24, choices=ChangeReason.choices)
    effective_date = models.DateField(_("生效日期"))
    policy_version = models.ForeignKey(
        "policy.PolicyVersion",
        verbose_name=_("制度版本"),
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    inputs = models.TextField(_("评级依据"), blank=True)

    objects = ClassChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-effective_date", "-id"]
        verbose_name = _("客户类别变更")
        verbose_name_plural = _("客户类别变更")
        indexes = [models.Index(fields=["client", "effective_date"])]

    def __str__(self) -> str:
        return f"{self.client_id} {self.scheme} {self.old_class}→{self.new_class}"

    @property
    def inputs_dict(self) -> dict[str, Any]:
        return json.loads(self.inputs) if self.inputs else {}


class AdviserAssignmentQuerySet(BranchScopedQuerySet["AdviserAssignment"]):
    branch_field = "client__branch"


class AdviserAssignment(models.Model):
    """The named adviser (专属理财服务人员) of a client, from his branch (CLS-7)."""

    client = models.OneToOneField(
        "clients.Client",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        primary_key=True,
        db_constraint=False,
        related_name="adviser_assignment",
    )
    adviser = models.ForeignKey(
        "org.Staff", verbose_name=_("理财服务人员"), on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField(_("分配时间"))
    assigned_by = models.CharField(_("分配人"), max_length=150)

    objects = AdviserAssignmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("理财服务人员分配")
        verbose_name_plural = _("理财服务人员分配")
        indexes = [models.Index(fields=["adviser"])]

    def __str__(self) -> str:
        return f"{self.client_id} → {self.adviser_id}"


class YearlyVisitQuerySet(BranchScopedQuerySet["YearlyVisit"]):
    branch_field = "client__branch"


class YearlyVisit(models.Model):
    """The home visits a client received in one year (CLS-7, SVC-4).

    What he is owed follows from his class and the policy's CLS-7 rule (VIP, core and
    important clients at least once a year; ``selectors.visit_due``), so a rating
    writes nothing here; recording a visit does.
    """

    client = models.ForeignKey(
        "clients.Client",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,  # the (client, year) unique index serves
        related_name="yearly_visits",
    )
    year = models.PositiveSmallIntegerField(_("年度"))
    visits = models.PositiveSmallIntegerField(_("已拜访次数"), default=0)
    last_visited_on = models.DateField(_("最近拜访日期"), null=True, blank=True)
    last_visited_by = models.CharField(_("拜访人"), max_length=150, blank=True)

    objects = YearlyVisitQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "client"]
        verbose_name = _("年度上门拜访")
        verbose_name_plural = _("年度上门拜访")
        constraints = [
            models.UniqueConstraint(fields=["client", "year"], name="uniq_visit_client_year")
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.year} ×{self.visits}"
