"""Forms of the policy pages: drafting, editing a rule, approving."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _


class VersionDraftForm(forms.Form):
    """A new draft: its effective date and the reason for the revision."""

    effective_from = forms.DateField(
        label=_("生效日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(
        label=_("修订理由"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class RuleEditForm(forms.Form):
    """A draft rule: enabled, and its parameters as JSON (validated by the rule kind)."""

    enabled = forms.BooleanField(label=_("启用"), required=False)
    params = forms.CharField(
        label=_("参数（JSON）"), widget=forms.Textarea(attrs={"rows": 24, "class": "mono"})
    )

    def clean_params(self) -> Any:
        try:
            return json.loads(self.cleaned_data["params"])
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                _("不是有效的 JSON：第 %(line)s 行第 %(col)s 列"),
                params={"line": error.lineno, "col": error.colno},
            ) from None


class VersionApproveForm(forms.Form):
    """Approval by a second compliance user; CLS-5 may ask for an override reason."""

    note = forms.CharField(label=_("批准意见"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip
    override_reason = forms.CharField(
        label=_("分类标准超限调整理由（CLS-5）"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
