"""Plans, tasks, purposes, their history and the nightly runs (SPEC §4, §12).

- ``NightlyRun``: one business date of ``huifang run``; idempotent per date.
- ``Plan``: one rule, period and stratum (SPEC §12 plan fields) with its seed (CON-7).
- ``PlanEntry``: a member of a plan's population, the day it joined, whether it was
  sampled or skipped at the quarterly cap — so ``plan redraw`` can replay the draw.
- ``Task``: one contact with one client at one level and kind (CON-4); open tasks
  are unique per (client, level, kind).
- ``Purpose``: one obligation a task serves: rule, plan, due date, triggering facts.
- ``TaskEvent``: append-only history (created, purpose added, assigned with its
  recusal proof, reassigned, unassigned); one audited change set per run.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.utils.translation import gettext_lazy as _

from huifang.callbacks.choices import (
    OPEN_STATUSES,
    Level,
    RunStatus,
    TaskEventKind,
    TaskKind,
    TaskStatus,
)
from huifang.core.scope import BranchScopedQuerySet


class NightlyRun(models.Model):
    """One ``huifang run --date D``: its policy version, status and per-rule summary."""

    business_date = models.DateField(_("业务日期"), unique=True)
    status = models.CharField(_("状态"), max_length=16, choices=RunStatus.choices)
    policy_version = models.ForeignKey(
        "policy.PolicyVersion",
        verbose_name=_("制度版本"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    summary = models.JSONField(_("汇总"), default=dict)

    class Meta:
        ordering = ["-business_date"]
        verbose_name = _("夜间批处理")
        verbose_name_plural = _("夜间批处理")

    def __str__(self) -> str:
        return f"run {self.business_date}"


class PlanQuerySet(BranchScopedQuerySet["Plan"]):
    branch_field = "branch"


class Plan(models.Model):
    """回访计划: one rule's population, required and sampled counts for a period and stratum."""

    rule_code = models.CharField(_("规则代码"), max_length=40)
    rule_id = models.CharField(_("规则编号"), max_length=16)
    period = models.CharField(_("期间"), max_length=16)
    period_start = models.DateField(_("期间开始"))
    period_end = models.DateField(_("期间结束"))
    stratum = models.CharField(_("层"), max_length=32, blank=True)  # "" = company-wide
    branch = models.ForeignKey(
        "org.Unit",
        verbose_name=_("营业部"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="+",
    )
    level = models.CharField(_("级别"), max_length=16, choices=Level.choices)
    share = models.DecimalField(_("抽样比例"), max_digits=5, decimal_places=4)
    population = models.PositiveIntegerField(_("总体"), default=0)
    required = models.PositiveIntegerField(_("应回访数"), default=0)
    sampled = models.PositiveIntegerField(_("已抽取数"), default=0)
    skipped_at_cap = models.PositiveIntegerField(_("因上限未抽"), default=0)
    seed = models.CharField(_("抽样种子"), max_length=64)
    policy_version = models.ForeignKey(
        "policy.PolicyVersion",
        verbose_name=_("制度版本"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    as_of = models.DateField(_("截至"))

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "rule_code", "stratum"]
        verbose_name = _("回访计划")
        verbose_name_plural = _("回访计划")
        constraints = [
            models.UniqueConstraint(
                fields=["rule_code", "period", "stratum"], name="uniq_plan_stratum"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_code} {self.period} {self.stratum or '公司'}"

    @property
    def coverage(self) -> float:
        return self.sampled / self.population if self.population else 0.0


class PlanEntry(models.Model):
    """A member of a plan's population (CON-7, CON-8): joined on ``added_on``."""

    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, db_constraint=False, related_name="entries"
    )
    client = models.ForeignKey(
        "clients.Client",
        on_delete=models.PROTECT,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    added_on = models.DateField(_("加入日期"))
    sampled = models.BooleanField(_("已抽取"), default=False)
    sampled_on = models.DateField(_("抽取日期"), null=True, blank=True)
    skipped_at_cap = models.BooleanField(_("因上限未抽"), default=False)

    class Meta:
        verbose_name = _("计划总体成员")
        verbose_name_plural = _("计划总体成员")
        constraints = [models.UniqueConstraint(fields=["plan", "client"], name="uniq_plan_entry")]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.client_id}"


class TaskQuerySet(BranchScopedQuerySet["Task"]):
    branch_field = "branch"

    def open(self) -> TaskQuerySet:
        return self.filter(status__in=OPEN_STATUSES)


class Task(models.Model):
    """回访任务: one contact with one client at one level and kind, serving its purposes (CON-4).

    A task targets a client, or — for broker callbacks (BRK-4) — a staff member
    (``target_staff``, ``client`` empty). ``opens_at`` holds a task closed until a
    cooling-off ends (PROD-*, AMAC Art. 29–31); ``overdue_since`` is the nightly run's
    overdue mark (SPEC §12).
    """

    # No single-column index on client, assignee or run: the nightly run writes every index
    # (issue 6); (client, quarter) and (assignee, status) serve a filter on either alone,
    # and nothing reads tasks by run (the run's change set is its events).
    client = models.ForeignKey(
        "clients.Client", verbose_name=_("客户"), on_delete=models.PROTECT, db_constraint=False,
        null=True, blank=True, db_index=False, related_name="callback_tasks",
    )  # fmt: skip
    target_staff = models.ForeignKey(
        "org.Staff", verbose_name=_("回访对象(员工)"), on_delete=models.PROTECT, null=True,
        blank=True, db_constraint=False, related_name="+",
    )  # fmt: skip
    branch = models.ForeignKey(
        "org.Unit",
        verbose_name=_("营业部"),
        on_delete=models.PROTECT,
        db_constraint=False,
        related_name="+",
    )
    level = models.CharField(_("级别"), max_length=16, choices=Level.choices)
    kind = models.CharField(_("类型"), max_length=16, choices=TaskKind.choices)
    status = models.CharField(
        _("状态"), max_length=16, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    due_date = models.DateField(_("截止日期"))
    created_on = models.DateField(_("生成日期"))
    quarter = models.CharField(_("季度"), max_length=8)
    counts_to_cap = models.BooleanField(_("计入季度上限"), default=True)
    cap_exception = models.BooleanField(_("超季度上限"), default=False)
    cap_reason = models.TextField(_("超限原因"), blank=True)
    assignee = models.ForeignKey(
        "org.Staff", verbose_name=_("回访人员"), on_delete=models.PROTECT, null=True, blank=True,
        db_constraint=False, db_index=False, related_name="+",
    )  # fmt: skip
    unassigned_reason = models.TextField(_("未分配原因"), blank=True)
    opens_at = models.DateTimeField(_("可回访时间"), null=True, blank=True)
    overdue_since = models.DateField(_("逾期日期"), null=True, blank=True)
    # the workbench queue skips a task until then (EXE-3: a failed try is retried later)
    retry_after = models.DateTimeField(_("再次回访时间"), null=True, blank=True)
    run = models.ForeignKey(
        NightlyRun,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
    )

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("回访任务")
        verbose_name_plural = _("回访任务")
        constraints = [
            models.UniqueConstraint(
                fields=["client", "level", "kind"],
                condition=models.Q(status__in=["open", "assigned", "in_progress"]),
                name="uniq_open_task_per_contact",
            ),
            models.UniqueConstraint(
                fields=["target_staff", "level", "kind"],
                condition=models.Q(status__in=["open", "assigned", "in_progress"]),
                name="uniq_open_task_per_staff_target",
            ),
            models.CheckConstraint(
                condition=models.Q(client__isnull=False) | models.Q(target_staff__isnull=False),
                name="task_has_a_target",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "quarter"]),
            models.Index(fields=["assignee", "status"]),
            # "next task" (workbench.queue.own_candidates): an agent's working tasks in urgency
            # order, so the most urgent free one is read off the index instead of sorting all
            # of his tasks (63 ms → 1 ms on PostgreSQL with 16,667 tasks per agent, issue 7)
            models.Index(
                F("assignee"),
                ExpressionWrapper(Q(overdue_since__isnull=True), output_field=BooleanField()),
                F("due_date"),
                F("id"),
                condition=Q(status__in=["assigned", "in_progress"]),
                name="task_queue_order",
            ),
            # the nightly overdue marks (§12) read only open, unmarked tasks by due date
            models.Index(
                fields=["due_date"],
                condition=models.Q(
                    overdue_since__isnull=True, status__in=["open", "assigned", "in_progress"]
                ),
                name="task_due_unmarked",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.client_id or self.target_staff_id} {self.level}/{self.kind}"


class Purpose(models.Model):
    """回访目的: one obligation a task serves, citing rule, plan and triggering facts (CON-4)."""

    task = models.ForeignKey(
        Task, on_delete=models.PROTECT, db_constraint=False, related_name="purposes"
    )
    key = models.CharField(_("唯一键"), max_length=120)  # idempotency per date: uniq_purpose_key
    rule_code = models.CharField(_("规则代码"), max_length=40)
    rule_id = models.CharField(_("规则编号"), max_length=16)
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, null=True, blank=True, db_constraint=False, related_name="+"
    )
    # no index (issue 6: the nightly run writes each): nothing reads purposes by version;
    # only discarding a draft version scans them once, for PROTECT
    policy_version = models.ForeignKey(
        "policy.PolicyVersion", on_delete=models.PROTECT, db_constraint=False, db_index=False,
        related_name="+",
    )  # fmt: skip
    business_date = models.DateField(_("触发日期"))
    due_date = models.DateField(_("截止日期"))
    cap_exempt = models.BooleanField(_("不计入季度上限"), default=False)
    facts = models.TextField(_("触发事实"), blank=True)

    class Meta:
        ordering = ["rule_code"]
        # the nightly run reads a periodic rule's purposes of the period so far (done keys)
        indexes = [models.Index(fields=["rule_code", "business_date"])]
        # a constraint rather than unique=True, which on PostgreSQL adds a varchar_pattern_ops
        # twin for LIKE: keys are only ever matched whole (issue 6: one index less to write)
        constraints = [models.UniqueConstraint(fields=["key"], name="uniq_purpose_key")]
        verbose_name = _("回访目的")
        verbose_name_plural = _("回访目的")

    def __str__(self) -> str:
        return f"{self.rule_code} → task {self.task_id}"

    @property
    def facts_dict(self) -> dict[str, Any]:
        return json.loads(self.facts) if self.facts else {}


class TaskEvent(models.Model):
    """Append-only history of a task; an assignment's ``detail`` is its recusal proof (CON-1, CON-2)."""

    run = models.ForeignKey(
        NightlyRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    task = models.ForeignKey(
        Task, on_delete=models.PROTECT, db_constraint=False, related_name="events"
    )
    event = models.CharField(_("事件"), max_length=16, choices=TaskEventKind.choices)
    staff = models.ForeignKey(  # no index: nothing reads events by staff (issue 6)
        "org.Staff",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    detail = models.TextField(_("详情"), blank=True)
    business_date = models.DateField(_("业务日期"))
    at = models.DateTimeField(_("时间"))
    actor = models.CharField(_("操作人"), max_length=150)

    class Meta:
        ordering = ["id"]
        verbose_name = _("回访任务事件")
        verbose_name_plural = _("回访任务事件")

    def __str__(self) -> str:
        return f"{self.task_id} {self.event}"

    @property
    def detail_dict(self) -> dict[str, Any]:
        return json.loads(self.detail) if self.detail else {}


class VerificationListEntry(models.Model):
    """STOCK-1: an existing client listed for data verification (核实、补齐或者更正, 004 §12(2)).

    Listed by a branch or head office (screen or upload); the nightly run turns each
    entry listed on or before the business date into one STOCK-1 purpose, once.
    """

    client = models.ForeignKey(
        "clients.Client", verbose_name=_("客户"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    branch = models.ForeignKey(
        "org.Unit", verbose_name=_("营业部"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    listed_on = models.DateField(_("列入日期"))
    reason = models.TextField(_("核实事项"))
    listed_by = models.CharField(_("列入人"), max_length=150)
    source = models.CharField(_("来源"), max_length=200, blank=True)

    objects = BranchScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-listed_on", "id"]
        verbose_name = _("存量客户核实名单")
        verbose_name_plural = _("存量客户核实名单")

    def __str__(self) -> str:
        return f"STOCK-1 {self.client_id} {self.listed_on}"
