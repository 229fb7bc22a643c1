"""``huifang calendar load FILE`` and ``huifang calendar status`` (NFR-1, §12).

Run through the console entry point, so exit codes are what the scheduler sees. It
closes the database connection when done, hence transactional tests.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from huifang.calendars.models import CalendarDay
from huifang.calendars.service import is_working_day
from huifang.calendars.tests.factories import calendar_csv, rows_2027
from huifang.cli import main

pytestmark = pytest.mark.django_db(transaction=True)


def huifang(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def good_file(tmp_path: Path) -> Path:
    path = tmp_path / "2027.csv"
    path.write_bytes(calendar_csv(rows_2027(), bom=True))
    return path


def test_load_exits_0_and_the_year_is_used(capsys, good_file):
    code, out, err = huifang(capsys, "calendar", "load", str(good_file))
    assert (code, err) == (0, "")
    assert "loaded 2027" in out
    assert CalendarDay.objects.filter(date__year=2027).count() == 365
    assert not is_working_day(dt.date(2027, 10, 1))


def test_load_records_who_loaded(capsys, good_file):
    huifang(capsys, "calendar", "load", str(good_file), "--by", "alice")
    assert CalendarDay.objects.get(date=dt.date(2027, 1, 1)).loaded_by == "alice"


def test_a_rejected_file_exits_1_reports_each_problem_and_saves_nothing(capsys, tmp_path):
    path = tmp_path / "2027.csv"
    text = calendar_csv(rows_2027(skip=[dt.date(2027, 5, 6)])).decode()
    path.write_text(text.replace("2027-01-04,true,1", "2027-01-04,yes,1"), encoding="utf-8")

    code, out, err = huifang(capsys, "calendar", "load", str(path))

    assert code == 1
    assert out == ""
    assert err.splitlines() == [f"{path}:5:2: not a boolean (true/false/1/0): 'yes'"]
    assert CalendarDay.objects.count() == 0


def test_an_incomplete_year_exits_1_naming_the_first_missing_date(capsys, tmp_path):
    path = tmp_path / "2027.csv"
    path.write_bytes(calendar_csv(rows_2027(skip=[dt.date(2027, 5, 6), dt.date(2027, 5, 7)])))

    code, _, err = huifang(capsys, "calendar", "load", str(path))

    assert code == 1
    assert err.splitlines() == [
        f"{path}:2:1: year 2027 is incomplete: 2 date(s) missing, first 2027-05-06"
        " / 2027 年缺少 2 天，首个缺少 2027-05-06"
    ]
    assert CalendarDay.objects.count() == 0


@pytest.mark.parametrize(
    "args",
    [
        ("calendar",),
        ("calendar", "load"),
        ("calendar", "unload", "x.csv"),
        ("calendar", "status", "extra"),
    ],
)
def test_usage_errors_exit_2(capsys, args):
    code, _, err = huifang(capsys, *args)
    assert code == 2
    assert "usage:" in err


def test_a_file_that_cannot_be_read_exits_2(capsys, tmp_path):
    code, _, err = huifang(capsys, "calendar", "load", str(tmp_path / "missing.csv"))
    assert code == 2
    assert "cannot read" in err


def test_status_lists_known_years_and_their_source(capsys, good_file):
    huifang(capsys, "calendar", "load", str(good_file), "--by", "alice")

    code, out, _ = huifang(capsys, "calendar", "status")

    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("2004\tpackage\t")
    assert lines[-2].startswith("2026\tpackage\tworking 248\ttrading 242\tchinesecalendar ")
    assert lines[-1].startswith("2027\ttable\tworking 259\ttrading 258\tloaded by alice at ")
