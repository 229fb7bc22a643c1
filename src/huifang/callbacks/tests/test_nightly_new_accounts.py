"""NEW-1, NEW-2: new accounts, deadlines in working days, cumulative sampling (SPEC §4, CON-7, CON-8)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from huifang.callbacks.models import NightlyRun, Plan, Task, TaskEvent
from huifang.callbacks.tests import runkit
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db


def first_day() -> dict[str, list[runkit.Row]]:
    return {
        "branches": runkit.branches("A01"),
        "staff": [
            runkit.staff("S01", "A01", "broker"),
            runkit.staff("S02", "A01", "agent"),
            runkit.staff("S03", "A01", "agent"),
            runkit.staff("C01", "HQCC", "agent"),
        ],
        "clients": [
            runkit.client("K0001", "A01", "2026-09-30", broker_staff_id="S01"),
            runkit.client("K0002", "A01", "2020-01-06"),
        ],
    }


def test_a_broker_introduced_account_gets_new1_due_five_working_days_later(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    code, out, err = runkit.run(tmp_path, "2026-09-30", first_day())
    assert code == 0, err
    assert ("K0001", "NEW-1", "branch", "2026-10-13") in runkit.purposes()
    task = Task.objects.get(client_id="K0001", level="branch")
    assert task.assignee_id in {"S02", "S03"}
    proof = TaskEvent.objects.get(task=task, event="assigned").detail_dict
    assert proof["relations_checked"]["broker"] == "S01" and proof["found"] == []
    assert "NEW-1" in out


def test_a_rerun_of_the_same_date_creates_nothing(policy: PolicyVersion, tmp_path: Path) -> None:
    runkit.run(tmp_path, "2026-09-30", first_day())
    before = (Task.objects.count(), TaskEvent.objects.count(), Plan.objects.count())
    code, out, _err = runkit.run(tmp_path, "2026-09-30", first_day())
    assert code == 0
    assert (Task.objects.count(), TaskEvent.objects.count(), Plan.objects.count()) == before
    assert "already run" in out


def test_a_date_before_one_already_run_is_refused(policy: PolicyVersion, tmp_path: Path) -> None:
    runkit.run(tmp_path, "2026-09-30", first_day())
    code, _out, err = runkit.run(tmp_path, "2026-09-29")
    assert code == 1 and "in order" in err


def test_it_fails_before_writing_naming_the_missing_year(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    code, _out, err = runkit.run(tmp_path, "2031-03-02")
    assert code == 1 and "2031" in err
    assert not NightlyRun.objects.exists()


def test_ten_new_accounts_a_day_in_a_small_branch_are_sampled_cumulatively(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    days = [dt.date(2026, 10, 12) + dt.timedelta(days=i) for i in range(3)]
    feed = first_day()
    feed["clients"] = [
        runkit.client(f"N{0:02d}{j:02d}", "A01", days[0].isoformat()) for j in range(10)
    ]
    runkit.run(tmp_path, days[0], feed)
    for i, day in enumerate(days[1:], start=1):
        clients = [runkit.client(f"N{i:02d}{j:02d}", "A01", day.isoformat()) for j in range(10)]
        code, _out, err = runkit.run(tmp_path, day, {"clients": clients})
        assert code == 0, err
        plan = Plan.objects.get(rule_code="NEW-2", period="2026-10", stratum="A01")
        assert plan.population == 10 * (i + 1)
        assert plan.required == plan.sampled == 3 * (i + 1)  # ceil(30 % × population so far)
    sampled = {c for c, rule, _lvl, _due in runkit.purposes() if rule == "NEW-2"}
    assert len(sampled) == 9


def test_no_client_gets_a_third_capped_callback_in_a_quarter(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    from huifang.callbacks.models import Task as T

    feed = first_day()
    feed["clients"] = [runkit.client("K0001", "A01", "2026-10-12", broker_staff_id="S01")]
    runkit.run(tmp_path, "2026-10-12", feed)
    # two capped contacts already closed this quarter: the third capped obligation is an exception
    T.objects.filter(client_id="K0001").update(status="signed")
    for _ in range(2):
        T.objects.create(client_id="K0001", branch_id="A01", level="company", kind="compliance",
                         status="signed", due_date=dt.date(2026, 10, 20), created_on=dt.date(2026, 10, 12),
                         quarter="2026-Q4", counts_to_cap=True)  # fmt: skip
    assets = [{"client_id": "K0001", "total_assets": "20000000"}]
    code, _out, err = runkit.run(tmp_path, "2026-10-13", {"assets": assets})
    assert code == 0, err
    key1 = T.objects.get(purposes__rule_code="KEY-1")
    assert key1.cap_exception and "CON-3" in key1.cap_reason
