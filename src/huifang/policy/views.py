"""Policy pages: versions, a version's rules, the side-by-side diff, drafting and approval.

Every signed-in user may read the policy (the UI cites it everywhere); only
compliance drafts, edits and approves, through ``policy.services``.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from huifang.accounts.choices import Role
from huifang.accounts.permissions import user_has_role
from huifang.core import clock
from huifang.policy import diff
from huifang.policy.forms import RuleEditForm, VersionApproveForm, VersionDraftForm
from huifang.policy.models import PolicyVersion, Rule
from huifang.policy.selectors import (
    rule_documents,
    rule_views,
    version_detail,
    version_in_force_or_none,
    version_list,
    version_state,
)
from huifang.policy.services import (
    policy_rule_update,
    policy_version_approve,
    policy_version_discard,
    policy_version_draft,
    policy_version_update,
)


def _is_compliance(request: HttpRequest) -> bool:
    return user_has_role(request.user, Role.COMPLIANCE)


def _errors(error: ValidationError) -> list[str]:
    return [str(m) for m in error.messages]


class PolicyIndexView(LoginRequiredMixin, View):
    """制度版本: every version with its state; compliance drafts a new one from here."""

    def get(self, request: HttpRequest) -> HttpResponse:
        rows = version_list()
        in_force = next((row.version for row in rows if row.state == "in_force"), None)
        context = {
            "rows": rows,
            "in_force": in_force,
            "can_draft": _is_compliance(request) and in_force is not None,
            "draft_form": VersionDraftForm(initial={"effective_from": clock.today()}),
        }
        return render(request, "policy/index.html", context)


class PolicyVersionDetailView(LoginRequiredMixin, View):
    """One version: its rules with SPEC IDs and seed citations, and the approval form."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.page(request, version_detail(pk=pk))

    def page(self, request: HttpRequest, version: PolicyVersion, **extra: Any) -> HttpResponse:
        today = clock.today()
        in_force = version_in_force_or_none(on=today)
        compliance = _is_compliance(request)
        own = version.author_user_id == request.user.pk
        context = {
            "version": version,
            "state": version_state(version, in_force=in_force, today=today),
            "rules": rule_views(version),
            "can_edit": compliance and version.is_draft,
            "can_approve": compliance and version.is_draft and not own,
            "own_draft": compliance and version.is_draft and own,
            "approve_form": VersionApproveForm(),
            "edit_form": VersionDraftForm(
                initial={"effective_from": version.effective_from, "reason": version.reason}
            ),
            "problems": [],
            **extra,
        }
        return render(
            request,
            "policy/version_detail.html",
            context,
            status=400 if context["problems"] else 200,
        )


class PolicyVersionDiffView(LoginRequiredMixin, View):
    """A version side by side with the version in force (or the one it was based on)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = version_detail(pk=pk)
        other = version_in_force_or_none()
        if other is None or other.pk == version.pk:
            other = version.based_on
        diffs = diff.version_diff(rule_documents(other) if other else [], rule_documents(version))
        context = {
            "version": version,
            "other": other,
            "diffs": [d for d in diffs if d.status != "same"],
            "same": [d for d in diffs if d.status == "same"],
        }
        return render(request, "policy/version_diff.html", context)


class _ComplianceAction(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not _is_compliance(request):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class PolicyVersionDraftView(_ComplianceAction):
    """起草新版本: a copy of the version's rules, to edit before approval."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        base = version_detail(pk=pk)
        form = VersionDraftForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("请填写生效日期和修订理由。"))
            return redirect("policy:index")
        draft = policy_version_draft(base=base, author=request.user, **form.cleaned_data)
        messages.success(request, _("已起草第 %(n)s 版。") % {"n": draft.number})
        return redirect("policy:version", pk=draft.pk)


class PolicyVersionEditView(_ComplianceAction):
    """A draft's effective date and reason."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = version_detail(pk=pk)
        form = VersionDraftForm(request.POST)
        if not form.is_valid():
            return PolicyVersionDetailView().page(
                request, version, edit_form=form, problems=[_("请检查表单。")]
            )
        try:
            policy_version_update(version=version, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            return PolicyVersionDetailView().page(request, version, problems=_errors(error))
        messages.success(request, _("已保存。"))
        return redirect("policy:version", pk=version.pk)


class PolicyVersionApproveView(_ComplianceAction):
    """批准: by a compliance user who is not the author; effective on its date (CLS-5)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = version_detail(pk=pk)
        form = VersionApproveForm(request.POST)
        form.is_valid()
        try:
            policy_version_approve(
                version=version,
                approver=request.user,
                note=form.cleaned_data.get("note", ""),
                override_reason=form.cleaned_data.get("override_reason", ""),
            )
        except ValidationError as error:
            return PolicyVersionDetailView().page(
                request, version, approve_form=form, problems=_errors(error)
            )
        messages.success(request, _("第 %(n)s 版已批准，自 %(day)s 起生效。") % {
            "n": version.number, "day": version.effective_from.isoformat()})  # fmt: skip
        return redirect("policy:version", pk=version.pk)


class PolicyVersionDiscardView(_ComplianceAction):
    """Delete a draft."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        version = version_detail(pk=pk)
        try:
            policy_version_discard(version=version, actor=request.user)
        except ValidationError as error:
            return PolicyVersionDetailView().page(request, version, problems=_errors(error))
        messages.success(request, _("草稿已删除。"))
        return redirect("policy:index")


class PolicyRuleEditView(LoginRequiredMixin, View):
    """A draft rule's parameters as JSON, validated by its kind's schema."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated and not _is_compliance(request):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def _rule(self, pk: int) -> Rule:
        return get_object_or_404(Rule.objects.select_related("version"), pk=pk)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = self._rule(pk)
        initial = {
            "enabled": rule.enabled,
            "params": json.dumps(rule.params, ensure_ascii=False, indent=1),
        }
        return self.page(request, rule, RuleEditForm(initial=initial))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = self._rule(pk)
        form = RuleEditForm(request.POST)
        if not form.is_valid():
            return self.page(request, rule, form, status=400)
        try:
            policy_rule_update(rule=rule, actor=request.user, params=form.cleaned_data["params"],
                               enabled=form.cleaned_data["enabled"])  # fmt: skip
        except ValidationError as error:
            return self.page(request, rule, form, problems=_errors(error), status=400)
        messages.success(request, _("规则 %(code)s 已保存。") % {"code": rule.code})
        return redirect("policy:version", pk=rule.version_id)

    def page(
        self, request: HttpRequest, rule: Rule, form: RuleEditForm, *, problems: list[str] | None = None,
        status: int = 200,
    ) -> HttpResponse:  # fmt: skip
        from huifang.policy.kinds import KINDS
        from huifang.policy.rules import citation_text

        kind = KINDS.get(rule.kind)
        context = {
            "rule": rule,
            "form": form,
            "problems": problems or [],
            "kind_title": kind.title if kind else rule.kind,
            "citation": citation_text(rule.spec_id, rule.citation),
            "editable": rule.version.is_draft,
        }
        return render(request, "policy/rule_edit.html", context, status=status)
