"""Reading feed files: encodings, formats recognised by content, zip bombs, line numbers (SPEC §1)."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from huifang.clients.models import AccountEvent, Client
from huifang.core import duck, pii
from huifang.feeds import readers
from huifang.feeds.tests import feedkit
from huifang.feeds.tests.feedkit import DAY1
from huifang.org.models import Staff, Unit

pytestmark = pytest.mark.django_db


def org_feed() -> feedkit.Feed:
    return {"branches": feedkit.branches(), "staff": feedkit.staff()}


def chinese_clients() -> list[feedkit.Row]:
    return [
        feedkit.client(1, name="张三丰"),
        feedkit.client(2, name="欧阳娜娜", address="广州市越秀区中山五路"),
        feedkit.client(3, name="李逍遥"),
        feedkit.institution(8, name="华夏长城投资有限公司"),
    ]


def import_dir(directory: Path, *flags: str) -> tuple[int, str, str]:
    return feedkit.run_command(str(directory), "--date", str(DAY1), "--quiet", *flags)


# ---------------------------------------------------------------- encodings


def test_a_utf8_bom_is_accepted(feed_dir):
    feedkit.write_feed(feed_dir, org_feed())
    feedkit.write_csv(feed_dir, "clients", chinese_clients(), bom=True)

    code, _out, err = import_dir(feed_dir)

    assert (code, err) == (0, "")
    assert Client.objects.get(pk="K0001").name == "张三丰"


def test_undeclared_gbk_is_rejected_naming_gb18030_and_the_flag(feed_dir):
    feedkit.write_feed(feed_dir, org_feed())
    feedkit.write_csv(feed_dir, "clients", chinese_clients(), encoding="gbk")

    code, _out, err = import_dir(feed_dir)

    assert code == 1
    [line] = [e for e in err.splitlines() if e.startswith("clients.csv:")]
    assert line.startswith("clients.csv:2::")
    assert "GB18030/GBK" in line
    assert "--encoding gb18030" in line
    assert "张三丰" not in err
    assert not Client.objects.exists()


def test_declared_gb18030_is_decoded_and_names_are_stored_correctly(feed_dir):
    feed = org_feed() | {"clients": chinese_clients()}
    for name, rows in feed.items():
        feedkit.write_csv(feed_dir, name, rows, encoding="gbk")

    code, _out, err = import_dir(feed_dir, "--encoding", "gb18030")

    assert (code, err) == (0, "")
    names = dict(Client.objects.values_list("client_id", "name"))
    assert names == {
        "K0001": "张三丰",
        "K0002": "欧阳娜娜",
        "K0003": "李逍遥",
        "K0008": "华夏长城投资有限公司",
    }
    address = pii.unpack(pii.decrypt(Client.objects.get(pk="K0002").pii), 5)[4]
    assert address == "广州市越秀区中山五路"
    assert Unit.objects.get(pk="A01").name == "甲一营业部"
    assert Staff.objects.get(pk="S001").name == "上官婉儿"


# ---------------------------------------------------------------- formats by content


@pytest.mark.parametrize(
    ("file_name", "content", "reason"),
    [
        ("clients.xlsx", b"client_id,name\nK1,x\n", "not an XLSX file (wrong magic bytes)"),
        ("clients.parquet", b"client_id,name\nK1,x\n", "not a Parquet file (wrong magic bytes)"),
        ("clients.csv", b"PAR1\x15\x04\x15\x00PAR1", "not a CSV text file (binary content)"),
    ],
    ids=["text-as-xlsx", "csv-as-parquet", "parquet-as-csv"],
)
def test_a_file_whose_content_does_not_match_its_extension_is_rejected(
    feed_dir, file_name, content, reason
):
    feedkit.write_feed(feed_dir, org_feed())
    (feed_dir / file_name).write_bytes(content)

    code, _out, err = import_dir(feed_dir)

    assert code == 1
    assert f"{file_name}:0:: {reason}" in err.splitlines()
    assert not Unit.objects.exists()


def _forbid_expanding(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record any attempt to open a zip member or load the workbook."""
    opened: list[str] = []

    def refuse_open(self: zipfile.ZipFile, name: object, *args: object, **kwargs: object):
        opened.append(str(name))
        raise AssertionError(f"zip member {name} was opened")

    def refuse_load(*args: object, **kwargs: object):
        opened.append("openpyxl.load_workbook")
        raise AssertionError("the workbook was loaded")

    import openpyxl

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse_open)
    monkeypatch.setattr(openpyxl, "load_workbook", refuse_load)
    return opened


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """600 MiB of zeros deflated to ~3 MB, posing as a workbook (written streaming)."""
    path = tmp_path_factory.mktemp("bomb") / "clients.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        block = bytes(1 << 20)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(600):
                member.write(block)
    return path


def test_a_zip_bomb_posing_as_xlsx_is_rejected_without_being_expanded(
    feed_dir, zip_bomb, monkeypatch
):
    feedkit.write_feed(feed_dir, org_feed())
    (feed_dir / "clients.xlsx").symlink_to(zip_bomb)
    assert zip_bomb.stat().st_size < 4 << 20
    opened = _forbid_expanding(monkeypatch)

    code, _out, err = import_dir(feed_dir)

    assert code == 1
    [line] = [e for e in err.splitlines() if e.startswith("clients.xlsx:")]
    assert line.startswith("clients.xlsx:0:: refused: ")
    assert opened == []
    assert not Unit.objects.exists()


def test_a_highly_compressed_member_is_refused_by_its_ratio(feed_dir, monkeypatch):
    path = feed_dir / "clients.xlsx"
    feed_dir.mkdir()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", bytes(8 << 20))  # 8 MiB → ~8 KB
    opened = _forbid_expanding(monkeypatch)

    with pytest.raises(readers.FeedError) as caught:
        readers.load(
            duck.connect(),
            readers.FeedFile("clients", path, "xlsx"),
            encoding=None,
            workdir=feed_dir,
        )

    assert "xl/worksheets/sheet1.xml expands" in str(caught.value)
    assert "zip bomb" in str(caught.value)
    assert opened == []


def test_a_workbook_over_the_uncompressed_limit_is_refused(feed_dir, monkeypatch):
    feed_dir.mkdir()
    path = feedkit.write_xlsx(feed_dir, "clients", chinese_clients())
    with zipfile.ZipFile(path, "a", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/media/padding.bin", bytes(2 << 20))  # stored: ratio 1
    monkeypatch.setattr(readers, "MAX_XLSX_UNCOMPRESSED", 1 << 20)
    feedkit.write_feed(feed_dir, org_feed())

    code, _out, err = import_dir(feed_dir)

    assert code == 1
    assert "clients.xlsx:0:: refused: " in err
    assert f"exceeds the limit of {1 << 20}" in err


def test_xlsx_and_parquet_feeds_import_like_csv(feed_dir):
    clients = chinese_clients()
    clients[0].update(open_date=dt.date(2016, 3, 8), has_margin_account=True)
    assets = [
        {"client_id": "K0001", "total_assets": Decimal("1234.50"), "cash": 0.5},
        {"client_id": "K0002", "total_assets": Decimal("99.00")},
    ]
    events = [
        {"event_id": "E9", "client_id": "K0008", "event_type": "agreement_signed",
         "event_time": dt.datetime(2026, 10, 13, 9, 30), "amount": Decimal("10.00")},
    ]  # fmt: skip
    feedkit.write_feed(
        feed_dir,
        {"branches": feedkit.branches(), "staff": feedkit.staff(), "clients": clients,
         "assets": assets, "account_events": events},
        formats={"branches": "parquet", "clients": "xlsx", "assets": "parquet",
                 "account_events": "xlsx"},
    )  # fmt: skip

    code, out, err = import_dir(feed_dir)

    assert (code, err) == (0, ""), err
    k1 = Client.objects.get(pk="K0001")
    assert (k1.name, k1.open_date, k1.has_margin_account) == ("张三丰", dt.date(2016, 3, 8), True)
    assert k1.id_number_masked == pii.mask_id_number(clients[0]["id_number"])
    assert Unit.objects.get(pk="HQCC").unit_kind == "call_center"
    event = AccountEvent.objects.get(pk="E9")
    assert event.amount == Decimal("10.00")
    assert event.event_time == dt.datetime(2026, 10, 13, 1, 30, tzinfo=dt.UTC)
    assert "assets: 2" in out


def test_xlsx_and_parquet_errors_name_the_sheet_row_and_the_parquet_row(feed_dir):
    clients = chinese_clients()
    clients[1]["gender"] = "X"
    assets = [
        {"client_id": "K0001", "total_assets": "1"},
        {"client_id": "K0009", "total_assets": "2"},
    ]
    feedkit.write_feed(
        feed_dir,
        org_feed() | {"clients": clients, "assets": assets},
        formats={"clients": "xlsx", "assets": "parquet"},
    )

    code, _out, err = import_dir(feed_dir)

    assert code == 1
    assert [e.split(": ")[0] for e in err.splitlines() if ".xlsx:" in e or ".parquet:" in e] == [
        "clients.xlsx:3:gender",
        "assets.parquet:3:client_id",
    ]


# ---------------------------------------------------------------- line numbers


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_line_numbers_count_newlines_inside_quoted_fields(feed_dir, newline):
    clients = [feedkit.client(i) for i in range(1, 6)]
    clients[0]["address"] = f"北京市{newline}东城区{newline}第一胡同"  # lines 2-4
    clients[1]["agent_scope"] = f"交易{newline}转账"  # with the address: lines 5-7
    clients[1]["address"] = f"上海市{newline}黄浦区"
    clients[2]["risk_level"] = "C9"  # line 8
    clients[4]["open_date"] = "2026/01/01"  # line 10
    feedkit.write_feed(feed_dir, org_feed())
    feedkit.write_csv(feed_dir, "clients", clients, newline=newline)

    code, _out, err = import_dir(feed_dir)

    assert code == 1
    assert [e.split(": ")[0] for e in err.splitlines() if e.startswith("clients.csv:")] == [
        "clients.csv:8:risk_level",
        "clients.csv:10:open_date",
    ]


def test_malformed_rows_are_reported_at_their_line(feed_dir):
    lines = feedkit.csv_text("clients", [feedkit.client(i) for i in range(1, 6)]).split("\n")
    lines[3] += ",surplus"
    lines[5] = lines[5].replace("K0005", '"K0005')
    feedkit.write_feed(feed_dir, org_feed())
    (feed_dir / "clients.csv").write_text("\n".join(lines), encoding="utf-8")

    code, _out, err = import_dir(feed_dir)

    assert code == 1
    assert [e for e in err.splitlines() if e.startswith("clients.csv:")] == [
        "clients.csv:4:: malformed row (too many columns)",
        "clients.csv:6:client_id: malformed row (unquoted value)",
    ]


def test_header_only_files_import_as_nothing_that_day(feed_dir):
    feed = feedkit.standard_feed()
    for name, rows in feed.items():
        feedkit.write_csv(feed_dir, name, [], columns=feedkit.columns_of(name, rows))

    code, out, err = import_dir(feed_dir)

    assert (code, err) == (0, "")
    assert "clients: 0" in out
    assert not Client.objects.exists()
