"""KEY-1, CORE-1, SMALL-1 through ``huifang run`` (SPEC §4; CLS-1 classes, §1 dormancy).

- KEY-1: assets ≥ 10,000,000 on the latest snapshot, company level, by year-end.
- CORE-1: classes ``vip`` and ``core`` (as the classification stored them), branch
  service callback by month-end.
- SMALL-1: class ``ordinary`` or dormant (no trade for 180 days), 20 % per branch
  and half-year (CON-7, CON-8), branch service callback by the half-year's end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from huifang.callbacks.models import Plan, Task
from huifang.callbacks.rules import required_count, sample_order, sample_seed
from huifang.callbacks.tests import runkit
from huifang.classification.models import ClientClass
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db


def staff() -> list[runkit.Row]:
    return [
        runkit.staff("SA1", "A01", "agent"),
        runkit.staff("SV1", "A01", "service"),
        runkit.staff("SV2", "A01", "service"),
        runkit.staff("C01", "HQCC", "agent"),
    ]


def active(client_id: str, **extra: str) -> runkit.Row:
    """An existing client of A01 who traded recently."""
    return runkit.client(client_id, "A01", "2020-03-02", last_trade_date="2026-10-09", **extra)


def assets(**by_client: int | str) -> list[runkit.Row]:
    return [{"client_id": c, "total_assets": str(a)} for c, a in by_client.items()]


# ---------------------------------------------------------------- KEY-1


def test_clients_at_or_above_ten_million_get_key1_due_at_year_end(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    clients = [active(c) for c in ("K1", "K2", "K3", "K4", "KB")]
    feed = {
        "branches": runkit.branches("A01"),
        "staff": [*staff(), runkit.staff("B01", "A01", "broker", client_id="KB")],
        "clients": clients,
        "assets": assets(
            K1="10000000", K2="9999999.99", K3=12_000_000, K4=15_000_000, KB=20_000_000
        ),
    }
    code, _out, err = runkit.run(tmp_path, "2026-10-12", feed)
    assert code == 0, err
    # K4's next snapshot falls to 1M; K3 is absent from it and keeps his 12M (§1)
    code, _out, err = runkit.run(tmp_path, "2026-10-13", {"assets": assets(K4=1_000_000)})
    assert code == 0, err
    # K1: exactly 10M counts ("1000万元(含)以上"); KB is a broker himself (BRK-4, not KEY-1)
    assert runkit.of_rule("KEY-1") == {
        ("K1", "company", "2026-12-31"),
        ("K3", "company", "2026-12-31"),
        ("K4", "company", "2026-12-31"),  # 15M on 2026-10-12: once a year, already owed
    }
    assert runkit.facts("KEY-1")[("K1", "company")] == [
        {"assets": 10000000.0, "assets_date": "2026-10-12"}
    ]
    assert set(
        Task.objects.filter(purposes__rule_code="KEY-1").values_list("assignee_id", flat=True)
    ) == {"C01"}


def test_a_broker_who_left_is_a_key1_client_again(policy: PolicyVersion, tmp_path: Path) -> None:
    feed = {
        "branches": runkit.branches("A01"),
        "staff": [
            *staff(),
            runkit.staff("B01", "A01", "broker", client_id="KB", leave_date="2026-10-09"),
        ],
        "clients": [active("KB")],
        "assets": assets(KB=20_000_000),
    }
    code, _out, err = runkit.run(tmp_path, "2026-10-12", feed)
    assert code == 0, err
    assert runkit.of_rule("KEY-1") == {("KB", "company", "2026-12-31")}


# ---------------------------------------------------------------- CORE-1


def test_vip_and_core_clients_rated_by_the_quarterly_classification_get_core1_by_month_end(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    feed = {
        "branches": runkit.branches("A01"),
        "staff": staff(),
        "clients": [active(c) for c in ("V1", "C1", "C2", "P1", "O1")],
        "assets": assets(V1=12_000_000, C1=300_000, C2=150_000, P1=150_000, O1=5_000),
        "commissions": [{"client_id": "C2", "period": "2025", "net_commission": "6000"}],
    }
    code, _out, err = runkit.run(tmp_path, "2026-09-30", feed)
    assert code == 0, err
    assert not runkit.of_rule("CORE-1")  # no class stored yet
    # 2026-10-08 is the first working day of Q4: the quarterly rating runs first (CLS-3)
    code, out, err = runkit.run(tmp_path, "2026-10-08")
    assert code == 0, err
    assert "classify quarterly" in out
    classes = dict(
        ClientClass.objects.filter(scheme="CLS-1").values_list("client_id", "class_code")
    )
    assert classes == {"V1": "vip", "C1": "core", "C2": "core", "P1": "potential", "O1": "ordinary"}
    assert runkit.of_rule("CORE-1") == {
        ("V1", "branch", "2026-10-31"),
        ("C1", "branch", "2026-10-31"),
        ("C2", "branch", "2026-10-31"),
    }
    core1 = Task.objects.filter(purposes__rule_code="CORE-1")
    assert {t.kind for t in core1} == {"service"}
    assert {t.assignee_id for t in core1} == {"SV1", "SV2"}  # service staff, balanced 2 + 1
    assert Plan.objects.get(rule_code="CORE-1").period == "2026-10"


def test_core1_comes_again_next_month_and_joins_the_open_contact(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    feed = {"branches": runkit.branches("A01"), "staff": staff(), "clients": [active("V1")],
            "assets": assets(V1=12_000_000)}  # fmt: skip
    for day, f in (("2026-09-30", feed), ("2026-10-08", None), ("2026-11-02", None)):
        code, _out, err = runkit.run(tmp_path, day, f)
        assert code == 0, err
    assert runkit.of_rule("CORE-1") == {
        ("V1", "branch", "2026-10-31"),
        ("V1", "branch", "2026-11-30"),
    }
    # CON-4: the October contact is still open, so November's purpose joins it
    task = Task.objects.get(client_id="V1", kind="service")
    assert sorted(p.plan.period for p in task.purposes.all() if p.plan) == ["2026-10", "2026-11"]
    assert task.due_date.isoformat() == "2026-10-31"


# ---------------------------------------------------------------- SMALL-1


def small_branch() -> dict[str, list[runkit.Row]]:
    """A01 on Monday 2026-10-12; the dormancy cut-off is 2026-04-15 (180 days before).

    Dormant: D01..D10 (last trade 2026-01-05), N2 (no trade, opened 2026-04-14).
    Not dormant: R1 (traded 2026-10-09), N1 (no trade, opened exactly 180 days
    ago: not *over* 180 days), X1 (no ``last_trade_date`` and opened in 2020, but a
    trade in the archive on the business date, §1).
    """
    clients = [
        runkit.client(f"D{i:02d}", "A01", "2019-05-06", last_trade_date="2026-01-05")
        for i in range(1, 11)
    ]
    clients += [
        active("R1"),
        runkit.client("N1", "A01", "2026-04-15", last_trade_date=None),
        runkit.client("N2", "A01", "2026-04-14", last_trade_date=None),
        runkit.client("X1", "A01", "2020-03-02", last_trade_date=None),
    ]
    return {
        "branches": runkit.branches("A01"),
        "staff": staff(),
        "clients": clients,
        "trades": [{"client_id": "X1", "trade_amount": "1000", "trade_count": "1"}],
    }


def test_dormant_clients_are_sampled_twenty_percent_per_branch_by_half_year_end(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    code, _out, err = runkit.run(tmp_path, "2026-10-12", small_branch())
    assert code == 0, err
    population = [f"D{i:02d}" for i in range(1, 11)] + ["N2"]
    plan = Plan.objects.get(rule_code="SMALL-1")
    assert (plan.period, plan.stratum, plan.population, plan.required, plan.sampled) == (
        "2026-H2", "A01", 11, 3, 3,
    )  # fmt: skip
    assert plan.seed == sample_seed(policy.number, "SMALL-1", "2026-H2")
    # CON-7: the first ceil(20 % × 11) = 3 of the population in SHA-256(seed, client_id) order
    expected = sorted(population, key=lambda c: sample_order(plan.seed, c))[
        : required_count(plan.share, 11)
    ]
    assert runkit.of_rule("SMALL-1") == {(c, "branch", "2026-12-31") for c in expected}
    small = Task.objects.filter(purposes__rule_code="SMALL-1")
    assert {(t.kind, t.assignee_id in {"SV1", "SV2"}) for t in small} == {("service", True)}
    members = set(plan.entries.values_list("client_id", flat=True))
    assert members == set(population)


def test_ordinary_clients_are_small(policy: PolicyVersion, tmp_path: Path) -> None:
    feed = {"branches": runkit.branches("A01"), "staff": staff(), "clients": [active("O1"), active("P1")],
            "assets": assets(O1=5_000, P1=150_000)}  # fmt: skip
    for day, f in (("2026-09-30", feed), ("2026-10-08", None)):
        code, _out, err = runkit.run(tmp_path, day, f)
        assert code == 0, err
    assert runkit.of_rule("SMALL-1") == {("O1", "branch", "2026-12-31")}
