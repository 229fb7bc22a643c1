"""Orders tests run at 10:00 on 2026-10-14 (the test settings pin the day; CON-5 needs an hour)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from huifang.core import clock

WORKDAY_10AM = dt.datetime(2026, 10, 14, 10, 0, tzinfo=clock.SHANGHAI)


@pytest.fixture(autouse=True)
def _at_ten() -> Iterator[dt.datetime]:
    with clock.frozen(WORKDAY_10AM) as moment:
        yield moment
