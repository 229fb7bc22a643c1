"""Problems, needs, complaints and inquiries (SPEC §7, ISS-1..ISS-6) and their clock.

A ``Finding`` of a signed callback record (ISS-1) or a complaint/inquiry registered
from any channel (ISS-6) becomes an ``Issue``. ``RoutingRule`` maps its category to
a functional department (ISS-1); the department answers within 2 working days of
receiving it (ISS-2, ``answer_due``); the answer goes back to the branch leader, the
agent and the client (ISS-3, three feedback steps); the loop closes within 15
working days of raising (ISS-4, ``loop_due``). Breaches are flagged for evaluation
(ISS-5) and escalate to the department head, then compliance. Every step is an
``IssueStep`` row, append-only in the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huifang.core.scope import BranchScopedQuerySet, unit_scope
from huifang.issues.access import department_units
from huifang.issues.choices import (
    Channel,
    Escalation,
    IssueKind,
    IssueStatus,
    Source,
    StepKind,
)
from huifang.workbench.choices import FindingCategory

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from huifang.accounts.models import User


class RoutingRule(models.Model):
    """ISS-1: the functional department that answers issues of one category.

    The department is a unit code (head-office units come from the ``branches`` feed,
    so the seeded table may name a unit not loaded yet: such issues wait unrouted).
    """

    category = models.CharField(
        _("事项分类"), max_length=16, choices=FindingCategory.choices, unique=True
    )
    department = models.ForeignKey(
        "org.Unit", verbose_name=_("职能部门"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    updated_by = models.CharField(_("修改人"), max_length=150, blank=True)
    updated_at = models.DateTimeField(_("修改时间"), null=True, blank=True)

    class Meta:
        ordering = ["category"]
        verbose_name = _("问题分派规则")
        verbose_name_plural = _("问题分派规则")

    def __str__(self) -> str:
        return f"{self.category} → {self.department_id}"


class IssueQuerySet(BranchScopedQuerySet["Issue"]):
    """Scoped by ``branch``; a department's users also see the issues routed to it (ISS-2)."""

    branch_field = "branch"

    def visible_to(self, user: User | AnonymousUser) -> IssueQuerySet:
        scope = unit_scope(user)
        if scope is None:
            return self
        departments = department_units(user)
        if not departments:
            return super().visible_to(user)  # type: ignore[return-value]
        return self.filter(
            models.Q(branch_id__in=sorted(scope)) | models.Q(department_id__in=sorted(departments))
        )

    def open(self) -> IssueQuerySet:
        return self.exclude(status=IssueStatus.CLOSED)

    def routed_to(self, units: frozenset[str] | set[str]) -> IssueQuerySet:
        """The department inbox: issues routed to one of ``units``."""
        return self.filter(department_id__in=sorted(units))


class Issue(models.Model):
    """问题/投诉/咨询 (ISS-1, ISS-6) with its clock (ISS-2, ISS-4) and escalation (ISS-5)."""

    number = models.CharField(_("编号"), max_length=32, unique=True)
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    finding = models.OneToOneField(
        "workbench.Finding", verbose_name=_("回访发现"), on_delete=models.PROTECT, null=True,
        blank=True, db_constraint=False, related_name="issue",
    )  # fmt: skip
    record = models.ForeignKey(
        "workbench.Record", verbose_name=_("回访记录"), on_delete=models.PROTECT, null=True,
        blank=True, db_constraint=False, related_name="issues",
    )  # fmt: skip
    client = models.ForeignKey(
        "clients.Client", verbose_name=_("客户"), on_delete=models.PROTECT, null=True,
        blank=True, db_constraint=False, related_name="issues",
    )  # fmt: skip
    branch = models.ForeignKey(
        "org.Unit", verbose_name=_("营业部"), on_delete=models.PROTECT, db_constraint=False,
        related_name="+",
    )  # fmt: skip
    kind = models.CharField(_("类别"), max_length=16, choices=IssueKind.choices)
    category = models.CharField(_("事项分类"), max_length=16, choices=FindingCategory.choices)
    major = models.BooleanField(_("重大"), default=False)
    summary = models.TextField(pgettext_lazy("issue", "内容摘要"))
    department = models.ForeignKey(
        "org.Unit", verbose_name=_("职能部门"), on_delete=models.PROTECT, null=True,
        blank=True, db_constraint=False, related_name="+",
    )  # fmt: skip
    owner = models.ForeignKey(
        "org.Staff", verbose_name=_("首问负责人"), on_delete=models.PROTECT, null=True,
        blank=True, db_constraint=False, related_name="+",
    )  # fmt: skip
    agent = models.ForeignKey(
        "org.Staff", verbose_name=_("回访人/经办人"), on_delete=models.PROTECT, null=True,
        blank=True, db_constraint=False, related_name="+",
    )  # fmt: skip
    status = models.CharField(
        _("状态"), max_length=16, choices=IssueStatus.choices, default=IssueStatus.OPEN
    )
    raised_on = models.DateField(_("提出日期"))
    received_on = models.DateField(_("部门收到日期"), null=True, blank=True)
    answer_due = models.DateField(_("答复期限"), null=True, blank=True)
    loop_due = models.DateField(_("反馈期限"))
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    answered_by = models.CharField(_("答复人"), max_length=150, blank=True)
    answer = models.TextField(_("答复内容"), blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    warning_level = models.PositiveSmallIntegerField(_("预警"), default=0)
    escalation_level = models.PositiveSmallIntegerField(
        _("升级级别"), choices=Escalation.choices, default=Escalation.NONE
    )
    breached_answer = models.BooleanField(_("答复超时"), default=False)
    breached_loop = models.BooleanField(_("反馈超时"), default=False)
    registered_by = models.CharField(_("登记人"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("创建时间"))

    objects = IssueQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_on", "-id"]
        verbose_name = _("问题与投诉")
        verbose_name_plural = _("问题与投诉")
        indexes = [
            models.Index(fields=["branch", "status"]),
            models.Index(fields=["department", "status"]),
            models.Index(fields=["status", "loop_due"]),
            models.Index(fields=["raised_on"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_closed(self) -> bool:
        return self.status == IssueStatus.CLOSED

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None


class IssueStep(models.Model):
    """One step of an issue (routed, answered, feedback ×3, closed, warned, escalated …).

    Append-only (a database trigger refuses UPDATE and DELETE). ``clock`` names the due
    date a warning or escalation is about (``answer`` ISS-2, ``loop`` ISS-4); the unique
    constraint makes each warning and each escalation level happen once per clock.
    """

    issue = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(_("步骤"), max_length=24, choices=StepKind.choices)
    actor = models.CharField(_("操作人"), max_length=150)
    staff = models.ForeignKey(
        "org.Staff", verbose_name=_("员工"), on_delete=models.PROTECT, null=True, blank=True,
        db_constraint=False, related_name="+",
    )  # fmt: skip
    department = models.ForeignKey(
        "org.Unit", verbose_name=_("部门"), on_delete=models.PROTECT, null=True, blank=True,
        db_constraint=False, related_name="+",
    )  # fmt: skip
    clock = models.CharField(_("时限"), max_length=8, blank=True)  # "" | answer | loop
    level = models.PositiveSmallIntegerField(_("级别"), default=0)
    at = models.DateTimeField(_("时间"))
    on = models.DateField(_("业务日期"))
    note = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering = ["issue", "at", "id"]
        verbose_name = _("处理步骤")
        verbose_name_plural = _("处理步骤")
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "kind", "clock", "level"],
                condition=models.Q(kind__in=[StepKind.WARNED, StepKind.ESCALATED]),
                name="issues_step_once_per_clock",
            ),
            models.UniqueConstraint(
                fields=["issue", "kind"],
                condition=models.Q(
                    kind__in=[
                        StepKind.ANSWERED,
                        StepKind.FEEDBACK_BRANCH,
                        StepKind.FEEDBACK_AGENT,
                        StepKind.FEEDBACK_CLIENT,
                        StepKind.CLOSED,
                    ]
                ),
                name="issues_step_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.issue_id} {self.kind}"
