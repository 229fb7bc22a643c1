"""Excel workbooks of the ledger and the reports (RPT-1), written with openpyxl in write-only mode.

Safety of what a user or a client typed:

- a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
  written with a leading ``'`` (the OWASP CSV/formula-injection rule), so Excel or
  WPS never evaluates it — openpyxl itself would store a leading ``=`` as a formula;
- characters that XML 1.0 cannot hold are dropped (openpyxl refuses them).

Aware datetimes are written in Asia/Shanghai without a zone (Excel has none).
A second sheet, 导出说明, names the report, the filters, the reader, the time and
the row count, so a printed copy says what it is.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from huifang.core import clock

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class TooManyRows(Exception):
    """More rows than the cap: no file is written (never a truncated one)."""

    def __init__(self, rows: int, cap: int) -> None:
        super().__init__(f"{rows} rows > {cap}")
        self.rows, self.cap = rows, cap


@dataclass(frozen=True)
class Column:
    """One column of a sheet: header, width, and whether its numbers are shares (0.0%)."""

    header: str
    width: int = 14
    percent: bool = False


def safe_text(value: str) -> str:
    """Text that Excel shows as written: never a formula, no XML-illegal characters."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(FORMULA_START) else value


def safe_value(value: Any) -> Any:
    """A cell value openpyxl can write and Excel will not evaluate."""
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(clock.SHANGHAI).replace(tzinfo=None)
        return value
    if value is None or isinstance(value, int | float | dt.date):
        return value
    return safe_text(str(value))


def _header(sheet: WriteOnlyWorksheet, columns: Sequence[Column]) -> None:
    for n, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = column.width
    cells = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=safe_text(column.header))
        cell.font = Font(bold=True)
        cells.append(cell)
    sheet.append(cells)


def _row(sheet: WriteOnlyWorksheet, columns: Sequence[Column], values: Sequence[Any]) -> list[Any]:
    cells: list[Any] = []
    for column, value in zip(columns, values, strict=True):
        value = safe_value(value)
        if isinstance(value, dt.datetime):
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = "yyyy-mm-dd hh:mm"
            cells.append(cell)
        elif isinstance(value, dt.date):
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        elif column.percent and isinstance(value, float):
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = "0.0%"
            cells.append(cell)
        else:
            cells.append(value)
    return cells


def _discard(sheet: WriteOnlyWorksheet) -> None:
    """Finish and delete the half-written sheet's temporary file (a refused export)."""
    sheet.close()
    out = getattr(sheet._writer, "out", None)
    if isinstance(out, str) and os.path.exists(out):
        os.remove(out)


def workbook(
    *,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[Any]],
    notes: Sequence[tuple[str, str]],
    cap: int,
) -> tuple[bytes, int]:
    """The workbook's bytes and its number of data rows; ``TooManyRows`` past ``cap``."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=safe_text(title)[:31])
    sheet.freeze_panes = "A2"
    _header(sheet, columns)
    written = 0
    try:
        for values in rows:
            written += 1
            if written > cap:
                raise TooManyRows(written, cap)
            sheet.append(_row(sheet, columns, values))
    except BaseException:
        _discard(sheet)
        raise
    about = book.create_sheet(title=_("导出说明"))
    about.column_dimensions["A"].width = 18
    about.column_dimensions["B"].width = 80
    for key, value in [*notes, (_("行数"), str(written))]:
        about.append([safe_text(key), safe_text(value)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), written
