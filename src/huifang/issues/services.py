"""Every state change of an issue (SPEC §7, ISS-1..ISS-6, CMP-1).

Each service checks before writing (``IssueRefused``), runs in one transaction, appends
one ``IssueStep`` and one audit row per step. ``tick(today)`` is the scheduler's: it
warns one working day before a due date and escalates on a breach (ISS-5), each once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from huifang.accounts.permissions import user_has_role
from huifang.audit.services import audit_record
from huifang.calendars.service import CalendarYearMissing, add_working_days
from huifang.callbacks import adhoc
from huifang.callbacks.choices import Level, TaskKind
from huifang.clients.models import Client
from huifang.core import clock
from huifang.core.pii import scrub
from huifang.core.scope import unit_scope
from huifang.issues import access, params, rules
from huifang.issues.choices import (
    FEEDBACK_STEPS,
    Channel,
    Escalation,
    IssueKind,
    IssueStatus,
    Source,
    StepKind,
)
from huifang.issues.errors import IssueRefused
from huifang.issues.models import Issue, IssueStep, RoutingRule
from huifang.org.choices import UnitKind
from huifang.org.models import Staff, Unit
from huifang.workbench.actors import Actor
from huifang.workbench.choices import FindingCategory
from huifang.workbench.models import Record

ANSWER, LOOP = "answer", "loop"


# --- steps and audit -----------------------------------------------------------------------


def _step(
    issue: Issue, kind: str, actor: str, *, staff: Staff | None = None, note: str = "",
    department: str | None = None, clock_name: str = "", level: int = 0,
    today: dt.date | None = None, after: dict[str, Any] | None = None,
) -> IssueStep:  # fmt: skip
    """Append one step and its audit row (one state change, one row)."""
    now = clock.now()
    step = IssueStep.objects.create(
        issue=issue, kind=kind, actor=actor, staff=staff, department_id=department,
        clock=clock_name, level=level, at=now, on=today or now.date(), note=note,
    )  # fmt: skip
    audit_record(
        action=f"issues.{kind}", object_type="issues.Issue", object_id=str(issue.pk),
        branch_code=issue.branch_id, at=now,
        after={"number": issue.number, "status": issue.status, "step": step.pk,
               "department": issue.department_id, **(after or {})},
    )  # fmt: skip
    return step


def _locked(issue: Issue) -> Issue:
    return Issue.objects.select_for_update().get(pk=issue.pk)


def _visible_or_refuse(issue: Issue, actor: Actor) -> None:
    if not Issue.objects.visible_to(actor.user).filter(pk=issue.pk).exists():
        raise IssueRefused("not_found", _("问题不存在或不在您的数据范围内"), status=404)


def _calendar_refusal(exc: CalendarYearMissing) -> IssueRefused:
    """NFR-1: a due date in a year the calendar does not know is refused, never guessed."""
    return IssueRefused(
        "calendar_missing",
        _("%(year)s 年工作日历未载入,无法计算问题处理期限(NFR-1)") % {"year": exc.year},
        status=503,
    )


def _number(issue: Issue) -> str:
    return f"WT{issue.raised_on:%Y%m%d}-{issue.pk:06d}"


def _create(**fields: Any) -> Issue:
    """Create the issue, then give it its number (``WT<raised on>-<id>``)."""
    now = clock.now()
    issue = Issue.objects.create(number=f"tmp-{uuid.uuid4().hex[:28]}", created_at=now, **fields)
    issue.number = _number(issue)
    Issue.objects.filter(pk=issue.pk).update(number=issue.number)
    return issue


# --- routing (ISS-1) --------------------------------------------------------------------------


def department_for(category: str) -> Unit | None:
    """The department of the routing table for ``category``; None if none or not loaded."""
    rule = RoutingRule.objects.filter(category=category).first()
    if rule is None:
        return None
    return Unit.objects.filter(code=rule.department_id).exclude(unit_kind=UnitKind.BRANCH).first()


def _route_to(issue: Issue, unit: Unit, actor: str, *, kind: str = StepKind.ROUTED) -> None:
    """ISS-1/ISS-2: the department receives the issue today; its 2 working days start."""
    today = clock.today()
    issue.department = unit
    issue.received_on = max(today, issue.raised_on)
    issue.answer_due = rules.answer_due(issue.received_on)
    issue.status = IssueStatus.ROUTED
    issue.save(update_fields=["department", "received_on", "answer_due", "status"])
    _step(issue, kind, actor, department=unit.code,
          after={"received_on": issue.received_on, "answer_due": issue.answer_due})  # fmt: skip


def _route_by_table(issue: Issue, actor: str) -> None:
    unit = department_for(issue.category)
    if unit is not None:
        _route_to(issue, unit, actor)


def route(*, issue: Issue, actor: Actor, department: Unit | None = None) -> Issue:
    """Route (or reroute, before the answer) to ``department`` or by the table (ISS-1)."""
    if not user_has_role(actor.user, *access.ROUTERS):
        raise IssueRefused("forbidden", _("只有合规部可以分派问题(ISS-1)"), status=403)
    unit = department or department_for(issue.category)
    if unit is None or unit.unit_kind == UnitKind.BRANCH:
        raise IssueRefused("invalid", _("请选择总部职能部门"), status=400)
    try:
        rules.answer_due(max(clock.today(), issue.raised_on))
    except CalendarYearMissing as exc:
        raise _calendar_refusal(exc) from exc
    with transaction.atomic():
        issue = _locked(issue)
        if issue.status not in (IssueStatus.OPEN, IssueStatus.ROUTED):
            raise IssueRefused("wrong_state", _("已答复的问题不能再分派"))
        if issue.department_id == unit.code:
            raise IssueRefused("invalid", _("问题已分派给该部门"), status=400)
        kind = StepKind.REASSIGNED if issue.department_id else StepKind.ROUTED
        _route_to(issue, unit, actor.name, kind=kind)
    return issue


def routing_set(*, category: str, department: Unit, actor: Actor) -> RoutingRule:
    """Compliance edits the routing table (ISS-1); each change audited with before and after."""
    if not user_has_role(actor.user, *access.ROUTERS):
        raise IssueRefused("forbidden", _("只有合规部可以修改分派规则"), status=403)
    if category not in FindingCategory.values:
        raise IssueRefused("invalid", _("未知的事项分类"), status=400)
    if department.unit_kind == UnitKind.BRANCH:
        raise IssueRefused("invalid", _("请选择总部职能部门"), status=400)
    with transaction.atomic():
        rule = RoutingRule.objects.select_for_update().filter(category=category).first()
        before = rule.department_id if rule else None
        if before == department.code:
            return rule  # type: ignore[return-value]
        rule = rule or RoutingRule(category=category)
        rule.department, rule.updated_by, rule.updated_at = department, actor.name, clock.now()
        rule.save()
        audit_record(
            action="issues.routing_set", object_type="issues.RoutingRule",
            object_id=category, before={"department": before},
            after={"department": department.code}, at=rule.updated_at,
        )  # fmt: skip
    return rule


# --- raising (ISS-1) and registering (ISS-6) ----------------------------------------------------


def raise_from_record(
    record: Record, actor: Actor | str, findings: list[Any] | None = None
) -> list[Issue]:
    """ISS-1: every finding of a signed record becomes one issue, routed by the table.

    Idempotent on the finding: a finding that already has its issue is skipped.
    ``findings``: the record's findings if the caller has read them.
    """
    name = actor if isinstance(actor, str) else actor.name
    findings = list(record.findings.all()) if findings is None else findings
    if not findings:
        return []
    done = set(Issue.objects.filter(finding__in=findings).values_list("finding_id", flat=True))
    try:
        return _raise_findings(record, [f for f in findings if f.pk not in done], name)
    except CalendarYearMissing as exc:  # the caller's transaction (the signature) rolls back
        raise _calendar_refusal(exc) from exc


def _raise_findings(record: Record, findings: list[Any], name: str) -> list[Issue]:
    made: list[Issue] = []
    with transaction.atomic():
        for finding in findings:
            raised_on = record.callback_date
            issue = _create(
                source=Source.FINDING, channel=Channel.CALLBACK, finding=finding, record=record,
                client_id=record.client_id, branch_id=record.branch_id, kind=finding.kind,
                category=finding.category, summary=scrub(finding.text), agent_id=record.agent_id,
                raised_on=raised_on, loop_due=rules.loop_due(raised_on), registered_by=name,
            )  # fmt: skip
            _step(issue, StepKind.REGISTERED, name, note=record.number,
                  after={"source": issue.source, "kind": issue.kind, "category": issue.category,
                         "loop_due": issue.loop_due, "record": record.number})  # fmt: skip
            _route_by_table(issue, name)
            made.append(issue)
    return made


@dataclass(frozen=True)
class Registration:
    """What the register form gives (ISS-6)."""

    source: str  # complaint | inquiry
    channel: str
    category: str
    summary: str
    client: Client | None = None
    branch: Unit | None = None
    major: bool = False


def _check_registration(reg: Registration, actor: Actor) -> Unit:
    if not user_has_role(actor.user, *access.REGISTRARS):
        raise IssueRefused("forbidden", _("您的角色不能登记投诉或咨询"), status=403)
    if reg.source not in (Source.COMPLAINT, Source.INQUIRY):
        raise IssueRefused("invalid", _("只能登记投诉或咨询"), status=400)
    if reg.channel not in Channel.values or reg.category not in FindingCategory.values:
        raise IssueRefused("invalid", _("渠道或事项分类无效"), status=400)
    if not reg.summary.strip():
        raise IssueRefused("invalid", _("请填写内容摘要"), status=400)
    if reg.source == Source.COMPLAINT and reg.client is None:
        raise IssueRefused("no_client", _("投诉须指明客户,办结后据此回访(CMP-1)"), status=400)
    if reg.source == Source.INQUIRY and actor.staff is None:
        raise IssueRefused("no_staff", _("首问负责制:登记咨询的用户须关联员工(ISS-6)"), status=403)
    branch = reg.client.branch if reg.client is not None else reg.branch
    if branch is None or not branch.is_branch:
        raise IssueRefused("invalid", _("请指明客户或营业部"), status=400)
    scope = unit_scope(actor.user)
    if scope is not None and branch.code not in scope:
        raise IssueRefused("not_found", _("客户或营业部不在您的数据范围内"), status=404)
    return branch


def register(*, registration: Registration, actor: Actor) -> Issue:
    """ISS-6: a complaint or inquiry from any channel, under the same clock as ISS-1 issues.

    The registering staff member owns it (首问负责制) until it is answered.
    """
    reg = registration
    branch = _check_registration(reg, actor)
    today = clock.today()
    try:
        loop_due = rules.loop_due(today)
        if department_for(reg.category) is not None:
            rules.answer_due(today)  # routed at once: its ISS-2 clock must be known too
    except CalendarYearMissing as exc:
        raise _calendar_refusal(exc) from exc
    kind = IssueKind.COMPLAINT if reg.source == Source.COMPLAINT else IssueKind.INQUIRY
    with transaction.atomic():
        issue = _create(
            source=reg.source, channel=reg.channel, client=reg.client, branch=branch, kind=kind,
            category=reg.category, major=reg.major, summary=scrub(reg.summary.strip()),
            owner=actor.staff, raised_on=today, loop_due=loop_due, registered_by=actor.name,
        )  # fmt: skip
        _step(issue, StepKind.REGISTERED, actor.name, staff=actor.staff,
              after={"source": issue.source, "channel": issue.channel, "kind": kind,
                     "category": issue.category, "major": issue.major, "owner": issue.owner_id,
                     "loop_due": issue.loop_due, "client": issue.client_id})  # fmt: skip
        _route_by_table(issue, actor.name)
    return issue


def may_reassign(issue: Issue, user: Any) -> bool:
    """The owner himself, or a closer (ISS-4), may hand an issue over (ISS-6)."""
    staff_id = getattr(user, "staff_id", None)
    own = staff_id is not None and staff_id == issue.owner_id
    return own or user_has_role(user, *access.CLOSERS)


def reassign_owner(*, issue: Issue, to_staff: Staff, actor: Actor) -> Issue:
    """ISS-6 首问负责制: the first staff member asked keeps the inquiry until it is answered.

    Then its owner, or one who may close the loop (ISS-4), hands it over.
    """
    _visible_or_refuse(issue, actor)
    if not may_reassign(issue, actor.user):
        raise IssueRefused("forbidden", _("您不能转交该问题的首问负责人(ISS-6)"), status=403)
    with transaction.atomic():
        issue = _locked(issue)
        if issue.answered_at is None:
            raise IssueRefused("first_question", _("首问负责制:答复之前不能转交首问负责人(ISS-6)"))
        if issue.is_closed:
            raise IssueRefused("wrong_state", _("问题已办结"))
        if to_staff.leave_date is not None and to_staff.leave_date <= clock.today():
            raise IssueRefused("staff_left", _("该员工已离职,不能成为首问负责人"))
        before = issue.owner_id
        issue.owner = to_staff
        issue.save(update_fields=["owner"])
        _step(issue, StepKind.REASSIGNED, actor.name, staff=to_staff,
              after={"owner_before": before, "owner": to_staff.pk})  # fmt: skip
    return issue


# --- answer (ISS-2), feedback (ISS-3), close (ISS-4, CMP-1) -------------------------------


def answer(*, issue: Issue, actor: Actor, text: str) -> Issue:
    """ISS-2: a user of the routed department answers; late answers are flagged breaches."""
    if issue.department_id is None or issue.department_id not in access.department_units(
        actor.user
    ):
        raise IssueRefused("not_department", _("只有承办部门可以答复(ISS-2)"), status=403)
    if not text.strip():
        raise IssueRefused("invalid", _("请填写答复内容"), status=400)
    with transaction.atomic():
        issue = _locked(issue)
        if issue.status != IssueStatus.ROUTED:
            raise IssueRefused("wrong_state", _("问题不在待答复状态"))
        now = clock.now()
        issue.answer, issue.answered_at, issue.answered_by = scrub(text.strip()), now, actor.name
        issue.status = IssueStatus.ANSWERED
        late = issue.answer_due is not None and now.date() > issue.answer_due
        issue.breached_answer = issue.breached_answer or late
        issue.save(update_fields=["answer", "answered_at", "answered_by", "status",
                                  "breached_answer"])  # fmt: skip
        _step(issue, StepKind.ANSWERED, actor.name, staff=actor.staff,
              department=issue.department_id,
              after={"answer_due": issue.answer_due, "late": late})  # fmt: skip
    return issue


def feedback_roles(step: str) -> tuple[str, ...]:
    """ISS-3: the branch leader acknowledges himself; agent and client are told by the branch."""
    return access.FEEDBACK_BRANCH if step == StepKind.FEEDBACK_BRANCH else access.FEEDBACK_OTHERS


def done_feedback(issue: Issue) -> set[str]:
    return set(issue.steps.filter(kind__in=FEEDBACK_STEPS).values_list("kind", flat=True))


def feedback(*, issue: Issue, actor: Actor, step: str, note: str = "") -> Issue:
    """ISS-3: the answer goes back to the branch leader, the agent and the client (one step each)."""
    if step not in FEEDBACK_STEPS:
        raise IssueRefused("invalid", _("未知的反馈步骤"), status=400)
    _visible_or_refuse(issue, actor)
    if not user_has_role(actor.user, *feedback_roles(step)):
        raise IssueRefused("forbidden", _("您的角色不能登记该反馈(ISS-3)"), status=403)
    with transaction.atomic():
        issue = _locked(issue)
        if issue.status not in (IssueStatus.ANSWERED, IssueStatus.FEEDBACK):
            raise IssueRefused("wrong_state", _("部门答复之后才能反馈"))
        if step in done_feedback(issue):
            raise IssueRefused("wrong_state", _("该反馈已登记"))
        issue.status = IssueStatus.FEEDBACK
        issue.save(update_fields=["status"])
        _step(issue, step, actor.name, staff=actor.staff, note=scrub(note.strip()))
    return issue


def _cmp1_days(on: dt.date) -> int:
    """CMP-1's deadline in working days after closure, from the rule in force (else 2)."""
    from huifang.policy.selectors import version_in_force_or_none

    version = version_in_force_or_none(on=on)
    rule = version.rules.filter(code="CMP-1").first() if version else None
    deadline = (rule.params or {}).get("deadline", {}) if rule else {}
    if deadline.get("unit") == "working_days" and isinstance(deadline.get("count"), int):
        return int(deadline["count"])
    return params.CMP1_DEFAULT_WORKING_DAYS


def _follow_up(issue: Issue, closed_on: dt.date, actor: str) -> adhoc.Added:
    """CMP-1: a complaint is followed up 2 working days after closure; HQ for major ones."""
    try:
        due = add_working_days(closed_on, _cmp1_days(closed_on))
    except CalendarYearMissing as exc:
        raise _calendar_refusal(exc) from exc
    try:
        return adhoc.add_purpose(
            rule_code="CMP-1", key=f"CMP-1:issue{issue.pk}",
            level=Level.COMPANY if issue.major else Level.BRANCH, kind=TaskKind.COMPLIANCE,
            business_date=closed_on, due_date=due,
            facts={"issue": issue.number, "category": issue.category, "major": issue.major},
            actor=actor, client=issue.client, branch=issue.branch,
        )  # fmt: skip
    except adhoc.PurposeRefused as exc:
        raise IssueRefused("cmp1", _("无法生成投诉回访(CMP-1):") + str(exc)) from exc


def close(*, issue: Issue, actor: Actor, note: str = "") -> Issue:
    """ISS-4: close once the three feedbacks are done; a complaint gets its CMP-1 follow-up."""
    _visible_or_refuse(issue, actor)
    if not user_has_role(actor.user, *access.CLOSERS):
        raise IssueRefused("forbidden", _("您的角色不能办结问题"), status=403)
    with transaction.atomic():
        issue = _locked(issue)
        if issue.is_closed:
            raise IssueRefused("wrong_state", _("问题已办结"))
        missing = [s for s in FEEDBACK_STEPS if s not in done_feedback(issue)]
        if issue.status != IssueStatus.FEEDBACK or missing:
            raise IssueRefused(
                "feedback_missing",
                _("须先反馈营业部负责人、回访人和客户(ISS-3)"),
                *[str(StepKind(s).label) for s in missing],
            )
        now = clock.now()
        late = now.date() > issue.loop_due
        issue.status, issue.closed_at = IssueStatus.CLOSED, now
        issue.breached_loop = issue.breached_loop or late
        issue.save(update_fields=["status", "closed_at", "breached_loop"])
        extra: dict[str, Any] = {"loop_due": issue.loop_due, "late": late}
        if issue.source == Source.COMPLAINT:
            added = _follow_up(issue, now.date(), actor.name)
            extra.update(cmp1_task=added.task.pk, cmp1_due=added.purpose.due_date)
        _step(issue, StepKind.CLOSED, actor.name, staff=actor.staff, note=scrub(note.strip()),
              after=extra)  # fmt: skip
    return issue


# --- the scheduler's tick (ISS-5) ---------------------------------------------------------


@dataclass
class TickResult:
    warned: int = 0
    escalated: int = 0

    @property
    def written(self) -> int:
        return self.warned + self.escalated


def _due_clocks(issue: Issue) -> Iterable[tuple[str, dt.date | None, bool]]:
    yield ANSWER, issue.answer_due, issue.answered_at is not None or issue.is_closed
    yield LOOP, issue.loop_due, issue.is_closed


def _tick_issue(issue: Issue, today: dt.date, actor: str, result: TickResult) -> None:
    have = set(
        issue.steps.filter(kind__in=[StepKind.WARNED, StepKind.ESCALATED]).values_list(
            "kind", "clock", "level"
        )
    )
    changed: set[str] = set()
    for name, due, resolved in _due_clocks(issue):
        state = rules.clock_state(today, due, resolved)
        wanted = [(StepKind.WARNED, 1, state.warn),
                  (StepKind.ESCALATED, Escalation.DEPARTMENT_HEAD, state.breach),
                  (StepKind.ESCALATED, Escalation.COMPLIANCE, state.compliance)]  # fmt: skip
        for kind, level, due_now in wanted:
            if not due_now or (kind, name, level) in have:
                continue
            changed |= _apply(issue, kind, name, int(level))
            _step(issue, kind, actor, clock_name=name, level=int(level), today=today,
                  department=issue.department_id,
                  after={"clock": name, "due": due, "level": int(level),
                         "escalation_level": issue.escalation_level})  # fmt: skip
            if kind == StepKind.WARNED:
                result.warned += 1
            else:
                result.escalated += 1
    if changed:
        issue.save(update_fields=sorted(changed))


def _apply(issue: Issue, kind: str, name: str, level: int) -> set[str]:
    if kind == StepKind.WARNED:
        issue.warning_level = max(issue.warning_level, 1)
        return {"warning_level"}
    issue.escalation_level = max(issue.escalation_level, level)
    if name == ANSWER:
        issue.breached_answer = True
        return {"escalation_level", "breached_answer"}
    issue.breached_loop = True
    return {"escalation_level", "breached_loop"}


def tick(today: dt.date | None = None, actor: str = "system:issues.tick") -> TickResult:
    """ISS-5: warnings one working day before a due date, escalations on a breach (department
    head), then compliance 2 working days later — each once per clock; safe to run twice."""
    today = today or clock.today()
    horizon = add_working_days(today, params.WARN_WORKING_DAYS_BEFORE)
    candidates = Issue.objects.open().filter(loop_due__lte=horizon).values_list("pk", flat=True)
    answer_open = (
        Issue.objects.open()
        .filter(answered_at__isnull=True, answer_due__lte=horizon)
        .values_list("pk", flat=True)
    )
    result = TickResult()
    for pk in sorted(set(candidates) | set(answer_open)):
        try:
            with transaction.atomic():
                issue = Issue.objects.select_for_update().get(pk=pk)
                _tick_issue(issue, today, actor, result)
        except IntegrityError:  # a concurrent tick wrote the same step first (unique index)
            continue
    return result
