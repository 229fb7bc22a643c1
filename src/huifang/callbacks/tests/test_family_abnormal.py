"""ABN-1..ABN-4: weekly top-N rankings and abnormal-trade events through ``huifang run`` (SPEC §4).

Calendar facts the expectations rest on (2026, NFR-1): in ISO week 42 the last
trading day is Friday 2026-10-16, so the weekly rankings fire then and not on
Thursday, due 3 working days later on Wednesday 2026-10-21. ISO week 40 ends its
trading on Wednesday 2026-09-30 (National Day follows); 3 working days later is the
adjusted working Saturday 2026-10-10.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from huifang.callbacks.models import Plan, Task
from huifang.callbacks.tests import runkit
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db

WEEK42_FRIDAY_DUE = "2026-10-21"


def office(*clients: runkit.Row) -> dict[str, list[runkit.Row]]:
    """Branches A01 and B01, two agents in each and two in the call center."""
    return {
        "branches": runkit.branches("A01", "B01"),
        "staff": [
            runkit.staff("SA1", "A01", "agent"),
            runkit.staff("SA2", "A01", "agent"),
            runkit.staff("SB1", "B01", "agent"),
            runkit.staff("SB2", "B01", "agent"),
            runkit.staff("C01", "HQCC", "agent"),
            runkit.staff("C02", "HQCC", "agent"),
        ],
        "clients": list(clients),
    }


def old(client_id: str, branch: str) -> runkit.Row:
    """An existing client who traded recently (no NEW-*, no SMALL-1 by dormancy)."""
    return runkit.client(client_id, branch, "2020-03-02", last_trade_date="2026-10-09")


def flow(client_id: str, kind: str, amount: int) -> runkit.Row:
    return {"client_id": client_id, "kind": kind, "amount": str(amount)}


# ---------------------------------------------------------------- ABN-1


def abn1_week42(tmp_path: Path) -> None:
    """A01: seven clients with inflows 7M … 1M, split over Monday and Friday; B01: 50 small ones.

    A01's ``A1`` also withdraws 9M (an outflow, not counted as inflow); ``A8``
    moves money out only.
    """
    a01 = [old(f"A{i}", "A01") for i in range(1, 9)]
    b01 = [old(f"B{i:02d}", "B01") for i in range(1, 51)]
    monday = [flow(f"A{i}", "deposit", (8 - i) * 500_000) for i in range(1, 8)]
    monday += [flow("A1", "withdraw", 9_000_000), flow("A8", "custody_out", 8_000_000)]
    friday = [flow(f"A{i}", "custody_in" if i % 2 else "designate_in", (8 - i) * 500_000)
              for i in range(1, 8)]  # fmt: skip
    friday += [flow(f"B{i:02d}", "deposit", 100 * i) for i in range(1, 51)]
    days: tuple[tuple[str, dict[str, list[runkit.Row]] | None], ...] = (
        ("2026-10-12", {**office(*a01, *b01), "flows": monday}),
        ("2026-10-15", None),
        ("2026-10-16", {"flows": friday}),
    )
    for day, feed in days:
        code, _out, err = runkit.run(tmp_path, day, feed)
        assert code == 0, err
        if day == "2026-10-15":
            assert not runkit.of_rule("ABN-1"), (
                "weekly rankings fire on the week's last trading day"
            )


def test_the_fifth_largest_inflow_of_a_branch_gets_abn1_and_the_sixth_does_not(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    abn1_week42(tmp_path)
    branch = {(c, due) for c, level, due in runkit.of_rule("ABN-1") if level == "branch"}
    # N = 5 per branch: A1..A5 of A01 (A6, A7 are sixth and seventh), B46..B50 of B01
    assert branch == {(c, WEEK42_FRIDAY_DUE) for c in
                      ["A1", "A2", "A3", "A4", "A5", "B46", "B47", "B48", "B49", "B50"]}  # fmt: skip
    # N = 50 company-wide among 57 clients with inflow: A01's seven and B01's largest 43
    company = {(c, due) for c, level, due in runkit.of_rule("ABN-1") if level == "company"}
    expected = [f"A{i}" for i in range(1, 8)] + [f"B{i:02d}" for i in range(8, 51)]
    assert company == {(c, WEEK42_FRIDAY_DUE) for c in expected}
    assert len(company) == 50


def test_abn1_facts_cite_the_weekly_sum_rank_and_stratum(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    abn1_week42(tmp_path)
    facts = runkit.facts("ABN-1")
    # A5: 1.5M on Monday + 1.5M on Friday; fifth in A01, fifth company-wide
    assert facts[("A5", "branch")] == [
        {"ranking": "inflow", "rank": 5, "amount": 3000000.0, "stratum": "A01"}
    ]
    assert facts[("A5", "company")] == [
        {"ranking": "inflow", "rank": 5, "amount": 3000000.0, "stratum": "company"}
    ]
    assert facts[("B08", "company")][0]["rank"] == 50
    plans = {(p.stratum, p.period, p.population, p.required, p.sampled) for p in
             Plan.objects.filter(rule_code="ABN-1")}  # fmt: skip
    assert plans == {("", "2026-W42", 50, 50, 50), ("A01", "2026-W42", 5, 5, 5),
                     ("B01", "2026-W42", 5, 5, 5)}  # fmt: skip


def test_abn_tasks_are_company_and_branch_tasks_assigned_to_the_right_units(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    abn1_week42(tmp_path)
    a1 = {t.level: t.assignee_id for t in Task.objects.filter(client_id="A1")}
    assert a1["company"] in {"C01", "C02"} and a1["branch"] in {"SA1", "SA2"}
    b50 = Task.objects.get(client_id="B50", level="branch")
    assert b50.assignee_id in {"SB1", "SB2"}


def test_a_week_whose_trading_ends_on_wednesday_ranks_on_wednesday_due_on_the_adjusted_saturday(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    feed = {**office(old("A1", "A01")), "flows": [flow("A1", "deposit", 2_000_000)]}
    code, _out, err = runkit.run(tmp_path, "2026-09-29", feed)
    assert code == 0, err
    assert not runkit.of_rule("ABN-1")
    code, _out, err = runkit.run(tmp_path, "2026-09-30")
    assert code == 0, err
    assert runkit.of_rule("ABN-1") == {
        ("A1", "company", "2026-10-10"),
        ("A1", "branch", "2026-10-10"),
    }
    assert Plan.objects.get(rule_code="ABN-1", stratum="A01").period == "2026-W40"


# ---------------------------------------------------------------- ABN-2


def test_the_largest_outflows_get_abn2_and_inflows_do_not_count(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    abn1_week42(tmp_path)
    # outflows of the week: A1 9M (withdraw), A8 8M (custody_out) — nobody else moved money out
    assert runkit.of_rule("ABN-2") == {
        ("A1", "company", WEEK42_FRIDAY_DUE), ("A1", "branch", WEEK42_FRIDAY_DUE),
        ("A8", "company", WEEK42_FRIDAY_DUE), ("A8", "branch", WEEK42_FRIDAY_DUE),
    }  # fmt: skip
    assert runkit.facts("ABN-2")[("A8", "branch")] == [
        {"ranking": "outflow", "rank": 2, "amount": 8000000.0, "stratum": "A01"}
    ]
    # CON-4: A1's ABN-1 and ABN-2 share one branch task and one company task
    assert ("A1", "branch", "compliance", WEEK42_FRIDAY_DUE, "ABN-1;ABN-2") in runkit.tasks()


# ---------------------------------------------------------------- ABN-3


def abn3_week42(tmp_path: Path) -> None:
    """A01: T1..T6 trade stocks 6M … 1M; W1 trades 3.5M of which 3.2M in warrants."""
    clients = [old(f"T{i}", "A01") for i in range(1, 7)] + [old("W1", "A01")]
    trades = [{"client_id": f"T{i}", "trade_amount": str((7 - i) * 1_000_000), "trade_count": "4"}
              for i in range(1, 7)]  # fmt: skip
    trades.append({"client_id": "W1", "trade_amount": "3500000", "trade_count": "9",
                   "warrant_amount": "3200000"})  # fmt: skip
    code, _out, err = runkit.run(tmp_path, "2026-10-16", {**office(*clients), "trades": trades})
    assert code == 0, err


def test_abn3_ranks_stocks_and_warrants_separately_by_default(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    abn3_week42(tmp_path)
    branch = {c for c, level, _due in runkit.of_rule("ABN-3") if level == "branch"}
    # stocks: T1..T5 (W1's stock part is 0.3M, T6 is sixth); warrants: W1 alone
    assert branch == {"T1", "T2", "T3", "T4", "T5", "W1"}
    company = {c for c, level, _due in runkit.of_rule("ABN-3") if level == "company"}
    assert company == {"T1", "T2", "T3", "T4", "T5", "T6", "W1"}
    assert runkit.facts("ABN-3")[("W1", "company")] == [
        {"ranking": "traded", "rank": 7, "amount": 300000.0, "stratum": "company"},
        {"ranking": "warrant", "rank": 1, "amount": 3200000.0, "stratum": "company"},
    ]
    assert runkit.facts("ABN-3")[("W1", "branch")] == [
        {"ranking": "warrant", "rank": 1, "amount": 3200000.0, "stratum": "A01"}
    ]
    assert {d for _c, _l, d in runkit.of_rule("ABN-3")} == {WEEK42_FRIDAY_DUE}


def test_without_separate_warrant_ranking_abn3_ranks_the_whole_traded_amount(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    runkit.policy_variant({"ABN-3": {"rank_warrants_separately": False}})
    abn3_week42(tmp_path)
    branch = {c for c, level, _due in runkit.of_rule("ABN-3") if level == "branch"}
    # W1's 3.5M (warrants included) is fourth: T1 6M, T2 5M, T3 4M, W1 3.5M, T4 3M
    assert branch == {"T1", "T2", "T3", "W1", "T4"}
    assert runkit.facts("ABN-3")[("W1", "branch")] == [
        {"ranking": "traded", "rank": 4, "amount": 3500000.0, "stratum": "A01"}
    ]


# ---------------------------------------------------------------- ABN-4


def test_an_abnormal_trade_event_gets_abn4_at_company_level_due_three_working_days_later(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    feed = {
        **office(old("A1", "A01"), old("A2", "A01"), old("A3", "A01")),
        "margin_events": [
            {"event_id": "M1", "client_id": "A1", "event_type": "abnormal_trade"},
            {"event_id": "M2", "client_id": "A2", "event_type": "margin_call"},
        ],
        "account_events": [
            {"event_id": "E1", "client_id": "A3", "event_type": "large_asset_change",
             "amount": "9000000"},
        ],
    }  # fmt: skip
    code, _out, err = runkit.run(tmp_path, "2026-10-14", feed)
    assert code == 0, err
    # Wednesday + 3 working days = Monday 2026-10-19; margin calls and account events are other rules
    assert runkit.of_rule("ABN-4") == {("A1", "company", "2026-10-19")}
    assert runkit.facts("ABN-4")[("A1", "company")] == [
        {"event_id": "M1", "event_type": "abnormal_trade", "source": "margin_events"}
    ]
    task = Task.objects.get(client_id="A1", level="company")
    assert task.assignee_id in {"C01", "C02"} and not task.counts_to_cap  # CON-3: abnormal
    # the next date does not see the same event again
    code, _out, err = runkit.run(tmp_path, "2026-10-15")
    assert code == 0, err
    assert runkit.of_rule("ABN-4") == {("A1", "company", "2026-10-19")}
