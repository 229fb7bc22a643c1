"""Archive partitions written straight from Python rows, as the importer lays them out.

``archive/<file>/date=YYYY-MM-DD/part-0.parquet`` with the importer's column types
(money DECIMAL(18, 2), dates DATE). Tests of the rating engine write only what a
rating reads; one integration test imports real feeds instead (test_engine).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings

MONEY = pa.decimal128(18, 2)
SCHEMAS = {
    "clients": pa.schema(
        [
            ("client_id", pa.string()),
            ("client_type", pa.string()),
            ("branch_code", pa.string()),
            ("open_date", pa.date32()),
            ("status", pa.string()),
            ("close_date", pa.date32()),
            ("last_trade_date", pa.date32()),
        ]
    ),
    "assets": pa.schema([("client_id", pa.string()), ("total_assets", MONEY)]),
    "commissions": pa.schema(
        [("client_id", pa.string()), ("period", pa.string()), ("net_commission", MONEY)]
    ),
    "trades": pa.schema(
        [("client_id", pa.string()), ("trade_amount", MONEY), ("trade_count", pa.int64())]
    ),
}


def _value(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_decimal(kind):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    if pa.types.is_date(kind) and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def write(name: str, day: dt.date | str, rows: list[dict[str, Any]]) -> Path:
    """Write (replace) one partition of the archive."""
    schema = SCHEMAS[name]
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    folder = Path(settings.ARCHIVE_DIR) / name / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    columns = {f.name: [_value(row.get(f.name), f.type) for row in rows] for f in schema}
    path = folder / "part-0.parquet"
    pq.write_table(pa.table(columns, schema=schema), path)
    return path


def client(
    client_id: str, branch: str = "A01", opened: str = "2020-03-02", **extra: Any
) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "client_type": "individual",
        "branch_code": branch,
        "open_date": opened,
        "status": "normal",
        **extra,
    }
