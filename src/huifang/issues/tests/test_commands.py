"""The scheduler's entry points (ISS-5) and the demo command."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.test import override_settings

from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Purpose
from huifang.core import clock
from huifang.issues import services, tasks, ticker
from huifang.issues.choices import IssueStatus, Source
from huifang.issues.models import Issue, IssueStep
from huifang.issues.tests import factories as f
from huifang.policy.services import policy_default_ensure

pytestmark = pytest.mark.django_db
RAISED = dt.date(2026, 9, 30)  # answer due 10-09: warned 10-08


@pytest.fixture
def w() -> f.World:
    policy_default_ensure()
    return f.world()


def raised(w: f.World) -> Issue:
    record = f.record_with_findings(w, RAISED, [("problem", "account", "资料")])
    with clock.frozen(RAISED):
        [issue] = services.raise_from_record(record, f.actor(w.agent))
    return issue


def test_tick_issues_command_warns_once_as_the_system(w: f.World) -> None:
    issue = raised(w)
    out = io.StringIO()
    call_command("tick_issues", "--date", "2026-10-08", stdout=out)
    assert out.getvalue().strip() == "2026-10-08: warned 1, escalated 0"
    event = AuditEvent.objects.get(action="issues.warned", object_id=str(issue.pk))
    assert event.actor == "system:issues.tick"
    out = io.StringIO()
    call_command("tick-issues", "--date", "2026-10-08", stdout=out)
    assert out.getvalue().strip() == "2026-10-08: warned 0, escalated 0"


def test_tick_issues_defaults_to_the_clock_and_rejects_a_bad_date(w: f.World) -> None:
    from django.core.management.base import CommandError

    raised(w)
    out = io.StringIO()
    with clock.frozen(dt.date(2026, 10, 10)):
        call_command("tick_issues", stdout=out)
    assert out.getvalue().strip() == "2026-10-10: warned 0, escalated 1"
    with pytest.raises(CommandError):
        call_command("tick_issues", "--date", "10/10/2026")


def test_the_celery_task_ticks(w: f.World) -> None:
    issue = raised(w)
    result = tasks.tick.apply(kwargs={"date": "2026-10-13"}).get()
    assert result == {"warned": 0, "escalated": 2}  # level 1 and level 2 at once
    issue.refresh_from_db()
    assert issue.escalation_level == 2


def test_the_in_process_ticker_runs_only_in_thread_mode_once_per_interval() -> None:
    ticker._last[0] = 0.0
    with override_settings(HUIFANG_BACKGROUND="thread", HUIFANG_ISSUES_TICK_SECONDS=60):
        assert ticker.due(1000.0)
        assert not ticker.due(1030.0)
        assert ticker.due(1061.0)
    with override_settings(HUIFANG_BACKGROUND="inline", HUIFANG_ISSUES_TICK_SECONDS=60):
        assert not ticker.due(5000.0)
    with override_settings(HUIFANG_BACKGROUND="thread", HUIFANG_ISSUES_TICK_SECONDS=0):
        assert not ticker.due(9000.0)


def test_demo_issues_walks_escalates_and_follows_up_and_is_idempotent(w: f.World) -> None:
    """The demo's story on the demo users (``ops``, ``manager``, ``agent``, ``compliance``)."""
    from huifang.accounts.choices import Role

    for user, name in [(w.ops, "ops"), (w.manager, "manager"), (w.agent, "agent"),
                       (w.compliance, "compliance")]:  # fmt: skip
        user.username = name
        user.save(update_fields=["username"])
    f.staff_user(Role.HQ_SERVICE, w.units["HQCC"], all_scope=True, username="hq")
    today = dt.date(2026, 10, 14)
    records = [f.record_with_findings(w, dt.date(2026, 10, 13), [
        ("problem", "account", f"问题{n}"), ("need", "research", f"需求{n}")],
        client=f.wf.client_of(w.a01)) for n in range(2)]  # fmt: skip
    with clock.frozen(today):
        call_command("demo_issues", stdout=io.StringIO())
        steps, audits = IssueStep.objects.count(), AuditEvent.objects.count()
        call_command("demo_issues", stdout=io.StringIO())
    assert (IssueStep.objects.count(), AuditEvent.objects.count()) == (steps, audits)

    findings = Issue.objects.filter(source=Source.FINDING, record__in=records)
    assert findings.count() == 4
    assert findings.filter(status=IssueStatus.CLOSED).count() == 2
    inquiry = Issue.objects.get(source=Source.INQUIRY)
    assert inquiry.escalation_level == 2 and inquiry.breached_answer
    complaint = Issue.objects.get(source=Source.COMPLAINT)
    assert complaint.status == IssueStatus.CLOSED and complaint.major
    [purpose] = Purpose.objects.filter(rule_code="CMP-1")
    assert purpose.key == f"CMP-1:issue{complaint.pk}" and purpose.task.level == "company"
