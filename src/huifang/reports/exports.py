"""Exports of the ledger and the reports to Excel (RPT-1), each one audited (NFR-2).

``report_export`` refuses before writing anything when the rows exceed the cap
(``settings.HUIFANG_REPORT_EXPORT_MAX_ROWS``, default 100,000): the reader gets a
Chinese message asking for narrower filters, never a truncated file. A file that is
produced writes one ``report.export`` audit row with the report, the filters, the
row count and the file's SHA-256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from huifang.audit.services import audit_record
from huifang.core import clock
from huifang.reports import excel

DEFAULT_MAX_ROWS = 100_000
ACTION = "report.export"


def max_rows() -> int:
    """The most rows one export may hold."""
    return int(getattr(settings, "HUIFANG_REPORT_EXPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


class ExportRefused(Exception):
    """An export that is not produced; ``message`` is for the reader (Chinese)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def too_many(rows: int | None, cap: int) -> ExportRefused:
    """The refusal past the cap; ``rows`` when known before writing."""
    advice = _("请缩小筛选范围（如营业部、期间、规则）后分批导出。")
    if rows is None:
        text = _("导出行数超过单次导出上限 %(cap)s 行，未生成文件。") % {"cap": f"{cap:,}"}
    else:
        text = _("导出共 %(rows)s 行，超过单次导出上限 %(cap)s 行，未生成文件。") % {
            "rows": f"{rows:,}",
            "cap": f"{cap:,}",
        }
    return ExportRefused(text + advice)


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    rows: int
    sha256: str


def report_export(
    *,
    report: str,
    title: str,
    columns: Sequence[excel.Column],
    rows: Iterable[Sequence[Any]],
    count: int,
    filters: Mapping[str, str],
    notes: Sequence[tuple[str, str]] = (),
) -> ExportFile:
    """The workbook of one report or the ledger, audited; ``ExportRefused`` past the cap.

    ``count`` is the number of rows the query will give (checked before anything is
    built); the writer checks again while writing, so a file never exceeds the cap.
    """
    cap = max_rows()
    if count > cap:
        raise too_many(count, cap)
    now = clock.now()
    header = [
        (_("报表"), title),
        (_("筛选条件"), "; ".join(f"{k}={v}" for k, v in filters.items()) or _("无")),
        (_("导出时间"), now.strftime("%Y-%m-%d %H:%M:%S")),
        *notes,
    ]
    try:
        content, written = excel.workbook(
            title=title, columns=columns, rows=rows, notes=header, cap=cap
        )
    except excel.TooManyRows as exc:
        raise too_many(None, cap) from exc
    digest = hashlib.sha256(content).hexdigest()
    filename = f"{report}-{now:%Y%m%d-%H%M%S}.xlsx"
    audit_record(
        action=ACTION,
        object_type="reports.Report",
        object_id=report,
        branch_code=filters.get("branch", ""),
        after={"report": report, "filters": dict(filters), "rows": written, "sha256": digest,
               "filename": filename},
    )  # fmt: skip
    return ExportFile(filename, content, written, digest)
