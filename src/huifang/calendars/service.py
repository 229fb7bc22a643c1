"""Working days and trading days (NFR-1).

Working days follow the PRC statutory holidays and adjusted working days (调休);
trading days follow the Shanghai Stock Exchange (XSHG). Each year comes from one
source, decided once and cached:

* our table ``CalendarDay``, for any year it holds completely (later years, and
  corrections that win over the packages);
* otherwise the packages ``chinesecalendar`` (working days) and
  ``exchange_calendars`` (XSHG sessions), for the years they really know;
* otherwise the year is missing: ``CalendarYearMissing`` names it. NFR-1 forbids
  a silent weekday guess.

The cache lives in this process. ``calendar_load`` clears it after a load; other
processes notice a changed table within ``TABLE_RECHECK_SECONDS``.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
import functools
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import chinese_calendar
from chinese_calendar.constants import Holiday
from django.db.models import Count, Max, QuerySet
from django.db.models.functions import ExtractYear

if TYPE_CHECKING:
    import pyarrow as pa

    from huifang.calendars.models import CalendarDay

logger = logging.getLogger(__name__)

ONE_DAY = dt.timedelta(days=1)
XSHG = "XSHG"
TABLE_RECHECK_SECONDS = 60.0

Source = Literal["table", "package"]


class CalendarYearMissing(LookupError):
    """A date falls in a year the calendar does not know (NFR-1)."""

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"calendar year {year} is not known: load it with `huifang calendar load FILE` "
            f"({year} 年工作日历未载入)"
        )


@dataclass(frozen=True)
class CalendarYear:
    """The working days and trading days of one year, and where they came from."""

    year: int
    source: Source
    working: frozenset[dt.date]
    trading: frozenset[dt.date]


def _chinesecalendar_years() -> range:
    """Years chinesecalendar really knows, read from the package at import time.

    The State Council publishes a whole year at once, so a year counts only when
    the package holds both its Spring Festival and its National Day holidays; a
    stray New Year's Day of the following year does not make that year known.
    """
    seen: dict[int, set[str]] = {}
    for day, name in chinese_calendar.holidays.items():
        seen.setdefault(day.year, set()).add(name)
    needed = {Holiday.spring_festival.value, Holiday.national_day.value}
    complete = sorted(year for year, names in seen.items() if needed <= names)
    first = last = complete[0]
    while last + 1 in complete:
        last += 1
    return range(first, last + 1)


CHINESECALENDAR_YEARS: range = _chinesecalendar_years()

_lock = threading.RLock()
_years: dict[int, CalendarYear] = {}
_table_stamp: tuple[object, ...] | None = None
_stamp_checked_at = float("-inf")


# --- cache --------------------------------------------------------------------


def invalidate() -> None:
    """Forget every cached year; the next lookup reads the table again (call after loads)."""
    global _table_stamp, _stamp_checked_at
    with _lock:
        _years.clear()
        _table_stamp = None
        _stamp_checked_at = float("-inf")


def _recheck_table() -> None:
    """Drop the cache when another process changed the table since we last looked."""
    global _table_stamp, _stamp_checked_at
    if time.monotonic() - _stamp_checked_at < TABLE_RECHECK_SECONDS:
        return
    stamp = _current_table_stamp()
    with _lock:
        if stamp != _table_stamp:
            _years.clear()
            _table_stamp = stamp
        _stamp_checked_at = time.monotonic()


def _table() -> QuerySet[CalendarDay]:
    # Imported here so that other apps' models may import this module.
    from huifang.calendars.models import CalendarDay

    return CalendarDay.objects.all()


def _current_table_stamp() -> tuple[object, ...]:
    found = _table().aggregate(rows=Count("date"), last=Max("loaded_at"))
    return (found["rows"], found["last"])


def calendar_year(year: int) -> CalendarYear:
    """The working and trading days of ``year``; raises CalendarYearMissing (NFR-1)."""
    _recheck_table()
    cached = _years.get(year)
    if cached is not None:
        return cached
    with _lock:
        cached = _years.get(year) or _load_year(year)
        _years[year] = cached
    return cached


def _load_year(year: int) -> CalendarYear:
    table = _table_year(year)
    if table is not None:
        return table
    if year not in package_years():
        raise CalendarYearMissing(year)
    return _package_year(year)


# --- sources ------------------------------------------------------------------


def _days_of_year(year: int) -> int:
    return 366 if _stdlib_calendar.isleap(year) else 365


def _table_year(year: int) -> CalendarYear | None:
    """The year from our table, or None unless the table holds every date of it."""
    rows = list(
        _table()
        .filter(date__gte=dt.date(year, 1, 1), date__lte=dt.date(year, 12, 31))
        .values_list("date", "is_working_day", "is_trading_day")
    )
    if len(rows) != _days_of_year(year):
        return None
    working = frozenset(day for day, working, _ in rows if working)
    trading = frozenset(day for day, _, trading in rows if trading)
    return CalendarYear(year, "table", working, trading)


@functools.cache
def _xshg_sessions_by_year() -> dict[int, frozenset[dt.date]]:
    """XSHG sessions over the chinesecalendar years, built with explicit bounds.

    exchange_calendars defaults its bounds to "now ± some years", which would make
    the answer depend on the real date; explicit start and end do not. The end is
    capped at the last year the library precomputed (``bound_max``): it refuses
    to build beyond it.
    """
    import exchange_calendars as xcals
    from exchange_calendars.exchange_calendar_xshg import XSHGExchangeCalendar

    first = CHINESECALENDAR_YEARS[0]
    last = min(CHINESECALENDAR_YEARS[-1], XSHGExchangeCalendar.bound_max().year)
    with warnings.catch_warnings():
        # pandas 3 deprecation noise from inside the library; not ours to fix.
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        calendar = xcals.get_calendar(XSHG, start=f"{first}-01-01", end=f"{last}-12-31")
    by_year: dict[int, set[dt.date]] = {year: set() for year in range(first, last + 1)}
    for session in calendar.sessions:
        by_year[session.year].add(session.date())
    return {year: frozenset(days) for year, days in by_year.items()}


def package_years() -> range:
    """Years both packages know: chinesecalendar's, capped by exchange_calendars' XSHG data."""
    known = _xshg_sessions_by_year()
    return range(CHINESECALENDAR_YEARS[0], max(known) + 1)


@functools.cache
def _package_year(year: int) -> CalendarYear:
    """One year from the packages; exchange_calendars wins for trading days."""
    working = frozenset(day for day in _dates(year) if chinese_calendar.is_workday(day))
    trading = _xshg_sessions_by_year()[year]
    odd = sorted(day for day in trading if day not in working or day.weekday() >= 5)
    if odd:
        logger.warning(
            "XSHG trades on %d day(s) of %d that are no Monday-Friday working day, first %s",
            len(odd),
            year,
            odd[0],
        )
    return CalendarYear(year, "package", working, trading)


def _dates(year: int) -> Iterator[dt.date]:
    return _date_range(dt.date(year, 1, 1), dt.date(year, 12, 31))


def _date_range(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += ONE_DAY


# --- years ----------------------------------------------------------------------


def year_sources() -> dict[int, Source]:
    """Every known year and its source, sorted by year (NFR-1)."""
    sources: dict[int, Source] = dict.fromkeys(package_years(), "package")
    sources.update(dict.fromkeys(_complete_table_years(), "table"))
    return dict(sorted(sources.items()))


def _complete_table_years() -> list[int]:
    counts = (
        _table()
        .annotate(year=ExtractYear("date"))
        .values("year")
        .annotate(rows=Count("date"))
        .order_by()
    )
    return [row["year"] for row in counts if row["rows"] == _days_of_year(row["year"])]


def known_years() -> list[int]:
    """The years the calendar can answer for, sorted (NFR-1)."""
    return list(year_sources())


def require_years(years: Iterable[int]) -> None:
    """Raise CalendarYearMissing for the first of ``years`` the calendar lacks (NFR-1).

    Batch jobs call this before writing anything, so that they fail naming the year.
    """
    for year in sorted(set(years)):
        calendar_year(year)


def years_between(start: dt.date, end: dt.date) -> range:
    """The calendar years a period touches."""
    return range(start.year, end.year + 1)


# --- days -----------------------------------------------------------------------


def _check(day: dt.date) -> dt.date:
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise TypeError(f"expected a datetime.date, got {type(day).__name__}")
    return day


def is_working_day(d: dt.date) -> bool:
    """True on a PRC working day, 调休 weekend working days included (NFR-1)."""
    return _check(d) in calendar_year(d.year).working


def is_trading_day(d: dt.date) -> bool:
    """True on a Shanghai Stock Exchange trading day (NFR-1)."""
    return _check(d) in calendar_year(d.year).trading


def _step(d: dt.date, n: int, test: Callable[[dt.date], bool]) -> dt.date:
    calendar_year(_check(d).year)
    step = ONE_DAY if n >= 0 else -ONE_DAY
    remaining = abs(n)
    while remaining:
        d += step
        if test(d):
            remaining -= 1
    return d


def add_working_days(d: dt.date, n: int) -> dt.date:
    """The n-th working day strictly after ``d`` (before it when n < 0); ``d`` for n = 0.

    ``d`` itself need not be a working day (NFR-1): 2026-09-30 + 5 = 2026-10-13.
    """
    return _step(d, n, is_working_day)


def add_trading_days(d: dt.date, n: int) -> dt.date:
    """The n-th trading day strictly after ``d`` (before it when n < 0); ``d`` for n = 0 (NFR-1)."""
    return _step(d, n, is_trading_day)


def _period(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Dates of [start, end], after checking that every year of it is known."""
    require_years(years_between(_check(start), _check(end)))
    return _date_range(start, end)


def working_days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The working days of [start, end], both ends included (NFR-1)."""
    return [day for day in _period(start, end) if is_working_day(day)]


def trading_days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """The trading days of [start, end], both ends included (NFR-1)."""
    return [day for day in _period(start, end) if is_trading_day(day)]


def first_working_days(start: dt.date, end: dt.date, n: int) -> list[dt.date]:
    """The first ``n`` working days of [start, end] (fewer if the period has fewer; NFR-1)."""
    return working_days_between(start, end)[:n]


def last_working_day(start: dt.date, end: dt.date) -> dt.date | None:
    """The last working day of [start, end], None if it has none (NFR-1)."""
    days = working_days_between(start, end)
    return days[-1] if days else None


def last_trading_day(start: dt.date, end: dt.date) -> dt.date | None:
    """The last trading day of [start, end], None if it has none (NFR-1)."""
    days = trading_days_between(start, end)
    return days[-1] if days else None


def _month(d: dt.date) -> tuple[dt.date, dt.date]:
    last = _stdlib_calendar.monthrange(d.year, d.month)[1]
    return d.replace(day=1), d.replace(day=last)


def _iso_week(d: dt.date) -> tuple[dt.date, dt.date]:
    monday = d - dt.timedelta(days=d.weekday())
    return monday, monday + dt.timedelta(days=6)


def last_working_day_of_month(d: dt.date) -> dt.date | None:
    """The last working day of the month of ``d``: monthly rules fire on it (§12, NFR-1)."""
    return last_working_day(*_month(_check(d)))


def is_last_working_day_of_month(d: dt.date) -> bool:
    """True when ``d`` is the last working day of its month (§12, NFR-1)."""
    return d == last_working_day_of_month(d)


def last_trading_day_of_iso_week(d: dt.date) -> dt.date | None:
    """The last trading day of the ISO week of ``d``; None in a week without trading (NFR-1).

    Weekly rules fire on it (§12). A week across New Year needs both years.
    """
    return last_trading_day(*_iso_week(_check(d)))


def is_last_trading_day_of_iso_week(d: dt.date) -> bool:
    """True when ``d`` is the last trading day of its ISO week (§12, NFR-1)."""
    return d == last_trading_day_of_iso_week(d)


def calendar_arrow(start: dt.date, end: dt.date) -> pa.Table:
    """[start, end] as a pyarrow table (date, is_working_day, is_trading_day) for DuckDB (NFR-1)."""
    import pyarrow as pa

    days = list(_period(start, end))
    return pa.table(
        {
            "date": pa.array(days, type=pa.date32()),
            "is_working_day": pa.array([is_working_day(day) for day in days], type=pa.bool_()),
            "is_trading_day": pa.array([is_trading_day(day) for day in days], type=pa.bool_()),
        }
    )
