"""When ratings run and on which dates they look (CLS-2..4), in working days (NFR-1).

- annual (CLS-2): the first N working days of a year; statistical date = the last
  year-end; every client opened on or before it is rated; the class resets.
- quarterly (CLS-3): the first N working days of a quarter; statistical date = the
  last quarter-end; upgrade only (就高不就低).
- new accounts (CLS-4): the first N working days of a month; the clients opened in
  the previous month; statistical date = its last day.
- manual (CLS-4, "a branch may classify an important new client at any time"): one
  client, on the latest data up to the rating date.

Commission (SPEC §1): the last full calendar year ending on or before the
statistical date. In January the annual rating covers the quarter and the new
accounts of December, so it alone is due.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from huifang.calendars import service as working_days
from huifang.classification.choices import RatingKind


@dataclass(frozen=True)
class RatingPeriod:
    """The dates one rating looks at."""

    kind: RatingKind
    rating_date: dt.date
    statistical_date: dt.date
    label: str
    commission_year: int
    opened_from: dt.date | None = None  # new accounts: the first day of last month

    @property
    def opened_to(self) -> dt.date:
        return self.statistical_date


def _quarter(day: dt.date) -> int:
    return (day.month - 1) // 3 + 1


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _previous_month_end(day: dt.date) -> dt.date:
    return day.replace(day=1) - dt.timedelta(days=1)


def _previous_quarter_end(day: dt.date) -> dt.date:
    first_month = 3 * (_quarter(day) - 1) + 1
    return dt.date(day.year, first_month, 1) - dt.timedelta(days=1)


def commission_year(statistical_date: dt.date) -> int:
    """The last full calendar year ending on or before the statistical date (SPEC §1)."""
    if (statistical_date.month, statistical_date.day) == (12, 31):
        return statistical_date.year
    return statistical_date.year - 1


def rating_period(kind: RatingKind | str, day: dt.date) -> RatingPeriod:
    """The statistical date, label and commission year of a rating run on ``day``."""
    kind = RatingKind(kind)
    if kind == RatingKind.ANNUAL:
        stat = dt.date(day.year - 1, 12, 31)
        return RatingPeriod(kind, day, stat, str(day.year), commission_year(stat))
    if kind == RatingKind.QUARTERLY:
        stat = _previous_quarter_end(day)
        return RatingPeriod(kind, day, stat, f"{day.year}-Q{_quarter(day)}", commission_year(stat))
    if kind == RatingKind.NEW_ACCOUNTS:
        stat = _previous_month_end(day)
        label = f"{day.year}-{day.month:02d}"
        return RatingPeriod(kind, day, stat, label, commission_year(stat), stat.replace(day=1))
    return RatingPeriod(kind, day, day, day.isoformat(), day.year - 1)


def window_bounds(kind: RatingKind | str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The year, quarter or month whose first working days hold the rating of ``day``."""
    kind = RatingKind(kind)
    if kind == RatingKind.ANNUAL:
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    if kind == RatingKind.QUARTERLY:
        first = 3 * (_quarter(day) - 1) + 1
        return dt.date(day.year, first, 1), _month_end(day.year, first + 2)
    return day.replace(day=1), _month_end(day.year, day.month)


def window(kind: RatingKind | str, day: dt.date, first_working_days: int) -> list[dt.date]:
    """The working days of the rating window around ``day`` (CalendarYearMissing if unknown)."""
    start, end = window_bounds(kind, day)
    end = min(end, start + dt.timedelta(days=62))  # the first ≤ 20 working days lie well within
    return working_days.first_working_days(start, end, first_working_days)


def in_window(kind: RatingKind | str, day: dt.date, first_working_days: int) -> bool:
    return day in window(kind, day, first_working_days)


def due_kinds(day: dt.date, windows: dict[str, int]) -> list[RatingKind]:
    """The ratings due on ``day`` by the calendar, in the order they run.

    ``windows`` maps a rating ("annual", "quarterly", "new_accounts") to its number of
    first working days (the policy's CLS-2..4); a rating the policy lacks is never due.
    The annual rating, when due, is the only one: it rates everyone on year-end data.
    """
    due = [RatingKind(kind) for kind, n in windows.items() if in_window(kind, day, n)]
    if RatingKind.ANNUAL in due:
        return [RatingKind.ANNUAL]
    order = [RatingKind.NEW_ACCOUNTS, RatingKind.QUARTERLY]
    return [kind for kind in order if kind in due]
