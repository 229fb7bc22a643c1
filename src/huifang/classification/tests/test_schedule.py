"""Rating windows in working days of the 2026 calendar, statistical dates (CLS-2..4, NFR-1)."""

from __future__ import annotations

import datetime as dt

import pytest

from huifang.calendars.service import CalendarYearMissing
from huifang.classification.choices import RatingKind
from huifang.classification.schedule import due_kinds, rating_period, window

D = dt.date
WINDOWS = {"annual": 10, "quarterly": 3, "new_accounts": 3}


@pytest.mark.django_db
def test_the_annual_window_is_the_first_ten_working_days_of_2026() -> None:
    # New Year 2026: 1–3 January off, Sunday 4 January a working day (调休).
    assert window("annual", D(2026, 1, 20), 10) == [
        D(2026, 1, 4), D(2026, 1, 5), D(2026, 1, 6), D(2026, 1, 7), D(2026, 1, 8),
        D(2026, 1, 9), D(2026, 1, 12), D(2026, 1, 13), D(2026, 1, 14), D(2026, 1, 15),
    ]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "day", "expected"),
    [
        ("quarterly", D(2026, 4, 15), [D(2026, 4, 1), D(2026, 4, 2), D(2026, 4, 3)]),
        ("quarterly", D(2026, 11, 30), [D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 10)]),
        # New accounts after the Labour Day and National Day holidays (10 October is a Saturday 调休).
        ("new_accounts", D(2026, 5, 20), [D(2026, 5, 6), D(2026, 5, 7), D(2026, 5, 8)]),
        ("new_accounts", D(2026, 10, 1), [D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 10)]),
        ("new_accounts", D(2026, 2, 27), [D(2026, 2, 2), D(2026, 2, 3), D(2026, 2, 4)]),
    ],
)
def test_short_windows_are_the_first_three_working_days(
    kind: str, day: D, expected: list[D]
) -> None:
    assert window(kind, day, 3) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day", "due"),
    [
        (D(2026, 1, 4), [RatingKind.ANNUAL]),  # the annual rating covers the quarter and December
        (D(2026, 1, 15), [RatingKind.ANNUAL]),
        (D(2026, 1, 16), []),
        (D(2026, 2, 2), [RatingKind.NEW_ACCOUNTS]),
        (D(2026, 2, 5), []),
        (D(2026, 4, 1), [RatingKind.NEW_ACCOUNTS, RatingKind.QUARTERLY]),
        (D(2026, 5, 1), []),  # Labour Day
        (D(2026, 5, 6), [RatingKind.NEW_ACCOUNTS]),
        (D(2026, 10, 10), [RatingKind.NEW_ACCOUNTS, RatingKind.QUARTERLY]),
        (D(2026, 10, 12), []),
    ],
)
def test_what_the_calendar_says_is_due(day: D, due: list[RatingKind]) -> None:
    assert due_kinds(day, WINDOWS) == due


@pytest.mark.django_db
def test_a_rating_the_policy_lacks_is_never_due() -> None:
    assert due_kinds(D(2026, 4, 1), {"annual": 10}) == []


@pytest.mark.django_db
def test_a_year_the_calendar_lacks_is_an_error_naming_it() -> None:
    with pytest.raises(CalendarYearMissing, match="2031"):
        due_kinds(D(2031, 1, 2), WINDOWS)


@pytest.mark.parametrize(
    ("kind", "day", "statistical", "label", "commission_year", "opened_from"),
    [
        ("annual", D(2026, 1, 5), D(2025, 12, 31), "2026", 2025, None),
        ("quarterly", D(2026, 4, 1), D(2026, 3, 31), "2026-Q2", 2025, None),
        ("quarterly", D(2026, 10, 8), D(2026, 9, 30), "2026-Q4", 2025, None),
        ("new_accounts", D(2026, 2, 2), D(2026, 1, 31), "2026-02", 2025, D(2026, 1, 1)),
        ("new_accounts", D(2026, 1, 5), D(2025, 12, 31), "2026-01", 2025, D(2025, 12, 1)),
        ("manual", D(2026, 10, 14), D(2026, 10, 14), "2026-10-14", 2025, None),
    ],
)
def test_statistical_dates_and_the_commission_year(
    kind: str, day: D, statistical: D, label: str, commission_year: int, opened_from: D | None
) -> None:
    period = rating_period(kind, day)
    assert (period.statistical_date, period.label) == (statistical, label)
    assert (period.commission_year, period.opened_from) == (commission_year, opened_from)
