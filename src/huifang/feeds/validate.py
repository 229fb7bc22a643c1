"""Every row of every file checked in DuckDB, set-wise (SPEC §1 import rules).

Each check is one SQL predicate over ``raw_<name>``; the failures come back as
``(line, column, reason)``. Reasons quote the offending value only for columns
that carry no personal data. ``typed_sql`` then builds ``t_<name>`` with real types.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from huifang.core import duck
from huifang.feeds.readers import FeedFile, _ident
from huifang.feeds.schema import FEEDS, Col, FileSpec, T

DATE_RE = r"\d{4}-\d{2}-\d{2}"
DATETIME_RE = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?"
MONEY_RE = r"\d{1,16}(\.\d{1,2})?"
GB11643_WEIGHTS = "[7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]"
GB32100_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
GB32100_WEIGHTS = "[1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]"

MACROS = f"""
CREATE OR REPLACE MACRO gb11643_ok(v) AS
  regexp_full_match(v, '\\d{{17}}[0-9X]')
  AND try_strptime(substr(v, 7, 8), '%Y%m%d') IS NOT NULL
  AND substr('10X98765432', (CAST(list_sum([TRY_CAST(substr(v, i + 1, 1) AS INTEGER) * {GB11643_WEIGHTS}[i + 1]
        FOR i IN range(17)]) AS BIGINT) % 11) + 1, 1)
      = substr(v, 18, 1);
CREATE OR REPLACE MACRO gb32100_ok(v) AS
  regexp_full_match(v, '[0-9A-HJ-NPQRTUWXY]{{18}}')
  AND substr('{GB32100_ALPHABET}', ((31 - (CAST(list_sum([(strpos('{GB32100_ALPHABET}', substr(v, i + 1, 1)) - 1) * {GB32100_WEIGHTS}[i + 1]
        FOR i IN range(17)]) AS BIGINT) % 31)) % 31) + 1, 1)
      = substr(v, 18, 1);
"""


@dataclass(frozen=True, order=True)
class RowError:
    """One rejected cell: ``file:line:column: reason``."""

    file_order: int
    line: int
    column_order: int
    file: str
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.reason}"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _shown(col: Col) -> str:
    """SQL for the value as quoted in a reason; personal columns show nothing."""
    if col.pii is not None:
        return "''"
    c = _ident(col.name)
    return f"' ''' || left({c}, 40) || ''''"


def column_checks(spec: FileSpec, col: Col) -> list[tuple[str, str]]:
    """(predicate that is true for a bad row, reason SQL) for one column."""
    c = _ident(col.name)
    checks: list[tuple[str, str]] = []
    if col.required:
        checks.append((f"{c} IS NULL", _lit("required value missing")))
    checks.append(
        (f"length({c}) > {col.max_length}", _lit(f"longer than {col.max_length} characters"))
    )
    shown = _shown(col)
    if col.type == T.CODE:
        allowed = ", ".join(_lit(v) for v in col.choices)
        checks.append(
            (
                f"{c} NOT IN ({allowed})",
                f"'unknown code' || {shown} || '; expected one of {', '.join(col.choices)}'",
            )
        )
    elif col.type == T.DATE:
        checks.append(
            (
                f"NOT regexp_full_match({c}, '{DATE_RE}') OR try_strptime({c}, '%Y-%m-%d') IS NULL",
                f"'not a date YYYY-MM-DD' || {shown}",
            )
        )
    elif col.type == T.DATETIME:
        checks.append(
            (
                f"NOT regexp_full_match({c}, '{DATETIME_RE}') OR try_cast({c} AS TIMESTAMPTZ) IS NULL",
                f"'not an ISO date-time' || {shown}",
            )
        )
    elif col.type == T.BOOL:
        checks.append(
            (
                f"lower({c}) NOT IN ('true', 'false', '1', '0')",
                f"'not a boolean (true/false/1/0)' || {shown}",
            )
        )
    elif col.type == T.MONEY:
        checks.append(
            (
                f"NOT regexp_full_match({c}, '{MONEY_RE}')",
                f"'not an amount in CNY (never negative, at most 2 decimals)' || {shown}",
            )
        )
    elif col.type == T.INT:
        checks.append(
            (f"NOT regexp_full_match({c}, '\\d{{1,18}}')", f"'not a whole number ≥ 0' || {shown}")
        )
    elif col.type == T.PERIOD:
        checks.append(
            (
                f"NOT regexp_full_match({c}, '\\d{{4}}(-(0[1-9]|1[0-2]))?')",
                f"'not a period YYYY or YYYY-MM' || {shown}",
            )
        )
    elif col.type == T.ID_NUMBER:
        checks.append(
            (
                f"id_type = 'id_card' AND NOT gb11643_ok({c})",
                _lit("not a valid 18-character ID card number (GB 11643 check digit)"),
            )
        )
        checks.append(
            (
                f"id_type = 'business_license' AND NOT gb32100_ok({c})",
                _lit("not a valid unified social credit code (GB 32100 check character)"),
            )
        )
    required = checks[:1] if col.required else []
    return required + [(f"{c} IS NOT NULL AND ({p})", r) for p, r in checks[len(required) :]]


def reference_checks(col: Col) -> tuple[str, str] | None:
    """An anti-join predicate for a reference column."""
    c = _ident(col.name)
    target = {
        "unit": "SELECT code FROM known_units",
        "branch": "SELECT code FROM known_units WHERE unit_kind = 'branch'",
        "staff": "SELECT staff_id FROM known_staff",
        "client": "SELECT client_id FROM known_clients",
    }[col.ref or ""]
    noun = {"unit": "unit", "branch": "branch", "staff": "staff member", "client": "client"}[
        col.ref or ""
    ]
    return f"{c} IS NOT NULL AND {c} NOT IN ({target})", f"'unknown {noun}' || {_shown(col)}"


def row_errors(con: duckdb.DuckDBPyConnection, feed: FeedFile, file_order: int) -> list[RowError]:
    """Every bad cell of one loaded file, sorted by line then column."""
    spec = FEEDS[feed.name]
    order = {c.name: i for i, c in enumerate(spec.columns)}
    selects: list[str] = []
    for col in spec.columns:
        checks = column_checks(spec, col)
        if col.ref:
            checks.append(reference_checks(col))  # type: ignore[arg-type]
        for predicate, reason in checks:
            selects.append(
                f"SELECT _line, {_lit(col.name)} AS col, {reason} AS reason FROM raw_{spec.name} "
                f"WHERE coalesce(({predicate}), false)"
            )
    if spec.key:
        key = ", ".join(_ident(k) for k in spec.key)
        # Group first (a hash aggregate); lines are looked up only for duplicated keys.
        selects.append(
            f"SELECT r._line, {_lit(spec.key[0])}, 'duplicate key; first at line ' || d.first_line "
            f"FROM raw_{spec.name} r JOIN (SELECT {key}, min(_line) AS first_line FROM raw_{spec.name} "
            f"GROUP BY {key} HAVING count(*) > 1) d USING ({key}) WHERE r._line <> d.first_line"
        )
    typed = typed_select(spec)
    for column, predicate, reason in spec.checks:
        selects.append(
            f"SELECT _line, {_lit(column)}, {_lit(reason)} FROM ({typed}) WHERE coalesce(({predicate}), false)"
        )
    rows = con.execute(" UNION ALL ".join(selects)).fetchall()
    found = [
        RowError(file_order, int(line), order.get(column, 0), feed.label, column, reason)
        for line, column, reason in rows
    ]
    return sorted(set(found))


def typed_expr(col: Col) -> str:
    """The SQL that turns a validated text column into its typed value."""
    c = _ident(col.name)
    if col.type == T.DATE:
        return f"CAST({c} AS DATE)"
    if col.type == T.DATETIME:
        local = f"CASE WHEN regexp_matches({c}, '(Z|[+-]\\d{{2}}(:?\\d{{2}})?)$') THEN {c} ELSE {c} || '+08:00' END"
        return f"CAST(try_cast({local} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)"
    if col.type == T.BOOL:
        return f"coalesce(lower({c}) IN ('true', '1'), false)"
    if col.type == T.MONEY:
        return f"CAST({c} AS DECIMAL(18, 2))"
    if col.type == T.INT:
        return f"CAST({c} AS BIGINT)"
    if col.type == T.ID_NUMBER:
        return f"upper({c})"
    return c


def typed_select(spec: FileSpec) -> str:
    """``SELECT`` of the typed columns (tolerant: try_cast, for use in checks)."""
    parts = ["_line"]
    for col in spec.columns:
        expr = (
            typed_expr(col).replace("CAST(", "TRY_CAST(", 1)
            if col.type != T.BOOL
            else typed_expr(col)
        )
        parts.append(f"{expr} AS {_ident(col.name)}")
    return f"SELECT {', '.join(parts)} FROM raw_{spec.name}"


def build_typed(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> None:
    """Create ``t_<name>`` for each validated file; clients get a birth date from the ID number."""
    for name in names:
        spec = FEEDS[name]
        duck.run(con, f"CREATE OR REPLACE TABLE t_{name} AS {typed_select(spec)}")
        if name == "clients":
            duck.run(
                con,
                "UPDATE t_clients SET birth_date = CAST(strptime(substr(id_number, 7, 8), '%Y%m%d') AS DATE) "
                "WHERE birth_date IS NULL AND id_type = 'id_card' AND id_number IS NOT NULL",
            )
