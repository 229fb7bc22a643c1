"""Every rejected cell is reported as ``file:line:column: reason``, never quoting personal data (SPEC §1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from huifang.clients.models import Client
from huifang.feeds.models import ImportBatch
from huifang.feeds.services import feed_import
from huifang.feeds.tests import feedkit
from huifang.feeds.tests.feedkit import DAY1, DAY2, Feed


@dataclass(frozen=True)
class Case:
    name: str
    mutate: Callable[[Feed], None]
    error: str

    @property
    def file(self) -> str:
        return self.error.split(".", 1)[0]


def _set(file: str, index: int, **values: object) -> Callable[[Feed], None]:
    def mutate(feed: Feed) -> None:
        feed[file][index].update(values)

    return mutate


def _duplicate_client(feed: Feed) -> None:
    feed["clients"].append(dict(feed["clients"][2], name="另一个人"))


def _drop_column(file: str, column: str) -> Callable[[Feed], None]:
    def mutate(feed: Feed) -> None:
        for row in feed[file]:
            row.pop(column, None)

    return mutate


K6_ID = feedkit.standard_feed()["clients"][5]["id_number"]
K8_USCC = feedkit.standard_feed()["clients"][7]["id_number"]
ORG = {"branches", "staff", "clients"}
MONEY = "not an amount in CNY (never negative, at most 2 decimals)"

CASES = [
    Case("bad date", _set("clients", 2, open_date="2026-02-30"),
         "clients.csv:4:open_date: not a date YYYY-MM-DD '2026-02-30'"),
    Case("date in another format", _set("clients", 2, birth_date="1990/01/02"),
         "clients.csv:4:birth_date: not a date YYYY-MM-DD '1990/01/02'"),
    Case("bad datetime", _set("margin_events", 0, event_time="2026-10-13T25:00:00"),
         "margin_events.csv:2:event_time: not an ISO date-time '2026-10-13T25:00:00'"),
    Case("negative money", _set("assets", 1, total_assets="-100.00"),
         f"assets.csv:3:total_assets: {MONEY} '-100.00'"),
    Case("three decimals", _set("assets", 2, cash="1000.005"),
         f"assets.csv:4:cash: {MONEY} '1000.005'"),
    Case("bad boolean", _set("clients", 3, online_trading="yes"),
         "clients.csv:5:online_trading: not a boolean (true/false/1/0) 'yes'"),
    Case("unknown code", _set("clients", 4, risk_level="C6"),
         "clients.csv:6:risk_level: unknown code 'C6'; expected one of C1, C2, C3, C4, C5"),
    Case("unknown product risk level", _set("product_purchases", 1, product_risk_level="R6"),
         "product_purchases.csv:3:product_risk_level: unknown code 'R6'; "
         "expected one of R1, R2, R3, R4, R5"),
    Case("unknown flow kind", _set("flows", 2, kind="transfer"),
         "flows.csv:4:kind: unknown code 'transfer'; expected one of deposit, withdraw, "
         "custody_in, custody_out, designate_in, designate_out"),
    Case("bad ID card check digit", _set("clients", 5, id_number=feedkit.wrong_check(K6_ID)),
         "clients.csv:7:id_number: not a valid 18-character ID card number (GB 11643 check digit)"),
    Case("bad unified social credit code",
         _set("clients", 7, id_number=feedkit.wrong_check(K8_USCC, feedkit.GB32100_ALPHABET)),
         "clients.csv:9:id_number: not a valid unified social credit code "
         "(GB 32100 check character)"),
    Case("bad mobile", _set("clients", 3, mobile="手机未留"),
         "clients.csv:5:mobile: not a phone number"),
    Case("unknown branch", _set("clients", 1, branch_code="Z99"),
         "clients.csv:3:branch_code: unknown branch 'Z99'"),
    Case("head-office unit is not a branch", _set("clients", 1, branch_code="HQCC"),
         "clients.csv:3:branch_code: unknown branch 'HQCC'"),
    Case("unknown unit of staff", _set("staff", 0, branch_code="X01"),
         "staff.csv:2:branch_code: unknown unit 'X01'"),
    Case("unknown staff", _set("clients", 0, adviser_staff_id="S999"),
         "clients.csv:2:adviser_staff_id: unknown staff member 'S999'"),
    Case("unknown client", _set("assets", 0, client_id="K9999"),
         "assets.csv:2:client_id: unknown client 'K9999'"),
    Case("unknown client of staff", _set("staff", 2, client_id="K9999"),
         "staff.csv:4:client_id: unknown client 'K9999'"),
    Case("duplicate key", _duplicate_client,
         "clients.csv:10:client_id: duplicate key; first at line 4"),
    Case("missing required column", _drop_column("clients", "open_date"),
         "clients.csv:1:: missing required column(s): open_date"),
    Case("missing required value", _set("clients", 6, name=""),
         "clients.csv:8:name: required value missing"),
    Case("missing required money", _set("assets", 5, total_assets=None),
         "assets.csv:7:total_assets: required value missing"),
    Case("bad period", _set("commissions", 0, period="2026-13"),
         "commissions.csv:2:period: not a period YYYY or YYYY-MM '2026-13'"),
    Case("fractional count", _set("trades", 1, trade_count="1.5"),
         "trades.csv:3:trade_count: not a whole number ≥ 0 '1.5'"),
    Case("too long personal value", _set("clients", 2, name="长" * 201),
         "clients.csv:4:name: longer than 200 characters"),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_bad_cell_is_reported_at_its_file_line_and_column(tmp_path, case):
    # The organisation and clients every file refers to, and the file under test.
    feed = {k: v for k, v in feedkit.standard_feed().items() if k in ORG | {case.file}}
    case.mutate(feed)
    directory = feedkit.write_feed(tmp_path / "feed", feed)

    result = feed_import(directory=directory, business_date=DAY1, actor="test")

    assert result.status == "rejected"
    assert result.errors == [case.error]
    for value in feedkit.pii_values(feed):
        assert value not in result.errors[0]
    assert not Client.objects.exists()
    assert ImportBatch.objects.get().errors == case.error


@pytest.mark.django_db
def test_all_errors_of_a_feed_are_reported_in_file_then_line_order(tmp_path):
    feed = feedkit.standard_feed()
    for mutate in (CASES[0].mutate, CASES[3].mutate, CASES[6].mutate, CASES[15].mutate):
        mutate(feed)
    directory = feedkit.write_feed(tmp_path / "feed", feed)

    result = feed_import(directory=directory, business_date=DAY1, actor="test")

    assert [e.split(": ")[0] for e in result.errors] == [
        "clients.csv:2:adviser_staff_id",
        "clients.csv:4:open_date",
        "clients.csv:6:risk_level",
        "assets.csv:3:total_assets",
    ]


@pytest.mark.django_db
def test_a_valid_feed_with_unknown_extra_columns_is_imported(tmp_path):
    feed = feedkit.standard_feed()
    for row in feed["clients"]:
        row["internal_flag"] = "x"
    directory = feedkit.write_feed(tmp_path / "feed", feed)

    result = feed_import(directory=directory, business_date=DAY1, actor="test")

    assert (result.status, result.errors) == ("imported", [])
    assert Client.objects.count() == 8


# Autocommit, as the command runs: references are resolved against committed rows.
@pytest.mark.django_db(transaction=True)
def test_a_client_known_only_from_an_earlier_day_may_be_referenced(tmp_path):
    day1 = feedkit.write_feed(tmp_path / "day1", feedkit.standard_feed())
    assert feedkit.run_command(str(day1), "--date", str(DAY1), "--quiet")[0] == 0
    assets = [
        {"client_id": "K0001", "total_assets": "10"},
        {"client_id": "K9999", "total_assets": "20"},
    ]
    bad = feedkit.write_feed(tmp_path / "bad", {"assets": assets})
    good = feedkit.write_feed(tmp_path / "good", {"assets": assets[:1]})

    code_bad, _out, err_bad = feedkit.run_command(str(bad), "--date", str(DAY2), "--quiet")
    code_good, out_good, err_good = feedkit.run_command(str(good), "--date", str(DAY2), "--quiet")

    assert code_bad == 1
    assert [e for e in err_bad.splitlines() if e.startswith("assets.csv")] == [
        "assets.csv:3:client_id: unknown client 'K9999'"
    ]
    assert (code_good, err_good) == (0, "")
    assert "assets: 1" in out_good
