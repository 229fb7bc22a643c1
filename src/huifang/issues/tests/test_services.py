"""Issues (SPEC §7): routing (ISS-1), the answer clock (ISS-2), feedback (ISS-3), the loop
(ISS-4), warnings and escalations (ISS-5), complaints and inquiries (ISS-6), CMP-1.

Dates sit around the 2026 National Day holiday (10-01 … 10-07 off; 10-10, a Saturday, is
worked) so that working days matter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from huifang.audit.models import AuditEvent
from huifang.calendars.service import add_working_days
from huifang.callbacks.models import Purpose
from huifang.core import clock
from huifang.issues import services
from huifang.issues.choices import IssueStatus, Source, StepKind
from huifang.issues.errors import IssueRefused
from huifang.issues.models import Issue, IssueStep
from huifang.issues.tests import factories as f
from huifang.policy.services import policy_default_ensure

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def w() -> f.World:
    policy_default_ensure()
    return f.world()


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=clock.SHANGHAI)


RAISED = D(2026, 9, 30)


def one_issue(w: f.World, on: dt.date = RAISED, category: str = "account") -> Issue:
    record = f.record_with_findings(w, on, [("problem", category, "客户反映资料变更未生效")])
    with clock.frozen(at(on)):
        [issue] = services.raise_from_record(record, f.actor(w.agent))
    return issue


def refused(code: str, call: Callable[[], Any]) -> IssueRefused:
    """``call`` refuses with ``code`` and writes nothing (no step, no audit row)."""
    steps, audits = IssueStep.objects.count(), AuditEvent.objects.count()
    with pytest.raises(IssueRefused) as caught:
        call()
    assert caught.value.code == code, caught.value.reasons
    assert (IssueStep.objects.count(), AuditEvent.objects.count()) == (steps, audits)
    return caught.value


def issue_audits(issue: Issue) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="issues.Issue", object_id=str(issue.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def step_kinds(issue: Issue) -> list[str]:
    return list(issue.steps.order_by("id").values_list("kind", flat=True))


# ---------------------------------------------------------------- the whole walk


def test_an_issue_walks_route_answer_feedback_close_across_national_day(w: f.World) -> None:
    """ISS-1..ISS-4 on the 2026 calendar: raised Wed 09-30, the holiday 10-01..10-07 is skipped."""
    issue = one_issue(w)
    assert issue.number == f"WT20260930-{issue.pk:06d}"
    assert (issue.status, issue.department_id) == (IssueStatus.ROUTED, "HQOP")  # ISS-1 table
    assert issue.received_on == D(2026, 9, 30)
    # ISS-2: 2 working days after 09-30 are Thu 10-08 and Fri 10-09 (10-01..10-07 off)
    assert issue.answer_due == D(2026, 10, 9) == add_working_days(D(2026, 9, 30), 2)
    # ISS-4: 15 working days: 10-08,09,10(Sat, worked),12..16,19..23,26,27
    assert issue.loop_due == D(2026, 10, 27) == add_working_days(D(2026, 9, 30), 15)

    with clock.frozen(at(D(2026, 10, 9))):
        services.answer(issue=issue, actor=f.actor(w.dept), text="已核实,资料已更新。")
    with clock.frozen(at(D(2026, 10, 10))):
        services.feedback(issue=issue, actor=f.actor(w.manager), step=StepKind.FEEDBACK_BRANCH)
        services.feedback(issue=issue, actor=f.actor(w.agent), step=StepKind.FEEDBACK_AGENT)
        services.feedback(issue=issue, actor=f.actor(w.agent), step=StepKind.FEEDBACK_CLIENT,
                          note="已电话告知客户")  # fmt: skip
    with clock.frozen(at(D(2026, 10, 12))):
        services.close(issue=issue, actor=f.actor(w.ops))

    issue.refresh_from_db()
    assert issue.status == IssueStatus.CLOSED and issue.closed_at == at(D(2026, 10, 12))
    assert issue.answered_at == at(D(2026, 10, 9)) and issue.answered_by == "dept_op"
    assert not issue.breached_answer and not issue.breached_loop
    assert step_kinds(issue) == [
        StepKind.REGISTERED, StepKind.ROUTED, StepKind.ANSWERED, StepKind.FEEDBACK_BRANCH,
        StepKind.FEEDBACK_AGENT, StepKind.FEEDBACK_CLIENT, StepKind.CLOSED,
    ]  # fmt: skip
    # every step wrote its own audit row, in the same order
    assert issue_audits(issue) == [f"issues.{kind}" for kind in step_kinds(issue)]
    # a finding that is not a complaint gets no CMP-1 follow-up
    assert not Purpose.objects.filter(key=f"CMP-1:issue{issue.pk}").exists()


def test_a_late_answer_and_a_late_close_are_flagged_as_breaches(w: f.World) -> None:
    """ISS-5: breaches count in evaluations even when the tick never ran."""
    issue = one_issue(w)
    with clock.frozen(at(D(2026, 10, 12))):  # due 10-09
        services.answer(issue=issue, actor=f.actor(w.dept), text="答复")
    for user, step in [(w.manager, StepKind.FEEDBACK_BRANCH), (w.agent, StepKind.FEEDBACK_AGENT),
                       (w.agent, StepKind.FEEDBACK_CLIENT)]:  # fmt: skip
        services.feedback(issue=issue, actor=f.actor(user), step=step)
    with clock.frozen(at(D(2026, 10, 28))):  # loop due 10-27
        services.close(issue=issue, actor=f.actor(w.ops))
    issue.refresh_from_db()
    assert issue.breached_answer and issue.breached_loop


def test_raise_from_record_is_idempotent_per_finding(w: f.World) -> None:
    """ISS-1: each finding becomes exactly one issue, however often it is called."""
    record = f.record_with_findings(w, D(2026, 10, 14), [
        ("problem", "account", "资料"), ("need", "research", "想要研报"),
        ("suggestion", "trading", "系统卡顿"),
    ])  # fmt: skip
    made = services.raise_from_record(record, f.actor(w.agent))
    assert sorted(i.department_id for i in made) == ["HQIT", "HQOP", "HQRT"]
    assert [i.kind for i in made] == ["problem", "need", "suggestion"]
    assert {i.branch_id for i in made} == {"A01"} and {i.client_id for i in made} == {w.client.pk}
    steps = IssueStep.objects.count()
    assert services.raise_from_record(record, f.actor(w.agent)) == []
    assert Issue.objects.filter(record=record).count() == 3
    assert IssueStep.objects.count() == steps


def test_an_issue_without_a_loaded_department_waits_unrouted_then_compliance_routes_it(
    w: f.World,
) -> None:
    """ISS-1: margin → HQCR, a unit not loaded: the issue waits for compliance, never dropped."""
    issue = one_issue(w, D(2026, 10, 12), category="margin")
    assert issue.status == IssueStatus.OPEN and issue.department_id is None
    assert issue.answer_due is None and issue.loop_due == add_working_days(D(2026, 10, 12), 15)
    refused("forbidden", lambda: services.route(issue=issue, actor=f.actor(w.manager),
                                                department=w.units["HQOP"]))  # fmt: skip
    with clock.frozen(at(D(2026, 10, 14))):
        services.route(issue=issue, actor=f.actor(w.compliance), department=w.units["HQOP"])
    issue.refresh_from_db()
    assert (issue.status, issue.department_id) == (IssueStatus.ROUTED, "HQOP")
    assert issue.received_on == D(2026, 10, 14) and issue.answer_due == D(2026, 10, 16)


# ---------------------------------------------------------------- who may do what


def test_only_the_routed_department_may_answer(w: f.World) -> None:
    """ISS-2: another department, compliance, the branch: refused; the department: answered."""
    issue = one_issue(w)
    for user in (w.it_user, w.compliance, w.manager, w.agent, w.call_center):
        refused("not_department",
                lambda user=user: services.answer(issue=issue, actor=f.actor(user), text="x"))  # fmt: skip
    issue.refresh_from_db()
    assert issue.status == IssueStatus.ROUTED and issue.answered_at is None
    services.answer(issue=issue, actor=f.actor(w.dept), text="已处理")
    refused("wrong_state", lambda: services.answer(issue=issue, actor=f.actor(w.dept), text="y"))


def test_feedback_needs_the_answer_and_close_needs_all_three_feedbacks(w: f.World) -> None:
    """ISS-3: branch leader, agent and client are all told before the issue may close."""
    issue = one_issue(w)
    refused("wrong_state", lambda: services.feedback(
        issue=issue, actor=f.actor(w.manager), step=StepKind.FEEDBACK_BRANCH))  # fmt: skip
    services.answer(issue=issue, actor=f.actor(w.dept), text="已处理")
    # the agent cannot acknowledge for the branch leader (营业部负责人或营销总监)
    refused("forbidden", lambda: services.feedback(
        issue=issue, actor=f.actor(w.agent), step=StepKind.FEEDBACK_BRANCH))  # fmt: skip
    services.feedback(issue=issue, actor=f.actor(w.manager), step=StepKind.FEEDBACK_BRANCH)
    services.feedback(issue=issue, actor=f.actor(w.agent), step=StepKind.FEEDBACK_AGENT)
    refused("wrong_state", lambda: services.feedback(
        issue=issue, actor=f.actor(w.agent), step=StepKind.FEEDBACK_AGENT))  # fmt: skip
    error = refused("feedback_missing", lambda: services.close(issue=issue, actor=f.actor(w.ops)))
    assert str(StepKind.FEEDBACK_CLIENT.label) in error.reasons
    # another branch's leader does not see it at all
    refused("not_found", lambda: services.feedback(
        issue=issue, actor=f.actor(w.outsider), step=StepKind.FEEDBACK_CLIENT))  # fmt: skip
    services.feedback(issue=issue, actor=f.actor(w.agent), step=StepKind.FEEDBACK_CLIENT)
    refused("forbidden", lambda: services.close(issue=issue, actor=f.actor(w.agent)))
    services.close(issue=issue, actor=f.actor(w.ops))
    refused("wrong_state", lambda: services.close(issue=issue, actor=f.actor(w.ops)))


# ---------------------------------------------------------------- the tick (ISS-5)


def test_tick_warns_then_escalates_to_the_department_head_then_compliance(w: f.World) -> None:
    """Warning one working day before the due date, level 1 on the breach, level 2 two working
    days later — each once; running the tick again writes nothing."""
    issue = one_issue(w)  # answer due Fri 10-09, loop due Tue 10-27

    def tick(day: dt.date) -> services.TickResult:
        with clock.frozen(at(day, 6)):
            return services.tick(day)

    assert tick(D(2026, 9, 30)).written == 0
    assert tick(D(2026, 10, 7)).written == 0  # the holiday: 10-08 is the day before the due date
    first = tick(D(2026, 10, 8))
    assert (first.warned, first.escalated) == (1, 0)
    issue.refresh_from_db()
    assert issue.warning_level == 1 and issue.escalation_level == 0
    assert tick(D(2026, 10, 9)).written == 0  # due today: warned already, not breached
    breach = tick(D(2026, 10, 10))  # a worked Saturday, after the due date
    assert (breach.warned, breach.escalated) == (0, 1)
    issue.refresh_from_db()
    assert issue.escalation_level == 1 and issue.breached_answer and not issue.breached_loop
    assert tick(D(2026, 10, 11)).written == 0  # Sunday
    assert tick(D(2026, 10, 12)).written == 0  # one working day after the breach
    # 2 working days after the breach day (10-10): 10-12, 10-13
    assert add_working_days(D(2026, 10, 9), 3) == D(2026, 10, 13)
    second = tick(D(2026, 10, 13))
    assert (second.warned, second.escalated) == (0, 1)
    issue.refresh_from_db()
    assert issue.escalation_level == 2

    steps, audits = IssueStep.objects.count(), AuditEvent.objects.count()
    assert tick(D(2026, 10, 13)).written == 0  # idempotent
    assert tick(D(2026, 10, 14)).written == 0
    assert (IssueStep.objects.count(), AuditEvent.objects.count()) == (steps, audits)

    escalations = list(
        issue.steps.filter(kind__in=[StepKind.WARNED, StepKind.ESCALATED])
        .order_by("id").values_list("kind", "clock", "level", "on")
    )  # fmt: skip
    assert escalations == [
        ("warned", "answer", 1, D(2026, 10, 8)),
        ("escalated", "answer", 1, D(2026, 10, 10)),
        ("escalated", "answer", 2, D(2026, 10, 13)),
    ]
    assert issue_audits(issue)[-3:] == ["issues.warned", "issues.escalated", "issues.escalated"]

    # the loop clock (ISS-4) runs on after the answer: warned 10-26, breached 10-28
    with clock.frozen(at(D(2026, 10, 14))):
        services.answer(issue=issue, actor=f.actor(w.dept), text="迟到的答复")
    assert tick(D(2026, 10, 26)).warned == 1
    assert tick(D(2026, 10, 28)).escalated == 1
    issue.refresh_from_db()
    assert issue.breached_loop and issue.escalation_level == 2


def test_tick_leaves_answered_and_closed_clocks_alone(w: f.World) -> None:
    issue = one_issue(w)
    with clock.frozen(at(D(2026, 10, 8))):
        services.answer(issue=issue, actor=f.actor(w.dept), text="按时答复")
    with clock.frozen(at(D(2026, 10, 20))):
        assert services.tick(D(2026, 10, 20)).written == 0
    issue.refresh_from_db()
    assert (issue.warning_level, issue.escalation_level, issue.breached_answer) == (0, 0, False)


# ---------------------------------------------------------------- complaints and inquiries (ISS-6)


def _complaint(w: f.World, *, major: bool, channel: str = "phone") -> Issue:
    reg = services.Registration(
        source=Source.COMPLAINT, channel=channel, category="complaint", summary="对服务不满",
        client=w.client, major=major,
    )  # fmt: skip
    return services.register(registration=reg, actor=f.actor(w.ops))


def _walk_to_feedback(w: f.World, issue: Issue, answerer: Any) -> None:
    services.answer(issue=issue, actor=f.actor(answerer), text="已处理投诉")
    for user, step in [(w.manager, StepKind.FEEDBACK_BRANCH), (w.agent, StepKind.FEEDBACK_AGENT),
                       (w.agent, StepKind.FEEDBACK_CLIENT)]:  # fmt: skip
        services.feedback(issue=issue, actor=f.actor(user), step=step)


@pytest.mark.parametrize(("major", "level"), [(True, "company"), (False, "branch")])
def test_closing_a_complaint_creates_exactly_one_cmp1_follow_up(
    w: f.World, major: bool, level: str
) -> None:
    """CMP-1: 2 working days after closure; HQ (company level) for a major complaint."""
    issue = _complaint(w, major=major, channel="regulator")
    assert (issue.kind, issue.department_id, issue.owner_id) == ("complaint", "HQCC",
                                                                 w.ops.staff.pk)  # fmt: skip
    _walk_to_feedback(w, issue, w.call_center)
    closed_on = D(2026, 10, 14)  # Wed → Thu 10-15, Fri 10-16
    with clock.frozen(at(closed_on)):
        services.close(issue=issue, actor=f.actor(w.ops))
    [purpose] = Purpose.objects.filter(rule_code="CMP-1")
    assert purpose.key == f"CMP-1:issue{issue.pk}"
    assert purpose.due_date == D(2026, 10, 16) == add_working_days(closed_on, 2)
    assert purpose.business_date == closed_on
    assert purpose.task.level == level and purpose.task.kind == "compliance"
    assert purpose.task.client_id == w.client.pk
    assert purpose.facts_dict["issue"] == issue.number
    closed = AuditEvent.objects.get(action="issues.closed", object_id=str(issue.pk))
    assert closed.after["cmp1_task"] == purpose.task_id


def test_a_complaint_needs_a_client_for_its_cmp1_callback(w: f.World) -> None:
    reg = services.Registration(source=Source.COMPLAINT, channel="counter", category="complaint",
                                summary="投诉", branch=w.a01)  # fmt: skip
    refused("no_client", lambda: services.register(registration=reg, actor=f.actor(w.ops)))
    assert not Issue.objects.exists()


def test_registering_for_another_branch_is_refused(w: f.World) -> None:
    reg = services.Registration(source=Source.INQUIRY, channel="counter", category="account",
                                summary="咨询", branch=w.a01)  # fmt: skip
    refused("not_found", lambda: services.register(registration=reg, actor=f.actor(w.outsider)))


def test_an_inquiry_is_owned_by_the_first_staff_asked_until_answered(w: f.World) -> None:
    """ISS-6 首问负责制: the registering staff owns the inquiry; no hand-off before the answer."""
    reg = services.Registration(source=Source.INQUIRY, channel="counter", category="account",
                                summary="如何修改预留手机号", branch=w.a01)  # fmt: skip
    with clock.frozen(at(D(2026, 10, 14))):
        issue = services.register(registration=reg, actor=f.actor(w.agent))
    assert issue.owner_id == w.agent.staff.pk and issue.kind == "inquiry"
    assert (issue.raised_on, issue.answer_due) == (D(2026, 10, 14), D(2026, 10, 16))
    refused("first_question", lambda: services.reassign_owner(
        issue=issue, to_staff=w.ops.staff, actor=f.actor(w.agent)))  # fmt: skip
    services.answer(issue=issue, actor=f.actor(w.dept), text="请携带身份证到柜台办理")
    services.reassign_owner(issue=issue, to_staff=w.ops.staff, actor=f.actor(w.agent))
    issue.refresh_from_db()
    assert issue.owner_id == w.ops.staff.pk
    assert issue_audits(issue)[-1] == "issues.reassigned"


def test_an_inquiry_needs_a_staff_member_as_its_owner(w: f.World) -> None:
    from huifang.accounts.choices import Role
    from huifang.accounts.tests.factories import user_with_role

    nobody = user_with_role(Role.BRANCH_OPS, unit=w.a01, username="no_staff")
    reg = services.Registration(source=Source.INQUIRY, channel="phone", category="account",
                                summary="咨询", branch=w.a01)  # fmt: skip
    refused("no_staff", lambda: services.register(registration=reg, actor=f.actor(nobody)))


def test_free_text_is_stored_with_mobiles_masked(w: f.World) -> None:
    reg = services.Registration(source=Source.INQUIRY, channel="phone", category="account",
                                summary="客户手机13812345678无法登录", branch=w.a01)  # fmt: skip
    issue = services.register(registration=reg, actor=f.actor(w.agent))
    assert "13812345678" not in issue.summary and issue.summary.startswith("客户手机138")


# ---------------------------------------------------------------- routing table and the log


def test_compliance_edits_the_routing_table_and_each_change_is_audited(w: f.World) -> None:
    rule = services.routing_set(category="margin", department=w.units["HQOP"],
                                actor=f.actor(w.compliance))  # fmt: skip
    assert rule.department_id == "HQOP" and rule.updated_by == "compliance"
    event = AuditEvent.objects.get(action="issues.routing_set", object_id="margin")
    assert event.before == {"department": "HQCR"} and event.after == {"department": "HQOP"}
    refused("forbidden", lambda: services.routing_set(
        category="margin", department=w.units["HQIT"], actor=f.actor(w.dept)))  # fmt: skip
    refused("invalid", lambda: services.routing_set(
        category="margin", department=w.a01, actor=f.actor(w.compliance)))  # fmt: skip
    assert one_issue(w, D(2026, 10, 14), category="margin").department_id == "HQOP"


def test_issue_steps_are_append_only_in_the_database(w: f.World) -> None:
    from django.db import DatabaseError, transaction

    issue = one_issue(w)
    step = issue.steps.first()
    assert step is not None
    with pytest.raises(DatabaseError), transaction.atomic():
        IssueStep.objects.filter(pk=step.pk).update(note="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        IssueStep.objects.filter(pk=step.pk).delete()


def test_a_company_wide_department_user_answers_for_the_unit_of_his_staff_record(
    w: f.World,
) -> None:
    """ISS-2: no unit on the grant → his staff record's head-office unit is his department."""
    head = f.staff_user(f.Role.DEPARTMENT, w.units["HQOP"], all_scope=True, username="dept_all")
    branch_staff = f.staff_user(f.Role.DEPARTMENT, w.a01, all_scope=True, username="dept_branch")
    issue = one_issue(w)
    refused("not_department",
            lambda: services.answer(issue=issue, actor=f.actor(branch_staff), text="x"))  # fmt: skip
    services.answer(issue=issue, actor=f.actor(head), text="已处理")
    assert Issue.objects.get(pk=issue.pk).answered_by == "dept_all"
