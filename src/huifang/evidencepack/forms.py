"""The period of an evidence pack: ``from`` and ``to`` callback dates (NFR-2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from huifang.core import clock


def default_period() -> tuple[dt.date, dt.date]:
    """From the first day of this month to today."""
    today = clock.today()
    return today.replace(day=1), today


def _date_input() -> forms.DateInput:
    """An HTML date input: its value must be ISO, whatever the language's date format."""
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PackPeriodForm(forms.Form):
    """``from`` and ``to`` (names that a Python class body cannot declare, hence ``__init__``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        start, end = default_period()
        self.fields["from"] = forms.DateField(
            label=_("回访日期自"), initial=start, widget=_date_input()
        )
        self.fields["to"] = forms.DateField(
            label=_("回访日期至"), initial=end, widget=_date_input()
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("from"), cleaned.get("to")
        if start and end and start > end:
            raise forms.ValidationError(_("开始日期晚于结束日期"), code="period")
        return cleaned

    def period(self) -> tuple[dt.date, dt.date]:
        return self.cleaned_data["from"], self.cleaned_data["to"]
