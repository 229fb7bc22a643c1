"""A nightly run killed mid-way leaves nothing; re-running the date gives exactly the clean run (§12).

The run is one transaction per date. The real console command runs in a subprocess
on the test database and is killed (SIGKILL) at a crash point inside the run: after
the rules wrote plans, tasks and purposes (``run_written``) or just before the commit
(``run_before_commit``). Re-running the date must then produce exactly what an
uninterrupted run of the same date produced — tasks, purposes, plans with their
members, events, overdue marks — compared without ids and times.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from huifang.callbacks.models import (
    NightlyRun,
    Plan,
    PlanEntry,
    Purpose,
    Task,
    TaskEvent,
    VerificationListEntry,
)
from huifang.callbacks.tests import runkit
from huifang.feeds.tests import feedkit
from huifang.policy.services import policy_default_ensure

DAY1, DAY2 = "2026-10-13", "2026-10-14"


def feeds(tmp_path: Path) -> tuple[dict[str, list[runkit.Row]], Path]:
    """Day one (run with its feed) and day two's feed directory (imported, not yet run).

    Day two has new accounts to sample (NEW-2, CON-8), an overdue NEW-1 task (due
    on day one) and a STOCK-1 listing.
    """
    day1 = {
        "branches": runkit.branches("A01"),
        "staff": [
            runkit.staff("S01", "A01", "broker"),
            runkit.staff("S02", "A01", "agent"),
            runkit.staff("S03", "A01", "agent"),
            runkit.staff("C01", "HQCC", "agent"),
        ],
        "clients": [runkit.client("K0001", "A01", "2026-09-30", broker_staff_id="S01"),
                    runkit.client("K0002", "A01", "2020-01-06", last_trade_date="2026-10-09")]
        + [runkit.client(f"N1{j:02d}", "A01", DAY1) for j in range(10)],
    }  # fmt: skip
    day2 = {"clients": [runkit.client(f"N2{j:02d}", "A01", DAY2) for j in range(10)]}
    return day1, feedkit.write_feed(tmp_path / "feed-day2", day2)


def state() -> dict[str, Any]:
    """What the runs wrote, by natural keys (no ids, no times)."""
    tasks = {t.pk: (t.client_id, t.level, t.kind) for t in Task.objects.all()}
    plans = {p.pk: (p.rule_code, p.period, p.stratum) for p in Plan.objects.all()}
    return {
        "runs": sorted((str(r.business_date), r.status, r.summary) for r in NightlyRun.objects.all()),
        "tasks": sorted(
            (*tasks[t.pk], t.status, str(t.due_date), str(t.created_on), t.counts_to_cap, t.cap_exception,
             t.assignee_id or "", str(t.overdue_since)) for t in Task.objects.all()
        ),
        "purposes": sorted(
            (*tasks[p.task_id], p.key, p.rule_code, str(p.due_date), p.facts, plans.get(p.plan_id or 0))
            for p in Purpose.objects.all()
        ),
        "plans": sorted(
            (*plans[p.pk], p.population, p.required, p.sampled, p.skipped_at_cap, p.seed) for p in Plan.objects.all()
        ),
        "entries": sorted(
            (*plans[e.plan_id], e.client_id, str(e.added_on), e.sampled, str(e.sampled_on), e.skipped_at_cap)
            for e in PlanEntry.objects.all()
        ),
        "events": sorted(
            (*tasks[e.task_id], e.event, e.staff_id or "", str(e.business_date), e.detail)
            for e in TaskEvent.objects.all()
        ),
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("point", ["run_written", "run_before_commit"])
def test_a_killed_run_leaves_nothing_and_rerunning_the_date_gives_the_clean_run(
    tmp_path: Path, point: str
) -> None:
    policy_default_ensure()
    day1, day2_dir = feeds(tmp_path)
    code, _out, err = runkit.run(tmp_path, DAY1, day1)
    assert code == 0, err
    VerificationListEntry.objects.create(client_id="K0002", branch_id="A01", listed_on=DAY2,
                                         reason="联系地址待核实", listed_by="a01_ops")  # fmt: skip
    code, _out, err = feedkit.run_command(str(day2_dir), "--date", DAY2, "--quiet")
    assert code == 0, err
    code, _out, err = runkit.run(tmp_path, DAY2)  # the clean run
    assert code == 0, err
    clean = state()
    assert any(t[-1] == DAY2 for t in clean["tasks"]), "day two marks an overdue task"
    assert any(p[4] == "STOCK-1" for p in clean["purposes"])

    runkit.wipe()
    code, _out, err = runkit.run(tmp_path, DAY1)
    assert code == 0, err
    before = state()
    killed = feedkit.run_subprocess("run", "--date", DAY2, HUIFANG_CRASHPOINT=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    assert state() == before  # one transaction per date: nothing of day two is left
    code, _out, err = runkit.run(tmp_path, DAY2)  # the scheduler's retry
    assert code == 0, err
    assert state() == clean
