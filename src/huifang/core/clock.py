"""The one clock for "today" (SPEC §12). Nothing else in huifang reads the real date.

``settings.HUIFANG_TODAY`` pins the date (demo, tests); ``frozen()`` pins it for a
block of code. Times keep the real time of day unless a full datetime is pinned.
``settings.HUIFANG_NOW`` (an ISO datetime) starts the clock at that moment when the
process starts and lets it run at the real pace (the demo and the load benchmark
need "inside call hours", CON-5, whatever the real hour).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from django.conf import settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
_pinned: list[dt.datetime] = []
_PROCESS_START = dt.datetime.now(tz=SHANGHAI)


def _started(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def now() -> dt.datetime:
    """The current aware datetime in Asia/Shanghai, honouring a pinned clock."""
    if _pinned:
        return _pinned[-1]
    real = dt.datetime.now(tz=SHANGHAI)
    started = getattr(settings, "HUIFANG_NOW", None)
    if started:  # a pinned start that then runs at the real pace (demo, load benchmark)
        return _started(started) + (real - _PROCESS_START)
    configured = getattr(settings, "HUIFANG_TODAY", None)
    if configured:
        day = dt.date.fromisoformat(configured)
        return real.replace(year=day.year, month=day.month, day=day.day)
    return real


def today() -> dt.date:
    """Today's date in Asia/Shanghai."""
    return now().date()


@contextlib.contextmanager
def frozen(moment: dt.date | dt.datetime) -> Iterator[dt.datetime]:
    """Pin the clock inside the block; a date pins 10:00 of that day."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.combine(moment, dt.time(10, 0), tzinfo=SHANGHAI)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    _pinned.append(moment)
    try:
        yield moment
    finally:
        _pinned.pop()
