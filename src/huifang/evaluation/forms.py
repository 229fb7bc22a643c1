"""Forms of the closing and evaluation screens (REV-3, REV-4)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ClosingSubmitForm(forms.Form):
    """REV-3: submit (or, with a reason, correct) one branch's month."""

    branch = forms.CharField(max_length=32, widget=forms.HiddenInput)
    month = forms.RegexField(regex=r"^\d{4}-(0[1-9]|1[0-2])$", widget=forms.HiddenInput)
    correction = forms.BooleanField(required=False, widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("说明"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class PeriodForm(forms.Form):
    """REV-4: an evaluation period such as 2026, 2026-H1, 2026-Q3 or 2026-09."""

    period = forms.RegexField(
        label=_("考核期间"), regex=r"^\d{4}(-(H[12]|Q[1-4]|0[1-9]|1[0-2]))?$", max_length=16,
        help_text=_("如 2026、2026-H1、2026-Q3、2026-09"),
    )  # fmt: skip


class MonthForm(forms.Form):
    month = forms.RegexField(label=_("月份"), regex=r"^\d{4}-(0[1-9]|1[0-2])$", required=False,
                             widget=forms.TextInput(attrs={"placeholder": "YYYY-MM"}))  # fmt: skip
