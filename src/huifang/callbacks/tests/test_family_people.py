"""IMP-1, ADV-1, BRK-4 and TX-1 through ``huifang run`` (SPEC §4, §9 BRK-4, §12 tasks export).

- IMP-1: company important clients (CLS-8.important as the quarterly rating stored it),
  company and branch levels, 100 % by year-end.
- ADV-1: clients whose latest row has ``advisory_contract`` (§1), branch, by year-end.
- BRK-4: every broker in office, called back by the call center once a year; the task
  targets the broker (``target_staff``, no client), never counts toward the cap.
- TX-1 (off by default, enabled by a policy variant): a trade is called back within
  24 h, a client six months without trades within 7 working days.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from huifang.callbacks.models import Plan, PlanEntry, Purpose, Task
from huifang.callbacks.tests import runkit
from huifang.classification.models import ClientClass
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db

YEAR_END = "2026-12-31"


def office(*extra_staff: runkit.Row) -> list[runkit.Row]:
    """A01 with one agent and one service staff; two call-center agents at head office."""
    return [
        runkit.staff("SA1", "A01", "agent"),
        runkit.staff("SV1", "A01", "service"),
        runkit.staff("C01", "HQCC", "agent"),
        runkit.staff("C02", "HQCC", "agent"),
        *extra_staff,
    ]


def existing(client_id: str, **extra: Any) -> runkit.Row:
    return runkit.client(
        client_id, "A01", "2020-03-02", **{"last_trade_date": "2026-09-01", **extra}
    )


def run(tmp_path: Path, day: str, feed: dict[str, list[runkit.Row]] | None = None) -> str:
    code, out, err = runkit.run(tmp_path, day, feed)
    assert code == 0, err
    return out


def counts() -> tuple[int, int]:
    return Task.objects.count(), Purpose.objects.count()


# ---------------------------------------------------------------- IMP-1


def test_company_important_clients_get_imp1_at_company_and_branch_by_year_end(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    feed = {
        "branches": runkit.branches("A01"),
        "staff": office(),
        "clients": [existing(c) for c in ("I1", "I2", "I3")],
        # I1: assets exactly 3,000,000 (含); I2: 2025 commission 200,000; I3: just below both
        "assets": [
            {"client_id": "I1", "total_assets": "3000000"},
            {"client_id": "I2", "total_assets": "50000"},
            {"client_id": "I3", "total_assets": "2999999.99"},
        ],
        "commissions": [
            {"client_id": "I2", "period": "2025", "net_commission": "200000"},
            {"client_id": "I3", "period": "2025", "net_commission": "199999.99"},
        ],
    }
    run(tmp_path, "2026-09-30", feed)
    assert not runkit.of_rule("IMP-1")  # nobody rated under CLS-8.important yet
    # 2026-10-08: the quarterly rating stores CLS-8.important (CLS-3), then the rules run
    run(tmp_path, "2026-10-08")
    important = dict(
        ClientClass.objects.filter(scheme="CLS-8.important").values_list("client_id", "class_code")
    )
    assert {c for c, k in important.items() if k == "important"} == {"I1", "I2"}
    assert runkit.of_rule("IMP-1") == {
        ("I1", "company", YEAR_END),
        ("I1", "branch", YEAR_END),
        ("I2", "company", YEAR_END),
        ("I2", "branch", YEAR_END),
    }
    assert runkit.facts("IMP-1")[("I1", "company")] == [
        {"class": "important", "standard": "CLS-8.important"}
    ]
    keys = set(Purpose.objects.filter(rule_code="IMP-1").values_list("key", flat=True))
    assert keys == {
        f"IMP-1:2026:{level}:{c}" for c in ("I1", "I2") for level in ("company", "branch")
    }
    imp = Task.objects.filter(purposes__rule_code="IMP-1")
    assert {(t.client_id, t.level, t.kind, t.assignee_id) for t in imp} == {
        ("I1", "company", "compliance", "C01"),
        ("I2", "company", "compliance", "C02"),  # balanced across the call center
        ("I1", "branch", "compliance", "SA1"),
        ("I2", "branch", "compliance", "SA1"),
    }
    # I1 (3M) is also CLS-1 core: CORE-1 (100 %, first in the policy) and IMP-1's branch
    # contact spend his two callbacks of the quarter; the company contact is the cap
    # exception (CON-3: within a client new contacts count by level, branch first)
    exceptions = Task.objects.filter(cap_exception=True)
    assert [(t.client_id, t.level, t.kind) for t in exceptions] == [("I1", "company", "compliance")]
    assert set(
        Plan.objects.filter(rule_code="IMP-1").values_list("period", "stratum", "population")
    ) == {
        ("2026", "", 2),
        ("2026", "A01", 2),
    }
    # once a year: the next nights add nothing
    before = counts()
    run(tmp_path, "2026-10-08")
    run(tmp_path, "2026-10-09")
    assert counts() == before


# ---------------------------------------------------------------- ADV-1


def test_clients_with_an_advisory_contract_get_adv1_at_the_branch_by_year_end(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    monday = {
        "branches": runkit.branches("A01"),
        "staff": office(runkit.staff("AD1", "A01", "adviser")),
        "clients": [
            existing("A1", advisory_contract="true", adviser_staff_id="AD1"),
            existing("A2", advisory_contract="false"),
            existing("A3", advisory_contract="1"),
            existing("A4", advisory_contract="true", status="closed"),
            existing("A5"),
        ],
    }
    run(tmp_path, "2026-10-12", monday)
    assert runkit.of_rule("ADV-1") == {("A1", "branch", YEAR_END), ("A3", "branch", YEAR_END)}
    assert runkit.facts("ADV-1")[("A1", "branch")] == [
        {"advisory_contract": True, "adviser": "AD1"}
    ]
    # Tuesday: A5 signs; A3's contract ends (his purpose of the year stays)
    tuesday = {
        "clients": [
            existing("A5", advisory_contract="true"),
            existing("A3", advisory_contract="false"),
        ]
    }
    run(tmp_path, "2026-10-13", tuesday)
    assert runkit.of_rule("ADV-1") == {
        ("A1", "branch", YEAR_END),
        ("A3", "branch", YEAR_END),
        ("A5", "branch", YEAR_END),
    }
    adv = Task.objects.filter(purposes__rule_code="ADV-1")
    assert {(t.client_id, t.level, t.kind, t.assignee_id) for t in adv} == {
        ("A1", "branch", "compliance", "SA1"),
        ("A3", "branch", "compliance", "SA1"),
        ("A5", "branch", "compliance", "SA1"),
    }
    before = counts()
    run(tmp_path, "2026-10-13")
    run(tmp_path, "2026-10-14")
    assert counts() == before


# ---------------------------------------------------------------- BRK-4

BRK4 = {
    "code": "BRK-4",
    "spec_id": "BRK-4",
    "kind": "population_callback",
    "title": "证券经纪人年度回访",
    "citation": "004 第三条、第十一条",
    "note": "每个经纪人每年一次，由总部回访，覆盖率100%。",
    "enabled": True,
    "params": {
        "coverage": {"share": 1, "period": "year"},
        "deadline": {"unit": "period_end", "period": "year"},
        "level": "company",
        "handled_by": "call_center",
        "forms": ["F-BRK"],
        "population": "brokers",
    },
}


def brokers_feed() -> dict[str, list[runkit.Row]]:
    """A01's brokers: BR1; BR2, also a client with 20M (KEY-1 leaves him to BRK-4); BR3 left."""
    return {
        "branches": runkit.branches("A01", "B01"),
        "staff": office(
            runkit.staff("BR1", "A01", "broker", broker_cert_no="S0001"),
            runkit.staff("BR2", "B01", "broker", broker_cert_no="S0002", client_id="KB"),
            runkit.staff("BR3", "A01", "broker", leave_date="2026-10-09"),
        ),
        "clients": [runkit.client("KB", "B01", "2020-03-02")],
        "assets": [{"client_id": "KB", "total_assets": "20000000"}],
    }


def staff_tasks() -> set[tuple[Any, ...]]:
    return {
        (t.target_staff_id, t.client_id, t.branch_id, t.level, t.kind, t.due_date.isoformat(),
         t.counts_to_cap, t.assignee_id)
        for t in Task.objects.filter(target_staff__isnull=False)
    }  # fmt: skip


def test_every_broker_in_office_gets_one_head_office_callback_a_year_targeting_him(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    runkit.policy_variant({}, add=(BRK4,))
    run(tmp_path, "2026-10-12", brokers_feed())
    # the broker is the target (no client), his branch the task's; call-center agents hold it
    assert staff_tasks() == {
        ("BR1", None, "A01", "company", "compliance", YEAR_END, False, "C01"),
        ("BR2", None, "B01", "company", "compliance", YEAR_END, False, "C02"),
    }
    assert not runkit.of_rule("KEY-1")  # KB is BR2, a broker in office: BRK-4's
    purposes = Purpose.objects.filter(rule_code="BRK-4").order_by("key")
    assert [(p.key, p.cap_exempt, p.facts_dict) for p in purposes] == [
        ("BRK-4:2026:S:BR1", True, {"staff_id": "BR1", "position": "broker", "client_id": None}),
        ("BRK-4:2026:S:BR2", True, {"staff_id": "BR2", "position": "broker", "client_id": "KB"}),
    ]
    plan = Plan.objects.get(rule_code="BRK-4")
    assert (plan.period, plan.stratum, plan.population, plan.required, plan.sampled) == (
        "2026",
        "",
        2,
        2,
        2,
    )
    assert not PlanEntry.objects.exists()  # 100 %: no plan members (they would name clients)
    # the open tasks are matched the next nights: nothing new; a broker who joins gets his own
    before = counts()
    run(tmp_path, "2026-10-12")
    run(tmp_path, "2026-10-13")
    assert counts() == before
    run(tmp_path, "2026-10-14", {"staff": [runkit.staff("BR4", "A01", "broker")]})
    assert {t[0] for t in staff_tasks()} == {"BR1", "BR2", "BR4"}
    assert Task.objects.count() == before[0] + 1


def test_the_tasks_export_row_of_a_broker_callback_has_no_client_and_the_brokers_branch(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    runkit.policy_variant({}, add=(BRK4,))
    feed = brokers_feed()
    feed["staff"] = [s for s in feed["staff"] if s["staff_id"] != "BR2"]
    del feed["assets"], feed["clients"]
    run(tmp_path, "2026-10-12", feed)
    task = Task.objects.get(target_staff_id="BR1")
    out = io.StringIO()
    call_command("export", "tasks", "--format", "csv", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["task_id", "client_id", "branch_code", "level", "kind", "purposes", "due_date", "status",
                       "assignee"]  # fmt: skip
    assert [
        str(task.pk),
        "",
        "A01",
        "company",
        "compliance",
        "BRK-4",
        YEAR_END,
        "assigned",
        "C01",
    ] in rows


def test_brokers_are_never_sampled(policy: PolicyVersion) -> None:
    from huifang.policy import kinds

    params = {**BRK4["params"], "coverage": {"share": 0.5, "period": "year"}}
    with pytest.raises(kinds.ParamsInvalid, match="100 %"):
        kinds.parse("population_callback", params)


# ---------------------------------------------------------------- TX-1


def test_tx1_enabled_calls_back_a_trade_within_24_hours_and_a_lost_client_within_7_working_days(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    runkit.policy_variant({}, enable=("TX-1",))
    monday = {
        "branches": runkit.branches("A01"),
        "staff": office(),
        "clients": [
            existing("T1"),
            existing(
                "L1", last_trade_date="2026-04-11"
            ),  # six months end 10-11: lost since Monday 10-12
            existing("L2", last_trade_date="2026-04-12"),  # lost since Tuesday 10-13
            existing("L0", last_trade_date="2025-01-05"),  # lost long ago: SMALL-1's dormant client
            runkit.client(
                "N1", "A01", "2026-04-10", last_trade_date=None
            ),  # no trade: from the opening
        ],
        "trades": [{"client_id": "T1", "trade_amount": "52000", "trade_count": "3"}],
    }
    run(tmp_path, "2026-10-12", monday)
    assert runkit.of_rule("TX-1") == {
        ("T1", "branch", "2026-10-13"),  # 24 h after Monday's trades
        ("L1", "branch", "2026-10-21"),  # 7 working days after 10-12
        ("N1", "branch", "2026-10-20"),  # lost since Sunday 10-11 (opened 2026-04-10)
    }
    assert runkit.facts("TX-1")[("T1", "branch")] == [
        {"trade_date": "2026-10-12", "trade_amount": 52000.0, "trade_count": 3}
    ]
    assert runkit.facts("TX-1")[("L1", "branch")] == [
        {
            "last_trade_date": "2026-04-11",
            "open_date": "2020-03-02",
            "lost_since": "2026-10-12",
            "months": 6,
        }
    ]
    # Tuesday: T1 trades again (a second purpose joins his open contact, CON-4); L2 is lost
    run(
        tmp_path,
        "2026-10-13",
        {"trades": [{"client_id": "T1", "trade_amount": "1000", "trade_count": "1"}]},
    )
    assert runkit.of_rule("TX-1") == {
        ("T1", "branch", "2026-10-13"),
        ("T1", "branch", "2026-10-14"),
        ("L1", "branch", "2026-10-21"),
        ("N1", "branch", "2026-10-20"),
        ("L2", "branch", "2026-10-22"),
    }
    tx = Task.objects.filter(purposes__rule_code="TX-1").distinct()
    assert {(t.client_id, t.level, t.kind, t.due_date.isoformat(), t.assignee_id) for t in tx} == {
        ("T1", "branch", "compliance", "2026-10-13", "SA1"),
        ("L1", "branch", "compliance", "2026-10-21", "SA1"),
        ("N1", "branch", "compliance", "2026-10-20", "SA1"),
        ("L2", "branch", "compliance", "2026-10-22", "SA1"),
    }
    before = counts()
    run(tmp_path, "2026-10-13")
    run(tmp_path, "2026-10-14")  # no trades on Wednesday: L1, L2, N1 stay lost, once
    assert counts() == before


def test_tx1_is_off_by_default(policy: PolicyVersion, tmp_path: Path) -> None:
    feed = {
        "branches": runkit.branches("A01"),
        "staff": office(),
        "clients": [existing("T1"), existing("L1", last_trade_date="2026-04-11")],
        "trades": [{"client_id": "T1", "trade_amount": "52000", "trade_count": "3"}],
    }
    run(tmp_path, "2026-10-12", feed)
    assert not runkit.of_rule("TX-1")
