"""Orders: special callbacks and plans given by head office (SPEC §4: SPC-1, PLAN-1, IB-1, MRG-8).

- ``Order``: one 专项回访 (SPC-1, ordered by a department with its own questions), one plan
  (PLAN-1: scope, targets, count, time, method, content, purpose, result handling), one
  investment-banking callback plan (IB-1) or one supervisor plan that rates the service
  staff (MRG-8). Issuing it gives every target one purpose through ``callbacks.adhoc``.
- ``OrderTarget``: one target of an order — a client (the callback's target), and for MRG-8
  the service staff member the callback rates — with the task and purpose issuing made.

Scope: HQ roles that order callbacks see every order; a branch user sees the issued orders
with a target in his branches, and of them only those targets (``access.scope_of``).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from huifang.callbacks.choices import Level, TaskKind
from huifang.core.scope import BranchScopedQuerySet
from huifang.orders import access
from huifang.orders.choices import OrderRule, OrderStatus
from huifang.workbench.choices import Method


class OrderQuerySet(models.QuerySet["Order"]):
    # a company-wide order reaches branches through its targets (the scope matrix reads this)
    branch_field = "targets__branch"

    def visible_to(self, user: Any) -> OrderQuerySet:
        """All orders for HQ roles; else the issued orders with a target in the user's units."""
        scope = access.scope_of(user)
        if scope is None:
            return self
        if not scope:
            return self.none()
        targets = OrderTarget.objects.filter(branch_id__in=sorted(scope)).values("order_id")
        return self.exclude(status=OrderStatus.DRAFT).filter(pk__in=targets)


class Order(models.Model):
    """专项回访/回访计划: a department's order or a plan, issued as one purpose per target."""

    number = models.CharField(_("编号"), max_length=20, unique=True)  # ZX2026-0001
    rule_code = models.CharField(_("规则"), max_length=8, choices=OrderRule.choices)
    title = models.CharField(_("名称"), max_length=200)
    ordered_by_unit = models.ForeignKey(
        "org.Unit", verbose_name=_("下达部门"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    level = models.CharField(_("级别"), max_length=16, choices=Level.choices)
    kind = models.CharField(_("类型"), max_length=16, choices=TaskKind.choices)
    method = models.CharField(_("回访方式"), max_length=16, choices=Method.choices, blank=True)
    # PLAN-1 (000 代销私募细则 三.1, 港股通模板 三.2): scope, count, content, purpose, handling
    scope = models.TextField(_("回访范围"), blank=True)
    planned_count = models.PositiveIntegerField(_("计划回访数量"), null=True, blank=True)
    content = models.TextField(_("回访内容"), blank=True)
    purpose = models.TextField(_("回访目的"), blank=True)
    result_handling = models.TextField(_("结果处理"), blank=True)
    # SPC-1: the ordering department's own items, added to F3 as questionnaire SPC<id>
    questions = models.JSONField(_("专项问题"), default=list, blank=True)
    questionnaire_code = models.CharField(_("问卷"), max_length=16, blank=True)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    records_due = models.DateField(_("记录报送截止日"))
    status = models.CharField(
        _("状态"), max_length=8, choices=OrderStatus.choices, default=OrderStatus.DRAFT
    )
    created_by = models.CharField(_("创建人"), max_length=150)
    created_at = models.DateTimeField(_("创建时间"))
    issued_by = models.CharField(_("下达人"), max_length=150, blank=True)
    issued_at = models.DateTimeField(_("下达时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("专项回访与回访计划")
        verbose_name_plural = _("专项回访与回访计划")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="order_dates"
            )
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("orders:detail", args=[self.pk])

    @property
    def is_draft(self) -> bool:
        return self.status == OrderStatus.DRAFT


class OrderTargetQuerySet(BranchScopedQuerySet["OrderTarget"]):
    branch_field = "branch"

    def visible_to(self, user: Any) -> BranchScopedQuerySet[OrderTarget]:
        """HQ roles that order callbacks see every target; others the targets of their units."""
        return self if access.sees_all(user) else super().visible_to(user)


class OrderTarget(models.Model):
    """One target of an order: a client, and for MRG-8 the service staff member it rates.

    ``task`` and ``purpose`` are set when the order is issued (the purpose's key is
    ``<rule>:order<id>:<client_id>``); a target without a client is a staff member called
    back himself (the task's ``target_staff``).
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="targets")
    client = models.ForeignKey(
        "clients.Client", verbose_name=_("客户"), on_delete=models.PROTECT, null=True,
        blank=True, db_constraint=False, related_name="+",
    )  # fmt: skip
    staff = models.ForeignKey(
        "org.Staff", verbose_name=_("员工"), on_delete=models.PROTECT, null=True, blank=True,
        db_constraint=False, related_name="+",
    )  # fmt: skip
    branch = models.ForeignKey(
        "org.Unit", verbose_name=_("营业部"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    task = models.ForeignKey(
        "callbacks.Task", verbose_name=_("回访任务"), on_delete=models.PROTECT, null=True,
        blank=True, db_constraint=False, related_name="+",
    )  # fmt: skip
    purpose = models.ForeignKey(
        "callbacks.Purpose", verbose_name=_("回访目的"), on_delete=models.PROTECT, null=True,
        blank=True, db_constraint=False, related_name="+",
    )  # fmt: skip

    objects = OrderTargetQuerySet.as_manager()

    class Meta:
        ordering = ["order", "branch", "client", "id"]
        verbose_name = _("回访对象")
        verbose_name_plural = _("回访对象")
        constraints = [
            models.UniqueConstraint(
                fields=["order", "client"],
                condition=models.Q(client__isnull=False),
                name="uniq_order_client",
            ),
            models.CheckConstraint(
                condition=models.Q(client__isnull=False) | models.Q(staff__isnull=False),
                name="order_target_has_a_target",
            ),
        ]
        indexes = [models.Index(fields=["branch", "order"])]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.client_id or self.staff_id}"

    def purpose_key(self, rule_code: str) -> str:
        """The purpose's idempotency key (issue-8 design): ``SPC-1:order12:K0000001``."""
        return f"{rule_code}:order{self.order_id}:{self.client_id or 'S' + str(self.staff_id)}"
