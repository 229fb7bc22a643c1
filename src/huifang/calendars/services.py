"""Loading our own calendar table (NFR-1): the only state change of this app."""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from django.db import transaction

from huifang.calendars import service
from huifang.calendars.models import CalendarDay

NOTE_MAX_LENGTH = CalendarDay._meta.get_field("note").max_length or 100
DATE_COLUMN, WORKING_COLUMN, TRADING_COLUMN, NOTE_COLUMN = 1, 2, 3, 4


@dataclass(frozen=True)
class CalendarRow:
    """One date to load; ``line`` is where it came from in a file, if it did."""

    date: dt.date
    is_working_day: bool
    is_trading_day: bool
    note: str = ""
    line: int | None = None


@dataclass(frozen=True)
class CalendarProblem:
    """Why a calendar file or a set of rows is rejected, and where."""

    line: int
    column: int
    reason: str

    def render(self, source: str) -> str:
        """``file:line:column: reason``, the format of every rejection report (§12)."""
        return f"{source}:{self.line}:{self.column}: {self.reason}"


class CalendarRejected(ValueError):
    """The calendar was not loaded; nothing was saved."""

    def __init__(self, problems: list[CalendarProblem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))
        super().__init__("; ".join(p.render("calendar") for p in self.problems))


def validate_calendar_rows(rows: list[CalendarRow]) -> list[CalendarProblem]:
    """Every problem of ``rows``: each year complete, no date twice, trading ⊆ working (NFR-1)."""
    if not rows:
        return [CalendarProblem(1, 1, "no dates to load / 文件中没有日期")]
    problems: list[CalendarProblem] = []
    first_line: dict[dt.date, int] = {}
    for index, row in enumerate(rows, start=1):
        line = row.line or index
        if row.date in first_line:
            problems.append(
                CalendarProblem(
                    line, DATE_COLUMN, f"date {row.date} repeats line {first_line[row.date]}"
                )
            )
            continue
        first_line[row.date] = line
        problems += _row_problems(row, line)
    problems += _incomplete_years(first_line)
    return problems


def _row_problems(row: CalendarRow, line: int) -> list[CalendarProblem]:
    problems = []
    if row.is_trading_day and not row.is_working_day:
        problems.append(
            CalendarProblem(
                line, TRADING_COLUMN, "a trading day must be a working day / 交易日须为工作日"
            )
        )
    if row.is_trading_day and row.date.weekday() >= 5:
        problems.append(
            CalendarProblem(
                line, TRADING_COLUMN, "no trading on Saturday or Sunday / 周末不是交易日"
            )
        )
    if len(row.note) > NOTE_MAX_LENGTH:
        problems.append(
            CalendarProblem(line, NOTE_COLUMN, f"note longer than {NOTE_MAX_LENGTH} characters")
        )
    return problems


def _incomplete_years(lines: dict[dt.date, int]) -> list[CalendarProblem]:
    """A year is loaded whole or not at all: a partial year would silently fall back."""
    problems = []
    for year in sorted({day.year for day in lines}):
        days = 366 if _stdlib_calendar.isleap(year) else 365
        every_date = (dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(days))
        missing = [day for day in every_date if day not in lines]
        if missing:
            line = min(lines[day] for day in lines if day.year == year)
            problems.append(
                CalendarProblem(
                    line,
                    DATE_COLUMN,
                    f"year {year} is incomplete: {len(missing)} date(s) missing, first {missing[0]}"
                    f" / {year} 年缺少 {len(missing)} 天，首个缺少 {missing[0]}",
                )
            )
    return problems


class Actor(Protocol):
    """Who loads: a user (anything with ``get_username``)."""

    def get_username(self) -> str: ...


def calendar_load(*, rows: Iterable[CalendarRow], actor: Actor | str) -> list[int]:
    """Replace the table's years found in ``rows`` with ``rows``; returns those years (NFR-1).

    Validates everything before saving anything (raises CalendarRejected). A loaded
    year wins over the packages from now on. ``actor`` is a user or a name.
    """
    rows = list(rows)
    problems = validate_calendar_rows(rows)
    if problems:
        raise CalendarRejected(problems)
    years = sorted({row.date.year for row in rows})
    loaded_by = (actor if isinstance(actor, str) else actor.get_username())[:150]
    with transaction.atomic():
        for year in years:
            CalendarDay.objects.filter(
                date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31)
            ).delete()
        CalendarDay.objects.bulk_create(
            CalendarDay(
                date=row.date,
                is_working_day=row.is_working_day,
                is_trading_day=row.is_trading_day,
                note=row.note,
                loaded_by=loaded_by,
            )
            for row in rows
        )
        transaction.on_commit(service.invalidate)
    # Also now: inside a caller's transaction this connection already sees the rows.
    service.invalidate()
    return years
