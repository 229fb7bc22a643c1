"""The bulk writer: many rows fast, inside the caller's transaction.

PostgreSQL gets ``COPY … FROM STDIN`` in the binary format (pgpq encodes Arrow)
or, for types pgpq does not map to our columns, as CSV from Arrow's C++ writer;
SQLite gets one ``executemany`` per chunk. The ORM's per-row ``save()`` is never
used for feeds, classifications or task batches. Input is a ``pyarrow.Table``
whose column names are the database column names.
"""

from __future__ import annotations

import io
import itertools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pgpq
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from django.db import connections

CHUNK_ROWS = 200_000


def vendor(using: str = "default") -> str:
    return connections[using].vendor


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _for_sqlite(table: pa.Table) -> pa.Table:
    """Dates, decimals and timestamps as the text Django stores in SQLite."""
    columns = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_date(kind) or pa.types.is_decimal(kind):
            column = pc.cast(column, pa.string())
        elif pa.types.is_timestamp(kind):
            column = pc.strftime(column, format="%Y-%m-%d %H:%M:%S")
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _chunks(table: pa.Table) -> Iterator[pa.Table]:
    for offset in range(0, max(table.num_rows, 1), CHUNK_ROWS):
        part = table.slice(offset, CHUNK_ROWS)
        if part.num_rows:
            yield part


def _rows(table: pa.Table) -> Iterator[tuple[Any, ...]]:
    return zip(*(column.to_pylist() for column in table.columns), strict=True)


def _sqlite_executemany(cursor: Any, sql: str, rows: Any) -> None:
    """``executemany`` on the sqlite3 cursor itself, skipping Django's ``%s`` rewriting."""
    raw = cursor.cursor
    sqlite3.Cursor.executemany(raw, sql, rows)


def _csv_bytes(table: pa.Table) -> bytes:
    if any(pa.types.is_timestamp(c.type) for c in table.columns):
        table = pa.table(
            [
                pc.strftime(c, format="%Y-%m-%d %H:%M:%S+00")
                if pa.types.is_timestamp(c.type)
                else c
                for c in table.columns
            ],
            names=table.column_names,
        )
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    return buffer.getvalue()


# Arrow types that pgpq encodes into PostgreSQL's binary COPY format as our columns expect.
_BINARY_SAFE = (pa.types.is_string, pa.types.is_boolean, pa.types.is_int64, pa.types.is_date32)


def _binary_ready(table: pa.Table) -> pa.Table | None:
    """The table with NULL-typed columns as text, or None when a type needs the CSV path."""
    columns = []
    for column in table.columns:
        if pa.types.is_null(column.type):
            column = column.cast(pa.string())
        if not any(check(column.type) for check in _BINARY_SAFE):
            return None
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _pg_copy(cursor: Any, target: str, parts: pa.Table | Iterable[pa.Table]) -> None:
    """COPY in PostgreSQL's binary format (pgpq, about twice as fast), else CSV.

    ``parts`` may be one table or a stream of tables with the same columns, so a
    producer (e.g. encryption on other cores) can run while the database ingests.
    """
    iterator = iter(_chunks(parts) if isinstance(parts, pa.Table) else parts)
    first = next(iterator, None)
    if first is None:
        return
    columns = ", ".join(_q(c) for c in first.column_names)
    binary = _binary_ready(first)
    if binary is not None:
        encoder = pgpq.ArrowToPostgresBinaryEncoder(binary.schema)
        with cursor.copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT binary)") as copy:
            copy.write(encoder.write_header())
            for part in itertools.chain([binary], map(_binary_ready, iterator)):
                for batch in part.to_batches(max_chunksize=CHUNK_ROWS):  # type: ignore[union-attr]
                    copy.write(encoder.write_batch(batch))
            copy.write(encoder.finish())
        return
    with cursor.copy(f"COPY {target} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        for part in itertools.chain([first], iterator):
            copy.write(_csv_bytes(part))


REBUILD_FROM = 100_000


def secondary_indexes(table_name: str, *, using: str = "default") -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes that back no constraint."""
    conn = connections[using]
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table_name, table_name],
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL",
                [table_name],
            )
        return [(name, sql) for name, sql in cursor.fetchall()]


def insert(
    table_name: str,
    rows: pa.Table | Iterable[pa.Table],
    *,
    total: int | None = None,
    using: str = "default",
) -> int:
    """Insert every row (one table, or a stream of tables of ``total`` rows); keys must be new.

    A large load into an empty table drops the secondary indexes and builds them
    again afterwards (one sort each instead of millions of index insertions),
    inside the caller's transaction. Returns the row count.
    """
    expected = rows.num_rows if isinstance(rows, pa.Table) else (total or 0)
    if expected == 0:
        return 0
    rebuild = expected >= REBUILD_FROM and table_is_empty(table_name, using=using)
    indexes = secondary_indexes(table_name, using=using) if rebuild else []
    parts = _chunks(rows) if isinstance(rows, pa.Table) else rows
    with connections[using].cursor() as cursor:
        for name, _sql in indexes:
            cursor.execute(f"DROP INDEX {_q(name)}")
        if vendor(using) == "postgresql":
            _pg_copy(cursor, _q(table_name), parts)
        else:
            for part in parts:
                columns = ", ".join(_q(c) for c in part.column_names)
                marks = ", ".join("?" * part.num_columns)
                sql = f"INSERT INTO {_q(table_name)} ({columns}) VALUES ({marks})"
                _sqlite_executemany(cursor, sql, _rows(_for_sqlite(part)))
        if indexes and vendor(using) == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _name, sql in indexes:
            cursor.execute(sql)
    return expected


def upsert(
    table_name: str,
    rows: pa.Table,
    *,
    key: Sequence[str],
    update: Sequence[str] | None = None,
    using: str = "default",
) -> int:
    """Insert rows, or update the ``update`` columns (default: all but the key) where the key exists."""
    if rows.num_rows == 0:
        return 0
    update = [c for c in (update or rows.column_names) if c not in key]
    keys = ", ".join(_q(k) for k in key)
    columns = ", ".join(_q(c) for c in rows.column_names)
    assignments = ", ".join(f"{_q(c)} = excluded.{_q(c)}" for c in update) if update else ""
    conflict = (
        f"ON CONFLICT ({keys}) DO UPDATE SET {assignments}"
        if update
        else f"ON CONFLICT ({keys}) DO NOTHING"
    )
    with connections[using].cursor() as cursor:
        if vendor(using) == "postgresql":
            staging = _q(f"_bulk_{table_name}")
            cursor.execute(f"DROP TABLE IF EXISTS {staging}")
            cursor.execute(
                f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS "
                f"SELECT {columns} FROM {_q(table_name)} WITH NO DATA"
            )
            _pg_copy(cursor, staging, rows)
            cursor.execute(
                f"INSERT INTO {_q(table_name)} ({columns}) SELECT {columns} FROM {staging} {conflict}"
            )
            cursor.execute(f"DROP TABLE {staging}")
        else:
            marks = ", ".join("?" * rows.num_columns)
            sql = f"INSERT INTO {_q(table_name)} ({columns}) VALUES ({marks}) {conflict}"
            for part in _chunks(_for_sqlite(rows)):
                _sqlite_executemany(cursor, sql, _rows(part))
    return rows.num_rows


def delete_keys(
    table_name: str, column: str, keys: Sequence[Any], *, using: str = "default"
) -> int:
    """Delete the rows whose ``column`` is in ``keys``."""
    deleted = 0
    with connections[using].cursor() as cursor:
        for offset in range(0, len(keys), 10_000):
            part = list(keys[offset : offset + 10_000])
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(f"DELETE FROM {_q(table_name)} WHERE {_q(column)} IN ({marks})", part)
            deleted += cursor.rowcount
    return deleted


def fetch(
    sql: str, params: Sequence[Any] = (), *, names: Sequence[str], using: str = "default"
) -> pa.Table:
    """Run a query and return its rows as an Arrow table of the given column names."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        columns: list[list[Any]] = [[] for _ in names]
        while batch := cursor.fetchmany(50_000):
            for i, values in enumerate(zip(*batch, strict=True)):
                columns[i].extend(values)
    return pa.table({name: pa.array(values) for name, values in zip(names, columns, strict=True)})


def fetch_by_keys(
    table_name: str,
    key: str,
    keys: pa.Array | pa.ChunkedArray,
    columns: Sequence[str],
    *,
    using: str = "default",
) -> pa.Table:
    """The rows of ``table_name`` whose ``key`` is in ``keys`` (a string array), as Arrow."""
    names = list(columns)
    select = ", ".join(f"t.{_q(c)}" for c in names)
    with connections[using].cursor() as cursor:
        if vendor(using) == "postgresql":
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _bulk_keys (k text PRIMARY KEY) ON COMMIT DROP"
            )
            cursor.execute("TRUNCATE _bulk_keys")
            _pg_copy(cursor, "_bulk_keys", pa.table({"k": keys}))
            sql = f"SELECT {select} FROM {_q(table_name)} t JOIN _bulk_keys k ON t.{_q(key)} = k.k"
        else:
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS _bulk_keys (k text PRIMARY KEY)")
            cursor.execute("DELETE FROM _bulk_keys")
            _sqlite_executemany(
                cursor,
                "INSERT OR IGNORE INTO _bulk_keys VALUES (?)",
                ((k,) for k in keys.to_pylist()),
            )
            sql = f"SELECT {select} FROM {_q(table_name)} t JOIN _bulk_keys k ON t.{_q(key)} = k.k"
    return fetch(sql, names=names, using=using)


def table_is_empty(table_name: str, *, using: str = "default") -> bool:
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {_q(table_name)} LIMIT 1")
        return cursor.fetchone() is None


def reserve_ids(table: str, n: int, *, using: str = "default") -> int:
    """The first of ``n`` consecutive ids for rows written with explicit ids.

    Callers hold their own lock (the nightly run's and the classification engine's
    advisory locks) so that two writers never reserve the same range. Writing ids
    ourselves lets a change set be hashed before it is written.
    """
    with connections[using].cursor() as cursor:
        if connections[using].vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s)", [sequence])
            first = int(cursor.fetchone()[0])
            if n > 1:
                cursor.execute("SELECT setval(%s, %s)", [sequence, first + n - 1])
            return first
        cursor.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"')
        top = int(cursor.fetchone()[0])
        cursor.execute("SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = %s", [table])
        first = max(top, int(cursor.fetchone()[0])) + 1
        if n:  # keep SQLite's own counter past the reserved range
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [first + n - 1, table]
            )
            if cursor.rowcount == 0:
                cursor.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
                    [table, first + n - 1],
                )
        return first
