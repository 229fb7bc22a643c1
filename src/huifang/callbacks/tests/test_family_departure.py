"""DEP-1: a staff departure through ``huifang run`` (SPEC §1 staff ``leave_date``, §4 DEP-1).

Every client the leaver introduced, brokered or served gets a branch callback due 10
working days after the leave date (2026-10-14 → 2026-10-28), also when the feed
hands the client over to a successor at the same time; the leaver's own open tasks
go to another eligible agent with a ``reassigned`` event.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from huifang.callbacks.models import Task, TaskEvent
from huifang.callbacks.tests import runkit
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db

LEFT = "2026-10-14"
DEP1_DUE = "2026-10-28"  # 10 working days after Wednesday 2026-10-14


def existing(client_id: str, **relations: str) -> runkit.Row:
    return runkit.client(client_id, "A01", "2020-03-02", last_trade_date="2026-10-09", **relations)


def monday() -> dict[str, list[runkit.Row]]:
    """A01 with two agents, two advisers and two brokers, one call-center agent; N1, N2 are new broker clients (NEW-1)."""
    return {
        "branches": runkit.branches("A01"),
        "staff": [
            runkit.staff("SA1", "A01", "agent"),
            runkit.staff("SA2", "A01", "agent"),
            runkit.staff("AD1", "A01", "adviser"),
            runkit.staff("AD2", "A01", "adviser"),
            runkit.staff("BR1", "A01", "broker"),
            runkit.staff("BR2", "A01", "broker"),
            runkit.staff("C01", "HQCC", "agent"),
        ],
        "clients": [
            existing("K1", introducer_staff_id="AD1", adviser_staff_id="AD2"),
            existing("K2", adviser_staff_id="AD1"),
            existing("K3", adviser_staff_id="AD1"),
            existing("K4", broker_staff_id="BR1"),
            existing("K5", adviser_staff_id="AD2"),
            runkit.client("N1", "A01", "2026-10-12", broker_staff_id="BR2"),
            runkit.client("N2", "A01", "2026-10-12", broker_staff_id="BR2"),
        ],
    }


def departures_reported_friday() -> dict[str, list[runkit.Row]]:
    """Friday's feed: AD1, BR1 and the agent SA1 left on Wednesday; K3 is handed over to AD2."""
    return {
        "staff": [
            runkit.staff("AD1", "A01", "adviser", leave_date=LEFT),
            runkit.staff("BR1", "A01", "broker", leave_date=LEFT),
            runkit.staff("SA1", "A01", "agent", leave_date=LEFT),
        ],
        "clients": [existing("K3", adviser_staff_id="AD2")],
    }


def run_week(tmp_path: Path) -> None:
    for day, feed in (("2026-10-12", monday()), ("2026-10-16", departures_reported_friday())):
        code, _out, err = runkit.run(tmp_path, day, feed)
        assert code == 0, err


def test_every_client_the_leavers_introduced_brokered_or_served_gets_dep1_ten_working_days_after(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    run_week(tmp_path)
    # K5 (AD2's), N1 and N2 (BR2's) are not the leavers' clients
    assert runkit.of_rule("DEP-1") == {
        ("K1", "branch", DEP1_DUE),
        ("K2", "branch", DEP1_DUE),
        ("K3", "branch", DEP1_DUE),
        ("K4", "branch", DEP1_DUE),
    }
    facts = runkit.facts("DEP-1")
    assert facts[("K1", "branch")] == [
        {"staff_id": "AD1", "leave_date": LEFT, "relation": "introducer", "adviser_now": "AD2"}
    ]
    assert facts[("K4", "branch")] == [
        {"staff_id": "BR1", "leave_date": LEFT, "relation": "broker", "adviser_now": None}
    ]
    # handed over in the same feed: still AD1's client the day before he left
    assert facts[("K3", "branch")] == [
        {"staff_id": "AD1", "leave_date": LEFT, "relation": "adviser", "adviser_now": "AD2"}
    ]


def test_the_leaving_agents_open_task_is_reassigned_with_a_reassigned_event(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    run_week(tmp_path)
    n1 = Task.objects.get(client_id="N1", level="branch")
    assert n1.assignee_id == "SA2" and n1.status == "assigned"
    events = [(e.event, e.staff_id, e.business_date.isoformat()) for e in TaskEvent.objects.filter(
        task=n1).exclude(event="overdue").order_by("id")]  # fmt: skip
    assert events == [
        ("created", None, "2026-10-12"),
        ("assigned", "SA1", "2026-10-12"),  # balanced: N1 to SA1, N2 to SA2
        ("reassigned", "SA2", "2026-10-16"),
    ]
    proof = TaskEvent.objects.get(task=n1, event="reassigned").detail_dict
    assert proof["previous"] == "SA1" and proof["found"] == []
    # nothing open stays with a leaver: N1, N2 and the four DEP-1 tasks are with the one
    # branch agent left; the call center holds Friday's NEW-3 sample (company level)
    assert runkit.loads() == {"SA2": 6, "C01": 1}


def test_a_departure_is_called_back_once(policy: PolicyVersion, tmp_path: Path) -> None:
    run_week(tmp_path)
    before = runkit.tasks()
    code, _out, err = runkit.run(tmp_path, "2026-10-19")
    assert code == 0, err
    assert runkit.tasks() == before
    assert not TaskEvent.objects.filter(business_date="2026-10-19", event="reassigned").exists()
