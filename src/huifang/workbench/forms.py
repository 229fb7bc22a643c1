"""Forms of the workbench screens (SPEC §5, §6): they parse, the services decide.

A form never saves anything: the views hand its cleaned data to the services
(``queue``, ``attempts``, ``records``, ``evidence``, ``review``, ``equestionnaire``),
which refuse with ``WorkbenchRefused`` before writing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from huifang.callbacks.choices import Level, TaskKind
from huifang.callbacks.models import Task
from huifang.callbacks.rules import Relations
from huifang.callbacks.services import Constraints, StaffFacts, assignment_problems
from huifang.core import clock
from huifang.org.choices import Position, UnitKind
from huifang.org.models import Staff
from huifang.policy.selectors import version_in_force
from huifang.workbench.choices import (
    EvidenceKind,
    FindingCategory,
    FindingKind,
    LinkChannel,
    Method,
    Outcome,
)
from huifang.workbench.models import Record, Section, answer_value

# Kinds an agent uploads as files; a call-center call id has its own form, questionnaire
# answers are written by the e-questionnaire itself (EXE-2, EXE-6).
UPLOAD_KINDS = [
    (value, label)
    for value, label in EvidenceKind.choices
    if value not in (EvidenceKind.CALL_ID, EvidenceKind.QUESTIONNAIRE_ANSWERS)
]
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
# Blank finding rows offered under the ones already entered (EXE-4).
BLANK_FINDINGS = 2


class WorkbenchForm(forms.Form):
    """Several forms share the task page: each has its own element ids (``id_prefix``)."""

    id_prefix = "wb"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class AttemptForm(WorkbenchForm):
    """One try to reach the client (EXE-3)."""

    id_prefix = "attempt"

    method = forms.ChoiceField(label=_("方式"), choices=Method.choices, initial=Method.PHONE)
    outcome = forms.ChoiceField(label=_("结果"), choices=Outcome.choices)
    call_id = forms.CharField(label=_("呼叫编号"), max_length=64, required=False)
    note = forms.CharField(
        label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    retry_after = forms.DateTimeField(
        label=_("约定回访时间"), required=False, widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
        help_text=_("仅“约定稍后回访”时填写；不填则为次日回访时段开始时。"),
    )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("outcome") != Outcome.CALL_BACK_LATER:
            data["retry_after"] = None
        return data


class EvidenceUploadForm(WorkbenchForm):
    """A trace file (EXE-2): recording, signed scan, letter, email, SMS log …"""

    id_prefix = "upload"

    kind = forms.ChoiceField(label=_("材料类别"), choices=UPLOAD_KINDS)
    file = forms.FileField(label=_("文件"))


class CallIdForm(WorkbenchForm):
    """A call-center recording id instead of a file (EXE-2)."""

    id_prefix = "callid"

    call_id = forms.CharField(label=_("呼叫中心录音编号"), max_length=64)


class SendLinkForm(WorkbenchForm):
    """EXE-6: send the one-time e-questionnaire link."""

    id_prefix = "link"

    channel = forms.ChoiceField(label=_("发送方式"), choices=LinkChannel.choices)


class ReleaseForm(WorkbenchForm):
    id_prefix = "release"
    reason = forms.CharField(label=_("释放原因"), max_length=32, required=False)


class StaffChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.staff_id} {obj.name}"


class ReassignForm(WorkbenchForm):
    """主管改派: the staff picker lists the eligible staff of the task's unit only."""

    id_prefix = "reassign"

    to_staff = StaffChoiceField(
        label=_("改派给"), queryset=Staff.objects.none(), empty_label=_("请选择回访人员")
    )

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_staff"]
        assert isinstance(field, StaffChoiceField)
        field.queryset = eligible_staff(task)


class AmendForm(WorkbenchForm):
    """EXE-5: a correction appended to a signed record (the record itself never changes)."""

    id_prefix = "amend"

    FIELDS = [
        ("notes", _("回访记录说明")),
        ("problem_handling", _("问题处理情况")),
        ("feedback_date", _("反馈日期")),
        ("answers", _("回答")),
        ("other", _("其他")),
    ]
    field = forms.ChoiceField(label=_("更正项目"), choices=FIELDS)
    value = forms.CharField(label=_("更正后内容"), widget=forms.Textarea(attrs={"rows": 3}))
    reason = forms.CharField(label=_("更正原因"), widget=forms.Textarea(attrs={"rows": 2}))

    def changes(self) -> dict[str, Any]:
        return {self.cleaned_data["field"]: self.cleaned_data["value"]}


class ReviewDecisionForm(WorkbenchForm):
    """REV-1: pass the record, or send findings back to the agent."""

    id_prefix = "decision"

    OUTCOMES = [("passed", _("复核通过")), ("findings", _("发现问题,退回回访人"))]
    outcome = forms.ChoiceField(label=_("复核结论"), choices=OUTCOMES, widget=forms.RadioSelect)
    findings = forms.CharField(
        label=_("复核意见"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("outcome") == "findings" and not (data.get("findings") or "").strip():
            self.add_error("findings", _("退回时请填写复核意见。"))
        return data


class UnreachableDecisionForm(WorkbenchForm):
    """EXE-3: approve or reject an unreachable closure."""

    id_prefix = "unreachable"

    approve = forms.TypedChoiceField(
        label=_("审批结论"), choices=[("1", _("批准无法联系结案")), ("0", _("不批准结案"))],
        coerce=lambda value: value == "1", widget=forms.RadioSelect,
    )  # fmt: skip
    findings = forms.CharField(
        label=_("意见"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CorrectionDoneForm(WorkbenchForm):
    id_prefix = "correction"
    note = forms.CharField(label=_("更正说明"), widget=forms.Textarea(attrs={"rows": 2}))


# ---------------------------------------------------------------- the questionnaire


@dataclass
class ItemField:
    """One questionnaire item on screen with its current answer (EXE-4)."""

    item: dict[str, Any]
    name: str
    note_name: str
    value: Any
    note: str

    @property
    def kind(self) -> str:
        return str(self.item.get("type", "text"))

    @property
    def options(self) -> list[tuple[str, str]]:
        """``(value, label)`` pairs of a choice or score item."""
        pairs = []
        for option in self.item.get("options") or []:
            if isinstance(option, dict):
                value = option.get("value", option.get("id", option.get("label")))
                pairs.append((str(value), str(option.get("label", value))))
            else:
                pairs.append((str(option), str(option)))
        if not pairs and self.kind == "score":
            low, high = int(self.item.get("min", 1)), int(self.item.get("max", 5))
            pairs = [(str(n), str(n)) for n in range(low, high + 1)]
        return pairs

    @property
    def value_text(self) -> str:
        if isinstance(self.value, list):
            return "、".join(map(str, self.value))
        return "" if self.value is None else str(self.value)

    @property
    def selected(self) -> list[str]:
        """The chosen values as text (one, or several for a multiple choice)."""
        if isinstance(self.value, list):
            return [str(v) for v in self.value]
        return [] if self.value in (None, "") else [str(self.value)]

    @property
    def label(self) -> str:
        """The stored value in the words of the form (一致/不一致, 是/否, or the value itself)."""
        words = {"matches": _("一致"), "differs": _("不一致"), "yes": _("是"), "no": _("否")}
        if isinstance(self.value, bool):
            return str(words["yes"] if self.value else words["no"])
        if self.kind == "text":
            return self.value_text
        return str(words.get(self.value_text, self.value_text))


@dataclass
class SectionForm:
    """One record section: a purpose's questionnaire, or the general F1/F2 section."""

    section: Section
    title: str
    groups: list[tuple[str, list[ItemField]]] = field(default_factory=list)


def _items(definition: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    return [
        (str(group.get("title", "")), list(group.get("items") or []))
        for group in definition.get("sections") or []
    ]


def section_forms(record: Record, data: QueryDict | None = None) -> list[SectionForm]:
    """The record's sections as forms, filled from ``data`` (a refused save) or the stored answers."""
    result = []
    for section in record.sections.select_related("questionnaire", "purpose").order_by(
        "position", "id"
    ):
        questionnaire = section.questionnaire
        purpose = section.purpose
        title = f"{questionnaire.code} {questionnaire.title}"
        if purpose is not None:
            title = f"{purpose.rule_code} · {title}"
        form = SectionForm(section, title)
        for group_title, items in _items(questionnaire.definition):
            fields = []
            for item in items:
                name, note_name = f"a-{section.pk}-{item['id']}", f"n-{section.pk}-{item['id']}"
                stored = section.answers.get(item["id"]) if section.answers else None
                if data is not None:
                    value: Any = data.getlist(name) if item.get("multiple") else data.get(name, "")
                    note = data.get(note_name, "")
                else:
                    value = answer_value(section.answers or {}, item["id"])
                    note = stored.get("note", "") if isinstance(stored, dict) else ""
                fields.append(ItemField(item, name, note_name, value, note or ""))
            form.groups.append((group_title, fields))
        result.append(form)
    return result


def parse_answers(record: Record, data: QueryDict) -> dict[int, dict[str, dict[str, Any] | None]]:
    """``{section_id: {item_id: {"value", "note"} | None}}`` from the posted form.

    An item left blank is sent as ``None``: the service clears it (a cleared answer
    must not survive from an earlier save).
    """
    answers: dict[int, dict[str, dict[str, Any] | None]] = {}
    for form in section_forms(record, data):
        section_answers: dict[str, dict[str, Any] | None] = {}
        for _title, fields in form.groups:
            for item in fields:
                value = _typed(item, item.value)
                note = str(item.note).strip()
                if value in ("", []) and not note:
                    section_answers[str(item.item["id"])] = None
                    continue
                entry: dict[str, Any] = {"value": value}
                if note:
                    entry["note"] = note
                section_answers[str(item.item["id"])] = entry
        answers[form.section.pk] = section_answers
    return answers


def _typed(item: ItemField, value: Any) -> Any:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    value = str(value).strip()
    if item.kind == "score" and value.lstrip("-").isdigit():
        return int(value)
    return value


@dataclass
class FindingRow:
    kind: str = ""
    category: str = ""
    text: str = ""
    purpose_id: str = ""


def finding_rows(record: Record, data: QueryDict | None = None) -> list[FindingRow]:
    """The findings on screen (EXE-4): the posted rows, or the stored ones plus blank rows."""
    if data is not None:
        rows = [
            FindingRow(kind, category, text, purpose)
            for kind, category, text, purpose in zip(
                data.getlist("finding_kind"),
                data.getlist("finding_category"),
                data.getlist("finding_text"),
                data.getlist("finding_purpose"),
                strict=False,
            )  # fmt: skip
        ]
    else:
        rows = [
            FindingRow(f.kind, f.category, f.text, str(f.purpose_id or ""))
            for f in record.findings.all()
        ]
    return rows + [FindingRow() for _ in range(BLANK_FINDINGS)]


def parse_findings(data: QueryDict) -> list[dict[str, Any]]:
    """``[{"kind","category","text","purpose_id"?}]``: rows with a text; unknown codes kept for
    the service to refuse."""
    findings = []
    for row in finding_rows(Record(), data):
        if not row.text.strip():
            continue
        finding: dict[str, Any] = {
            "kind": row.kind or FindingKind.PROBLEM,
            "category": row.category or FindingCategory.OTHER,
            "text": row.text.strip(),
        }
        if row.purpose_id.isdigit():
            finding["purpose_id"] = int(row.purpose_id)
        findings.append(finding)
    return findings


# ---------------------------------------------------------------- reassignment


def eligible_staff(task: Task) -> Any:
    """Active staff of the task's unit (the call center for company tasks) in the task's pool,
    without a CON-1/CON-2/CON-6 conflict (the service re-checks on reassigning)."""
    day = clock.today()
    position = Position.SERVICE if task.kind == TaskKind.SERVICE else Position.AGENT
    staff = Staff.objects.active(on=day).filter(position=position).select_related("unit")
    if task.level == Level.COMPANY:
        staff = staff.filter(unit__unit_kind=UnitKind.CALL_CENTER)
    else:
        staff = staff.filter(unit_id=task.branch_id)
    rules = Constraints.of(version_in_force(on=day))
    client = task.client
    rel = (
        Relations(client.pk, client.introducer_id, client.broker_id, client.adviser_id)
        if client is not None
        else Relations("", None, None, None)
    )
    ok = []
    for member in staff[:500]:
        facts = StaffFacts(
            member.pk, member.unit_id, member.unit.unit_kind, member.position, member.client_id,
            member.leave_date,
        )  # fmt: skip
        problems, _proof = assignment_problems(task=task, staff=facts, rel=rel, rules=rules, on=day)
        if not problems:
            ok.append(member.pk)
    return Staff.objects.filter(pk__in=ok).order_by("staff_id")
