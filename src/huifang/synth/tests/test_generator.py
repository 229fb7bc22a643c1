"""The synthetic feed generator honours the feed contract of SPEC §1."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from huifang.synth.generator import generate, trading_days

START = dt.date(2026, 10, 12)

# SPEC §1, written out independently of the generator's schemas.
REQUIRED = {
    "branches": {"branch_code", "name"},
    "staff": {"staff_id", "name", "branch_code", "position"},
    "clients": {"client_id", "name", "client_type", "branch_code", "open_date"},
    "assets": {"client_id", "total_assets"},
    "commissions": {"client_id", "period", "net_commission"},
    "flows": {"client_id", "kind", "amount"},
    "trades": {"client_id", "trade_amount", "trade_count"},
    "product_purchases": {
        "purchase_id",
        "client_id",
        "product_code",
        "product_name",
        "product_type",
        "product_risk_level",
        "amount",
    },
    "margin_events": {"event_id", "client_id", "event_type"},
    "account_events": {"event_id", "client_id", "event_type"},
}
OPTIONAL = {
    "branches": {"region_code", "region_name", "unit_kind"},
    "staff": {"hire_date", "leave_date", "broker_cert_no", "qualification", "phone", "client_id"},
    "clients": {
        "fund_account",
        "id_type",
        "id_number",
        "birth_date",
        "gender",
        "mobile",
        "phone",
        "email",
        "address",
        "postcode",
        "status",
        "introducer_staff_id",
        "broker_staff_id",
        "adviser_staff_id",
        "risk_level",
        "risk_assessed_on",
        "has_margin_account",
        "credit_open_date",
        "online_trading",
        "bank_transfer",
        "agent_name",
        "agent_scope",
        "agent_until",
        "close_date",
        "last_trade_date",
        "advisory_contract",
    },
    "assets": {"cash", "market_value", "margin_debt"},
    "commissions": set(),
    "flows": {"flow_time"},
    "trades": {"warrant_amount"},
    "product_purchases": {
        "sales_staff_id",
        "purchase_time",
        "has_third_party_adviser",
        "amac_registered",
    },
    "margin_events": {"security_code", "detail", "event_time"},
    "account_events": {"amount", "detail", "event_time", "staff_id"},
}
KEYS = {
    "branches": ("branch_code",),
    "staff": ("staff_id",),
    "clients": ("client_id",),
    "assets": ("client_id",),
    "commissions": ("client_id", "period"),
    "trades": ("client_id",),
    "product_purchases": ("purchase_id",),
    "margin_events": ("event_id",),
    "account_events": ("event_id",),
}
MONEY = {
    "assets": ("total_assets", "cash", "market_value", "margin_debt"),
    "commissions": ("net_commission",),
    "flows": ("amount",),
    "trades": ("trade_amount", "warrant_amount"),
    "product_purchases": ("amount",),
    "account_events": ("amount",),
}
MONEY_RE = re.compile(r"\d{1,16}(\.\d{1,2})?")
DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00")


# --- independent checkers -------------------------------------------------------------


def gb11643_ok(value: str) -> bool:
    """Resident ID number: 17 digits and the ISO 7064 MOD 11-2 check character."""
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    total = sum(int(c) * w for c, w in zip(value[:17], weights, strict=True))
    return "10X98765432"[total % 11] == value[17]


def gb32100_ok(value: str) -> bool:
    """Unified social credit code: 31-character alphabet, MOD 31 check character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    if len(value) != 18 or any(c not in alphabet for c in value):
        return False
    weights = [3**i % 31 for i in range(17)]
    total = sum(alphabet.index(c) * w for c, w in zip(value[:17], weights, strict=True))
    return alphabet[(31 - total % 31) % 31] == value[17]


def test_the_checkers_accept_known_numbers() -> None:
    assert gb11643_ok("11010519491231002X")
    assert not gb11643_ok("110105194912310021")
    assert gb32100_ok("91350100M000100Y43")
    assert not gb32100_ok("91350100M000100Y44")


# --- fixtures --------------------------------------------------------------------------


def read(directory: Path, name: str) -> list[dict[str, str]]:
    """Rows of one CSV file, [] when the file is absent."""
    path = directory / f"{name}.csv"
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def header(directory: Path, name: str) -> list[str]:
    with (directory / f"{name}.csv").open(encoding="utf-8") as handle:
        return handle.readline().rstrip("\n").split(",")


@pytest.fixture(scope="module")
def feeds(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("feeds")
    return generate(out, clients=300, branches=3, days=3, start=START, seed=7, chunk_size=128)


def all_bytes(directories: list[Path]) -> dict[str, bytes]:
    return {f"{d.name}/{f.name}": f.read_bytes() for d in directories for f in sorted(d.iterdir())}


# --- tests -------------------------------------------------------------------------------


def test_it_writes_one_directory_per_trading_day(feeds: list[Path]) -> None:
    assert [d.name for d in feeds] == ["feed-2026-10-12", "feed-2026-10-13", "feed-2026-10-14"]
    assert not list(feeds[0].parent.glob("*.partial"))


def test_it_skips_weekends_and_holidays() -> None:
    def calendar(d: dt.date) -> bool:
        return d.weekday() < 5 and d != dt.date(2026, 10, 12)

    assert trading_days(dt.date(2026, 10, 10), 3, calendar) == [
        dt.date(2026, 10, 13),
        dt.date(2026, 10, 14),
        dt.date(2026, 10, 15),
    ]


def test_it_is_deterministic_and_independent_of_chunking(tmp_path: Path, feeds: list[Path]) -> None:
    again = generate(
        tmp_path / "a", clients=300, branches=3, days=3, start=START, seed=7, chunk_size=1000
    )
    assert all_bytes(again) == all_bytes(feeds)
    other = generate(tmp_path / "b", clients=300, branches=3, days=1, start=START, seed=8)
    assert (other[0] / "clients.csv").read_bytes() != (feeds[0] / "clients.csv").read_bytes()


def test_parquet_is_deterministic_and_matches_csv(tmp_path: Path, feeds: list[Path]) -> None:
    first = generate(
        tmp_path / "a", clients=300, branches=3, days=2, start=START, seed=7, fmt="parquet"
    )
    second = generate(
        tmp_path / "b", clients=300, branches=3, days=2, start=START, seed=7, fmt="parquet"
    )
    assert all_bytes(first) == all_bytes(second)
    table = pq.read_table(first[0] / "assets.parquet")
    assert str(table.schema.field("total_assets").type) == "decimal128(18, 2)"
    rows = read(feeds[0], "assets")
    assert [str(v) for v in table.column("total_assets").to_pylist()] == [
        r["total_assets"] for r in rows
    ]


def test_every_file_has_the_spec_columns(feeds: list[Path]) -> None:
    for directory in feeds:
        for path in directory.iterdir():
            name = path.stem
            columns = header(directory, name)
            assert REQUIRED[name] <= set(columns), name
            assert set(columns) <= REQUIRED[name] | OPTIONAL[name], name
            assert len(columns) == len(set(columns))
    assert {p.stem for p in feeds[0].iterdir()} == set(REQUIRED)


def test_values_follow_the_formats(feeds: list[Path]) -> None:
    for directory in feeds:
        assert not (directory / "clients.csv").read_bytes().startswith(b"\xef\xbb\xbf")
        for name, columns in MONEY.items():
            for row in read(directory, name):
                for column in columns:
                    assert row[column] == "" or MONEY_RE.fullmatch(row[column]), (
                        name,
                        column,
                        row[column],
                    )
        times = [r["flow_time"] for r in read(directory, "flows")]
        times += [r["purchase_time"] for r in read(directory, "product_purchases")]
        for value in times:
            assert DATETIME_RE.fullmatch(value) and value.startswith(directory.name[5:])
            assert "09:30" <= value[11:16] < "11:30" or "13:00" <= value[11:16] < "15:00"
        for row in read(directory, "clients"):
            for column in (
                "has_margin_account",
                "online_trading",
                "bank_transfer",
                "advisory_contract",
            ):
                assert row[column] in {"true", "false"}
            dt.date.fromisoformat(row["open_date"])
            assert re.fullmatch(r"1[3-9]\d{9}", row["mobile"]) or row["mobile"] == ""


def test_id_numbers_carry_valid_check_characters(feeds: list[Path]) -> None:
    rows = [row for d in feeds for row in read(d, "clients")]
    cards = [r for r in rows if r["id_type"] == "id_card"]
    licences = [r for r in rows if r["id_type"] == "business_license"]
    assert len(cards) > 250 and licences
    for row in cards:
        number = row["id_number"]
        assert gb11643_ok(number), number
        assert number[6:14] == row["birth_date"].replace("-", "")
        assert row["gender"] == ("M" if int(number[16]) % 2 else "F")
        assert row["client_type"] == "individual"
    for row in licences:
        assert gb32100_ok(row["id_number"]), row["id_number"]
        assert (
            row["client_type"] == "institution" and row["birth_date"] == "" and row["gender"] == ""
        )


def test_individuals_are_adults_at_opening(feeds: list[Path]) -> None:
    for row in (r for d in feeds for r in read(d, "clients") if r["birth_date"]):
        birth, opened = (
            dt.date.fromisoformat(row["birth_date"]),
            dt.date.fromisoformat(row["open_date"]),
        )
        assert (
            opened.year - birth.year - ((opened.month, opened.day) < (birth.month, birth.day))
        ) >= 18


def test_references_resolve_and_keys_are_unique(feeds: list[Path]) -> None:
    units: set[str] = set()
    staff: set[str] = set()
    clients: set[str] = set()
    for directory in feeds:
        units |= {r["branch_code"] for r in read(directory, "branches")}
        staff |= {r["staff_id"] for r in read(directory, "staff")}
        clients |= {r["client_id"] for r in read(directory, "clients")}
        for row in read(directory, "staff"):
            assert row["branch_code"] in units
            assert row["client_id"] == "" or row["client_id"] in clients
        for row in read(directory, "clients"):
            assert row["branch_code"] in units and row["branch_code"].startswith("B")
            for column in ("introducer_staff_id", "broker_staff_id", "adviser_staff_id"):
                assert row[column] == "" or row[column] in staff
        for name in REQUIRED:
            rows = read(directory, name)
            for row in rows:
                if name not in {"branches", "staff", "clients"}:
                    assert row["client_id"] in clients, (directory.name, name)
                for column in ("sales_staff_id", "staff_id"):
                    if name not in {"staff"} and row.get(column):
                        assert row[column] in staff
            if name in KEYS:
                keys = [tuple(row[k] for k in KEYS[name]) for row in rows]
                assert len(keys) == len(set(keys)), (directory.name, name)


def test_one_broker_is_also_a_client(feeds: list[Path]) -> None:
    linked = [r for r in read(feeds[0], "staff") if r["client_id"]]
    assert len(linked) == 1 and linked[0]["position"] == "broker" and linked[0]["broker_cert_no"]
    client = next(r for r in read(feeds[0], "clients") if r["client_id"] == linked[0]["client_id"])
    assert client["name"] == linked[0]["name"]


def test_a_marketing_staff_member_who_introduced_clients_leaves(feeds: list[Path]) -> None:
    assert all(r["leave_date"] == "" for r in read(feeds[0], "staff"))
    leavers = [(d, r) for d in feeds[1:] for r in read(d, "staff") if r["leave_date"]]
    assert len(leavers) == 1
    directory, leaver = leavers[0]
    assert directory == feeds[2] and leaver["leave_date"] == "2026-10-14"
    assert leaver["position"] in {"marketing", "broker", "adviser"}
    introduced = [
        r for r in read(feeds[0], "clients") if r["introducer_staff_id"] == leaver["staff_id"]
    ]
    assert introduced
    assert all(
        r["sales_staff_id"] != leaver["staff_id"] for r in read(directory, "product_purchases")
    )


def test_later_days_carry_new_accounts_and_changed_rows(feeds: list[Path]) -> None:
    first = {r["client_id"] for r in read(feeds[0], "clients")}
    assert len(first) == 300
    for directory in feeds[1:]:
        date = directory.name[5:]
        rows = read(directory, "clients")
        new = [r for r in rows if r["client_id"] not in first]
        assert len(new) >= 3 and all(r["open_date"] == date for r in new)
        assert any(r["client_id"] in first for r in rows)
        assets = {r["client_id"] for r in read(directory, "assets")}
        assert {r["client_id"] for r in new} <= assets
        first |= {r["client_id"] for r in new}


def test_closed_clients_have_a_close_date_and_no_assets(feeds: list[Path]) -> None:
    for directory in feeds:
        closed = {r["client_id"] for r in read(directory, "clients") if r["status"] == "closed"}
        assert all(r["close_date"] for r in read(directory, "clients") if r["status"] == "closed")
        assert not closed & {r["client_id"] for r in read(directory, "assets")}
    events = [r for r in read(feeds[1], "account_events") if r["event_type"] == "account_closed"]
    changed = {r["client_id"]: r for r in read(feeds[1], "clients")}
    assert events and all(changed[e["client_id"]]["close_date"] == "2026-10-13" for e in events)


def test_every_event_type_occurs(feeds: list[Path]) -> None:
    margin = {r["event_type"] for d in feeds for r in read(d, "margin_events")}
    account = {r["event_type"] for d in feeds for r in read(d, "account_events")}
    assert len(margin) == 10 and len(account) == 6
    purchases = [r for d in feeds for r in read(d, "product_purchases")]
    assert any(float(r["amount"]) >= 5_000_000 for r in purchases)
    assert all(100_000 <= float(r["amount"]) <= 10_000_000 for r in purchases)


def test_trades_include_their_warrants(feeds: list[Path]) -> None:
    for row in (r for d in feeds for r in read(d, "trades")):
        assert (
            float(row["warrant_amount"]) <= float(row["trade_amount"])
            and int(row["trade_count"]) >= 1
        )


def test_commissions_come_as_last_year_then_each_finished_month(tmp_path: Path) -> None:
    def calendar(d: dt.date) -> bool:
        return d.weekday() < 5 and not dt.date(2026, 10, 1) <= d <= dt.date(2026, 10, 7)

    days = generate(
        tmp_path,
        clients=200,
        branches=2,
        days=3,
        start=dt.date(2026, 9, 29),
        seed=3,
        calendar=calendar,
    )
    assert [d.name for d in days] == ["feed-2026-09-29", "feed-2026-09-30", "feed-2026-10-08"]
    first = {r["period"] for r in read(days[0], "commissions")}
    assert first == {"2025", *(f"2026-{m:02d}" for m in range(1, 9))}
    assert read(days[1], "commissions") == []
    assert {r["period"] for r in read(days[2], "commissions")} == {"2026-09"}
    year = [
        float(r["net_commission"]) for r in read(days[0], "commissions") if r["period"] == "2025"
    ]
    assert len(year) > 100


@pytest.fixture(scope="module")
def big_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, str]]]:
    out = tmp_path_factory.mktemp("big")
    directory = generate(out, clients=20_000, branches=12, days=1, start=START, seed=20261012)[0]
    yield read(directory, "assets")


def test_assets_are_distributed_like_a_brokerage(big_day: list[dict[str, str]]) -> None:
    totals = [float(r["total_assets"]) for r in big_day]
    share = lambda test: sum(1 for t in totals if test(t)) / len(totals)  # noqa: E731
    assert 0.0005 <= share(lambda t: t >= 10_000_000) <= 0.004
    assert 0.05 <= share(lambda t: t >= 250_000) <= 0.08
    assert 0.12 <= share(lambda t: 100_000 <= t < 250_000) <= 0.18
    assert share(lambda t: t < 10_000) >= 0.15
    for row in big_day[:2000]:
        cents = [round(float(row[c]) * 100) for c in ("total_assets", "cash", "market_value")]
        assert cents[0] == cents[1] + cents[2]


def test_the_command_writes_feeds_and_a_summary(tmp_path: Path) -> None:
    err = io.StringIO()
    import contextlib

    with contextlib.redirect_stderr(err):
        call_command("synth", str(tmp_path), clients=50, branches=2, days=2, start=START, seed=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed-2026-10-12", "feed-2026-10-13"]
    assert "day 2/2" in err.getvalue() and "clients" in err.getvalue()


def test_period_end_snapshots_hold_the_assets_of_the_clients_open_by_then(tmp_path: Path) -> None:
    """CLS-2/CLS-3 read the assets at the statistical date: ``--snapshots`` writes them."""
    year_end, quarter_end = dt.date(2025, 12, 31), dt.date(2026, 9, 30)
    dirs = generate(
        tmp_path, clients=300, branches=2, days=1, start=START, seed=3,
        snapshots=[quarter_end, year_end],
    )  # fmt: skip
    assert [d.name for d in dirs] == [
        "snapshot-2025-12-31", "snapshot-2026-09-30", "feed-2026-10-12",
    ]  # fmt: skip
    assert sorted(p.name for p in dirs[0].iterdir()) == ["assets.csv"]
    opened = {r["client_id"]: r["open_date"] for r in read(dirs[2], "clients")}
    # closed before day 1 (the generator knows only day 1's assets; those closing on day 1 held some)
    closed = {
        r["client_id"]
        for r in read(dirs[2], "clients")
        if r["status"] == "closed" and r["close_date"] < START.isoformat()
    }
    for directory, day in ((dirs[0], year_end), (dirs[1], quarter_end)):
        ids = {r["client_id"] for r in read(directory, "assets")}
        expected = {c for c, o in opened.items() if o <= day.isoformat()} - closed
        assert ids == expected
    day1 = {r["client_id"]: r["total_assets"] for r in read(dirs[2], "assets")}
    year = {r["client_id"]: r["total_assets"] for r in read(dirs[0], "assets")}
    both = [c for c in year if c in day1 and float(day1[c]) > 0]
    moved = [c for c in both if year[c] != day1[c]]
    assert both and len(moved) > len(both) * 0.9  # assets moved since, client by client


def test_a_snapshot_must_come_before_the_first_day(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="before the first day"):
        generate(tmp_path, clients=10, branches=1, days=1, start=START, seed=1, snapshots=[START])
