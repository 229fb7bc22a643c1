"""Filters of the reports and of the ledger (RPT-1, RPT-2): plain Django forms over GET."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huifang.core import clock
from huifang.org.models import Unit
from huifang.reports.ledger import RESULTS, LedgerFilters
from huifang.workbench.choices import Method

ANY = ("", _("全部"))
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PeriodForm(forms.Form):
    """营业部 and 期间 of a report; the branch choices are the reader's branches."""

    branch = forms.ChoiceField(label=_("营业部"), required=False)
    start = forms.DateField(label=_("起始日期"), required=False, widget=DATE)
    end = forms.DateField(label=_("截止日期"), required=False, widget=DATE)

    def __init__(self, *args: Any, branches: Iterable[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [ANY, *((unit.code, f"{unit.code} {unit.name}") for unit in branches)]
        self.fields["branch"].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("截止日期早于起始日期"))
        return data

    def data_or_empty(self) -> dict[str, Any]:
        return self.cleaned_data if self.is_bound and self.is_valid() else {}

    def period(self) -> tuple[dt.date, dt.date]:
        """The period asked for: without an end, today (or the start, if later); without a
        start, the first day of the end's month; this month so far for a bad form."""
        data = self.data_or_empty()
        start, end = data.get("start"), data.get("end")
        if end is None:
            end = max(clock.today(), start) if start else clock.today()
        return start or end.replace(day=1), end


class LedgerFilterForm(PeriodForm):
    """回访台账 filters (RPT-1): branch, period, rule, method, result, agent."""

    rule = forms.ChoiceField(label=_("规则"), required=False)
    method = forms.ChoiceField(label=_("回访方式"), required=False, choices=[ANY, *Method.choices])
    result = forms.ChoiceField(label=_("回访结果"), required=False, choices=[ANY, *RESULTS])
    agent = forms.CharField(
        label=_("回访人"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"placeholder": _("员工号")}),
    )

    def __init__(self, *args: Any, rules: Iterable[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rule"].choices = [ANY, *((code, code) for code in rules)]  # type: ignore[attr-defined]
        self.fields["start"].label = _("回访日期自")
        self.fields["end"].label = _("回访日期至")

    def filters(self) -> LedgerFilters:
        """The filters given; none when the form is invalid (the page says so)."""
        data = self.data_or_empty()
        return LedgerFilters(
            branch=data.get("branch", ""),
            start=data.get("start"),
            end=data.get("end"),
            rule=data.get("rule", ""),
            method=data.get("method", ""),
            result=data.get("result", ""),
            agent=(data.get("agent") or "").strip(),
        )
