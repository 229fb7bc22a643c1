"""Append-only tables: UPDATE and DELETE refused by database triggers (NFR-2).

Maintenance (the test suite's database flush, a retention purge decided by
compliance) switches a per-connection flag first: on PostgreSQL the setting
``huifang.audit_maintenance = 'on'``; on SQLite ``PRAGMA cell_size_check = ON``,
a harmless per-connection pragma the triggers read. See ``maintenance()``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

APPEND_ONLY = ("audit_auditevent", "clients_clientchange")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION huifang_append_only() RETURNS trigger AS $$
BEGIN
  IF coalesce(current_setting('huifang.audit_maintenance', true), '') = 'on' THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;  -- UPDATE keeps the new values; NULL for the TRUNCATE statement trigger
  END IF;
  RAISE EXCEPTION 'huifang: % on % refused: the table is append-only', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$ LANGUAGE plpgsql;
"""


def install_sql(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [
            PG_FUNCTION,
            f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}"',
            f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION huifang_append_only()",
            f'DROP TRIGGER IF EXISTS {table}_no_truncate ON "{table}"',
            f'CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON "{table}" '
            "FOR EACH STATEMENT EXECUTE FUNCTION huifang_append_only()",
        ]
    guard = "WHEN (SELECT cell_size_check FROM pragma_cell_size_check) = 0"
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_update",
        f'CREATE TRIGGER {table}_no_update BEFORE UPDATE ON "{table}" {guard} '
        f"BEGIN SELECT RAISE(ABORT, 'huifang: UPDATE on {table} refused: the table is append-only'); END",
        f"DROP TRIGGER IF EXISTS {table}_no_delete",
        f'CREATE TRIGGER {table}_no_delete BEFORE DELETE ON "{table}" {guard} '
        f"BEGIN SELECT RAISE(ABORT, 'huifang: DELETE on {table} refused: the table is append-only'); END",
    ]


def install(conn: BaseDatabaseWrapper | None = None, tables: tuple[str, ...] = APPEND_ONLY) -> None:
    conn = conn or connection
    with conn.cursor() as cursor:
        for table in tables:
            for sql in install_sql(conn.vendor, table):
                cursor.execute(sql)


def drop_sql(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS {table}_append_only ON "{table}"',
            f'DROP TRIGGER IF EXISTS {table}_no_truncate ON "{table}"',
        ]
    return [
        f"DROP TRIGGER IF EXISTS {table}_no_update",
        f"DROP TRIGGER IF EXISTS {table}_no_delete",
    ]


def set_maintenance(on: bool, conn: BaseDatabaseWrapper | None = None) -> None:
    """Allow (or refuse again) UPDATE/DELETE on append-only tables for this connection."""
    conn = conn or connection
    with conn.cursor() as cursor:
        if conn.vendor == "postgresql":
            cursor.execute(
                "SELECT set_config('huifang.audit_maintenance', %s, false)", ["on" if on else "off"]
            )
        else:
            cursor.execute(f"PRAGMA cell_size_check = {'ON' if on else 'OFF'}")


@contextlib.contextmanager
def maintenance(conn: BaseDatabaseWrapper | None = None) -> Iterator[None]:
    set_maintenance(True, conn)
    try:
        yield
    finally:
        set_maintenance(False, conn)
