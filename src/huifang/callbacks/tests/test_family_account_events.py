"""SPC-2: confirmation of important operations from ``account_events`` (SPEC §1, §4 SPC-2, CON-3, CON-4).

Calendar facts (2026, NFR-1): three working days after Wednesday 2026-09-30 skip the
National Day holiday (10-01 … 10-07): 10-08, 10-09 and the adjusted Saturday 10-10.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from huifang.callbacks.models import Purpose, Task
from huifang.callbacks.tests import runkit
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db

TYPES = ("large_asset_change", "account_closed", "password_reset", "new_business_opened",
         "agent_changed", "agreement_signed")  # fmt: skip


def office(*clients: runkit.Row) -> dict[str, list[runkit.Row]]:
    return {
        "branches": runkit.branches("A01"),
        "staff": [
            runkit.staff("SA1", "A01", "agent"),
            runkit.staff("OP1", "A01", "ops"),
            runkit.staff("C01", "HQCC", "agent"),
        ],  # fmt: skip
        "clients": list(clients),
    }


def old(client_id: str) -> runkit.Row:
    return runkit.client(client_id, "A01", "2020-03-02", last_trade_date="2026-09-25")


def event(event_id: str, client_id: str, kind: str, **extra: Any) -> runkit.Row:
    return {"event_id": event_id, "client_id": client_id, "event_type": kind, **extra}


def test_every_operation_type_gets_spc2_due_three_working_days_later_in_one_task(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    events = [
        event(f"A{i}", "K1", kind, event_time="2026-09-30T15:00:00") for i, kind in enumerate(TYPES)
    ]
    events.append(event("B1", "K2", "large_asset_change", amount="2500000.00", staff_id="OP1",
                        detail="大额转出"))  # fmt: skip
    code, _out, err = runkit.run(tmp_path, "2026-09-30", {**office(old("K1"), old("K2")),
                                                          "account_events": events})  # fmt: skip
    assert code == 0, err
    assert runkit.of_rule("SPC-2") == {
        ("K1", "branch", "2026-10-10"),
        ("K2", "branch", "2026-10-10"),
    }
    # CON-4: K1's six operations are six purposes of one contact
    k1 = Task.objects.get(client_id="K1")
    assert sorted(p.facts_dict["event_type"] for p in k1.purposes.all()) == sorted(TYPES)
    assert (k1.level, k1.kind, k1.counts_to_cap) == ("branch", "compliance", False)
    facts = runkit.facts("SPC-2")[("K2", "branch")][0]
    assert {k: facts[k] for k in ("event_id", "event_type", "amount", "staff_id", "detail", "handled_by")} == {
        "event_id": "B1", "event_type": "large_asset_change", "amount": 2500000.0, "staff_id": "OP1",
        "detail": "大额转出", "handled_by": "branch_ops",
    }  # fmt: skip


def test_spc2_is_cap_exempt_and_never_a_cap_exception(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    """CON-3: special callbacks do not count, so a client at the cap still gets one, without an exception.

    K2, at the cap too, buys a trust: PROD-1 is capped, so his task is the cap exception.
    """
    code, _out, err = runkit.run(tmp_path, "2026-10-08", office(old("K1"), old("K2")))
    assert code == 0, err
    for client in ("K1", "K2"):
        for due in ("2026-10-09", "2026-10-12"):  # two capped callbacks of 2026-Q4, done
            Task.objects.create(client_id=client, branch_id="A01", level="branch", kind="compliance",
                                status="signed", due_date=due, created_on="2026-10-08", quarter="2026-Q4",
                                counts_to_cap=True)  # fmt: skip
    purchase = {"purchase_id": "P1", "client_id": "K2", "product_code": "T1", "product_name": "信托1号",
                "product_type": "trust", "product_risk_level": "R3", "amount": "100000",
                "purchase_time": "2026-10-09T10:00:00"}  # fmt: skip
    feed = {"account_events": [event("A2", "K1", "agent_changed")], "product_purchases": [purchase]}
    code, _out, err = runkit.run(tmp_path, "2026-10-09", feed)
    assert code == 0, err
    task = Task.objects.get(purposes__rule_code="SPC-2")
    assert (task.client_id, task.counts_to_cap, task.cap_exception, task.cap_reason) == (
        "K1",
        False,
        False,
        "",
    )
    assert task.due_date.isoformat() == "2026-10-13"  # 10-10 (adjusted Saturday), 10-12, 10-13
    assert all(p.cap_exempt for p in Purpose.objects.filter(rule_code="SPC-2"))
    capped = Task.objects.get(purposes__rule_code="PROD-1")
    assert (capped.client_id, capped.counts_to_cap, capped.cap_exception) == ("K2", True, True)


def test_a_rerun_and_the_next_date_add_nothing(policy: PolicyVersion, tmp_path: Path) -> None:
    feed = {**office(old("K1")), "account_events": [event("A1", "K1", "account_closed")]}
    code, _out, err = runkit.run(tmp_path, "2026-09-30", feed)
    assert code == 0, err
    assert runkit.of_rule("SPC-2") == {("K1", "branch", "2026-10-10")}
    for day in ("2026-09-30", "2026-10-08"):
        code, _out, err = runkit.run(tmp_path, day)
        assert code == 0, err
    assert Purpose.objects.filter(rule_code="SPC-2").count() == 1
