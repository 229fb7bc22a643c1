"""Months and evaluation periods, and the working-day deadlines on them (REV-3, REV-4, NFR-1).

Pure functions over dates; the calendar (``calendars.service``) raises
``CalendarYearMissing`` for a year it does not know — never a weekday guess.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from huifang.calendars.service import add_working_days, first_working_days
from huifang.evaluation.params import CLOSING_WINDOW_WORKING_DAYS, PUBLISH_WORKING_DAYS

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
PERIOD_RE = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$")


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``YYYY-MM``; ``ValueError`` for anything else."""
    found = MONTH_RE.match(month or "")
    if not found:
        raise ValueError(f"not a month (YYYY-MM): {month!r}")
    year, number = int(found.group(1)), int(found.group(2))
    last = calendar.monthrange(year, number)[1]
    return dt.date(year, number, 1), dt.date(year, number, last)


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(day: dt.date) -> str:
    """The month before the month of ``day``: the one a branch closes now (REV-3)."""
    return month_of(day.replace(day=1) - dt.timedelta(days=1))


def next_month_bounds(month: str) -> tuple[dt.date, dt.date]:
    _, last = month_bounds(month)
    return month_bounds(month_of(last + dt.timedelta(days=1)))


def closing_window_end(month: str) -> dt.date:
    """REV-3: the 10th working day of the month after ``month`` (004 §15).

    2026-09 → 2026-10-20: the National Day holiday (2026-10-01..07) does not count,
    the adjusted working Saturday 2026-10-10 does.
    """
    start, end = next_month_bounds(month)
    days = first_working_days(start, end, CLOSING_WINDOW_WORKING_DAYS)
    if len(days) < CLOSING_WINDOW_WORKING_DAYS:  # no real month has fewer; a bad table might
        raise ValueError(f"{month}: the next month has only {len(days)} working days")
    return days[-1]


def months_between(start: dt.date, end: dt.date) -> list[str]:
    """Every month ``YYYY-MM`` that ``[start, end]`` touches, in order."""
    months: list[str] = []
    day = start.replace(day=1)
    while day <= end:
        months.append(month_of(day))
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


@dataclass(frozen=True)
class Period:
    """An evaluation period (REV-4: at least yearly): a year, a half, a quarter or a month."""

    label: str
    start: dt.date
    end: dt.date

    @property
    def publish_due(self) -> dt.date:
        """REV-4: results are published within 10 working days of the period's end."""
        return add_working_days(self.end, PUBLISH_WORKING_DAYS)


def parse_period(label: str) -> Period:
    """``2026`` (year), ``2026-H1``/``H2``, ``2026-Q1``…``Q4`` or ``2026-09``; ``ValueError`` else."""
    found = PERIOD_RE.match((label or "").strip())
    if not found:
        raise ValueError(f"not an evaluation period: {label!r}")
    year, part = int(found.group(1)), found.group(2)
    if part is None:
        first, last = 1, 12
    elif part[0] == "H":
        first = 1 if part == "H1" else 7
        last = first + 5
    elif part[0] == "Q":
        first = 3 * int(part[1]) - 2
        last = first + 2
    else:
        first = last = int(part)
    end = dt.date(year, last, calendar.monthrange(year, last)[1])
    return Period(found.group(0), dt.date(year, first, 1), end)
