"""Forms of the issue screens (SPEC §7): they parse; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from huifang.issues.choices import FEEDBACK_STEPS, Channel, Source, StepKind
from huifang.org.choices import UnitKind
from huifang.org.models import Unit
from huifang.workbench.choices import FindingCategory

REGISTER_SOURCES = [
    (Source.COMPLAINT, Source.COMPLAINT.label),
    (Source.INQUIRY, Source.INQUIRY.label),
]


def departments() -> Any:
    """Head-office units an issue may be routed to (every unit that is not a branch)."""
    return Unit.objects.exclude(unit_kind=UnitKind.BRANCH).order_by("code")


class IssueRegisterForm(forms.Form):
    """ISS-6: a complaint or inquiry from any channel."""

    source = forms.ChoiceField(label=_("类别"), choices=REGISTER_SOURCES)
    channel = forms.ChoiceField(label=_("渠道"), choices=Channel.choices)
    category = forms.ChoiceField(
        label=_("事项分类"), choices=FindingCategory.choices, initial=FindingCategory.COMPLAINT
    )
    client_id = forms.CharField(label=_("客户号"), max_length=32, required=False)
    branch = forms.ModelChoiceField(
        label=_("营业部(无客户号时)"), queryset=Unit.objects.none(), required=False
    )
    major = forms.BooleanField(label=_("重大投诉(由总部回访,CMP-1)"), required=False)
    summary = forms.CharField(
        label=pgettext_lazy("issue", "内容摘要"), widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, branches: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if branches is not None:
            self.fields["branch"].queryset = branches  # type: ignore[attr-defined]


class IssueAnswerForm(forms.Form):
    """ISS-2: the department's answer."""

    text = forms.CharField(label=_("答复内容"), widget=forms.Textarea(attrs={"rows": 4}))


class IssueFeedbackForm(forms.Form):
    """ISS-3: one of the three feedback steps."""

    step = forms.ChoiceField(
        label=_("反馈对象"), choices=[(s, StepKind(s).label) for s in FEEDBACK_STEPS]
    )
    note = forms.CharField(label=_("说明"), max_length=2000, required=False)


class IssueCloseForm(forms.Form):
    note = forms.CharField(label=_("办结说明"), max_length=2000, required=False)


class IssueRouteForm(forms.Form):
    """ISS-1: compliance routes (or reroutes) an issue by hand."""

    department = forms.ModelChoiceField(label=_("职能部门"), queryset=Unit.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments()  # type: ignore[attr-defined]


class IssueReassignForm(forms.Form):
    """ISS-6: hand an answered issue to another staff member."""

    staff_id = forms.CharField(label=_("员工号"), max_length=32)


class RoutingRuleForm(forms.Form):
    """ISS-1: one line of the routing table."""

    category = forms.ChoiceField(label=_("事项分类"), choices=FindingCategory.choices)
    department = forms.ModelChoiceField(label=_("职能部门"), queryset=Unit.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments()  # type: ignore[attr-defined]
