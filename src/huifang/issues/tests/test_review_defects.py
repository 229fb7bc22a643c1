"""Defects found in review (issue 8): an unknown calendar year (NFR-1) must refuse cleanly,
never crash the agent's signature; only the owner or a closer hands an issue over (ISS-6)."""

from __future__ import annotations

import datetime as dt

import pytest

from huifang.audit.models import AuditEvent
from huifang.core import clock
from huifang.issues import services
from huifang.issues.choices import Source
from huifang.issues.errors import IssueRefused
from huifang.issues.models import Issue, IssueStep
from huifang.issues.tests import factories as f
from huifang.policy.services import policy_default_ensure
from huifang.workbench import records
from huifang.workbench.choices import RecordStatus
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Record
from huifang.workbench.tests import factories as wf
from huifang.workbench.tests.test_records import (
    full_answers,
    media,  # noqa: F401 (autouse fixture)
    ready_record,
)

pytestmark = pytest.mark.django_db

# The calendars known in the tests end with 2026: 15 working days after this day fall in 2027.
LATE_DECEMBER = dt.datetime(2026, 12, 21, 10, 0, tzinfo=clock.SHANGHAI)


@pytest.fixture
def w() -> f.World:
    policy_default_ensure()
    return f.world()


def test_signing_a_record_with_findings_when_next_year_is_unknown_refuses_cleanly(
    w: f.World,
) -> None:
    """ISS-4's loop_due needs next year's calendar: the signature is refused with a reason
    (NFR-1, no guess), not a server error, and nothing is written."""
    agent = wf.agent_user(w.a01)
    with clock.frozen(LATE_DECEMBER):
        record = ready_record(agent)
        actor = wf.actor(agent)
        records.save_answers(record=record, actor=actor, answers=full_answers(record),
                             findings=[{"kind": "problem", "category": "fees", "text": "费率不符"}],
                             notes="已核对。")  # fmt: skip
        Record.objects.filter(pk=record.pk).update(callback_date=LATE_DECEMBER.date())
        audits = AuditEvent.objects.count()
        with pytest.raises(WorkbenchRefused) as caught:
            records.sign_agent(record=record, actor=actor)
    assert caught.value.code == "calendar_missing"
    assert "2027" in " ".join(caught.value.reasons)
    assert Record.objects.get(pk=record.pk).status == RecordStatus.DRAFT
    assert not Issue.objects.exists()
    assert AuditEvent.objects.count() == audits


def test_registering_when_next_year_is_unknown_is_refused_not_a_crash(w: f.World) -> None:
    reg = services.Registration(source=Source.COMPLAINT, channel="counter", category="account",
                                summary="投诉", client=w.client)  # fmt: skip
    with clock.frozen(LATE_DECEMBER), pytest.raises(IssueRefused) as caught:
        services.register(registration=reg, actor=f.actor(w.ops))
    assert caught.value.code == "calendar_missing"
    assert not Issue.objects.exists() and not IssueStep.objects.exists()


def test_only_the_owner_or_a_closer_hands_an_answered_inquiry_over(w: f.World) -> None:
    """ISS-6: another agent of the branch may see the inquiry but not take it from its owner."""
    reg = services.Registration(source=Source.INQUIRY, channel="counter", category="account",
                                summary="如何修改预留手机号", branch=w.a01)  # fmt: skip
    with clock.frozen(dt.date(2026, 10, 14)):
        issue = services.register(registration=reg, actor=f.actor(w.ops))
        services.answer(issue=issue, actor=f.actor(w.dept), text="请携带身份证到柜台办理")
    steps, audits = IssueStep.objects.count(), AuditEvent.objects.count()
    with pytest.raises(IssueRefused) as caught:
        services.reassign_owner(issue=issue, to_staff=w.agent.staff, actor=f.actor(w.agent))
    assert caught.value.code == "forbidden" and caught.value.status == 403
    assert (IssueStep.objects.count(), AuditEvent.objects.count()) == (steps, audits)
    issue.refresh_from_db()
    assert issue.owner_id == w.ops.staff.pk
    # the branch's manager (a closer, ISS-4) may hand it over
    services.reassign_owner(issue=issue, to_staff=w.agent.staff, actor=f.actor(w.manager))
    issue.refresh_from_db()
    assert issue.owner_id == w.agent.staff.pk


def test_the_reassign_form_is_offered_only_to_those_who_may_use_it(w: f.World) -> None:
    from django.test import Client as Browser

    reg = services.Registration(source=Source.INQUIRY, channel="counter", category="account",
                                summary="咨询", branch=w.a01)  # fmt: skip
    with clock.frozen(dt.date(2026, 10, 14)):
        issue = services.register(registration=reg, actor=f.actor(w.ops))
        services.answer(issue=issue, actor=f.actor(w.dept), text="已答复")
    browser = Browser()
    browser.force_login(w.agent)
    page = browser.get(f"/issues/{issue.pk}/")
    assert page.status_code == 200
    assert f"/issues/{issue.pk}/reassign/" not in page.content.decode()
    answer = browser.post(f"/issues/{issue.pk}/reassign/", {"staff_id": w.agent.staff.pk})
    assert answer.status_code == 403
    issue.refresh_from_db()
    assert issue.owner_id == w.ops.staff.pk


def test_closing_a_complaint_when_cmp1_due_date_is_in_an_unknown_year_is_refused(
    w: f.World,
) -> None:
    """CMP-1's due date (2 working days after closure) in 2027: refused, the issue stays open."""
    from huifang.callbacks.models import Purpose
    from huifang.issues.choices import IssueStatus
    from huifang.issues.tests.test_services import _complaint, _walk_to_feedback

    issue = _complaint(w, major=False, channel="counter")
    _walk_to_feedback(w, issue, w.call_center)
    new_year_eve = dt.datetime(2026, 12, 31, 10, 0, tzinfo=clock.SHANGHAI)
    with clock.frozen(new_year_eve), pytest.raises(IssueRefused) as caught:
        services.close(issue=issue, actor=f.actor(w.ops))
    assert caught.value.code == "calendar_missing"
    issue.refresh_from_db()
    assert issue.status == IssueStatus.FEEDBACK and issue.closed_at is None
    assert not Purpose.objects.filter(rule_code="CMP-1").exists()


def test_an_inquiry_passes_only_to_staff_in_office_in_the_readers_scope(w: f.World) -> None:
    """ISS-6: no hand-over to a departed colleague, nor to another branch's staff id (unknown)."""
    from django.test import Client as Browser

    from huifang.issues.models import Issue

    reg = services.Registration(source=Source.INQUIRY, channel="counter", category="account",
                                summary="咨询", branch=w.a01)  # fmt: skip
    with clock.frozen(dt.date(2026, 10, 14)):
        issue = services.register(registration=reg, actor=f.actor(w.ops))
        services.answer(issue=issue, actor=f.actor(w.dept), text="已答复")
        departed = w.agent.staff
        departed.leave_date = dt.date(2026, 10, 1)
        departed.save(update_fields=["leave_date"])
        with pytest.raises(IssueRefused) as caught:
            services.reassign_owner(issue=issue, to_staff=departed, actor=f.actor(w.manager))
        assert caught.value.code == "staff_left"
        browser = Browser()
        browser.force_login(w.manager)
        other_branch = w.outsider.staff.pk
        answer = browser.post(f"/issues/{issue.pk}/reassign/", {"staff_id": other_branch})
    assert answer.status_code == 400 and "员工号不存在" in answer.content.decode()
    assert Issue.objects.get(pk=issue.pk).owner_id == w.ops.staff.pk
