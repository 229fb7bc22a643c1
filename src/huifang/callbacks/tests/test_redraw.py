"""``huifang plan redraw PLAN_ID``: an auditor re-draws a plan's sample (CON-7, CON-8, CON-3).

Ten new accounts a day in a small branch for four days (NEW-2, 30 % cumulative per
branch and month); the client first in the draw order of day one is already at the
quarterly cap, so the run skips him and the replay must skip him too.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Plan, PlanEntry, Purpose, Task
from huifang.callbacks.rules import Entry, cumulative_draw, sample_order, sample_seed
from huifang.callbacks.tests import runkit
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db

DAYS = [dt.date(2026, 10, 12) + dt.timedelta(days=i) for i in range(4)]  # Monday … Thursday


def clients_of(day: int) -> list[str]:
    return [f"N{day:02d}{j:02d}" for j in range(10)]


def redraw(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("plan", "redraw", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def at_cap(client_id: str) -> None:
    """Two capped callbacks of the quarter already done (CON-3)."""
    for level in ("company", "branch"):
        Task.objects.create(client_id=client_id, branch_id="A01", level=level, kind="compliance",
                            status="signed", due_date=dt.date(2026, 10, 9), created_on=dt.date(2026, 10, 1),
                            quarter="2026-Q4", counts_to_cap=True)  # fmt: skip


def four_days_of_new_accounts(tmp_path: Path, version: PolicyVersion) -> tuple[Plan, str]:
    """Runs the four days; returns the NEW-2 plan of A01 and the client skipped at the cap."""
    seed = sample_seed(version.number, "NEW-2", "2026-10")
    capped = min(clients_of(0), key=lambda c: sample_order(seed, c))
    at_cap(capped)
    for i, day in enumerate(DAYS):
        feed: dict[str, list[runkit.Row]] = {
            "clients": [runkit.client(c, "A01", day.isoformat()) for c in clients_of(i)]
        }
        if i == 0:
            feed["branches"] = runkit.branches("A01")
            feed["staff"] = [
                runkit.staff("S02", "A01", "agent"),
                runkit.staff("C01", "HQCC", "agent"),
            ]
        code, _out, err = runkit.run(tmp_path, day, feed)
        assert code == 0, err
    return Plan.objects.get(rule_code="NEW-2", period="2026-10", stratum="A01"), capped


def test_a_redrawn_plan_gives_the_same_sample(policy: PolicyVersion, tmp_path: Path) -> None:
    plan, capped = four_days_of_new_accounts(tmp_path, policy)
    assert (plan.population, plan.required, plan.sampled) == (40, 12, 12)
    skipped = PlanEntry.objects.get(plan=plan, client_id=capped)
    assert skipped.skipped_at_cap and not skipped.sampled  # the cap mattered: first in the order

    code, out, err = redraw(str(plan.pk))

    assert code == 0, err
    assert "same sample" in out
    assert f"seed {plan.seed}" in out and "population 40, required 12, sampled 12" in out
    audit = AuditEvent.objects.get(action="callbacks.plan_redraw", object_id=str(plan.pk))
    assert audit.after["same"] is True and audit.after["drawn"] == 12


def test_a_tampered_entry_is_reported_with_exit_1(policy: PolicyVersion, tmp_path: Path) -> None:
    plan, _capped = four_days_of_new_accounts(tmp_path, policy)
    entries = PlanEntry.objects.filter(plan=plan)
    removed = entries.filter(sampled=True).order_by("client_id").first()
    added = entries.filter(sampled=False, skipped_at_cap=False).order_by("client_id").first()
    assert removed is not None and added is not None
    entries.filter(pk=removed.pk).update(sampled=False, sampled_on=None)
    entries.filter(pk=added.pk).update(sampled=True, sampled_on=DAYS[1])

    code, out, _err = redraw(str(plan.pk))

    assert code == 1
    assert "same sample" not in out
    assert f"drawn now, not stored: {removed.client_id} (drawn on {removed.sampled_on})" in out
    assert f"stored, not drawn now: {added.client_id}" in out
    audit = AuditEvent.objects.get(action="callbacks.plan_redraw", object_id=str(plan.pk))
    assert audit.after["same"] is False
    assert audit.after["drawn_not_stored"] == [removed.client_id]
    assert audit.after["stored_not_drawn"] == [added.client_id]


def test_hiding_a_sampled_client_behind_the_cap_is_reported(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    plan, _capped = four_days_of_new_accounts(tmp_path, policy)
    hidden = PlanEntry.objects.filter(plan=plan, sampled=True).order_by("client_id").first()
    assert hidden is not None
    PlanEntry.objects.filter(pk=hidden.pk).update(
        sampled=False, sampled_on=None, skipped_at_cap=True
    )

    code, out, _err = redraw(str(plan.pk))

    # the replay skips him too, so it draws the next client in his place
    assert code == 1
    assert "drawn now, not stored: " in out and hidden.client_id not in out


def test_members_who_leave_the_population_still_count_and_the_redraw_matches(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    """CON-8 "population so far": an account opened and closed within the month stays counted."""
    first = clients_of(0)
    feed: dict[str, list[runkit.Row]] = {
        "branches": runkit.branches("A01"),
        "staff": [runkit.staff("S02", "A01", "agent"), runkit.staff("C01", "HQCC", "agent")],
        "clients": [runkit.client(c, "A01", DAYS[0].isoformat()) for c in first],
    }
    code, _out, err = runkit.run(tmp_path, DAYS[0], feed)
    assert code == 0, err
    plan = Plan.objects.get(rule_code="NEW-2", period="2026-10", stratum="A01")
    unsampled = sorted(
        PlanEntry.objects.filter(plan=plan, sampled=False).values_list("client_id", flat=True)
    )
    closed = [runkit.client(c, "A01", DAYS[0].isoformat(), status="closed", close_date=DAYS[1].isoformat())
              for c in unsampled]  # fmt: skip
    opened = [runkit.client(c, "A01", DAYS[1].isoformat()) for c in clients_of(1)]
    code, _out, err = runkit.run(tmp_path, DAYS[1], {"clients": closed + opened})
    assert code == 0, err

    plan.refresh_from_db()
    assert (plan.population, plan.required, plan.sampled) == (20, 6, 6)
    assert not Purpose.objects.filter(
        task__client_id__in=unsampled
    ).exists()  # never drawn once closed
    assert (
        PlanEntry.objects.filter(plan=plan, client_id__in=unsampled, skipped_at_cap=True).count()
        == 7
    )
    code, out, err = redraw(str(plan.pk))
    assert code == 0, err
    assert "same sample" in out


def test_an_unknown_plan_or_a_bad_id_exits_2(policy: PolicyVersion) -> None:
    code, _out, err = redraw("999999")
    assert code == 2 and "no plan 999999" in err
    code, _out, err = redraw("NEW-2")
    assert code == 2 and "not a plan id" in err


def test_the_replay_draws_a_member_freed_from_the_cap_on_the_day_it_was_drawn() -> None:
    """SMALL-1 spans two quarters: a member at the cap in one may be drawn in the next (CON-3)."""
    seed = "s"
    a, b, c = sorted(["a", "b", "c"], key=lambda x: sample_order(seed, x))  # a first in the order
    q3, q4 = dt.date(2026, 9, 30), dt.date(2026, 10, 12)
    entries = [
        Entry(a, q3, at_cap=True, sampled_on=q4),  # at the cap in Q3, drawn in Q4
        Entry(b, q3, at_cap=True),  # at the cap whenever it could have been drawn
        Entry(c, q3),
    ]
    # required ceil(0.5 × 3) = 2: on 09-30 only c can be drawn; on 10-12 a makes up the shortfall
    assert cumulative_draw(entries, Decimal("0.5"), seed) == {c: q3, a: q4}
    # without the cap flags the first two in the order are drawn on day one
    free = [Entry(e.client_id, e.added_on) for e in entries]
    assert cumulative_draw(free, Decimal("0.5"), seed) == {a: q3, b: q3}
