"""The one clock (SPEC §12): pinned day, pinned start that runs, frozen blocks."""

from __future__ import annotations

import datetime as dt

from django.test import override_settings

from huifang.core import clock


def test_pinned_today_keeps_the_real_time_of_day() -> None:
    with override_settings(HUIFANG_TODAY="2026-10-14", HUIFANG_NOW=None):
        assert clock.today() == dt.date(2026, 10, 14)


def test_pinned_start_runs_from_the_given_moment_at_the_real_pace() -> None:
    with override_settings(HUIFANG_NOW="2026-10-14T10:30", HUIFANG_TODAY="2030-01-01"):
        first, second = clock.now(), clock.now()
    start = dt.datetime(2026, 10, 14, 10, 30, tzinfo=clock.SHANGHAI)
    assert start <= first <= second
    # the process started moments ago: the clock is just past the pinned start
    assert first - start < dt.timedelta(hours=6)


def test_frozen_wins_over_settings() -> None:
    moment = dt.datetime(2026, 10, 15, 21, 0, tzinfo=clock.SHANGHAI)
    with override_settings(HUIFANG_NOW="2026-10-14T10:30"), clock.frozen(moment):
        assert clock.now() == moment
