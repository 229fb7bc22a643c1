"""Working days and trading days from the packages, and missing years (NFR-1)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from huifang.calendars import service
from huifang.calendars.service import (
    CalendarYearMissing,
    add_trading_days,
    add_working_days,
    calendar_arrow,
    first_working_days,
    is_last_trading_day_of_iso_week,
    is_last_working_day_of_month,
    is_trading_day,
    is_working_day,
    known_years,
    last_trading_day,
    last_trading_day_of_iso_week,
    last_working_day,
    last_working_day_of_month,
    require_years,
    working_days_between,
    year_sources,
)

pytestmark = pytest.mark.django_db

D = dt.date


# --- adding working days -----------------------------------------------------------


def test_five_working_days_after_september_30_skip_national_day_and_count_the_adjusted_saturday():
    assert add_working_days(D(2026, 9, 30), 5) == D(2026, 10, 13)


def test_five_working_days_after_the_friday_before_spring_festival_is_february_27():
    assert add_working_days(D(2026, 2, 13), 5) == D(2026, 2, 27)


def test_adding_working_days_starts_from_a_holiday_as_well():
    assert add_working_days(D(2026, 10, 3), 1) == D(2026, 10, 8)


def test_adding_zero_working_days_gives_the_day_itself():
    assert add_working_days(D(2026, 10, 3), 0) == D(2026, 10, 3)


def test_negative_working_days_go_backwards():
    assert add_working_days(D(2026, 10, 13), -5) == D(2026, 9, 30)


def test_trading_days_skip_the_adjusted_saturday():
    assert add_trading_days(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert add_trading_days(D(2026, 9, 30), 3) == D(2026, 10, 12)
    assert add_trading_days(D(2026, 10, 12), -3) == D(2026, 9, 30)


# --- working versus trading ----------------------------------------------------------


def test_an_adjusted_saturday_is_a_working_day_but_not_a_trading_day():
    # 2026-10-10 (Saturday) is worked for National Day; the exchange stays closed.
    assert is_working_day(D(2026, 10, 10))
    assert not is_trading_day(D(2026, 10, 10))


def test_an_adjusted_sunday_is_a_working_day_but_not_a_trading_day():
    # 2026-09-20 (Sunday) is worked for National Day. (2026-09-27 is a Mid-Autumn holiday.)
    assert is_working_day(D(2026, 9, 20))
    assert not is_trading_day(D(2026, 9, 20))
    assert not is_working_day(D(2026, 9, 27))


def test_a_statutory_holiday_on_a_weekday_is_neither():
    assert not is_working_day(D(2026, 10, 1))
    assert not is_trading_day(D(2026, 10, 1))


def test_an_ordinary_weekday_and_weekend():
    assert is_working_day(D(2026, 10, 14)) and is_trading_day(D(2026, 10, 14))
    assert not is_working_day(D(2026, 10, 18)) and not is_trading_day(D(2026, 10, 18))


def test_every_package_trading_day_is_a_weekday_working_day():
    for year in service.package_years():
        known = service.calendar_year(year)
        assert all(day.weekday() < 5 for day in known.trading), year
        assert known.trading <= known.working, year


def test_a_datetime_is_refused_rather_than_compared_as_a_date():
    with pytest.raises(TypeError):
        is_working_day(dt.datetime(2026, 10, 14, 9, 0))  # noqa: DTZ001


# --- periods -----------------------------------------------------------------------


def test_working_days_between_includes_both_ends():
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 10)) == [
        D(2026, 9, 30),
        D(2026, 10, 8),
        D(2026, 10, 9),
        D(2026, 10, 10),
    ]


def test_first_working_days_of_october_start_after_national_day():
    assert first_working_days(D(2026, 10, 1), D(2026, 10, 31), 3) == [
        D(2026, 10, 8),
        D(2026, 10, 9),
        D(2026, 10, 10),
    ]


def test_first_working_day_of_2026_is_the_adjusted_sunday():
    assert first_working_days(D(2026, 1, 1), D(2026, 12, 31), 1) == [D(2026, 1, 4)]


def test_last_working_day_and_last_trading_day_of_a_period():
    assert last_working_day(D(2026, 10, 1), D(2026, 10, 11)) == D(2026, 10, 10)
    assert last_trading_day(D(2026, 10, 1), D(2026, 10, 11)) == D(2026, 10, 9)
    assert last_working_day(D(2026, 10, 1), D(2026, 10, 7)) is None


def test_last_working_day_of_february_2026_is_the_adjusted_saturday():
    assert last_working_day_of_month(D(2026, 2, 3)) == D(2026, 2, 28)
    assert is_last_working_day_of_month(D(2026, 2, 28))
    assert not is_last_working_day_of_month(D(2026, 2, 27))


def test_last_working_day_of_october_2026_is_friday_the_30th():
    assert last_working_day_of_month(D(2026, 10, 31)) == D(2026, 10, 30)


# --- ISO weeks around National Day ----------------------------------------------------


def test_the_week_of_national_day_ends_trading_on_september_30():
    # ISO week 2026-W40 runs Monday 09-28 to Sunday 10-04; 10-01 on are holidays.
    assert last_trading_day_of_iso_week(D(2026, 10, 2)) == D(2026, 9, 30)
    assert is_last_trading_day_of_iso_week(D(2026, 9, 30))
    assert not is_last_trading_day_of_iso_week(D(2026, 9, 29))


def test_the_week_after_national_day_ends_trading_on_friday_not_the_adjusted_saturday():
    # 2026-W41: 10-05..10-07 holidays, 10-08 and 10-09 trade, 10-10 is worked but closed.
    assert last_trading_day_of_iso_week(D(2026, 10, 5)) == D(2026, 10, 9)
    assert is_last_trading_day_of_iso_week(D(2026, 10, 9))
    assert not is_last_trading_day_of_iso_week(D(2026, 10, 10))


def test_a_week_without_trading_has_no_last_trading_day():
    # 2026-W08 (02-16..02-22) is all Spring Festival.
    assert last_trading_day_of_iso_week(D(2026, 2, 18)) is None
    assert not is_last_trading_day_of_iso_week(D(2026, 2, 20))


# --- missing years --------------------------------------------------------------------


def test_a_2027_date_without_a_loaded_table_raises_naming_2027():
    with pytest.raises(CalendarYearMissing) as raised:
        is_working_day(D(2027, 3, 1))
    assert raised.value.year == 2027
    assert "2027" in str(raised.value)
    assert "huifang calendar load" in str(raised.value)
    assert "2027 年工作日历未载入" in str(raised.value)


def test_a_missing_year_is_never_guessed_from_weekdays():
    for check in (is_working_day, is_trading_day):
        with pytest.raises(CalendarYearMissing):
            check(D(2027, 1, 4))


def test_adding_working_days_into_a_missing_year_raises_naming_it():
    with pytest.raises(CalendarYearMissing) as raised:
        add_working_days(D(2026, 12, 28), 5)
    assert raised.value.year == 2027


def test_the_last_iso_week_of_2026_needs_2027():
    # 2026-W53 runs to Sunday 2027-01-03.
    with pytest.raises(CalendarYearMissing) as raised:
        last_trading_day_of_iso_week(D(2026, 12, 28))
    assert raised.value.year == 2027


def test_a_year_before_the_packages_is_missing_too():
    with pytest.raises(CalendarYearMissing) as raised:
        is_working_day(D(2003, 6, 2))
    assert raised.value.year == 2003


def test_require_years_names_the_first_missing_year():
    require_years([2025, 2026])
    with pytest.raises(CalendarYearMissing) as raised:
        require_years([2028, 2026, 2027])
    assert raised.value.year == 2027


def test_a_period_into_a_missing_year_fails_before_answering():
    with pytest.raises(CalendarYearMissing):
        working_days_between(D(2026, 12, 1), D(2027, 1, 31))


def test_known_years_are_the_package_years():
    assert known_years() == list(range(2004, 2027))
    assert set(year_sources().values()) == {"package"}


# --- where the package years come from -----------------------------------------------


def test_chinesecalendar_years_are_read_from_the_package():
    years = service.CHINESECALENDAR_YEARS
    assert (years.start, years.stop) == (2004, 2027)


def test_a_stray_new_years_day_does_not_make_the_next_year_known(monkeypatch):
    import chinese_calendar

    holidays = {**chinese_calendar.holidays, D(2027, 1, 1): "New Year's Day"}
    monkeypatch.setattr(chinese_calendar, "holidays", holidays)
    assert service._chinesecalendar_years() == range(2004, 2027)


def test_exchange_sessions_cover_exactly_the_package_years():
    sessions = service._xshg_sessions_by_year()
    assert sorted(sessions) == list(range(2004, 2027))
    assert D(2026, 12, 31) in sessions[2026]
    assert D(2026, 10, 8) in sessions[2026]


# --- arrow ---------------------------------------------------------------------------


def test_calendar_arrow_has_one_row_per_date():
    table = calendar_arrow(D(2026, 10, 7), D(2026, 10, 10))
    assert table.schema.names == ["date", "is_working_day", "is_trading_day"]
    assert table.schema.field("date").type == pa.date32()
    assert table.to_pylist() == [
        {"date": D(2026, 10, 7), "is_working_day": False, "is_trading_day": False},
        {"date": D(2026, 10, 8), "is_working_day": True, "is_trading_day": True},
        {"date": D(2026, 10, 9), "is_working_day": True, "is_trading_day": True},
        {"date": D(2026, 10, 10), "is_working_day": True, "is_trading_day": False},
    ]


def test_calendar_arrow_refuses_a_period_into_a_missing_year():
    with pytest.raises(CalendarYearMissing):
        calendar_arrow(D(2026, 12, 1), D(2027, 1, 5))


def test_exchange_calendars_wins_for_trading_days_when_the_packages_disagree(monkeypatch, caplog):
    # Pretend XSHG traded on the adjusted Saturday 2026-10-10: keep it, but say so.
    sessions = dict(service._xshg_sessions_by_year())
    sessions[2026] = sessions[2026] | {D(2026, 10, 10)}
    monkeypatch.setattr(service, "_xshg_sessions_by_year", lambda: sessions)
    service._package_year.cache_clear()
    try:
        with caplog.at_level("WARNING", logger="huifang.calendars.service"):
            assert is_trading_day(D(2026, 10, 10))
        assert "first 2026-10-10" in caplog.text
    finally:
        service._package_year.cache_clear()
