"""The calendar file an admin loads (NFR-1): ``date,is_working_day,is_trading_day,note``.

UTF-8, a byte-order mark allowed; booleans ``true/false/1/0`` (any case); ISO dates.
Parsing checks that each row is well formed; ``services.validate_calendar_rows``
checks the rows together (complete years, trading days are working days).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from huifang.calendars.services import (
    DATE_COLUMN,
    TRADING_COLUMN,
    WORKING_COLUMN,
    CalendarProblem,
    CalendarRejected,
    CalendarRow,
)

HEADER = ("date", "is_working_day", "is_trading_day", "note")
BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_calendar_csv(data: bytes) -> list[CalendarRow]:
    """The rows of a calendar file; raises CalendarRejected with every problem found."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    header_problem = _header_problem(header)
    if header_problem:
        raise CalendarRejected([header_problem])
    rows: list[CalendarRow] = []
    problems: list[CalendarProblem] = []
    for fields in reader:
        if not any(field.strip() for field in fields):
            continue
        row, row_problems = _parse_row(fields, reader.line_num)
        problems += row_problems
        if row is not None:
            rows.append(row)
    if problems:
        raise CalendarRejected(problems)
    return rows


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8-sig")) + 1
        raise CalendarRejected(
            [CalendarProblem(line, column, "not UTF-8 / 文件须为 UTF-8 编码")]
        ) from None


def _header_problem(header: list[str] | None) -> CalendarProblem | None:
    names = tuple(name.strip().lower() for name in header or [])
    if names in (HEADER, HEADER[:3]):
        return None
    return CalendarProblem(
        1, 1, f"the header must be {','.join(HEADER)} / 表头须为 {','.join(HEADER)}"
    )


def _parse_row(fields: list[str], line: int) -> tuple[CalendarRow | None, list[CalendarProblem]]:
    if len(fields) not in (3, 4):
        return None, [CalendarProblem(line, 1, f"expected 3 or 4 columns, found {len(fields)}")]
    problems: list[CalendarProblem] = []
    day = _parse_date(fields[0], line, problems)
    working = _parse_bool(fields[1], line, WORKING_COLUMN, problems)
    trading = _parse_bool(fields[2], line, TRADING_COLUMN, problems)
    note = fields[3].strip() if len(fields) == 4 else ""
    if problems or day is None or working is None or trading is None:
        return None, problems
    return CalendarRow(day, working, trading, note, line), []


def _parse_date(value: str, line: int, problems: list[CalendarProblem]) -> dt.date | None:
    value = value.strip()
    try:
        if ISO_DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    problems.append(CalendarProblem(line, DATE_COLUMN, f"not a date (YYYY-MM-DD): {value!r}"))
    return None


def _parse_bool(value: str, line: int, column: int, problems: list[CalendarProblem]) -> bool | None:
    parsed = BOOLEANS.get(value.strip().lower())
    if parsed is None:
        problems.append(CalendarProblem(line, column, f"not a boolean (true/false/1/0): {value!r}"))
    return parsed
