"""What a user reads about the calendar (NFR-1)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from django.db.models import Max

from huifang.calendars import service
from huifang.calendars.models import CalendarDay


@dataclass(frozen=True)
class CalendarYearSummary:
    """One known year: its source and day counts, and who loaded it if it is ours."""

    year: int
    source: service.Source
    working_days: int
    trading_days: int
    loaded_at: dt.datetime | None = None
    loaded_by: str = ""


def calendar_year_list() -> list[CalendarYearSummary]:
    """Every known year, newest first."""
    return [_summary(year) for year in reversed(service.known_years())]


def _summary(year: int) -> CalendarYearSummary:
    known = service.calendar_year(year)
    summary = CalendarYearSummary(year, known.source, len(known.working), len(known.trading))
    if known.source != "table":
        return summary
    loaded = (
        CalendarDay.objects.filter(date__year=year)
        .values("loaded_by")
        .annotate(last=Max("loaded_at"))
        .order_by("-last")
        .first()
    )
    if loaded is None:
        return summary
    return replace(summary, loaded_at=loaded["last"], loaded_by=loaded["loaded_by"])
