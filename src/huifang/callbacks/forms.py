"""Forms of the callback screens: list filters and the STOCK-1 verification list."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huifang.callbacks.choices import Level, TaskStatus
from huifang.callbacks.verification import REASON_MAX_LENGTH, ListedRow

ANY = ("", _("全部"))
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_UPLOAD_ROWS = 5000
HEADER = ("client_id", "reason")
CLIENT_HEADERS = {"client_id", "客户号"}
ENCODINGS = ("utf-8-sig", "gb18030")


def _choices(values: Iterable[str]) -> list[tuple[str, Any]]:
    return [ANY, *((value, value) for value in values)]


class ChoicesMixin:
    """Choices known only per request (the rules in the policy, the branches in scope)."""

    fields: dict[str, forms.Field]

    def _set_choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


class PlanFilterForm(ChoicesMixin, forms.Form):
    """回访计划 filters: rule, period, branch (the branches of the user's scope)."""

    rule = forms.ChoiceField(label=_("规则"), required=False)
    period = forms.CharField(
        label=_("期间"),
        required=False,
        max_length=16,
        widget=forms.TextInput(attrs={"placeholder": "2026-10"}),
    )
    branch = forms.ChoiceField(label=_("营业部"), required=False)

    def __init__(self, *args: Any, rules: Iterable[str], branches: Iterable[Any], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._set_choices("rule", _choices(rules))
        self._set_choices("branch", [ANY, *((b.code, f"{b.code} {b.name}") for b in branches)])


class TaskFilterForm(ChoicesMixin, forms.Form):
    """回访任务 filters: status, rule, level, overdue, assignee, due date range."""

    status = forms.ChoiceField(label=_("状态"), required=False, choices=[ANY, *TaskStatus.choices])
    rule = forms.ChoiceField(label=_("规则"), required=False)
    level = forms.ChoiceField(label=_("级别"), required=False, choices=[ANY, *Level.choices])
    overdue = forms.ChoiceField(
        label=_("逾期"),
        required=False,
        choices=[ANY, ("yes", _("仅逾期")), ("no", _("未逾期"))],
    )
    assignee = forms.CharField(
        label=_("回访人员"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"placeholder": _("员工编号")}),
    )
    due_from = forms.DateField(
        label=_("截止日期自"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    due_to = forms.DateField(
        label=_("截止日期至"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, rules: Iterable[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_choices("rule", _choices(rules))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("due_from"), data.get("due_to")
        if start and end and start > end:
            self.add_error("due_to", _("截止日期范围的结束早于开始"))
        return data


class VerificationEntryForm(forms.Form):
    """Lists one client for verification (STOCK-1) with the matter to verify."""

    client_id = forms.CharField(
        label=_("客户号"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    reason = forms.CharField(
        label=_("核实事项"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.TextInput(attrs={"placeholder": _("如：证件已过期，需补齐新证件")}),
    )

    def row(self) -> ListedRow:
        return ListedRow(1, self.cleaned_data["client_id"], self.cleaned_data["reason"])


class VerificationUploadForm(forms.Form):
    """A CSV of ``client_id,reason`` rows (a header row is optional), UTF-8 or GB18030.

    ``clean_file`` gives the rows; format problems come back as ``line:column: reason``.
    """

    file = forms.FileField(label=_("CSV 文件"))

    def clean_file(self) -> ParsedList:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise ValidationError(_("文件超过 2 MB"))
        rows, problems = parse_listing_csv(upload.read())
        if not rows:
            raise ValidationError(problems)
        return ParsedList(rows, problems)


@dataclass(frozen=True)
class ParsedList:
    """An uploaded list: its rows and its format problems (``line:column: reason``)."""

    rows: list[ListedRow]
    problems: list[str]


def _decode(raw: bytes) -> str | None:
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def parse_listing_csv(raw: bytes) -> tuple[list[ListedRow], list[str]]:
    """The rows of an uploaded list and its format problems (``line:column: reason``)."""
    text = _decode(raw)
    if text is None:
        return [], ["1:1: " + gettext("文件编码无法识别，请使用 UTF-8 或 GB18030")]
    rows: list[ListedRow] = []
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            _take(reader.line_num, cells, rows, problems)
    except csv.Error as error:
        problems.append(f"{reader.line_num}:1: " + gettext("CSV 格式错误：%(e)s") % {"e": error})
    if not rows and not problems:
        problems.append("1:1: " + gettext("文件中没有客户"))
    if len(rows) > MAX_UPLOAD_ROWS:
        problems.append(
            f"{rows[MAX_UPLOAD_ROWS].line}:1: "
            + gettext("一次最多列入 %(n)d 位客户") % {"n": MAX_UPLOAD_ROWS}
        )
    return rows, problems


def _take(line: int, cells: list[str], rows: list[ListedRow], problems: list[str]) -> None:
    """One CSV record: skip the header and blank lines, flag extra columns, keep the row."""
    if line == 1 and cells and cells[0].strip().lower() in CLIENT_HEADERS:
        return
    if not any(cell.strip() for cell in cells):
        return
    if len(cells) > len(HEADER) and any(cell.strip() for cell in cells[len(HEADER) :]):
        problems.append(
            f"{line}:{len(HEADER) + 1}: " + gettext("多余的列（只需客户号和核实事项两列）")
        )
    reason = cells[1] if len(cells) > 1 else ""
    rows.append(ListedRow(line, cells[0].strip(), reason.strip()))
