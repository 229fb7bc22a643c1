"""The carried client state equals the one derived from the whole archive (``clientstate``)."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from huifang.callbacks import clientstate
from huifang.core import duck

D1, D2, D3 = dt.date(2026, 10, 12), dt.date(2026, 10, 13), dt.date(2026, 10, 14)
MONEY = pa.decimal128(18, 2)


def write(root: Path, name: str, day: dt.date, rows: list[dict[str, Any]]) -> Path:
    folder = root / name / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-0.parquet"
    table = pa.Table.from_pylist(rows)
    if "total_assets" in table.column_names:
        index = table.column_names.index("total_assets")
        money = pa.array([Decimal(v) for v in table["total_assets"].to_pylist()], MONEY)
        table = table.set_column(index, "total_assets", money)
    pq.write_table(table, path)
    return path


def client(client_id: str, line: int, **extra: Any) -> dict[str, Any]:
    return {
        "client_id": client_id, "branch_code": "A01", "open_date": "2020-01-02",
        "introducer_staff_id": None, "broker_staff_id": None, "adviser_staff_id": None,
        "last_trade_date": "2026-01-05", "status": "normal", "close_date": None,
        "source_line": line, **extra,
    }  # fmt: skip


def state(root: Path, day: dt.date, state_dir: Path | None) -> list[tuple[Any, ...]]:
    con = duck.connect()
    try:
        clientstate.build(con, root, day, state_dir)
        return con.execute("SELECT * FROM cs ORDER BY client_id").fetchall()
    finally:
        con.close()


def archive(root: Path) -> None:
    write(root, "clients", D1, [client("K1", 2), client("K2", 3), client("K3", 4)])
    write(root, "assets", D1, [{"client_id": c, "total_assets": 100} for c in ("K1", "K2", "K3")])
    write(root, "trades", D1, [{"client_id": "K1", "trade_amount": 5}])


def test_a_snapshot_plus_later_partitions_equals_the_whole_history(tmp_path: Path) -> None:
    root, snapshots = tmp_path / "archive", tmp_path / "state"
    archive(root)
    first = state(root, D1, snapshots)
    assert [r[0] for r in first] == ["K1", "K2", "K3"]
    assert (snapshots / "date=2026-10-12.parquet").is_file()
    # day 2: K2 changes branch and closes, K1 is missing from the assets snapshot, K3 trades
    write(root, "clients", D2, [client("K2", 2, branch_code="B01", status="closed",
                                       close_date="2026-10-13")])  # fmt: skip
    write(root, "assets", D2, [{"client_id": "K2", "total_assets": 0},
                               {"client_id": "K3", "total_assets": 10_000_000}])  # fmt: skip
    write(root, "trades", D2, [{"client_id": "K3", "trade_amount": 7}])
    carried = state(root, D2, snapshots)
    assert carried == state(root, D2, None)
    by_id = {r[0]: r for r in carried}
    names = ["client_id", *clientstate.FIELD_NAMES, "archive_last_trade", "total_assets",
             "assets_date"]  # fmt: skip
    k1, k2, k3 = (dict(zip(names, by_id[c], strict=True)) for c in ("K1", "K2", "K3"))
    assert (k1["total_assets"], k1["assets_date"]) == (Decimal("100.00"), D1)  # kept his last one
    assert (k2["branch_code"], k2["status"], k2["close_date"]) == ("B01", "closed", D2)
    assert (k3["archive_last_trade"], k3["total_assets"]) == (D2, Decimal("10000000.00"))
    assert k1["archive_last_trade"] == D1


def test_a_replaced_or_late_partition_makes_the_state_derive_from_the_whole_history(
    tmp_path: Path,
) -> None:
    root, snapshots = tmp_path / "archive", tmp_path / "state"
    archive(root)
    state(root, D2, snapshots)  # a snapshot dated D2 covering D1's partitions
    # D1's assets re-imported with other content (huifang import --replace)
    path = write(root, "assets", D1, [{"client_id": c, "total_assets": 999} for c in ("K1", "K2")])
    os.utime(path, ns=(1, 1))  # even with an old modification time: the size differs
    assert state(root, D3, snapshots) == state(root, D3, None)
    assert {r[0]: r[-2] for r in state(root, D3, snapshots)}["K1"] == Decimal("999.00")
    # a partition dated before the last snapshot, archived after it was made
    write(root, "trades", D1 - dt.timedelta(days=3), [{"client_id": "K2", "trade_amount": 1}])
    late = state(root, D3, snapshots)
    assert late == state(root, D3, None)
    assert {r[0]: r[-3] for r in late}["K2"] == D1 - dt.timedelta(days=3)


def test_only_the_newest_snapshots_are_kept(tmp_path: Path) -> None:
    root, snapshots = tmp_path / "archive", tmp_path / "state"
    archive(root)
    for offset in range(5):
        day = D1 + dt.timedelta(days=offset)
        write(root, "trades", day, [{"client_id": "K1", "trade_amount": offset + 1}])
        state(root, day, snapshots)
    kept = sorted(p.name for p in snapshots.glob("date=*.parquet"))
    assert kept == ["date=2026-10-14.parquet", "date=2026-10-15.parquet", "date=2026-10-16.parquet"]
    assert all(p.with_suffix(".json").is_file() for p in snapshots.glob("date=*.parquet"))


def test_a_snapshot_of_another_layout_is_not_used(tmp_path: Path, monkeypatch: Any) -> None:
    root, snapshots = tmp_path / "archive", tmp_path / "state"
    archive(root)
    state(root, D1, snapshots)
    monkeypatch.setattr(clientstate, "LAYOUT", "another")
    assert clientstate._usable(snapshots, root, D2) is None
