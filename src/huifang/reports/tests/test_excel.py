"""The Excel writer (RPT-1): text is never a formula, illegal characters dropped, the cap holds."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from huifang.core import clock
from huifang.reports import excel


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("张三", "张三"),
        ("1+1=2", "1+1=2"),
        ("a\x00b\x1fc", "abc"),
    ],
)
def test_text_is_never_a_formula(typed: str, written: str) -> None:
    assert excel.safe_text(typed) == written


def _book(rows: list[list[object]], cap: int = 10) -> tuple[openpyxl.Workbook, int]:
    columns = [excel.Column("名称"), excel.Column("数量"), excel.Column("比例", percent=True),
               excel.Column("时间")]  # fmt: skip
    content, written = excel.workbook(
        title="测试", columns=columns, rows=rows, notes=[("报表", "测试")], cap=cap
    )
    return openpyxl.load_workbook(io.BytesIO(content)), written


def test_the_workbook_has_the_rows_typed_cells_and_a_notes_sheet() -> None:
    moment = dt.datetime(2026, 10, 14, 8, 30, tzinfo=dt.UTC)
    book, written = _book([["=1+1", 3, 0.25, moment], ["@x", None, None, None]])
    sheet = book["测试"]
    rows = list(sheet.iter_rows(values_only=True))
    assert written == 2 and rows[0] == ("名称", "数量", "比例", "时间")
    assert rows[1] == ("'=1+1", 3, 0.25, dt.datetime(2026, 10, 14, 16, 30))  # Shanghai, no zone
    assert sheet["C2"].number_format == "0.0%"
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    notes = dict(book["导出说明"].iter_rows(values_only=True))
    assert notes == {"报表": "测试", "行数": "2"}
    assert clock.SHANGHAI  # the zone used above


def test_past_the_cap_no_file_is_made() -> None:
    with pytest.raises(excel.TooManyRows):
        _book([["a", 1, None, None]] * 4, cap=3)
    _book([["a", 1, None, None]] * 3, cap=3)
