"""Writing one feed directory (SPEC §1) as CSV or Parquet, chunk by chunk.

CSV: UTF-8 without BOM, ``\\n`` line ends, a plain header, no quoting (generated
text never holds commas, quotes or line breaks; Arrow refuses to write them
unquoted, so a mistake fails loudly). Parquet: the same columns, typed —
dates ``date32``, money ``decimal(18, 2)``, booleans ``bool``, counts ``int64``,
date-times ISO strings with ``+08:00`` like in the CSV.

A day is written into ``feed-YYYY-MM-DD.partial`` and renamed when complete, so a
reader never sees half a feed.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from huifang.synth.arrays import MONEY

S, D, B, M = pa.string(), pa.date32(), pa.bool_(), MONEY

SCHEMAS: dict[str, pa.Schema] = {
    "branches": pa.schema(
        [("branch_code", S), ("name", S), ("region_code", S), ("region_name", S), ("unit_kind", S)]
    ),
    "staff": pa.schema(
        [
            ("staff_id", S),
            ("name", S),
            ("branch_code", S),
            ("position", S),
            ("hire_date", D),
            ("leave_date", D),
            ("broker_cert_no", S),
            ("qualification", S),
            ("phone", S),
            ("client_id", S),
        ]
    ),
    "clients": pa.schema(
        [
            ("client_id", S),
            ("name", S),
            ("client_type", S),
            ("branch_code", S),
            ("open_date", D),
            ("fund_account", S),
            ("id_type", S),
            ("id_number", S),
            ("birth_date", D),
            ("gender", S),
            ("mobile", S),
            ("phone", S),
            ("email", S),
            ("address", S),
            ("postcode", S),
            ("status", S),
            ("introducer_staff_id", S),
            ("broker_staff_id", S),
            ("adviser_staff_id", S),
            ("risk_level", S),
            ("risk_assessed_on", D),
            ("has_margin_account", B),
            ("credit_open_date", D),
            ("online_trading", B),
            ("bank_transfer", B),
            ("agent_name", S),
            ("agent_scope", S),
            ("agent_until", D),
            ("close_date", D),
            ("last_trade_date", D),
            ("advisory_contract", B),
        ]
    ),
    "assets": pa.schema(
        [
            ("client_id", S),
            ("total_assets", M),
            ("cash", M),
            ("market_value", M),
            ("margin_debt", M),
        ]
    ),
    "commissions": pa.schema([("client_id", S), ("period", S), ("net_commission", M)]),
    "flows": pa.schema([("client_id", S), ("kind", S), ("amount", M), ("flow_time", S)]),
    "trades": pa.schema(
        [("client_id", S), ("trade_amount", M), ("trade_count", pa.int64()), ("warrant_amount", M)]
    ),
    "product_purchases": pa.schema(
        [
            ("purchase_id", S),
            ("client_id", S),
            ("product_code", S),
            ("product_name", S),
            ("product_type", S),
            ("product_risk_level", S),
            ("amount", M),
            ("sales_staff_id", S),
            ("purchase_time", S),
            ("has_third_party_adviser", B),
            ("amac_registered", B),
        ]
    ),
    "margin_events": pa.schema(
        [
            ("event_id", S),
            ("client_id", S),
            ("event_type", S),
            ("security_code", S),
            ("detail", S),
            ("event_time", S),
        ]
    ),
    "account_events": pa.schema(
        [
            ("event_id", S),
            ("client_id", S),
            ("event_type", S),
            ("amount", M),
            ("detail", S),
            ("event_time", S),
            ("staff_id", S),
        ]
    ),
}
FILES = tuple(SCHEMAS)


class FeedDirectory:
    """The files of one business date; ``close()`` publishes the directory."""

    def __init__(self, final: Path, fmt: str) -> None:
        if fmt not in {"csv", "parquet"}:
            raise ValueError(f"unknown format {fmt!r}")
        self.final, self.fmt = final, fmt
        self.partial = final.with_name(final.name + ".partial")
        shutil.rmtree(self.partial, ignore_errors=True)
        self.partial.mkdir(parents=True)
        self._writers: dict[str, Any] = {}
        self._sinks: dict[str, pa.NativeFile] = {}
        self.rows: dict[str, int] = {}

    def write(self, name: str, table: pa.Table) -> None:
        """Append rows to ``<name>``; empty tables create no file (SPEC §1: absent = nothing)."""
        if table.num_rows == 0:
            return
        schema = SCHEMAS[name]
        table = table.select(schema.names).cast(schema)
        writer = self._writers.get(name) or self._open(name, schema)
        writer.write_table(table)
        self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def _open(self, name: str, schema: pa.Schema) -> Any:
        path = self.partial / f"{name}.{self.fmt}"
        if self.fmt == "parquet":
            writer: Any = pq.ParquetWriter(path, schema, compression="zstd")
        else:
            sink = pa.OSFile(str(path), "wb")
            sink.write((",".join(schema.names) + "\n").encode())
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            writer = pacsv.CSVWriter(sink, schema, write_options=options)
            self._sinks[name] = sink
        self._writers[name] = writer
        return writer

    def close(self) -> Path:
        """Finish every file and move the directory to its final name."""
        for name, writer in self._writers.items():
            writer.close()
            if name in self._sinks:
                self._sinks[name].close()
        if self.final.exists():
            shutil.rmtree(self.final)
        self.partial.rename(self.final)
        return self.final

    def abort(self) -> None:
        for writer in self._writers.values():
            with contextlib.suppress(OSError, pa.ArrowException):
                writer.close()
        shutil.rmtree(self.partial, ignore_errors=True)
