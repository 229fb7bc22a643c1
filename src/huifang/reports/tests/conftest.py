"""Report tests run at 10:00 on 2026-10-14 (the pinned day of the test settings)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from huifang.core import clock
from huifang.reports.tests.brokerage import World, build

NOW = dt.datetime(2026, 10, 14, 10, 0, tzinfo=clock.SHANGHAI)


@pytest.fixture(autouse=True)
def _pinned_clock() -> Iterator[dt.datetime]:
    with clock.frozen(NOW) as moment:
        yield moment


@pytest.fixture
def brokerage(db: None) -> World:
    """The synthetic brokerage of ``brokerage.py``."""
    return build()
