"""Calendar rows and files for tests: whole years built from a few exceptions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from huifang.calendars.services import CalendarRow

# A made-up 2027: the State Council has not published it here, so no real data.
HOLIDAYS_2027 = (dt.date(2027, 1, 1), dt.date(2027, 10, 1), dt.date(2027, 10, 4))
WORKING_WEEKENDS_2027 = (dt.date(2027, 10, 9),)


def year_rows(
    year: int,
    *,
    holidays: Iterable[dt.date] = (),
    working_weekends: Iterable[dt.date] = (),
    skip: Iterable[dt.date] = (),
) -> list[CalendarRow]:
    """Every date of ``year``: weekdays work and trade, except ``holidays``;
    ``working_weekends`` are working days without trading (调休)."""
    holidays, working_weekends, skip = set(holidays), set(working_weekends), set(skip)
    rows = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        weekday = day.weekday() < 5 and day not in holidays
        working = weekday or day in working_weekends
        note = "休" if day in holidays else "班" if day in working_weekends else ""
        if day not in skip:
            rows.append(CalendarRow(day, working, weekday, note))
        day += dt.timedelta(days=1)
    return rows


def rows_2027(**changes: Iterable[dt.date]) -> list[CalendarRow]:
    options = {"holidays": HOLIDAYS_2027, "working_weekends": WORKING_WEEKENDS_2027, **changes}
    return year_rows(2027, **options)


def calendar_csv(rows: Iterable[CalendarRow], *, bom: bool = False) -> bytes:
    """A calendar file as an admin would write it."""
    lines = ["date,is_working_day,is_trading_day,note"]
    for row in rows:
        working = "true" if row.is_working_day else "false"
        trading = "1" if row.is_trading_day else "0"
        lines.append(f"{row.date.isoformat()},{working},{trading},{row.note}")
    text = "\r\n".join(lines) + "\r\n"
    return ("\ufeff" if bom else "").encode() + text.encode()
