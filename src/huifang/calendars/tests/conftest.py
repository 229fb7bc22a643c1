from __future__ import annotations

from collections.abc import Iterator

import pytest

from huifang.calendars import service


@pytest.fixture(autouse=True)
def fresh_calendar() -> Iterator[None]:
    """The calendar cache outlives a test's database; start and end every test without it."""
    service.invalidate()
    yield
    service.invalidate()
