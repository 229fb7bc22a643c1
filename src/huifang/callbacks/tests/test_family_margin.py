"""MRG-1..7: margin-trading events and margin clients through ``huifang run`` (SPEC §1, §4, CON-3).

Calendar facts (2026, NFR-1): after Friday 2026-10-09 the next working day is the
adjusted Saturday 10-10, but the next trading day is Monday 10-12 (the exchange does
not open on adjusted Saturdays). So a margin call on 10-09 is due 10-12 (1 trading
day), a major event 10-12 (2 working days: 10-10, 10-12), a credit change 10-13
(3 working days) and a credit account opened 10-15 (5 working days).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from huifang.callbacks.models import Purpose, Task
from huifang.callbacks.tests import runkit
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db

DAY = "2026-10-09"


def office(*clients: runkit.Row) -> dict[str, list[runkit.Row]]:
    return {
        "branches": runkit.branches("A01")
        + [{"branch_code": "HQCR", "name": "信用业务部", "unit_kind": "credit"}],  # fmt: skip
        "staff": [
            runkit.staff("SA1", "A01", "agent"),
            runkit.staff("SV1", "A01", "service"),
            runkit.staff("C01", "HQCC", "agent"),
        ],
        "clients": list(clients),
    }


def margin_client(client_id: str, margin: bool = True) -> runkit.Row:
    extra: dict[str, Any] = (
        {"has_margin_account": "true", "credit_open_date": "2024-05-06"} if margin else {}
    )
    return runkit.client(client_id, "A01", "2020-03-02", last_trade_date="2026-10-08", **extra)


def event(
    event_id: str, client_id: str, kind: str, at: str | None = None, **extra: Any
) -> runkit.Row:
    return {
        "event_id": event_id,
        "client_id": client_id,
        "event_type": kind,
        "event_time": at,
        **extra,
    }


def week41(tmp_path: Path) -> None:
    clients = [margin_client(f"M{i}") for i in range(1, 6)]
    clients += [
        margin_client("M6", margin=False),
        margin_client("M7", margin=False),
        margin_client("N1", False),
    ]
    events = [
        event("E1", "M1", "margin_call", "2026-10-09T14:00:00", security_code="600000"),
        event("E2", "M2", "forced_liquidation", "2026-10-09T14:30:00"),
        event("E3", "M3", "underlying_major_event", "2026-10-09T09:00:00", security_code="000001"),
        event("E4", "M4", "abnormal_trade", "2026-10-09T10:00:00"),
        event("E5", "M5", "credit_change", "2026-10-09T10:00:00"),
        event("E6", "M6", "credit_application", "2026-10-09T09:15:00"),
        event("E7", "M7", "credit_account_opened"),
        event("E9", "M3", "risk_disclosure", "2026-10-09T11:00:00"),
    ]
    code, _out, err = runkit.run(tmp_path, DAY, {**office(*clients), "margin_events": events})
    assert code == 0, err


def test_each_margin_event_gets_its_rule_level_and_deadline(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    week41(tmp_path)
    found = {p for p in runkit.purposes() if p[1].startswith("MRG-") and p[1] != "MRG-7"}
    assert found == {
        ("M1", "MRG-3", "branch", "2026-10-12"),  # next trading day, not the adjusted Saturday
        ("M2", "MRG-4", "branch", "2026-10-12"),
        ("M3", "MRG-5", "branch", "2026-10-12"),  # two purposes: major event and risk disclosure
        ("M4", "MRG-6", "branch", "2026-10-13"),
        ("M5", "MRG-6", "branch", "2026-10-13"),
        ("M6", "MRG-1", "company", "2026-10-09"),  # on receipt, before approval
        ("M7", "MRG-2", "company", "2026-10-15"),
    }
    assert Purpose.objects.filter(rule_code="MRG-5").count() == 2
    # the abnormal trade is also ABN-4 at company level (3 working days)
    assert runkit.of_rule("ABN-4") == {("M4", "company", "2026-10-13")}


def test_margin_calls_and_liquidations_are_cap_exempt_and_so_is_only_the_abnormal_part_of_mrg6(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    """CON-3: ABN-*, MRG-3, MRG-4 and the abnormal-trade part of MRG-6 are exempt; a credit change counts."""
    week41(tmp_path)
    exempt = {(p.task.client_id, p.rule_code): (p.cap_exempt, p.task.counts_to_cap)
              for p in Purpose.objects.filter(rule_code__startswith="MRG-").exclude(rule_code="MRG-7")
              .select_related("task")}  # fmt: skip
    assert exempt == {
        ("M1", "MRG-3"): (True, False), ("M2", "MRG-4"): (True, False), ("M3", "MRG-5"): (False, True),
        ("M4", "MRG-6"): (True, False), ("M5", "MRG-6"): (False, True), ("M6", "MRG-1"): (False, True),
        ("M7", "MRG-2"): (False, True),
    }  # fmt: skip


def test_mrg1_and_mrg2_facts_ask_for_a_recorded_phone(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    week41(tmp_path)
    mrg1 = runkit.facts("MRG-1")[("M6", "company")][0]
    assert mrg1 == {
        "event_id": "E6", "event_type": "credit_application", "source": "margin_events",
        "event_time": "2026-10-09T09:15:00+08:00", "security_code": None, "amount": None, "staff_id": None,
        "detail": None, "recorded_phone": True, "methods": ["phone"], "handled_by": "credit",
        "follow_until": None, "resolved": None,
    }  # fmt: skip
    mrg2 = runkit.facts("MRG-2")[("M7", "company")][0]
    assert (mrg2["recorded_phone"], mrg2["event_time"]) == (True, None)


def test_a_margin_call_is_followed_up_until_resolved_and_a_later_resolution_is_noted(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    week41(tmp_path)
    facts = runkit.facts("MRG-3")[("M1", "branch")][0]
    assert (facts["follow_until"], facts["resolved"], facts["security_code"]) == (
        "margin_call_resolved", None, "600000",
    )  # fmt: skip
    resolved = [event("E8", "M1", "margin_call_resolved", "2026-10-12T10:05:00")]
    code, _out, err = runkit.run(tmp_path, "2026-10-12", {"margin_events": resolved})
    assert code == 0, err
    facts = runkit.facts("MRG-3")[("M1", "branch")][0]
    assert facts["resolved"] == {
        "event_id": "E8",
        "event_time": "2026-10-12T10:05:00+08:00",
        "business_date": "2026-10-12",
    }
    # the resolution is no new obligation
    assert Purpose.objects.filter(rule_code="MRG-3").count() == 1


def test_a_resolution_in_the_same_feed_is_in_the_facts_from_the_start(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    events = [
        event("E1", "M1", "margin_call", "2026-10-09T09:40:00"),
        event("E0", "M1", "margin_call_resolved", "2026-10-09T09:30:00"),  # an earlier call's
        event("E2", "M1", "margin_call_resolved", "2026-10-09T14:50:00"),
    ]
    code, _out, err = runkit.run(
        tmp_path, DAY, {**office(margin_client("M1")), "margin_events": events}
    )
    assert code == 0, err
    facts = runkit.facts("MRG-3")[("M1", "branch")][0]
    assert facts["resolved"] == {"event_id": "E2", "event_time": "2026-10-09T14:50:00+08:00"}


def test_every_margin_client_gets_a_monthly_service_callback_once_a_month(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    week41(tmp_path)
    clients = {(c, level, due) for c, level, due in runkit.of_rule("MRG-7")}
    assert clients == {(f"M{i}", "branch", "2026-10-31") for i in range(1, 6)}
    kinds = set(Task.objects.filter(purposes__rule_code="MRG-7").values_list("kind", flat=True))
    assert kinds == {"service"}
    # a later date of the month adds nothing; a client whose credit account opens joins
    later = {"clients": [margin_client("N1")]}
    code, _out, err = runkit.run(tmp_path, "2026-10-12", later)
    assert code == 0, err
    assert {c for c, _l, _d in runkit.of_rule("MRG-7")} == {"M1", "M2", "M3", "M4", "M5", "N1"}
    assert Purpose.objects.filter(rule_code="MRG-7").count() == 6


def test_a_rerun_of_the_date_adds_nothing(policy: PolicyVersion, tmp_path: Path) -> None:
    week41(tmp_path)
    keys = sorted(Purpose.objects.values_list("key", flat=True))
    tasks = Task.objects.count()
    code, out, err = runkit.run(tmp_path, DAY)
    assert code == 0, err
    assert "already run" in out
    assert sorted(Purpose.objects.values_list("key", flat=True)) == keys
    assert Task.objects.count() == tasks
