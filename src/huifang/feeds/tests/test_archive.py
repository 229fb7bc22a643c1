"""The Parquet archive: one partition per file and date, a SHA-256 manifest, no plain PII (SPEC §1)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.conf import settings

from huifang.core import pii
from huifang.feeds.tests import feedkit
from huifang.feeds.tests.feedkit import DAY1, DAY2

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_days(tmp_path, day1) -> list[str]:
    """DAY1 and DAY2 imported; returns every plain personal value fed."""
    day2 = feedkit.day2_feed()
    directory = feedkit.write_feed(tmp_path / "day2", day2)
    code, _out, err = feedkit.run_command(str(directory), "--date", str(DAY2), "--quiet")
    assert code == 0, err
    return sorted(set(feedkit.pii_values(day1)) | set(feedkit.pii_values(day2)))


def _strings(table: pa.Table) -> list[str]:
    cells: list[str] = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            cells.extend(v for v in column.to_pylist() if v is not None)
    return cells


def test_every_file_is_archived_under_its_date_with_a_matching_manifest(day1):
    root = Path(settings.ARCHIVE_DIR)
    parts = sorted(str(p.relative_to(root)) for p in root.glob("*/date=*/part-0.parquet"))

    assert parts == sorted(f"{name}/date={DAY1}/part-0.parquet" for name in day1)
    for rel in parts:
        part = root / rel
        manifest = json.loads((part.parent / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["sha256"] == hashlib.sha256(part.read_bytes()).hexdigest()
        assert manifest["rows"] == pq.read_metadata(part).num_rows
        assert manifest["business_date"] == part.parent.name.removeprefix("date=")


def test_the_archive_holds_no_plain_personal_data(two_days):
    values = two_days
    assert "上官婉儿" in values and "13900000001" in values  # the scan looks for real values
    files = feedkit.archive_files()
    assert files

    in_bytes = [(rel, v) for rel, data in files.items() for v in values if v.encode() in data]
    in_cells = [
        (rel, v)
        for rel in files
        if rel.endswith(".parquet")
        for cell in _strings(pq.read_table(Path(settings.ARCHIVE_DIR) / rel))
        for v in values
        if v in cell
    ]
    assert in_bytes == []
    assert in_cells == []


def test_personal_columns_are_dropped_or_kept_as_keyed_hashes(day1):
    root = Path(settings.ARCHIVE_DIR)
    clients = pq.read_table(root / "clients" / f"date={DAY1}" / "part-0.parquet")
    staff = pq.read_table(root / "staff" / f"date={DAY1}" / "part-0.parquet")

    assert {"id_number_hash", "mobile_hash", "phone_hash"} <= set(clients.column_names)
    dropped = {"name", "id_number", "mobile", "phone", "email", "address", "agent_name"}
    assert dropped.isdisjoint(clients.column_names)
    assert "phone_hash" in staff.column_names
    assert {"name", "phone"}.isdisjoint(staff.column_names)
    first = clients.slice(0, 1).to_pylist()[0]
    assert first["client_id"] == "K0001"
    assert first["id_number_hash"] == pii.keyed_hash(day1["clients"][0]["id_number"])
    assert first["mobile_hash"] == pii.keyed_hash(day1["clients"][0]["mobile"])
    assert (
        first["id_number_hash"]
        != hashlib.sha256(day1["clients"][0]["id_number"].encode()).hexdigest()
    )
    assert first["source_line"] == 2


def test_free_text_keeps_its_words_but_masks_mobiles_and_id_numbers(day1):
    root = Path(settings.ARCHIVE_DIR)
    margin = pq.read_table(root / "margin_events" / f"date={DAY1}" / "part-0.parquet")
    account = pq.read_table(root / "account_events" / f"date={DAY1}" / "part-0.parquet")

    assert margin.column("detail").to_pylist() == ["已电话通知 139****0004 补仓"]
    [detail, _empty] = account.column("detail").to_pylist()
    assert detail.startswith("证件 110") and detail.endswith(" 本人临柜")
    assert "***********" in detail
