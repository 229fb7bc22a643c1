"""Loading our own calendar table, and the table winning over the packages (NFR-1)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from huifang.calendars import service
from huifang.calendars.models import CalendarDay
from huifang.calendars.service import (
    CalendarYearMissing,
    add_working_days,
    is_trading_day,
    is_working_day,
    last_trading_day_of_iso_week,
)
from huifang.calendars.services import CalendarRejected, CalendarRow, calendar_load
from huifang.calendars.tests.factories import rows_2027, year_rows

pytestmark = pytest.mark.django_db

D = dt.date


def package_rows_2026(**overrides: tuple[bool, bool]) -> list[CalendarRow]:
    """2026 as the packages have it, with some dates changed to (working, trading)."""
    known = service.calendar_year(2026)
    rows = []
    for row in year_rows(2026):
        working, trading = row.date in known.working, row.date in known.trading
        working, trading = overrides.get(row.date.isoformat(), (working, trading))
        rows.append(dataclasses.replace(row, is_working_day=working, is_trading_day=trading))
    return rows


# --- a loaded year is used ------------------------------------------------------------


def test_a_loaded_2027_table_is_used():
    assert calendar_load(rows=rows_2027(), actor="alice") == [2027]

    assert not is_working_day(D(2027, 10, 1))
    assert is_working_day(D(2027, 10, 9)) and not is_trading_day(D(2027, 10, 9))
    assert add_working_days(D(2027, 9, 30), 2) == D(2027, 10, 6)
    assert service.year_sources()[2027] == "table"
    assert 2027 in service.known_years()


def test_a_loaded_2027_makes_periods_across_new_year_answerable():
    calendar_load(rows=rows_2027(), actor="alice")
    # 2027-01-01 is a holiday in the loaded table.
    assert add_working_days(D(2026, 12, 31), 1) == D(2027, 1, 4)
    assert last_trading_day_of_iso_week(D(2026, 12, 28)) == D(2026, 12, 31)


def test_table_rows_win_over_the_packages_for_a_complete_2026():
    assert add_working_days(D(2026, 9, 30), 5) == D(2026, 10, 13)
    # Suppose 2026-10-09 became a holiday after the package was released.
    calendar_load(rows=package_rows_2026(**{"2026-10-09": (False, False)}), actor="alice")

    assert not is_working_day(D(2026, 10, 9))
    assert add_working_days(D(2026, 9, 30), 5) == D(2026, 10, 14)
    assert service.year_sources()[2026] == "table"


def test_the_cache_keeps_a_year_until_invalidated(monkeypatch):
    monkeypatch.setattr(service, "TABLE_RECHECK_SECONDS", 3600.0)
    assert is_working_day(D(2026, 10, 9))
    # Rows written behind the service's back are not seen until invalidate().
    rows = package_rows_2026(**{"2026-10-09": (False, False)})
    CalendarDay.objects.bulk_create(
        CalendarDay(date=r.date, is_working_day=r.is_working_day, is_trading_day=r.is_trading_day)
        for r in rows
    )
    assert is_working_day(D(2026, 10, 9))

    service.invalidate()

    assert not is_working_day(D(2026, 10, 9))


def test_a_table_changed_by_another_process_is_noticed_after_the_recheck_interval(monkeypatch):
    assert is_working_day(D(2026, 10, 9))
    monkeypatch.setattr(service, "TABLE_RECHECK_SECONDS", 0.0)
    rows = package_rows_2026(**{"2026-10-09": (False, False)})
    CalendarDay.objects.bulk_create(
        CalendarDay(date=r.date, is_working_day=r.is_working_day, is_trading_day=r.is_trading_day)
        for r in rows
    )
    assert not is_working_day(D(2026, 10, 9))


def test_an_incomplete_year_in_the_table_is_not_used():
    CalendarDay.objects.create(date=D(2027, 1, 4), is_working_day=True, is_trading_day=True)
    CalendarDay.objects.create(date=D(2026, 10, 9), is_working_day=False, is_trading_day=False)
    service.invalidate()
    with pytest.raises(CalendarYearMissing):
        is_working_day(D(2027, 1, 4))
    assert is_working_day(D(2026, 10, 9))


def test_reloading_a_year_replaces_its_rows():
    calendar_load(rows=rows_2027(), actor="alice")
    calendar_load(rows=rows_2027(holidays=[D(2027, 3, 1)]), actor="bob")

    assert CalendarDay.objects.filter(date__year=2027).count() == 365
    assert not is_working_day(D(2027, 3, 1))
    assert is_working_day(D(2027, 10, 1))
    assert set(CalendarDay.objects.values_list("loaded_by", flat=True)) == {"bob"}


def test_the_loader_is_recorded_from_a_user(django_user_model):
    user = django_user_model.objects.create_user(username="carol", password="x" * 12)
    calendar_load(rows=rows_2027(), actor=user)
    assert CalendarDay.objects.get(date=D(2027, 1, 1)).loaded_by == "carol"


# --- rejections --------------------------------------------------------------------


def rejection(rows: list[CalendarRow]) -> list[str]:
    with pytest.raises(CalendarRejected) as raised:
        calendar_load(rows=rows, actor="alice")
    assert CalendarDay.objects.count() == 0
    return [problem.render("f.csv") for problem in raised.value.problems]


def test_an_incomplete_year_is_rejected_naming_how_many_and_the_first_missing_date():
    problems = rejection(rows_2027(skip=[D(2027, 3, 4), D(2027, 3, 5), D(2027, 12, 31)]))
    assert problems == [
        "f.csv:1:1: year 2027 is incomplete: 3 date(s) missing, first 2027-03-04"
        " / 2027 年缺少 3 天，首个缺少 2027-03-04"
    ]


def test_a_year_with_a_single_date_is_rejected():
    (problem,) = rejection([CalendarRow(D(2028, 1, 3), True, True)])
    assert "year 2028 is incomplete: 365 date(s) missing, first 2028-01-01" in problem


def test_a_trading_day_that_is_not_a_working_day_is_rejected():
    rows = rows_2027()
    rows[0] = dataclasses.replace(rows[0], is_working_day=False, is_trading_day=True, line=2)
    (problem,) = rejection(rows)
    assert problem.startswith("f.csv:2:3: a trading day must be a working day")


def test_trading_on_an_adjusted_saturday_is_rejected():
    rows = [
        dataclasses.replace(row, is_trading_day=True) if row.date == D(2027, 10, 9) else row
        for row in rows_2027()
    ]
    (problem,) = rejection(rows)
    assert "no trading on Saturday or Sunday" in problem


def test_a_date_given_twice_is_rejected():
    rows = rows_2027()
    rows.append(dataclasses.replace(rows[0], line=None))
    (problem,) = rejection(rows)
    assert problem == "f.csv:366:1: date 2027-01-01 repeats line 1"


def test_nothing_to_load_is_rejected():
    assert rejection([]) == ["f.csv:1:1: no dates to load / 文件中没有日期"]


def test_a_bad_year_rejects_the_good_year_with_it():
    rows = rows_2027() + year_rows(2028, skip=[D(2028, 2, 29)])
    (problem,) = rejection(rows)
    assert "year 2028 is incomplete: 1 date(s) missing, first 2028-02-29" in problem
