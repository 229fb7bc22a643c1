"""Workbench tests run at 10:00 on 2026-10-14 (inside the CON-5 call hours) unless they freeze
another moment: the test settings pin only the day, and call hours depend on the hour."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from huifang.core import clock

WORKDAY_10AM = dt.datetime(2026, 10, 14, 10, 0, tzinfo=clock.SHANGHAI)


@pytest.fixture(autouse=True)
def _inside_call_hours() -> Iterator[dt.datetime]:
    with clock.frozen(WORKDAY_10AM) as moment:
        yield moment
