"""The stored classes of one standard, kept between nightly runs and checked against the log.

``ClientClass`` is derived state: the classification engine writes each client's
class together with its ``ClassChange`` row (CLS-9), in one transaction. So the
classes of a standard as of the newest change row ``N`` stay valid until a change
row after ``N`` appears. The nightly run keeps them as ``state/classes/<scheme>.parquet``
with ``N`` and the row count beside them, and on the next run reads the file and
applies only the change rows after ``N`` (usually none) instead of exporting ten
million rows from the database. The database stays the source: a missing or
unreadable file, a log that does not reach ``N`` any more, or a row count that
differs from the database's makes the run load the classes from the table again.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import pyarrow as pa

from huifang.core import bulk, duck

SCHEMA = pa.schema([("client_id", pa.string()), ("class_code", pa.string())])


def _paths(state_dir: Path, scheme: str) -> tuple[Path, Path]:
    name = hashlib.sha256(scheme.encode()).hexdigest()[:16]  # a scheme code is free text
    return state_dir / f"{name}.parquet", state_dir / f"{name}.json"


def _log_state(scheme: str) -> tuple[int, int]:
    """(newest change row id of any scheme, stored rows with a class of ``scheme``)."""
    from huifang.classification.models import ClassChange, ClientClass

    newest = ClassChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
    stored = ClientClass.objects.filter(scheme=scheme).exclude(class_code="").count()
    return newest, stored


def load(con: duckdb.DuckDBPyConnection, scheme: str, state_dir: Path | None) -> pa.Table:
    """The (client_id, class_code) rows of ``scheme`` with a class, as the database holds them."""
    from huifang.classification.models import ClassChange, ClientClass

    newest, stored = _log_state(scheme)
    data, meta = _paths(state_dir, scheme) if state_dir is not None else (None, None)
    cached = None
    if data is not None and meta is not None and data.is_file() and meta.is_file():
        try:
            saved = json.loads(meta.read_text())
            if saved.get("scheme") == scheme and 0 < int(saved["newest"]) <= newest:
                cached = int(saved["newest"])
        except (ValueError, KeyError):
            cached = None
    if cached is not None and data is not None and meta is not None:
        delta = bulk.fetch_typed(
            f'SELECT id, client_id, new_class FROM "{ClassChange._meta.db_table}" '
            "WHERE id > %s AND scheme = %s",
            [cached, scheme],
            schema=pa.schema([("id", pa.int64()), ("client_id", pa.string()), ("new_class", pa.string())]),
        )  # fmt: skip
        con.register("class_delta_arrow", delta)
        duck.run(con, f"""
            CREATE OR REPLACE TEMP TABLE class_cache AS
            WITH latest AS (SELECT client_id, arg_max(new_class, id) AS new_class
                            FROM class_delta_arrow GROUP BY client_id)
            SELECT client_id, class_code FROM read_parquet({duck.lit(str(data))})
            WHERE client_id NOT IN (SELECT client_id FROM latest)
            UNION ALL SELECT client_id, new_class FROM latest WHERE new_class <> ''""")  # fmt: skip
        con.unregister("class_delta_arrow")
        rows = duck.table(con, "SELECT client_id, class_code FROM class_cache")
        if rows.num_rows == stored:
            if delta.num_rows:
                _save(con, data, meta, scheme, newest)
            return rows.cast(SCHEMA)
    rows = bulk.fetch_typed(
        f'SELECT client_id, class_code FROM "{ClientClass._meta.db_table}" '
        "WHERE scheme = %s AND class_code <> ''",
        [scheme], schema=SCHEMA,
    )  # fmt: skip
    if data is not None and meta is not None and newest > 0:
        con.register("class_rows_arrow", rows)
        duck.run(con, "CREATE OR REPLACE TEMP TABLE class_cache AS SELECT * FROM class_rows_arrow")
        con.unregister("class_rows_arrow")
        _save(con, data, meta, scheme, newest)
    return rows


def _save(con: duckdb.DuckDBPyConnection, data: Path, meta: Path, scheme: str, newest: int) -> None:
    """``class_cache`` to ``data`` and its log position to ``meta`` (each renamed into place)."""
    meta.unlink(missing_ok=True)  # never an old position beside a new file
    duck.write_parquet(con, "class_cache", data)
    staged_meta = meta.with_name(meta.name + ".partial")
    staged_meta.write_text(json.dumps({"scheme": scheme, "newest": newest}))
    os.replace(staged_meta, meta)
