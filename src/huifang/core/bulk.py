"""The bulk writer: many rows fast, inside the caller's transaction.

PostgreSQL gets ``COPY … FROM STDIN`` in the binary format (pgpq encodes Arrow)
or, for types pgpq does not map to our columns, as CSV from Arrow's C++ writer;
SQLite gets one ``executemany`` per chunk. The ORM's per-row ``save()`` is never
used for feeds, classifications or task batches. Input is a ``pyarrow.Table``
whose column names are the database column names.
"""

from __future__ import annotations

import contextlib
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
_BINARY_SAFE = (
    pa.types.is_string,
    pa.types.is_boolean,
    pa.types.is_int64,
    pa.types.is_date32,
    lambda kind: pa.types.is_timestamp(kind) and kind.unit == "us",  # PostgreSQL's resolution
)


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
            # The rows' deferred foreign-key checks are pending, and PostgreSQL builds no
            # index on a table with pending trigger events: check them now (they would
            # run at commit anyway), then defer again as Django declares them.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _name, sql in indexes:
            cursor.execute(sql)
        if indexes and vendor(using) == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
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
    schema: pa.Schema | None = None,
    using: str = "default",
) -> pa.Table:
    """The rows of ``table_name`` whose ``key`` is in ``keys`` (a string array), as Arrow.

    With ``schema`` (the columns' Arrow types) the rows come through ``fetch_typed``.
    """
    names = list(columns)
    select = ", ".join(f"t.{_q(c)}" for c in names)
    sql = f"SELECT {select} FROM {_q(table_name)} t JOIN _bulk_keys k ON t.{_q(key)} = k.k"
    with staged_keys(keys, using=using):
        if schema is not None:
            return fetch_typed(sql, schema=schema, using=using)
        return fetch(sql, names=names, using=using)


@contextlib.contextmanager
def staged_keys(keys: pa.Array | pa.ChunkedArray, *, using: str = "default") -> Iterator[None]:
    """Inside the block, the temporary table ``_bulk_keys (k text PRIMARY KEY)`` holds ``keys``
    (distinct strings), for a query to join; PostgreSQL copies them in binary and analyzes
    them, so that a few keys are looked up by index."""
    with connections[using].cursor() as cursor:
        if vendor(using) == "postgresql":
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS _bulk_keys (k text PRIMARY KEY) ON COMMIT DROP"
            )
            cursor.execute("TRUNCATE _bulk_keys")
            _pg_copy(cursor, "_bulk_keys", pa.table({"k": keys}))
            # a new temporary table has no statistics: without them the planner takes a few
            # hundred keys for a thousand and hash-joins them against a whole table
            cursor.execute("ANALYZE _bulk_keys")
        else:
            cursor.execute("CREATE TEMP TABLE IF NOT EXISTS _bulk_keys (k text PRIMARY KEY)")
            cursor.execute("DELETE FROM _bulk_keys")
            _sqlite_executemany(
                cursor,
                "INSERT OR IGNORE INTO _bulk_keys VALUES (?)",
                ((k,) for k in keys.to_pylist()),
            )
        yield


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


EXPORT_GROUP = 200_000  # rows per text block of the PostgreSQL export
EXPORT_WORKERS = 2  # connections that export ranges of ids at once (PostgreSQL)


def export_strings(table_name: str, columns: Sequence[str], *, using: str = "default") -> pa.Table:
    """A whole table's columns as Arrow string columns (the first one quoted as CSV).

    PostgreSQL sends a row per protocol message, and a Python loop over ten million
    of them costs more than the data; the server therefore joins the rows into
    blocks of CSV text (``string_agg`` over ranges of ``id``), which Arrow's CSV
    reader parses on all cores. Inside a transaction that has written nothing yet,
    the id range is split among ``EXPORT_WORKERS`` connections that import the
    caller's snapshot (``pg_export_snapshot``), so each server process builds its
    share of the text at once and all of them read exactly what the caller sees
    (a transaction's own writes would be invisible to them: then one connection
    reads everything). Every value is quoted; NULL reads as "".
    """
    names = list(columns)
    schema = pa.schema([(c, pa.string()) for c in names])
    connection = connections[using]
    if connection.vendor != "postgresql":
        found = fetch(
            f"SELECT {', '.join(_q(c) for c in names)} FROM {_q(table_name)}",
            names=names,
            using=using,
        )
        text = [pc.fill_null(pc.cast(c, pa.string()), "") for c in found.columns]
        return pa.table(text, schema=schema)
    line = " || ',' || ".join(
        f"""'"' || replace(coalesce({_q(c)}::text, ''), '"', '""') || '"'""" for c in names
    )
    sql = (
        f"SELECT string_agg({line}, E'\\n') FROM {_q(table_name)} "
        "WHERE id BETWEEN %s AND %s GROUP BY id / %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id) FROM {_q(table_name)}")
        low, high = cursor.fetchone()
        if low is None:
            return schema.empty_table()
        groups = high // EXPORT_GROUP - low // EXPORT_GROUP + 1
        workers = min(EXPORT_WORKERS, groups) if connection.in_atomic_block else 1
        if workers > 1:  # another connection would not see what this transaction wrote
            cursor.execute("SELECT pg_current_xact_id_if_assigned() IS NULL")
            workers = workers if cursor.fetchone()[0] else 1
        snapshot = None
        if workers > 1:
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
    # whole groups per worker, so that no block is split between two connections
    per = -(-groups // workers) * EXPORT_GROUP
    start = low // EXPORT_GROUP * EXPORT_GROUP
    ranges = [(start + i * per, start + (i + 1) * per - 1) for i in range(workers)]

    def mine(bounds: tuple[int, int]) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(sql, [*bounds, EXPORT_GROUP])
            return [row[0] for row in cursor.fetchall()]

    def theirs(bounds: tuple[int, int]) -> list[str]:
        import psycopg
        from psycopg import sql as pgsql

        params = {
            k: v
            for k, v in connection.get_connection_params().items()
            if k in {"dbname", "user", "password", "host", "port", "sslmode", "options"}
        }
        with psycopg.connect(**params, autocommit=True) as other:
            other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            other.execute(pgsql.SQL("SET TRANSACTION SNAPSHOT {}").format(pgsql.Literal(snapshot)))
            rows = other.execute(sql, [*bounds, EXPORT_GROUP]).fetchall()
            other.execute("COMMIT")
        return [row[0] for row in rows]

    if workers == 1:
        blocks = mine((low, high))
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers - 1) as pool:
            others = [pool.submit(theirs, r) for r in ranges[1:]]
            blocks = mine(ranges[0])
            for future in others:
                blocks += future.result()
    if not blocks:
        return schema.empty_table()
    return pacsv.read_csv(
        io.BytesIO("\n".join(blocks).encode()),
        read_options=pacsv.ReadOptions(column_names=names),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    )


def fetch_typed(
    sql: str, params: Sequence[Any] = (), *, schema: pa.Schema, using: str = "default"
) -> pa.Table:
    """A query's rows as Arrow columns of ``schema`` (names and types, in select order).

    PostgreSQL streams ``COPY (query) TO STDOUT`` as CSV, which Arrow parses on all
    cores — no Python object per value, unlike a cursor's rows (``fetch``). NULL is an
    unquoted empty field and "" a quoted one, so text keeps the difference. SQLite has
    no COPY: its rows go through ``fetch`` and are cast to the schema.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        found = fetch(sql, params, names=schema.names, using=using)
        return pa.table(
            [
                pc.cast(_for_arrow(column, field.type), field.type)
                for column, field in zip(found.columns, schema, strict=True)
            ],
            schema=schema,
        )
    chunks = bytearray()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: COPY with client-side parameters
        with raw.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)", params or None) as copy:
            for data in copy:
                chunks += data
    if not chunks:
        return schema.empty_table()
    return pacsv.read_csv(
        io.BytesIO(bytes(chunks)),
        read_options=pacsv.ReadOptions(column_names=schema.names),
        convert_options=pacsv.ConvertOptions(
            column_types={field.name: field.type for field in schema},
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


def _for_arrow(column: pa.ChunkedArray, kind: pa.DataType) -> pa.ChunkedArray:
    """SQLite's stored text for dates and its 0/1 for booleans, readable by ``cast``."""
    if pa.types.is_boolean(kind) and pa.types.is_integer(column.type):
        return pc.not_equal(column, 0)
    if pa.types.is_date(kind) and pa.types.is_string(column.type):
        return pc.cast(pc.strptime(column, format="%Y-%m-%d", unit="s"), pa.date32())
    return column


def update(table_name: str, rows: pa.Table, *, key: Sequence[str], using: str = "default") -> int:
    """Set the non-key columns of existing rows: the rows staged by ``insert`` into a
    temporary table shaped like ``table_name``, then one ``UPDATE … FROM`` it.

    Rows whose key is absent change nothing. Returns the number of rows given.
    """
    if rows.num_rows == 0:
        return 0
    connection = connections[using]
    stage = f"_stage_{table_name}"
    select = ", ".join(_q(c) for c in rows.column_names)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_q(stage)}")
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE TEMP TABLE {_q(stage)} ON COMMIT DROP AS "
                f"SELECT {select} FROM {_q(table_name)} WITH NO DATA"
            )
        else:
            cursor.execute(
                f"CREATE TEMP TABLE {_q(stage)} AS SELECT {select} FROM {_q(table_name)} WHERE 0"
            )
    insert(stage, rows, using=using)
    sets = ", ".join(f"{_q(c)} = s.{_q(c)}" for c in rows.column_names if c not in key)
    match = " AND ".join(f"t.{_q(k)} = s.{_q(k)}" for k in key)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {_q(stage)}")  # the planner then joins a small stage by index
        cursor.execute(
            f"UPDATE {_q(table_name)} AS t SET {sets} FROM {_q(stage)} AS s WHERE {match}"
        )
        cursor.execute(f"DROP TABLE {_q(stage)}")
    return rows.num_rows
