"""``huifang demo_evaluation``: one branch on time, one late, the others missing; a published
quarter and a running draft; a second run changes nothing that was submitted or published."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from huifang.accounts.choices import Role
from huifang.core import clock
from huifang.evaluation import closing
from huifang.evaluation.choices import ClosingState
from huifang.evaluation.models import Evaluation, MonthlyClosing
from huifang.evaluation.tests.factories import branch, hq_user, leader_user, signed_record

pytestmark = pytest.mark.django_db

DEMO_DAY = dt.datetime(2026, 10, 23, 10, 0, tzinfo=clock.SHANGHAI)  # the demo's last date


def run() -> str:
    out = io.StringIO()
    with clock.frozen(DEMO_DAY):
        call_command("demo_evaluation", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_demo_shows_on_time_late_and_missing_closings_and_a_published_evaluation() -> None:
    a, b, c = branch(), branch(), branch()
    leader_user(Role.BRANCH_OPS, a, username="ops")
    leader_user(Role.AGENT, b, username="agent2")
    hq_user(Role.COMPLIANCE, username="compliance")
    signed_record(a, dt.date(2026, 9, 21))

    output = run()

    states = {row.branch.code: row.state for row in
              closing.overview(user=None, month="2026-09", today=DEMO_DAY.date())}  # fmt: skip
    assert states == {a.code: ClosingState.ON_TIME, b.code: ClosingState.LATE,
                      c.code: ClosingState.MISSING}  # fmt: skip
    assert MonthlyClosing.objects.get(branch=a).record_count == 1
    q3 = Evaluation.objects.filter(period="2026-Q3")
    assert q3.count() == 3 and all(e.published_at and e.published_late for e in q3)
    assert Evaluation.objects.drafts().filter(period="2026-Q4").count() == 3
    assert "published (late)" in output

    closings, published = list(MonthlyClosing.objects.values()), list(q3.values())
    again = run()
    assert list(MonthlyClosing.objects.values()) == closings
    assert list(Evaluation.objects.filter(period="2026-Q3").values()) == published
    assert "already published" in again


def test_the_demo_needs_the_demo_users() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="demo_users"):
        run()
