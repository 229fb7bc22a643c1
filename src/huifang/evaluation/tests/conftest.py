"""Evaluation tests run at 10:00 on 2026-10-14 (the test settings' day) unless they freeze
another moment (``clock.frozen``): inside the REV-3 window of 2026-09 (ends 2026-10-20)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from huifang.core import clock

OCT_14_10AM = dt.datetime(2026, 10, 14, 10, 0, tzinfo=clock.SHANGHAI)


@pytest.fixture(autouse=True)
def _pinned_clock() -> Iterator[dt.datetime]:
    with clock.frozen(OCT_14_10AM) as moment:
        yield moment
