"""Read an uploaded list of client ids (CSV or XLSX) into numbered lines; no database here.

One client id per line in the first column; a header (``client_id`` / ``客户号``) may lead;
blank lines are skipped. A line with more than one filled column is a wrong-column line.
The format is told by the content (an XLSX file is a ZIP: ``PK\\x03\\x04``), not by the name.
XLSX is read with openpyxl in read-only mode (values, not formulas). Problems come back as
``第 N 行: reason`` (``line N: reason``), N the line in the file (the row in the sheet).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_LINES = 2 * MAX_ROWS + 100  # blank lines included: a sheet of empty rows is not read on
HEADERS = frozenset({"client_id", "客户号", "客户编号"})
ENCODINGS = ("utf-8-sig", "gb18030")
XLSX_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Line:
    """One client id of the file and the line it is on."""

    number: int
    client_id: str


@dataclass(frozen=True)
class Parsed:
    lines: list[Line]
    problems: list[str]


def line_problem(number: int, reason: str) -> str:
    return _("第 %(line)d 行: %(reason)s") % {"line": number, "reason": reason}


def parse(raw: bytes) -> Parsed:
    """The client ids of an uploaded CSV or XLSX file and its format problems."""
    if len(raw) > MAX_UPLOAD_BYTES:
        return Parsed([], [_("文件超过 2 MB")])
    rows = _xlsx_rows(raw) if raw.startswith(XLSX_MAGIC) else _csv_rows(raw)
    lines: list[Line] = []
    problems: list[str] = []
    try:
        for number, cells in rows:
            if number > MAX_LINES:
                problems.append(_("文件超过 %(n)d 行") % {"n": MAX_LINES})
                return Parsed([], problems)
            _take(number, cells, lines, problems)
            if len(lines) > MAX_ROWS:
                problems.append(_("名单最多 %(n)d 位客户,请分批下达") % {"n": MAX_ROWS})
                return Parsed([], problems)
    except _Unreadable as error:
        return Parsed([], [str(error)])
    if not lines and not problems:
        problems.append(_("文件中没有客户号"))
    return Parsed(lines, problems)


class _Unreadable(ValueError):
    """The whole file cannot be read (encoding, CSV or Excel format)."""


def _take(number: int, cells: list[str], lines: list[Line], problems: list[str]) -> None:
    filled = [cell for cell in cells if cell]
    if not filled:
        return
    if not lines and not problems and filled[0].lower() in HEADERS and len(filled) == 1:
        return
    if len(filled) > 1 or not cells[0]:
        problems.append(line_problem(number, _("列不对:每行只能有一列客户号")))
        return
    lines.append(Line(number, cells[0]))


def _csv_rows(raw: bytes) -> Iterator[tuple[int, list[str]]]:
    text = _decode(raw)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            yield reader.line_num, [cell.strip() for cell in cells]
    except csv.Error as error:
        raise _Unreadable(line_problem(reader.line_num, _("CSV 格式错误"))) from error


def _decode(raw: bytes) -> str:
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _Unreadable(_("文件编码无法识别,请使用 UTF-8 或 GB18030 编码的 CSV,或 XLSX"))


def _xlsx_rows(raw: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise _Unreadable(_("无法读取 Excel 文件(须为 .xlsx)")) from error
    try:
        sheet = book.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, _cells(values)
    finally:
        book.close()


def _cells(values: Iterable[Any]) -> list[str]:
    """Cell values as text: a whole number typed as a number is its digits (``10023``)."""
    cells = []
    for value in values:
        if value is None:
            cells.append("")
        elif isinstance(value, float) and value.is_integer():
            cells.append(str(int(value)))
        else:
            cells.append(str(value).strip())
    return cells
