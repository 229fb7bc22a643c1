"""Ratings end to end: archive → DuckDB → only changed rows written, one audited change set.

CLS-1..4, CLS-8, CLS-9 on SQLite and PostgreSQL; the archive is written as the
importer lays it out (``archivekit``), once through a real import.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from huifang.audit import chain
from huifang.audit.models import AuditEvent
from huifang.audit.services import changeset_rows
from huifang.audit.verify import verify
from huifang.classification.models import (
    ClassChange,
    ClassificationRun,
    ClientClass,
)
from huifang.classification.services import classification_due, classification_run
from huifang.classification.tests import archivekit as ak
from huifang.clients.tests.factories import ClientFactory
from huifang.core import clock
from huifang.policy.models import PolicyVersion

D = dt.date
ANNUAL = D(2026, 1, 5)
QUARTER = D(2026, 4, 1)


def classes(scheme: str = "CLS-1") -> dict[str, str]:
    return dict(ClientClass.objects.filter(scheme=scheme).values_list("client_id", "class_code"))


def rate(kind: str, day: D) -> Any:
    return classification_run(kind=kind, day=day, actor="system:test")


@pytest.fixture
def year_end(default_policy: PolicyVersion, branches: SimpleNamespace) -> SimpleNamespace:
    """Five clients of A01 with their 2025 year-end data in the archive."""
    for client_id in ("K1", "K2", "K3", "K4", "K5"):
        ClientFactory(client_id=client_id, branch=branches.a01)
    ak.write("clients", "2025-06-30", [ak.client(c) for c in ("K1", "K2", "K3", "K4", "K5")])
    ak.write("assets", "2025-12-31", [
        {"client_id": "K1", "total_assets": 10_000_000},
        {"client_id": "K2", "total_assets": "249999.99"},
        {"client_id": "K3", "total_assets": 99_999},
        {"client_id": "K4", "total_assets": 10_000},
        {"client_id": "K5", "total_assets": 150_000},
    ])  # fmt: skip
    ak.write("commissions", "2026-01-05", [
        {"client_id": "K2", "period": "2025", "net_commission": 5_000},
        {"client_id": "K3", "period": "2025", "net_commission": 5_000},
        {"client_id": "K4", "period": "2025", "net_commission": 3_000},
    ])  # fmt: skip
    return branches


def test_the_annual_rating_applies_cls1_to_the_archive(year_end: SimpleNamespace) -> None:
    outcome = rate("annual", ANNUAL)
    assert classes() == {
        "K1": "vip",
        "K2": "core",
        "K3": "ordinary",
        "K4": "potential",
        "K5": "potential",
    }
    assert classes("CLS-8.important") == {"K1": "important"}
    assert outcome.rated == 5 and outcome.changed == 6
    k2 = ClassChange.objects.get(client_id="K2", scheme="CLS-1")
    assert (k2.old_class, k2.new_class, k2.reason, k2.effective_date) == (
        "",
        "core",
        "annual",
        ANNUAL,
    )
    assert k2.inputs_dict == {
        "assets": 249999.99, "assets_date": "2025-12-31", "commission_year": 5000.0, "trading_month_max": 0.0,
    }  # fmt: skip
    assert (k2.run.statistical_date, k2.run.commission_year) == (D(2025, 12, 31), 2025)


def test_every_class_cites_its_policy_version(year_end: SimpleNamespace) -> None:
    rate("annual", ANNUAL)
    version = year_end and PolicyVersion.objects.get(number=1)
    assert set(ClientClass.objects.values_list("policy_version", flat=True)) == {version.pk}
    assert set(ClassChange.objects.values_list("policy_version", flat=True)) == {version.pk}
    run = ClassificationRun.objects.get()
    assert (run.policy_version_id, run.statistical_date, run.period) == (
        version.pk,
        D(2025, 12, 31),
        "2026",
    )


def test_one_audit_row_carries_the_runs_change_set(year_end: SimpleNamespace) -> None:
    before = AuditEvent.objects.count()
    outcome = rate("annual", ANNUAL)
    event = AuditEvent.objects.get(action="classification.annual")
    assert AuditEvent.objects.count() == before + 1
    assert event.changeset_table == "classification.ClassChange"
    assert event.changeset_key == {"run_id": outcome.run.pk} and event.changeset_rows == 6
    # The digest computed from the written Arrow rows equals a re-read of the table.
    reread = chain.changeset_hash(
        changeset_rows("classification.ClassChange", {"run_id": outcome.run.pk})
    )
    assert reread == (event.changeset_sha256, 6)
    assert verify(check_files=False).ok


def test_only_changed_rows_are_written_again(year_end: SimpleNamespace) -> None:
    rate("annual", ANNUAL)
    again = rate("annual", D(2026, 1, 6))
    assert again.changed == 0 and ClassChange.objects.count() == 6
    assert ClientClass.objects.get(client_id="K1", scheme="CLS-1").since == ANNUAL


def test_class_changes_are_append_only(year_end: SimpleNamespace) -> None:
    rate("annual", ANNUAL)
    for sql in (
        "UPDATE classification_classchange SET new_class = 'vip'",
        "DELETE FROM classification_classchange",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


def test_quarterly_rating_upgrades_at_once_and_never_downgrades(year_end: SimpleNamespace) -> None:
    rate("annual", ANNUAL)
    ak.write("assets", "2026-03-31", [
        {"client_id": "K1", "total_assets": 50_000},  # vip at year-end, now small: stays vip
        {"client_id": "K2", "total_assets": 10},  # core: stays core
        {"client_id": "K3", "total_assets": 300_000},  # ordinary → core
        {"client_id": "K4", "total_assets": 12_000_000},  # potential → vip (and important)
        {"client_id": "K5", "total_assets": 150_000},  # unchanged
    ])  # fmt: skip
    outcome = rate("quarterly", QUARTER)
    assert classes() == {"K1": "vip", "K2": "core", "K3": "core", "K4": "vip", "K5": "potential"}
    assert classes("CLS-8.important") == {"K1": "important", "K4": "important"}
    changes = ClassChange.objects.filter(run=outcome.run).order_by("client_id", "scheme")
    assert [(c.client_id, c.scheme, c.old_class, c.new_class, c.reason) for c in changes] == [
        ("K3", "CLS-1", "ordinary", "core", "quarterly_upgrade"),
        ("K4", "CLS-1", "potential", "vip", "quarterly_upgrade"),
        ("K4", "CLS-8.important", "", "important", "quarterly_upgrade"),
    ]
    assert changes[0].run.statistical_date == D(2026, 3, 31)
    assert json.loads(changes[0].inputs)["assets"] == 300000.0


def test_the_annual_rating_resets(year_end: SimpleNamespace) -> None:
    from huifang.calendars.services import calendar_load
    from huifang.calendars.tests.factories import rows_2027

    rate("annual", ANNUAL)
    ak.write("assets", "2026-03-31", [{"client_id": "K3", "total_assets": 300_000}])
    rate("quarterly", QUARTER)
    assert classes()["K3"] == "core"
    calendar_load(rows=rows_2027(), actor="test")
    ak.write("assets", "2026-12-31", [
        {"client_id": "K1", "total_assets": 50_000},
        {"client_id": "K3", "total_assets": 20_000},
    ])  # fmt: skip
    outcome = rate("annual", D(2027, 1, 4))
    # K2, K4, K5 keep their 2025 snapshot, but 2026 brought them no commission.
    assert classes() == {
        "K1": "ordinary",
        "K2": "potential",
        "K3": "ordinary",
        "K4": "ordinary",
        "K5": "potential",
    }
    assert classes("CLS-8.important") == {"K1": ""}  # no longer a company important client
    downgraded = ClassChange.objects.get(run=outcome.run, client_id="K1", scheme="CLS-1")
    assert (downgraded.old_class, downgraded.new_class, downgraded.reason) == (
        "vip",
        "ordinary",
        "annual",
    )
    # 2026 commission: none in the archive, so the 2025 commission no longer counts.
    assert downgraded.run.commission_year == 2026


def test_a_client_absent_from_the_snapshot_keeps_his_last_known_one(
    year_end: SimpleNamespace,
) -> None:
    ak.write("clients", "2025-06-30", [ak.client(c) for c in ("K1", "K2", "K3", "K4", "K5", "K6")])
    ClientFactory(client_id="K6", branch=year_end.a01)
    ak.write("assets", "2025-11-28", [{"client_id": "K6", "total_assets": 300_000}])
    ak.write(
        "assets", "2026-01-05", [{"client_id": "K6", "total_assets": 1}]
    )  # after the statistical date
    rate("annual", ANNUAL)
    change = ClassChange.objects.get(client_id="K6", scheme="CLS-1")
    assert change.new_class == "core"
    assert change.inputs_dict["assets_date"] == "2025-11-28"


def test_who_is_rated_opened_by_the_statistical_date_and_not_closed(
    year_end: SimpleNamespace,
) -> None:
    ak.write("clients", "2025-06-30", [ak.client(c) for c in ("K1", "K2", "K3", "K4", "K5")])
    ak.write("clients", "2026-01-02", [
        ak.client("K2", status="closed", close_date="2025-12-30"),
        ak.client("K7", opened="2026-01-02"),
    ])  # fmt: skip
    outcome = rate("annual", ANNUAL)
    assert outcome.rated == 4
    assert "K2" not in classes() and "K7" not in classes()


def test_the_commission_year_is_the_year_row_else_the_sum_of_its_months(
    year_end: SimpleNamespace,
) -> None:
    ak.write("commissions", "2025-12-01", [
        {"client_id": "K5", "period": "2025-10", "net_commission": 3_000},
        {"client_id": "K5", "period": "2025-11", "net_commission": 2_000},
        {"client_id": "K4", "period": "2025-11", "net_commission": 99_999},
    ])  # fmt: skip
    ak.write(
        "commissions",
        "2026-01-02",
        [{"client_id": "K5", "period": "2025-11", "net_commission": 2_500}],
    )
    rate("annual", ANNUAL)
    k5 = ClassChange.objects.get(client_id="K5", scheme="CLS-1")
    assert k5.inputs_dict["commission_year"] == 5500.0  # months summed, the latest copy of November
    assert k5.new_class == "core"  # 150 k with ≥ 5,000 commission
    k4 = ClassChange.objects.get(client_id="K4", scheme="CLS-1")
    assert k4.inputs_dict["commission_year"] == 3000.0  # the year row wins over its months


def test_monthly_trading_makes_an_important_client(year_end: SimpleNamespace) -> None:
    ak.write(
        "trades", "2025-03-10", [{"client_id": "K5", "trade_amount": 6_000_000, "trade_count": 3}]
    )
    ak.write(
        "trades", "2025-03-11", [{"client_id": "K5", "trade_amount": 4_000_000, "trade_count": 2}]
    )
    ak.write(
        "trades", "2025-04-01", [{"client_id": "K4", "trade_amount": 9_999_999, "trade_count": 9}]
    )
    rate("annual", ANNUAL)
    assert classes("CLS-8.important") == {"K1": "important", "K5": "important"}


def test_new_accounts_are_classified_in_the_first_three_working_days_of_the_month(
    year_end: SimpleNamespace,
) -> None:
    rate("annual", ANNUAL)
    for client_id in ("N1", "N2"):
        ClientFactory(client_id=client_id, branch=year_end.a01)
    ak.write("clients", "2026-01-20", [ak.client("N1", opened="2026-01-20")])
    ak.write("clients", "2026-02-02", [ak.client("N2", opened="2026-02-02")])
    ak.write("assets", "2026-01-30", [{"client_id": "N1", "total_assets": 260_000}])
    assert classification_due(day=D(2026, 2, 2)) == ["new_accounts"]
    outcome = rate("new_accounts", D(2026, 2, 2))
    assert outcome.rated == 1 and classes()["N1"] == "core" and "N2" not in classes()
    assert ClientClass.objects.get(client_id="N1", scheme="CLS-1").reason == "new_account"
    assert classification_due(day=D(2026, 2, 3)) == []  # done for February
    assert classification_due(day=D(2026, 2, 5)) == []  # outside the window


def test_visits_are_owed_by_vip_core_and_important_clients(year_end: SimpleNamespace) -> None:
    from huifang.classification.selectors import visit_due
    from huifang.clients.models import Client

    rate("annual", ANNUAL)
    owed = {c.client_id: visit_due(client=c, year=2026) for c in Client.objects.all()}
    assert {k: v.required for k, v in owed.items() if v} == {"K1": 1, "K2": 1}


def test_a_gold_silver_ordinary_policy_loaded_as_data_works_without_code_changes(
    year_end: SimpleNamespace,
) -> None:
    from huifang.policy.defaults import VALUE_CLASSES
    from huifang.policy.selectors import version_document
    from huifang.policy.services import policy_version_approve, policy_version_load

    document = version_document(PolicyVersion.objects.get(number=1))
    for rule in document["rules"]:
        if rule["code"] == "CLS-1":
            rule["params"] = VALUE_CLASSES  # the brokerage's own scheme, as data
        if rule["code"] in {"CLS-6", "CLS-7", "CORE-1", "SMALL-1"}:
            rule["enabled"] = False  # they name the 2009 classes
    document["version"] = {"effective_from": "2026-03-01", "reason": "黄金/白银/普通客户分类"}
    with clock.frozen(D(2026, 2, 10)):
        draft = policy_version_load(document=document, author=year_end.compliance)
        policy_version_approve(version=draft, approver=year_end.compliance_2)
    rate("annual", ANNUAL)  # still version 1 in January
    assert classes()["K1"] == "vip"
    rate("annual", QUARTER)  # an annual rating under version 2 (outside its window: a re-rating)
    assert classes() == {
        "K1": "gold",
        "K2": "silver",
        "K3": "ordinary",
        "K4": "ordinary",
        "K5": "ordinary",
    }
    # Every class now cites version 2, "ordinary" too: its meaning changed with the standard.
    cited = ClientClass.objects.filter(scheme="CLS-1").values_list(
        "policy_version__number", flat=True
    )
    assert set(cited) == {2}
    k3 = ClassChange.objects.filter(client_id="K3", scheme="CLS-1").latest("id")
    assert (k3.old_class, k3.new_class, k3.policy_version.number) == ("ordinary", "ordinary", 2)
