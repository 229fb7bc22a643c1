"""CON-4 one contact for many purposes; balanced assignment, unassignable tasks (SPEC §4, §12).

Assignment: each task goes to the least-loaded eligible staff member of its unit
(CON-6) — open tasks counted, ties by staff id; a task nobody may hold keeps its
place with ``unassigned_reason`` and one ``unassigned`` event, is counted in the
run summary, and is assigned by a later run once someone eligible joins.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from huifang.callbacks.models import NightlyRun, Task, TaskEvent
from huifang.callbacks.tests import runkit
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db


def broker_client(client_id: str, opened: str = "2026-10-12", broker: str = "BR1") -> runkit.Row:
    return runkit.client(client_id, "A01", opened, broker_staff_id=broker)


def office(
    agents: list[str], *clients: runkit.Row, call_center: bool = True
) -> dict[str, list[runkit.Row]]:
    staff = [runkit.staff(a, "A01", "agent") for a in agents]
    staff += [runkit.staff("BR1", "A01", "broker"), runkit.staff("BR2", "A01", "broker")]
    if call_center:
        staff.append(runkit.staff("C01", "HQCC", "agent"))
    return {"branches": runkit.branches("A01"), "staff": staff, "clients": list(clients)}


# ---------------------------------------------------------------- CON-4


def test_two_rules_on_one_client_and_date_make_one_task_with_both_purposes_due_the_earliest(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    # BR1 brought in N1 on Monday and left the same day: NEW-1 (due 10-19) and DEP-1 (due 10-26)
    feed = office(["SA1"], broker_client("N1"))
    feed["staff"] = [
        s if s["staff_id"] != "BR1" else {**s, "leave_date": "2026-10-12"} for s in feed["staff"]
    ]
    code, _out, err = runkit.run(tmp_path, "2026-10-12", feed)
    assert code == 0, err
    assert runkit.tasks() == {("N1", "branch", "compliance", "2026-10-19", "DEP-1;NEW-1")}
    task = Task.objects.get(client_id="N1")
    purposes = {p.rule_code: p for p in task.purposes.all()}
    assert {c: (p.rule_id, p.due_date.isoformat(), p.plan.rule_code, p.plan.period)
            for c, p in purposes.items()} == {
        "NEW-1": ("NEW-1", "2026-10-19", "NEW-1", "2026-10-12"),
        "DEP-1": ("DEP-1", "2026-10-26", "DEP-1", "2026-10-12"),
    }  # fmt: skip
    assert purposes["NEW-1"].facts_dict == {
        "open_date": "2026-10-12",
        "introducer": None,
        "broker": "BR1",
    }
    assert purposes["DEP-1"].facts_dict == {
        "staff_id": "BR1", "leave_date": "2026-10-12", "relation": "broker", "adviser_now": None,
    }  # fmt: skip
    assert {p.policy_version_id for p in purposes.values()} == {policy.pk}


def test_a_purpose_found_on_a_later_date_joins_the_open_task_and_an_earlier_due_date_wins(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    # Monday: BR1 left on Friday 2026-10-09, his client K1 is owed DEP-1 by 2026-10-22
    # (10 working days, the adjusted working Saturday 2026-10-10 among them)
    feed = office(["SA1"], broker_client("K1", opened="2020-03-02"))
    feed["staff"] = [
        s if s["staff_id"] != "BR1" else {**s, "leave_date": "2026-10-09"} for s in feed["staff"]
    ]
    code, _out, err = runkit.run(tmp_path, "2026-10-12", feed)
    assert code == 0, err
    assert runkit.tasks() == {("K1", "branch", "compliance", "2026-10-22", "DEP-1")}
    # Friday: K1's inflow ranks first in A01 and company-wide (ABN-1, due 2026-10-21)
    flows = [{"client_id": "K1", "kind": "deposit", "amount": "5000000"}]
    code, _out, err = runkit.run(tmp_path, "2026-10-16", {"flows": flows})
    assert code == 0, err
    assert runkit.tasks() == {
        ("K1", "branch", "compliance", "2026-10-21", "ABN-1;DEP-1"),
        ("K1", "company", "compliance", "2026-10-21", "ABN-1"),
    }
    branch = Task.objects.get(client_id="K1", level="branch")
    events = [(e.event, e.business_date.isoformat(), e.detail_dict.get("rule"))
              for e in TaskEvent.objects.filter(task=branch).order_by("id")]  # fmt: skip
    assert events == [
        ("created", "2026-10-12", "DEP-1"),
        ("assigned", "2026-10-12", None),
        ("purpose_added", "2026-10-16", "ABN-1"),
    ]
    assert branch.assignee_id == "SA1"  # the contact keeps its agent


# ---------------------------------------------------------------- balance


def test_nine_tasks_for_three_agents_are_three_each(policy: PolicyVersion, tmp_path: Path) -> None:
    feed = office(["SA1", "SA2", "SA3"], *[broker_client(f"N{i}") for i in range(1, 10)])
    code, _out, err = runkit.run(tmp_path, "2026-10-12", feed)
    assert code == 0, err
    assert runkit.loads() == {"SA1": 3, "SA2": 3, "SA3": 3}
    # the most urgent first, round the agents by load then staff id
    assigned = dict(Task.objects.values_list("client_id", "assignee_id"))
    assert assigned == {f"N{i}": f"SA{(i - 1) % 3 + 1}" for i in range(1, 10)}


def test_an_agent_with_open_tasks_gets_fewer_new_ones(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    code, _out, err = runkit.run(
        tmp_path, "2026-10-12", office(["SA1"], broker_client("N1"), broker_client("N2"))
    )
    assert code == 0, err
    assert runkit.loads() == {"SA1": 2}
    joined = {"staff": [runkit.staff("SA2", "A01", "agent"), runkit.staff("SA3", "A01", "agent")],
              "clients": [broker_client(f"M{i}", opened="2026-10-13") for i in range(1, 8)]}  # fmt: skip
    code, _out, err = runkit.run(tmp_path, "2026-10-13", joined)
    assert code == 0, err
    new = {
        c: a for c, a in Task.objects.values_list("client_id", "assignee_id") if c.startswith("M")
    }
    # SA1 starts at 2: SA2, SA3, SA2, SA3 bring them level, then SA1, SA2, SA3
    assert new == {
        "M1": "SA2",
        "M2": "SA3",
        "M3": "SA2",
        "M4": "SA3",
        "M5": "SA1",
        "M6": "SA2",
        "M7": "SA3",
    }
    assert runkit.loads() == {"SA1": 3, "SA2": 3, "SA3": 3}


def test_an_agent_never_gets_a_client_he_introduced_even_when_least_loaded(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    feed = office(["SA1", "SA2"], broker_client("N1"), runkit.client("N2", "A01", "2026-10-12",
                  broker_staff_id="BR1", introducer_staff_id="SA1"))  # fmt: skip
    code, _out, err = runkit.run(tmp_path, "2026-10-12", feed)
    assert code == 0, err
    assert dict(Task.objects.values_list("client_id", "assignee_id")) == {"N1": "SA1", "N2": "SA2"}


# ---------------------------------------------------------------- unassignable


def test_an_unassignable_task_is_flagged_counted_and_assigned_once_an_agent_joins(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    # KEY-1 is a company task: the call center has nobody yet
    feed = office(["SA1"], runkit.client("K1", "A01", "2020-03-02"), call_center=False)
    feed["assets"] = [{"client_id": "K1", "total_assets": "20000000"}]
    code, out, err = runkit.run(tmp_path, "2026-10-12", feed)
    assert code == 0, err
    task = Task.objects.get(client_id="K1")
    assert (task.status, task.assignee_id, task.due_date.isoformat()) == (
        "open",
        None,
        "2026-12-31",
    )
    assert task.unassigned_reason == "客户服务中心无在岗回访专员 (CON-6)"
    assert [e.event for e in TaskEvent.objects.filter(task=task).order_by("id")] == [
        "created",
        "unassigned",
    ]
    assert NightlyRun.objects.get(business_date="2026-10-12").summary["KEY-1"]["unassigned"] == 1
    assert "assignment: 1 task(s) changed, 1 unassigned" in out
    # the next night it is still open and counted, with no second event
    code, _out, err = runkit.run(tmp_path, "2026-10-13")
    assert code == 0, err
    assert NightlyRun.objects.get(business_date="2026-10-13").summary["KEY-1"]["unassigned"] == 1
    assert TaskEvent.objects.filter(task=task, event="unassigned").count() == 1
    # an agent joins the call center: the task is assigned, the flag cleared
    code, _out, err = runkit.run(
        tmp_path, "2026-10-14", {"staff": [runkit.staff("C01", "HQCC", "agent")]}
    )
    assert code == 0, err
    task.refresh_from_db()
    assert (task.status, task.assignee_id, task.unassigned_reason) == ("assigned", "C01", "")
    assert (
        NightlyRun.objects.get(business_date="2026-10-14")
        .summary.get("KEY-1", {})
        .get("unassigned", 0)
        == 0
    )
    assigned = TaskEvent.objects.get(task=task, event="assigned")
    assert (assigned.staff_id, assigned.business_date.isoformat()) == ("C01", "2026-10-14")


def test_a_task_only_refused_agents_could_hold_names_who_was_refused_and_why(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    # SA1, the only branch agent, introduced N1
    client = runkit.client(
        "N1", "A01", "2026-10-12", broker_staff_id="BR1", introducer_staff_id="SA1"
    )
    code, _out, err = runkit.run(tmp_path, "2026-10-12", office(["SA1"], client))
    assert code == 0, err
    task = Task.objects.get(client_id="N1")
    assert task.assignee_id is None
    assert task.unassigned_reason == (
        "无符合回避与独立性要求的回访人员 (CON-1, CON-2, CON-6) — SA1: CON-1 recusal: introducer"
    )
    event = TaskEvent.objects.get(task=task, event="unassigned")
    assert event.detail_dict["refused"] == {"SA1": ["CON-1 recusal: introducer"]}


def test_a_broker_callback_is_never_assigned_to_its_target(policy: PolicyVersion) -> None:
    """BRK-4 tasks target a staff member (no client): he may not call himself back (CON-1)."""
    from huifang.callbacks.rules import Relations
    from huifang.callbacks.services import Constraints, StaffFacts, assignment_problems

    rules = Constraints.of(policy)
    task = {"level": "company", "kind": "compliance", "branch_id": "A01", "target_staff_id": "C01"}
    rel = Relations("", None, None, None)
    himself = StaffFacts("C01", "HQCC", "call_center", "agent", None, None)
    other = StaffFacts("C02", "HQCC", "call_center", "agent", None, None)
    on = dt.date(2026, 10, 12)
    assert assignment_problems(task=task, staff=himself, rel=rel, rules=rules, on=on)[0] == [
        "CON-1 recusal: the callback's target is the staff member himself"
    ]
    assert assignment_problems(task=task, staff=other, rel=rel, rules=rules, on=on)[0] == []
