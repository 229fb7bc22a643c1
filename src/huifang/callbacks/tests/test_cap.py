"""CON-3: one rule that reaches a client at company and branch level spends two of his callbacks.

A policy variant makes ABN-1 (weekly top inflows, company and branch) a capped rule,
so that one capped rule creates two contacts for one client. On Friday 2026-10-16,
the last trading day of ISO week 42, ABN-1 ranks the week's inflows, and SMALL-1
(sampled, run after the 100 % rules, CON-8) then draws among dormant clients — it
must find every client who got two ABN-1 contacts at the cap.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from huifang.callbacks.models import Plan, Purpose, Task
from huifang.callbacks.tests import runkit
from huifang.policy.defaults import ABN_EXEMPT
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db

FRIDAY = "2026-10-16"


def capped_abn1() -> None:
    runkit.policy_variant({
        "ABN-1": {"cap_exempt": False},
        "CON-3": {"max_per_quarter": 2, "exempt_rules": [r for r in ABN_EXEMPT if r != "ABN-1"]},
    })  # fmt: skip


def dormant(client_id: str) -> runkit.Row:
    """An old client without trades for 180 days (SMALL-1's population)."""
    return runkit.client(client_id, "A01", "2020-03-02", last_trade_date="2026-01-05")


def week42(tmp_path: Path) -> None:
    feed = {
        "branches": runkit.branches("A01"),
        "staff": [runkit.staff(s, u, "agent") for s, u in (("S1", "A01"), ("S2", "A01"), ("C1", "HQCC"))]
        + [runkit.staff("V1", "A01", "service")],
        "clients": [dormant("A1"), dormant("A2")],
        "flows": [{"client_id": c, "kind": "deposit", "amount": "5000000"} for c in ("A1", "A2")],
    }  # fmt: skip
    code, _out, err = runkit.run(tmp_path, FRIDAY, feed)
    assert code == 0, err


def counted(client_id: str) -> list[Task]:
    return list(Task.objects.filter(client_id=client_id, quarter="2026-Q4", counts_to_cap=True))


def test_company_and_branch_tasks_of_one_rule_count_two(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    capped_abn1()
    week42(tmp_path)
    a1 = counted("A1")
    assert {t.level for t in a1} == {"company", "branch"}
    assert not any(t.cap_exception for t in a1)
    # at the cap after ABN-1: SMALL-1 (sampled) skips him instead of a third contact
    assert not Purpose.objects.filter(task__client_id="A1", rule_code="SMALL-1").exists()
    small = Plan.objects.get(rule_code="SMALL-1", stratum="A01")
    assert (small.population, small.required, small.sampled, small.skipped_at_cap) == (2, 1, 0, 2)


def test_one_slot_left_makes_the_second_contact_of_the_rule_a_cap_exception(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    capped_abn1()
    Task.objects.create(client_id="A2", branch_id="A01", level="company", kind="service",
                        status="signed", due_date=dt.date(2026, 10, 9), created_on=dt.date(2026, 10, 1),
                        quarter="2026-Q4", counts_to_cap=True)  # fmt: skip
    week42(tmp_path)
    abn1 = {t.level: t for t in Task.objects.filter(client_id="A2", purposes__rule_code="ABN-1")}
    assert not abn1["branch"].cap_exception  # the one slot left (levels in order: branch first)
    assert abn1["company"].cap_exception and "CON-3" in abn1["company"].cap_reason


def test_no_client_gets_a_third_capped_callback_in_a_quarter(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    capped_abn1()
    Task.objects.create(client_id="A2", branch_id="A01", level="company", kind="service",
                        status="signed", due_date=dt.date(2026, 10, 9), created_on=dt.date(2026, 10, 1),
                        quarter="2026-Q4", counts_to_cap=True)  # fmt: skip
    week42(tmp_path)
    within_cap = Counter(
        Task.objects.filter(quarter="2026-Q4", counts_to_cap=True, cap_exception=False).values_list(
            "client_id", flat=True
        )
    )
    assert within_cap == {"A1": 2, "A2": 2}
