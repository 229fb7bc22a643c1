"""PROD-1..7: purchases of non-public products through ``huifang run`` (SPEC §1, §4, CON-4, CON-8).

Calendar facts (2026, NFR-1): National Day runs 10-01 … 10-07; 10-10 (Saturday) is
an adjusted working day. A purchase at 10:00 on Wednesday 2026-09-30 ends its 24 h
cooling-off at 10:00 on 10-01 (a holiday); three working days after that are 10-08,
10-09 and 10-10, so it is due 2026-10-10 and opens at 2026-10-01 10:00 (02:00 UTC).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from huifang.callbacks.models import Plan, Purpose, Task
from huifang.callbacks.tests import runkit
from huifang.feeds.tests.feedkit import id_card
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db

DUE_0930 = "2026-10-10"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def office(*clients: runkit.Row) -> dict[str, list[runkit.Row]]:
    return {
        "branches": runkit.branches("A01", "B01"),
        "staff": [
            runkit.staff("SA1", "A01", "agent"),
            runkit.staff("SB1", "B01", "agent"),
            runkit.staff("C01", "HQCC", "agent"),
        ],
        "clients": list(clients),
    }


def person(client_id: str, risk: str | None, *, branch: str = "A01", **extra: Any) -> runkit.Row:
    """An existing client who traded recently (no NEW-*, no SMALL-1)."""
    return runkit.client(client_id, branch, "2020-03-02", last_trade_date="2026-09-25",
                         risk_level=risk, **extra)  # fmt: skip


def purchase(pid: str, client_id: str, kind: str, risk: str, amount: int, at: str | None,
             **extra: Any) -> runkit.Row:  # fmt: skip
    return {
        "purchase_id": pid, "client_id": client_id, "product_code": f"P{pid}",
        "product_name": f"产品{pid}", "product_type": kind, "product_risk_level": risk,
        "amount": str(amount), "purchase_time": at, **extra,
    }  # fmt: skip


def local(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def prod_tasks() -> set[tuple[str, str, str, str]]:
    """(client, due date, PROD purposes ``a;b``, opens_at in Asia/Shanghai) of every task with a PROD purpose."""
    found = set()
    for task in Task.objects.prefetch_related("purposes"):
        codes = sorted(p.rule_code for p in task.purposes.all() if p.rule_id.startswith("PROD-"))
        if codes:
            opens = task.opens_at.astimezone(SHANGHAI).isoformat() if task.opens_at else ""
            found.add((task.client_id or "", task.due_date.isoformat(), ";".join(codes), opens))
    return found


def run(tmp: Path, day: str, feed: dict[str, list[runkit.Row]] | None = None) -> None:
    code, _out, err = runkit.run(tmp, day, feed)
    assert code == 0, err


# ---------------------------------------------------------------- the examples


def test_an_elderly_client_buying_a_registered_private_fund_gets_prod1_and_prod4_in_one_task(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    """A C3 client born 1954 (birth date from the ID number) buys 100,000 of an AMAC-registered R3 private fund."""
    old = person("K1", "C3", id_type="id_card", id_number=id_card(1, birth="19540315"))
    feed = {**office(old), "product_purchases": [
        purchase("9001", "K1", "private_fund", "R3", 100_000, "2026-09-30T10:00:00", amac_registered="true")]}  # fmt: skip
    run(tmp_path, "2026-09-30", feed)
    assert prod_tasks() == {("K1", DUE_0930, "PROD-1;PROD-4", "2026-10-01T10:00:00+08:00")}
    task = Task.objects.get(client_id="K1")
    # the task may not be worked before the cooling-off ends (AMAC Art. 29–31)
    assert task.opens_at == local("2026-10-01T10:00:00")
    assert (task.level, task.kind, task.counts_to_cap) == ("branch", "compliance", True)
    facts = runkit.facts("PROD-4")[("K1", "branch")][0]
    assert facts == {
        "purchase_id": "9001", "product_code": "P9001", "product_name": "产品9001",
        "product_type": "private_fund", "amount": 100000.0, "product_risk_level": "R3",
        "client_risk_level": "C3", "age": 72, "birth_date": "1954-03-15",
        "purchase_time": "2026-09-30T10:00:00+08:00", "has_third_party_adviser": False,
        "amac_registered": True, "sales_staff_id": None, "cooling_off_hours": 24,
        "opens_at": "2026-10-01T10:00:00+08:00", "purchase_ids": None,
    }  # fmt: skip
    assert runkit.facts("PROD-1")[("K1", "branch")][0]["purchase_id"] == "9001"


def test_a_c2_client_buying_an_r4_asset_management_product_gets_prod2_and_prod3(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    feed = {**office(person("K2", "C2")), "product_purchases": [
        purchase("9002", "K2", "asset_management", "R4", 300_000, "2026-09-30T10:00:00")]}  # fmt: skip
    run(tmp_path, "2026-09-30", feed)
    assert prod_tasks() == {("K2", DUE_0930, "PROD-2;PROD-3", "2026-10-01T10:00:00+08:00")}
    assert not Plan.objects.filter(rule_code="PROD-7").exists()


def test_a_trust_purchase_of_six_million_gets_prod1_and_prod5(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    feed = {**office(person("K3", "C4")), "product_purchases": [
        purchase("9003", "K3", "trust", "R3", 6_000_000, "2026-09-30T10:00:00")]}  # fmt: skip
    run(tmp_path, "2026-09-30", feed)
    assert prod_tasks() == {("K3", DUE_0930, "PROD-1;PROD-5", "2026-10-01T10:00:00+08:00")}


# ---------------------------------------------------------------- each criterion's edges


def test_each_criterion_takes_exactly_its_purchases(policy: PolicyVersion, tmp_path: Path) -> None:
    clients = [
        person("F1", "C3"),  # fund special account with a third-party adviser → PROD-1
        person("F2", "C3"),  # fund special account without one → other (PROD-7)
        person("F3", "C3"),  # private fund not AMAC-registered → other
        person("R1", "C3"),  # C3 buys R4: mismatch and high risk
        person("R2", "C5"),  # C5 buys R5: fits, high risk only
        person("R3", None),  # never assessed: nothing fits
        person("A70", "C4", birth_date="1956-09-30"),  # 70 on the purchase date
        person("A69", "C4", birth_date="1956-10-01"),  # 69 until the next day
        person("M5", "C4"),  # 5,000,000 exactly
        person("M4", "C4"),  # 4,999,999.99
        person("PF", "C1"),  # a public fund: never PROD-*
    ]
    at = "2026-09-30T10:00:00"
    purchases = [
        purchase("1", "F1", "fund_special_account", "R3", 100_000, at, has_third_party_adviser="1"),
        purchase("2", "F2", "fund_special_account", "R3", 100_000, at),
        purchase("3", "F3", "private_fund", "R3", 100_000, at, amac_registered="false"),
        purchase("4", "R1", "other", "R4", 100_000, at),
        purchase("5", "R2", "asset_management", "R5", 100_000, at),
        purchase("6", "R3", "asset_management", "R1", 100_000, at),
        purchase("7", "A70", "asset_management", "R2", 100_000, at),
        purchase("8", "A69", "asset_management", "R2", 100_000, at),
        purchase("9", "M5", "asset_management", "R2", 5_000_000, at),
        {**purchase("10", "M4", "asset_management", "R2", 0, at), "amount": "4999999.99"},
        purchase("11", "PF", "public_fund", "R5", 9_000_000, at),
    ]
    run(tmp_path, "2026-09-30", {**office(*clients), "product_purchases": purchases})
    full = {(c, code) for c, code, _level, _due in runkit.purposes() if code.startswith("PROD-")
            and code != "PROD-7"}  # fmt: skip
    assert full == {("F1", "PROD-1"), ("R1", "PROD-2"), ("R1", "PROD-3"), ("R2", "PROD-3"),
                    ("R3", "PROD-2"), ("A70", "PROD-4"), ("M5", "PROD-5")}  # fmt: skip
    # PROD-6: no feed names the review committee's clients (STATUS.md)
    assert not runkit.of_rule("PROD-6")
    # PROD-7: the other non-public purchases F2, F3, A69, M4 (4 clients in A01): 10 % → 1 drawn
    plan = Plan.objects.get(rule_code="PROD-7")
    assert (plan.period, plan.stratum, plan.population, plan.required, plan.sampled) == (
        "2026-09", "A01", 4, 1, 1,
    )  # fmt: skip
    assert {c for c, code, _l, _d in runkit.purposes() if code == "PROD-7"} <= {
        "F2",
        "F3",
        "A69",
        "M4",
    }
    assert not [p for p in runkit.purposes() if p[0] == "PF"]


def test_without_a_purchase_time_the_cooling_off_runs_from_the_end_of_the_business_date(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    feed = {**office(person("K4", "C4")), "product_purchases": [
        purchase("9004", "K4", "trust", "R3", 100_000, None)]}  # fmt: skip
    run(tmp_path, "2026-09-30", feed)
    # ends 2026-10-02 00:00: three working days after 10-02 are 10-08, 10-09, 10-10
    assert prod_tasks() == {("K4", DUE_0930, "PROD-1", "2026-10-02T00:00:00+08:00")}


# ---------------------------------------------------------------- merging and re-runs


def test_a_later_purchase_merged_into_the_open_task_moves_opens_at_later(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    """CON-4: one task; it opens when the last cooling-off of its purposes ends, due the earliest."""
    first = {**office(person("K5", "C3")), "product_purchases": [
        purchase("9005", "K5", "trust", "R3", 100_000, "2026-09-29T09:30:00")]}  # fmt: skip
    run(tmp_path, "2026-09-29", first)
    # 24 h → 09-30 09:30; three working days after 09-30: 10-08, 10-09, 10-10
    assert prod_tasks() == {("K5", DUE_0930, "PROD-1", "2026-09-30T09:30:00+08:00")}
    second = {"product_purchases": [
        purchase("9006", "K5", "trust", "R3", 7_000_000, "2026-09-30T14:15:00"),
        purchase("9007", "K5", "other", "R5", 100_000, "2026-09-30T11:00:00")]}  # fmt: skip
    run(tmp_path, "2026-09-30", second)
    task = Task.objects.get(client_id="K5")
    assert task.opens_at == local("2026-10-01T14:15:00")
    assert task.due_date == dt.date(2026, 10, 10)
    keys = sorted(Purpose.objects.filter(task=task).values_list("key", flat=True))
    assert keys == ["PROD-1:9005", "PROD-1:9006", "PROD-2:9007", "PROD-3:9007", "PROD-5:9006"]
    assert Task.objects.count() == 1


def test_a_rerun_and_the_next_dates_add_nothing(policy: PolicyVersion, tmp_path: Path) -> None:
    feed = {**office(person("K6", "C2")), "product_purchases": [
        purchase("9008", "K6", "trust", "R4", 6_000_000, "2026-09-30T10:00:00")]}  # fmt: skip
    run(tmp_path, "2026-09-30", feed)
    prod = Purpose.objects.filter(rule_id__startswith="PROD-")
    before = sorted(prod.values_list("key", flat=True))
    assert before == ["PROD-1:9008", "PROD-2:9008", "PROD-3:9008", "PROD-5:9008"]
    for day in ("2026-09-30", "2026-10-08", "2026-10-09"):
        run(tmp_path, day)
    assert sorted(prod.values_list("key", flat=True)) == before
    assert Task.objects.filter(purposes__rule_id__startswith="PROD-").distinct().count() == 1


# ---------------------------------------------------------------- PROD-7 sampling


def test_prod7_samples_ten_percent_of_other_buyers_cumulatively_per_month(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    """CON-8: 12 then 12 more clients of A01 with other purchases → 2 then 3 drawn; never twice."""
    clients = [person(f"P{i:02d}", "C3") for i in range(1, 25)]
    day1 = [purchase(f"1{i:02d}", f"P{i:02d}", "asset_management", "R2", 50_000, "2026-10-12T10:00:00")
            for i in range(1, 13)]  # fmt: skip
    # P01 buys twice on day 1: still one member of the plan
    day1.append(purchase("199", "P01", "other", "R1", 20_000, "2026-10-12T15:00:00"))
    day2 = [purchase(f"2{i:02d}", f"P{i:02d}", "asset_management", "R2", 50_000, "2026-10-13T10:00:00")
            for i in range(13, 25)]  # fmt: skip
    run(tmp_path, "2026-10-12", {**office(*clients), "product_purchases": day1})
    plan = Plan.objects.get(rule_code="PROD-7", stratum="A01")
    assert (plan.period, plan.population, plan.required, plan.sampled) == ("2026-10", 12, 2, 2)
    run(tmp_path, "2026-10-13", {"product_purchases": day2})
    plan.refresh_from_db()
    assert (plan.population, plan.required, plan.sampled) == (24, 3, 3)
    sampled = Purpose.objects.filter(rule_code="PROD-7").select_related("task")
    assert len({p.task.client_id for p in sampled}) == 3 == sampled.count()
    # the key is the plan's period, not the purchase: a second purchase of the month merges
    assert {p.key for p in sampled} == {f"PROD-7:2026-10:{p.task.client_id}" for p in sampled}
    # 3 working days after the cooling-off: 10-13 → 10-16, 10-14 → 10-19
    assert {p.due_date.isoformat() for p in sampled} <= {"2026-10-16", "2026-10-19"}
    assert all(p.task.opens_at is not None for p in sampled)
