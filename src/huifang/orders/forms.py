"""Forms of the order screens: the order, its targets (list, filter, MRG-8 staff), scorecards."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huifang.callbacks.choices import Level, TaskKind
from huifang.clients.choices import ClientType
from huifang.orders import rules
from huifang.orders.choices import OrderRule, OrderStatus
from huifang.orders.services import MAX_PER_STAFF, OrderFields, TargetFilter
from huifang.orders.uploads import MAX_UPLOAD_BYTES
from huifang.org.models import Staff, Unit
from huifang.workbench.choices import Method

ANY = ("", _("全部"))
BY_RULE = ("", _("按规则"))
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _text(label: Any, rows: int = 2) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": rows})
    )


class OrderForm(forms.Form):
    """A draft order: rule, title, department, dates, method and the PLAN-1 / SPC-1 parts."""

    rule_code = forms.ChoiceField(label=_("规则"), choices=OrderRule.choices)
    title = forms.CharField(label=_("名称"), max_length=200)
    ordered_by_unit = forms.ChoiceField(label=_("下达部门"))
    starts_on = forms.DateField(label=_("开始日期"), widget=DATE)
    ends_on = forms.DateField(label=_("结束日期"), widget=DATE)
    level = forms.ChoiceField(label=_("级别"), required=False, choices=[BY_RULE, *Level.choices])
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=[BY_RULE, *TaskKind.choices])
    method = forms.ChoiceField(
        label=_("回访方式"), required=False, choices=[("", _("不限")), *Method.choices]
    )
    questionnaire_code = forms.ChoiceField(label=_("问卷(回访计划可选)"), required=False)
    scope = _text(_("回访范围"))
    planned_count = forms.IntegerField(
        label=_("计划回访数量"), required=False, min_value=1, max_value=1_000_000
    )
    content = _text(_("回访内容"), 3)
    purpose = _text(_("回访目的"))
    result_handling = _text(_("结果处理"))
    questions = forms.CharField(
        label=_("专项问题(仅专项回访)"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": _(
            "每行一题,可加类型前缀:\n是否：近期是否收到佣金调整通知？\n评分：对调整说明是否满意\n"
            "选择：获知渠道|短信/电话/营业部\n核对：联系地址\n(无前缀为文字题)")}),
    )  # fmt: skip

    def __init__(
        self, *args: Any, units: Iterable[Unit], questionnaires: Iterable[str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._units = {unit.code: unit for unit in units}
        field = self.fields["ordered_by_unit"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(u.code, f"{u.code} {u.name}") for u in self._units.values()]
        chosen = self.fields["questionnaire_code"]
        assert isinstance(chosen, forms.ChoiceField)
        chosen.choices = [BY_RULE, *((code, code) for code in questionnaires)]

    MAIN = ("rule_code", "title", "ordered_by_unit", "starts_on", "ends_on", "level", "kind",
            "method", "questionnaire_code", "planned_count")  # fmt: skip
    PLAN = ("scope", "content", "purpose", "result_handling")

    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.MAIN]

    def plan_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.PLAN]

    def clean_questions(self) -> list[dict[str, Any]]:
        items, problems = rules.parse_questions(self.cleaned_data.get("questions") or "")
        if problems:
            raise forms.ValidationError(problems)
        return items

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("starts_on"), data.get("ends_on")
        if start and end and end < start:
            self.add_error("ends_on", _("结束日期早于开始日期"))
        return data

    def draft_fields(self) -> OrderFields:
        data = self.cleaned_data
        return OrderFields(
            rule_code=data["rule_code"], title=data["title"],
            ordered_by_unit=self._units[data["ordered_by_unit"]], starts_on=data["starts_on"],
            ends_on=data["ends_on"], level=data["level"], kind=data["kind"],
            method=data["method"], scope=data["scope"], planned_count=data["planned_count"],
            content=data["content"], purpose=data["purpose"],
            result_handling=data["result_handling"], questions=data["questions"],
            questionnaire_code=data["questionnaire_code"],
        )  # fmt: skip


def initial_of(order: Any) -> dict[str, Any]:
    """The form's values of a draft (questions back as lines)."""
    names = ("rule_code", "title", "starts_on", "ends_on", "level", "kind", "method", "scope",
             "planned_count", "content", "purpose", "result_handling", "questionnaire_code")  # fmt: skip
    initial = {name: getattr(order, name) for name in names}
    initial["ordered_by_unit"] = order.ordered_by_unit_id
    initial["questions"] = rules.questions_text(order.questions)
    return initial


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"), required=False, choices=[ANY, *OrderStatus.choices])
    rule = forms.ChoiceField(label=_("规则"), required=False, choices=[ANY, *OrderRule.choices])


class UploadForm(forms.Form):
    """A CSV or XLSX of client ids, one per line (a header row may lead)."""

    file = forms.FileField(label=_("客户名单(CSV 或 XLSX)"))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件超过 2 MB"))
        return upload


class TargetFilterForm(forms.Form):
    """Targets by branch, class (CLS-1) and client type."""

    branches = forms.MultipleChoiceField(
        label=_("营业部"), required=False, widget=forms.SelectMultiple(attrs={"size": 6})
    )
    class_code = forms.ChoiceField(label=_("客户分类"), required=False)
    client_type = forms.ChoiceField(
        label=_("客户类型"), required=False, choices=[ANY, *ClientType.choices]
    )

    def __init__(
        self, *args: Any, branches: Iterable[Unit], classes: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        units = self.fields["branches"]
        assert isinstance(units, forms.MultipleChoiceField)
        units.choices = [(b.code, f"{b.code} {b.name}") for b in branches]
        classes_field = self.fields["class_code"]
        assert isinstance(classes_field, forms.ChoiceField)
        classes_field.choices = [ANY, *classes.items()]

    def criteria(self) -> TargetFilter:
        data = self.cleaned_data
        return TargetFilter(tuple(data["branches"]), data["class_code"], data["client_type"])


class StaffPlanForm(forms.Form):
    """MRG-8: the service staff to rate and how many of each one's margin clients to call."""

    staff = forms.MultipleChoiceField(
        label=_("被评价的客户服务人员"), widget=forms.SelectMultiple(attrs={"size": 8})
    )
    per_staff = forms.IntegerField(
        label=_("每人抽取客户数"), min_value=1, max_value=MAX_PER_STAFF, initial=3
    )

    def __init__(self, *args: Any, staff: Iterable[Staff], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["staff"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(s.staff_id, f"{s.staff_id} {s.name}({s.unit_id})") for s in staff]


class ScorecardForm(forms.Form):
    start = forms.DateField(label=_("回访日期自"), widget=DATE)
    end = forms.DateField(label=_("回访日期至"), widget=DATE)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("结束日期早于开始日期"))
        return data

    @staticmethod
    def default(today: dt.date) -> dict[str, dt.date]:
        return {"start": today.replace(month=1, day=1), "end": today}
