"""Reading the calendar file (NFR-1): every row well formed, problems as file:line:column."""

from __future__ import annotations

import datetime as dt

import pytest

from huifang.calendars.csvfile import parse_calendar_csv
from huifang.calendars.services import CalendarRejected, CalendarRow
from huifang.calendars.tests.factories import calendar_csv, rows_2027

HEADER = b"date,is_working_day,is_trading_day,note\n"


def problems_of(data: bytes) -> list[str]:
    with pytest.raises(CalendarRejected) as raised:
        parse_calendar_csv(data)
    return [problem.render("2027.csv") for problem in raised.value.problems]


def test_it_reads_a_whole_year_with_line_numbers():
    rows = parse_calendar_csv(calendar_csv(rows_2027()))
    assert len(rows) == 365
    assert rows[0] == CalendarRow(dt.date(2027, 1, 1), False, False, "休", 2)


def test_a_byte_order_mark_is_allowed():
    assert len(parse_calendar_csv(calendar_csv(rows_2027(), bom=True))) == 365


def test_booleans_may_be_words_or_digits_in_any_case():
    data = (
        HEADER
        + b"2027-01-04,TRUE,1,\n2027-01-05, 1 ,True,\n2027-01-01,false,0,\xe5\x85\x83\xe6\x97\xa6\n"
    )
    assert [(r.is_working_day, r.is_trading_day, r.note) for r in parse_calendar_csv(data)] == [
        (True, True, ""),
        (True, True, ""),
        (False, False, "元旦"),
    ]


def test_the_note_column_may_be_left_out():
    data = b"date,is_working_day,is_trading_day\n2027-01-04,1,1\n"
    assert parse_calendar_csv(data) == [CalendarRow(dt.date(2027, 1, 4), True, True, "", 2)]


def test_blank_lines_are_skipped():
    assert len(parse_calendar_csv(HEADER + b"\n2027-01-04,1,1,\n\n")) == 1


def test_every_bad_cell_is_reported_with_line_and_column():
    data = HEADER + b"2027-01-04,yes,1,\n2027-13-01,1,1,\n20270105,1,maybe,\n2027-01-06,1,1\n"
    assert problems_of(data) == [
        "2027.csv:2:2: not a boolean (true/false/1/0): 'yes'",
        "2027.csv:3:1: not a date (YYYY-MM-DD): '2027-13-01'",
        "2027.csv:4:1: not a date (YYYY-MM-DD): '20270105'",
        "2027.csv:4:3: not a boolean (true/false/1/0): 'maybe'",
    ]


def test_a_row_with_the_wrong_number_of_columns_is_reported():
    assert problems_of(HEADER + b"2027-01-04,1\n") == [
        "2027.csv:2:1: expected 3 or 4 columns, found 2"
    ]


def test_a_wrong_header_is_reported():
    (problem,) = problems_of(b"day,working,trading\n2027-01-04,1,1\n")
    assert problem.startswith(
        "2027.csv:1:1: the header must be date,is_working_day,is_trading_day,note"
    )


def test_an_empty_file_is_reported_as_a_wrong_header():
    (problem,) = problems_of(b"")
    assert problem.startswith("2027.csv:1:1: the header must be")


def test_a_file_that_is_not_utf8_is_reported_where_it_breaks():
    data = HEADER + "2027-01-01,0,0,节日\n".encode("gbk")
    assert problems_of(data) == ["2027.csv:2:16: not UTF-8 / 文件须为 UTF-8 编码"]


def test_the_column_of_a_bad_byte_counts_characters_not_bytes():
    data = HEADER + "2027-01-01,0,0,元旦".encode() + "节".encode("gbk") + b"\n"
    assert problems_of(data) == ["2027.csv:2:18: not UTF-8 / 文件须为 UTF-8 编码"]
