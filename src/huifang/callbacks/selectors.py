"""Reads of plans and tasks: the §12 exports, plan coverage, "why does this task exist?", STOCK-1 list.

Every read a user makes goes through ``visible_to(user)``; details answer 404 outside the scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huifang.callbacks.choices import OPEN_STATUSES
from huifang.callbacks.models import (
    Plan,
    PlanEntry,
    Purpose,
    Task,
    TaskEvent,
    VerificationListEntry,
)
from huifang.callbacks.rules import sample_order
from huifang.core import clock
from huifang.core.pii import scrub
from huifang.core.scope import get_visible_or_404, unit_scope
from huifang.org.choices import Position
from huifang.policy.kinds import KINDS
from huifang.policy.models import Rule

TASK_COLUMNS = [
    "task_id",
    "client_id",
    "branch_code",
    "level",
    "kind",
    "purposes",
    "due_date",
    "status",
    "assignee",
]
PLAN_COLUMNS = ["plan_id", "rule_id", "period", "branch_code", "population", "required", "sampled", "seed",
                "policy_version"]  # fmt: skip


def task_export_rows() -> Iterator[list[Any]]:
    """SPEC §12 ``tasks``: every task, purposes as sorted rule IDs joined by ``;``.

    A broker callback (BRK-4) targets a staff member, not a client: its ``client_id`` is
    empty (no client is called) and its ``branch_code`` the broker's branch; the columns
    stay those of §12, and the broker is the task's ``target_staff`` on the task screens.
    """
    purposes: dict[int, set[str]] = {}
    for task_id, rule_id in Purpose.objects.values_list("task_id", "rule_id").iterator(
        chunk_size=20_000
    ):
        purposes.setdefault(task_id, set()).add(rule_id)
    rows = Task.objects.order_by("id").values_list(
        "id", "client_id", "branch_id", "level", "kind", "due_date", "status", "assignee_id"
    )
    for pk, client, branch, level, kind, due, status, assignee in rows.iterator(chunk_size=20_000):
        yield [pk, client or "", branch, level, kind, ";".join(sorted(purposes.get(pk, ()))), due.isoformat(),
               status, assignee or ""]  # fmt: skip


def plan_export_rows() -> Iterator[list[Any]]:
    """SPEC §12 ``plans``: population, required = ceil(share × population), sampled, seed, version."""
    rows = Plan.objects.order_by("id").values_list(
        "id", "rule_id", "period", "stratum", "population", "required", "sampled", "seed",
        "policy_version__number",
    )  # fmt: skip
    for row in rows.iterator(chunk_size=20_000):
        yield list(row)


# ---------------------------------------------------------------- screens (issue 5 item 6)

FACT_LABELS: dict[str, Any] = {
    "open_date": _("开户日期"),
    "introducer": _("引荐人"),
    "broker": _("证券经纪人"),
    "assets": _("资产"),
    "assets_date": _("资产日期"),
    "class": _("客户分类"),
    "last_trade_date": _("最近交易日期"),
    "ranking": _("排名类别"),
    "rank": _("名次"),
    "amount": _("金额"),
    "stratum": _("排名范围"),
    "event_id": _("事件编号"),
    "event_type": _("事件类型"),
    "source": _("来源"),
    "staff_id": _("员工编号"),
    "leave_date": _("离职日期"),
    "relation": _("与客户的关系"),
    "rule": _("规则"),
    "key": _("唯一键"),
    "reason": _("核实事项"),
    "listed_on": _("列入日期"),
    "listed_by": _("列入人"),
    "entry_id": _("名单编号"),
    "standard": _("分类标准"),
    "advisory_contract": _("投顾签约"),
    "adviser": _("理财服务人员"),
    "position": _("岗位"),
    "client_id": _("客户号"),
    "trade_date": _("交易日期"),
    "trade_amount": _("成交金额"),
    "trade_count": _("成交笔数"),
    "lost_since": _("流失起始日"),
    "months": _("无交易月数"),
    # orders and plans (SPC-1, PLAN-1, IB-1, MRG-8) and complaints' follow-ups (CMP-1)
    "order": _("指令编号"),
    "title": _("名称"),
    "questionnaire": _("问卷"),
    "ordered_by": _("下达部门"),
    "records_due": _("记录报送截止日"),
    "service_staff": _("被评价的服务人员"),
}
RELATION_LABELS: dict[str, Any] = {
    "introducer": _("引荐人"),
    "broker": _("证券经纪人"),
    "adviser": _("理财服务人员"),
}
DEADLINE_UNITS: dict[str, Any] = {
    "working_days": _("个工作日"),
    "trading_days": _("个交易日"),
    "calendar_days": _("个自然日"),
    "hours": _("小时"),
}
DEADLINE_STARTS: dict[str, Any] = {
    "opening": _("开户"),
    "event": _("事件发生"),
    "purchase_cooling_off": _("购买后冷静期结束"),
    "leave_date": _("员工离职"),
    "closure": _("办结"),
    "ranking": _("排名"),
    "order": _("下达"),
    "listing": _("列入核实名单"),
    "receipt": _("收到"),
    "week_end": _("当周结束"),
}
PERIODS: dict[str, Any] = {
    "day": _("当日"),
    "week": _("当周"),
    "month": _("当月"),
    "quarter": _("当季"),
    "half_year": _("当前半年"),
    "year": _("当年"),
}


def obligation_rule_codes() -> list[str]:
    """The codes of the obligation rules of every policy version (the rule filter's choices)."""
    obligation = [code for code, kind in KINDS.items() if kind.family == "obligation"]
    codes = Rule.objects.filter(kind__in=obligation).values_list("code", flat=True)
    return sorted(set(codes))


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` as a percentage with one decimal; "—" for an empty whole."""
    if not whole:
        return "—"
    value = Decimal(part * 100) / Decimal(whole)
    return f"{value.quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


@dataclass(frozen=True)
class PlanRow:
    """A plan with its coverage so far: of the required count (CON-8) and of the population."""

    plan: Plan

    @property
    def of_required(self) -> str:
        return percent(self.plan.sampled, self.plan.required)

    @property
    def of_population(self) -> str:
        return percent(self.plan.sampled, self.plan.population)

    @property
    def met(self) -> bool:
        return self.plan.sampled >= self.plan.required

    @property
    def share(self) -> str:
        value = (Decimal(self.plan.share) * 100).normalize()
        return f"{value:f}%"


def plan_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Plan]:
    """Plans per rule and period with their coverage so far, within the user's scope.

    ``filters``: ``rule`` (rule code), ``period`` (label, e.g. ``2026-10``), ``branch`` (code).
    """
    given = filters or {}
    plans = Plan.objects.visible_to(user).select_related("policy_version", "branch")
    if given.get("rule"):
        plans = plans.filter(rule_code=given["rule"])
    if given.get("period"):
        plans = plans.filter(period=given["period"])
    if given.get("branch"):
        plans = plans.filter(branch_id=given["branch"])
    return plans.order_by("-period_start", "rule_code", "stratum")


def plan_detail(*, user: Any, pk: int) -> Plan:
    """One plan in the user's scope (404 otherwise)."""
    plans = Plan.objects.select_related("policy_version", "branch")
    return get_visible_or_404(plans, user, pk=pk)


@dataclass(frozen=True)
class MemberRow:
    """A member of a plan's population with its CON-7 order key SHA-256(seed:client_id)."""

    entry: PlanEntry
    order_key: str


def plan_members(*, user: Any, plan: Plan, sampled_only: bool = False) -> QuerySet[PlanEntry]:
    """The population of a plan, by client id; only the clients of the user's scope."""
    entries = PlanEntry.objects.filter(plan=plan)
    scope = unit_scope(user)
    if scope is not None:
        entries = entries.filter(client__branch_id__in=sorted(scope))
    if sampled_only:
        entries = entries.filter(sampled=True)
    return entries.order_by("client_id")


def member_rows(plan: Plan, entries: Iterable[PlanEntry]) -> list[MemberRow]:
    return [MemberRow(e, sample_order(plan.seed, e.client_id)) for e in entries]


def is_overdue(task: Task, today: dt.date) -> bool:
    """Overdue: still open and marked by the nightly run, or past its due date (SPEC §12)."""
    if task.status not in OPEN_STATUSES:
        return False
    return task.overdue_since is not None or task.due_date < today


def _overdue_q(today: dt.date) -> Q:
    late = Q(overdue_since__isnull=False) | Q(due_date__lt=today)
    return Q(status__in=OPEN_STATUSES) & late


def task_list(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[Task]:
    """Tasks in the user's scope, by due date.

    ``filters``: ``status``, ``rule`` (a purpose's rule code), ``level``, ``overdue``
    ("yes"/"no"), ``assignee`` (staff id), ``due_from`` and ``due_to`` (dates).
    """
    given = filters or {}
    tasks = Task.objects.visible_to(user)
    for name in ("status", "level"):
        if given.get(name):
            tasks = tasks.filter(**{name: given[name]})
    if given.get("rule"):
        tasks = tasks.filter(
            Exists(Purpose.objects.filter(task=OuterRef("pk"), rule_code=given["rule"]))
        )
    if given.get("overdue") in ("yes", "no"):
        late = _overdue_q(clock.today())
        tasks = tasks.filter(late) if given["overdue"] == "yes" else tasks.exclude(late)
    if given.get("assignee"):
        tasks = tasks.filter(assignee_id=given["assignee"])
    if given.get("due_from"):
        tasks = tasks.filter(due_date__gte=given["due_from"])
    if given.get("due_to"):
        tasks = tasks.filter(due_date__lte=given["due_to"])
    return tasks.order_by("due_date", "id")


@dataclass(frozen=True)
class TaskRow:
    """A task of the list: its purposes' rule codes and the overdue mark."""

    task: Task
    rules: list[str]
    overdue: bool


def task_rows(tasks: Iterable[Task]) -> list[TaskRow]:
    """One page of tasks with their rule codes (one query for the purposes)."""
    tasks = list(tasks)
    codes: dict[int, set[str]] = {}
    purposes = Purpose.objects.filter(task_id__in=[t.pk for t in tasks])
    for task_id, code in purposes.values_list("task_id", "rule_code"):
        codes.setdefault(task_id, set()).add(code)
    today = clock.today()
    return [TaskRow(t, sorted(codes.get(t.pk, ())), is_overdue(t, today)) for t in tasks]


def task_detail(*, user: Any, pk: int) -> Task:
    """One task in the user's scope (404 otherwise)."""
    tasks = Task.objects.select_related("client", "target_staff", "assignee", "branch")
    return get_visible_or_404(tasks, user, pk=pk)


def deadline_text(params: Mapping[str, Any] | None) -> str:
    """A rule's deadline in words: "自开户起 5 个工作日" or "当年末前" (SPEC §4)."""
    deadline = (params or {}).get("deadline") or {}
    unit = deadline.get("unit")
    if unit in DEADLINE_UNITS:
        start = DEADLINE_STARTS.get(deadline.get("start") or "", deadline.get("start") or "")
        return gettext("自%(start)s起 %(count)s %(unit)s") % {
            "start": start,
            "count": deadline.get("count"),
            "unit": DEADLINE_UNITS[unit],
        }
    if unit == "period_end":
        period = PERIODS.get(deadline.get("period") or "", deadline.get("period") or "")
        return gettext("%(period)s结束前") % {"period": period}
    if unit == "per_plan":
        return gettext("按计划规定")
    if unit == "on_receipt":
        return gettext("收到即办")
    return "—"


def fact_rows(facts: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A purpose's triggering facts as labelled rows; any ID number or mobile in them masked."""
    rows = []
    for key, value in facts.items():
        label = str(FACT_LABELS.get(key, key))
        if key == "relation" and value in RELATION_LABELS:
            value = RELATION_LABELS[value]
        rows.append((label, scrub("—" if value is None or value == "" else str(value))))
    return rows


def recusal_rows(proof: Mapping[str, Any]) -> list[dict[str, Any]]:
    """CON-1: each relation checked, the staff holding it, and whether it is the assignee."""
    staff_id = proof.get("staff_id")
    return [
        {
            "relation": str(RELATION_LABELS.get(name, name)),
            "holder": holder or "",
            "conflict": bool(holder) and holder == staff_id,
        }
        for name, holder in (proof.get("relations_checked") or {}).items()
    ]


def task_explanation(task: Task, *, user: Any = None) -> dict[str, Any]:
    """Why the task exists: each purpose's rule and citation, plan and seed, facts; the recusal proof.

    With ``user``, a plan outside the user's scope is named but not linked.
    """
    purposes = list(
        task.purposes.select_related("plan", "policy_version").order_by("rule_code", "key")
    )
    rules = {
        (r.version_id, r.code): r
        for r in Rule.objects.filter(
            version_id__in={p.policy_version_id for p in purposes},
            code__in={p.rule_code for p in purposes},
        )
    }
    plan_ids = {p.plan_id for p in purposes if p.plan_id}
    visible = set(plan_ids)
    if user is not None:
        visible = set(
            Plan.objects.visible_to(user).filter(pk__in=plan_ids).values_list("pk", flat=True)
        )
    events = list(TaskEvent.objects.filter(task=task).select_related("staff").order_by("id"))
    proof_event = next((e for e in reversed(events) if e.event in ("assigned", "reassigned")), None)
    proof = proof_event.detail_dict if proof_event else None
    return {
        "purposes": [
            _purpose_view(p, rules.get((p.policy_version_id, p.rule_code)), task, visible)
            for p in purposes
        ],
        "events": events,
        "proof": proof,
        "proof_event": proof_event,
        "recusal": recusal_rows(proof) if proof else [],
        "proof_positions": _position_labels(proof) if proof else {},
    }


def _position_labels(proof: Mapping[str, Any]) -> dict[str, str]:
    """The proof's position codes in words: the assignee's and the barred ones (CON-2)."""
    labels = dict(Position.choices)

    def words(codes: Iterable[str]) -> str:
        return gettext("、").join(str(labels.get(code, code)) for code in codes)

    return {
        "position": words([proof.get("position") or ""]),
        "barred": words(proof.get("barred_positions") or ()),
        "barred_for_broker_clients": words(proof.get("barred_for_broker_clients") or ()),
    }


def _purpose_view(
    purpose: Purpose, rule: Rule | None, task: Task, visible: set[int]
) -> dict[str, Any]:
    plan = purpose.plan
    return {
        "purpose": purpose,
        "rule": rule,
        "facts": purpose.facts_dict,
        "fact_rows": fact_rows(purpose.facts_dict),
        "deadline": deadline_text(rule.params if rule else None),
        "plan": plan,
        "plan_visible": plan is not None and plan.pk in visible,
        "order_key": sample_order(plan.seed, task.client_id) if plan and task.client_id else "",
    }


def verification_list(*, user: Any, branch: str | None = None) -> QuerySet[VerificationListEntry]:
    """STOCK-1 list entries in the user's scope, newest first."""
    entries = VerificationListEntry.objects.visible_to(user).select_related("client", "branch")
    if branch:
        entries = entries.filter(branch_id=branch)
    return entries.order_by("-listed_on", "-id")
