"""The issue screens (SPEC §7): department inbox, issue page with its clock, register, routing
table, the branch's list.

Views are thin: role check (403), scope (404 outside it, through ``visible_to``), parse
a form, call ONE service, render. An ``IssueRefused`` is shown as its Chinese reasons
with the page as it stands. Pages may carry client data, so none is cached.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huifang.accounts.permissions import user_has_role
from huifang.clients.models import Client
from huifang.core import clock
from huifang.core.scope import get_visible_or_404
from huifang.core.views import RoleView
from huifang.issues import access, selectors, services
from huifang.issues.choices import FEEDBACK_STEPS, IssueStatus, Source, StepKind
from huifang.issues.errors import IssueRefused
from huifang.issues.forms import (
    IssueAnswerForm,
    IssueCloseForm,
    IssueFeedbackForm,
    IssueReassignForm,
    IssueRegisterForm,
    IssueRouteForm,
    RoutingRuleForm,
    departments,
)
from huifang.issues.models import Issue, RoutingRule
from huifang.org.choices import UnitKind
from huifang.org.models import Staff, Unit
from huifang.workbench.actors import Actor
from huifang.workbench.choices import FindingCategory

PAGE_SIZE = 50


IssuesView = RoleView  # signed in, one of ``roles``, grants read once (core.views)


def _issue(request: HttpRequest, pk: int) -> Issue:
    issues = Issue.objects.select_related(*selectors.RELATED)
    return get_visible_or_404(issues, request.user, pk=pk)


# ---------------------------------------------------------------- lists


class IssueListView(IssuesView):
    """问题与投诉: the issues of the user's scope (a branch sees its own, HQ all)."""

    roles = access.LISTERS

    def get(self, request: HttpRequest) -> HttpResponse:
        status = request.GET.get("status", "open")
        source = request.GET.get("source", "")
        source = source if source in Source.values else ""
        issues = selectors.issue_list(user=request.user, status=status, source=source)
        page = Paginator(issues, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {
            "page": page,
            "rows": selectors.rows(page.object_list, clock.today()),
            "status": status,
            "source": source,
            "statuses": [("open", _("未办结")), *IssueStatus.choices, ("all", _("全部"))],
            "sources": Source.choices,
            "can_register": user_has_role(request.user, *access.REGISTRARS),
        }
        return render(request, "issues/list.html", context)


class IssueInboxView(IssuesView):
    """部门待办: issues routed to the user's department (ISS-2); compliance also sees the
    unrouted ones (ISS-1) and those escalated to it (ISS-5)."""

    roles = access.INBOX

    def get(self, request: HttpRequest) -> HttpResponse:
        today = clock.today()
        units = access.department_units(request.user)
        compliance = user_has_role(request.user, *access.ROUTERS)
        context: dict[str, Any] = {
            "units": Unit.objects.filter(code__in=sorted(units)),
            "rows": selectors.rows(selectors.inbox(user=request.user)[:200], today),
            "compliance": compliance,
            "unrouted": (
                selectors.rows(selectors.unrouted(user=request.user)[:200], today)
                if compliance
                else []
            ),
            "escalated": (
                selectors.rows(selectors.escalated(user=request.user, level=2)[:200], today)
                if compliance
                else []
            ),
            "today": today,
        }
        return render(request, "issues/inbox.html", context)


# ---------------------------------------------------------------- the issue page


class IssueDetailView(IssuesView):
    """One issue: its clock (due dates, working days left), steps and the forms the user may use."""

    roles = access.LISTERS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.page(request, _issue(request, pk))

    def page(
        self, request: HttpRequest, issue: Issue, *, errors: list[str] | None = None,
        status: int = 200, **forms: Any,
    ) -> HttpResponse:  # fmt: skip
        issue.refresh_from_db()
        user = request.user
        done = services.done_feedback(issue)
        feedback_open = issue.status in (IssueStatus.ANSWERED, IssueStatus.FEEDBACK)
        steps_left = [
            (s, StepKind(s).label)
            for s in FEEDBACK_STEPS
            if s not in done and feedback_open and user_has_role(user, *services.feedback_roles(s))
        ]
        context: dict[str, Any] = {
            "issue": issue,
            "clocks": selectors.clocks(issue, clock.today()),
            "steps": issue.steps.select_related("staff").order_by("at", "id"),
            "feedback_done": [(s, StepKind(s).label, s in done) for s in FEEDBACK_STEPS],
            "can_answer": issue.status == IssueStatus.ROUTED
            and issue.department_id in access.department_units(user),
            "feedback_steps": steps_left,
            "can_close": issue.status == IssueStatus.FEEDBACK
            and len(done) == len(FEEDBACK_STEPS)
            and user_has_role(user, *access.CLOSERS),
            "can_route": issue.status in (IssueStatus.OPEN, IssueStatus.ROUTED)
            and user_has_role(user, *access.ROUTERS),
            "can_reassign": issue.owner_id is not None
            and issue.answered_at is not None
            and not issue.is_closed
            and services.may_reassign(issue, user),
            "answer_form": IssueAnswerForm(),
            "close_form": IssueCloseForm(),
            "route_form": IssueRouteForm(),
            "reassign_form": IssueReassignForm(),
            "errors": errors or [],
        }
        context.update(forms)
        return render(request, "issues/detail.html", context, status=status)


class IssueActionView(IssuesView):
    """A POST on one issue: parse the form, call the service, back to the issue page."""

    http_method_names = ["post"]
    roles: tuple[str, ...] = access.LISTERS
    form_class: type[Any] = IssueCloseForm
    form_name = ""
    done_message: Any = ""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        issue = _issue(request, pk)
        form = self.form_class(request.POST)
        detail = IssueDetailView()
        if not form.is_valid():
            return detail.page(request, issue, errors=[_("请检查填写的内容")], status=400,
                               **{self.form_name: form} if self.form_name else {})  # fmt: skip
        try:
            self.act(issue, self.actor(request), form.cleaned_data)
        except IssueRefused as exc:
            return detail.page(request, issue, errors=[str(r) for r in exc.reasons],
                               status=exc.status)  # fmt: skip
        messages.success(request, self.done_message)
        return redirect("issues:detail", pk=issue.pk)

    def act(self, issue: Issue, actor: Actor, data: dict[str, Any]) -> None:
        raise NotImplementedError


class IssueAnswerView(IssueActionView):
    """ISS-2: the routed department answers."""

    form_class, form_name = IssueAnswerForm, "answer_form"
    done_message = gettext_lazy("已答复。")

    def act(self, issue: Issue, actor: Actor, data: dict[str, Any]) -> None:
        services.answer(issue=issue, actor=actor, text=data["text"])


class IssueFeedbackView(IssueActionView):
    """ISS-3: the answer went back to the branch leader, the agent or the client."""

    form_class = IssueFeedbackForm
    done_message = gettext_lazy("已登记反馈。")

    def act(self, issue: Issue, actor: Actor, data: dict[str, Any]) -> None:
        services.feedback(issue=issue, actor=actor, step=data["step"], note=data["note"])


class IssueCloseView(IssueActionView):
    """ISS-4: close the loop (complaints get their CMP-1 follow-up)."""

    form_class, form_name = IssueCloseForm, "close_form"
    done_message = gettext_lazy("已办结。")

    def act(self, issue: Issue, actor: Actor, data: dict[str, Any]) -> None:
        services.close(issue=issue, actor=actor, note=data["note"])


class IssueRouteView(IssueActionView):
    """ISS-1: compliance routes an unrouted issue, or reroutes one not yet answered."""

    form_class, form_name = IssueRouteForm, "route_form"
    roles = access.ROUTERS
    done_message = gettext_lazy("已分派。")

    def act(self, issue: Issue, actor: Actor, data: dict[str, Any]) -> None:
        services.route(issue=issue, actor=actor, department=data["department"])


class IssueReassignView(IssueActionView):
    """ISS-6: an answered issue may pass to another staff member (首问负责制 until then)."""

    form_class, form_name = IssueReassignForm, "reassign_form"
    done_message = gettext_lazy("已转交。")

    def act(self, issue: Issue, actor: Actor, data: dict[str, Any]) -> None:
        # only staff the reader may see: another branch's staff id answers as unknown
        staff = Staff.objects.visible_to(actor.user).filter(pk=data["staff_id"].strip()).first()
        if staff is None:
            raise IssueRefused("invalid", _("员工号不存在"), status=400)
        services.reassign_owner(issue=issue, to_staff=staff, actor=actor)


# ---------------------------------------------------------------- register (ISS-6)


class IssueRegisterView(IssuesView):
    """登记投诉/咨询: from any channel, by branch or head-office staff (ISS-6)."""

    roles = access.REGISTRARS

    def branches(self, request: HttpRequest) -> Any:
        return Unit.objects.visible_to(request.user).filter(unit_kind=UnitKind.BRANCH)

    def get(self, request: HttpRequest) -> HttpResponse:
        form = IssueRegisterForm(branches=self.branches(request))
        return self.page(request, form)

    def page(
        self, request: HttpRequest, form: IssueRegisterForm, errors: list[str] | None = None,
        status: int = 200,
    ) -> HttpResponse:  # fmt: skip
        context = {"form": form, "errors": errors or []}
        return render(request, "issues/register.html", context, status=status)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = IssueRegisterForm(request.POST, branches=self.branches(request))
        if not form.is_valid():
            return self.page(request, form, [_("请检查填写的内容")], status=400)
        data = form.cleaned_data
        client = None
        if data["client_id"].strip():
            client = (
                Client.objects.visible_to(request.user).filter(pk=data["client_id"].strip()).first()
            )
            if client is None:
                return self.page(request, form, [_("客户号不存在或不在您的数据范围内")], 404)
        registration = services.Registration(
            source=data["source"], channel=data["channel"], category=data["category"],
            summary=data["summary"], client=client, branch=data["branch"], major=data["major"],
        )  # fmt: skip
        try:
            issue = services.register(registration=registration, actor=self.actor(request))
        except IssueRefused as exc:
            return self.page(request, form, [str(r) for r in exc.reasons], exc.status)
        messages.success(request, _("已登记 %(number)s。") % {"number": issue.number})
        return redirect("issues:detail", pk=issue.pk)


# ---------------------------------------------------------------- routing table (ISS-1)


class RoutingView(IssuesView):
    """分派规则: category → functional department; compliance edits it, each change audited."""

    roles = access.ROUTING_VIEWERS

    def page(
        self, request: HttpRequest, *, form: RoutingRuleForm | None = None,
        errors: list[str] | None = None, status: int = 200,
    ) -> HttpResponse:  # fmt: skip
        rules = {rule.category: rule for rule in RoutingRule.objects.all()}
        units = {unit.code: unit for unit in departments()}
        table = [
            (code, label, rules.get(code), units.get(rules[code].department_id) if code in rules
             else None)
            for code, label in FindingCategory.choices
        ]  # fmt: skip
        context = {
            "table": table,
            "can_edit": user_has_role(request.user, *access.ROUTERS),
            "form": form or RoutingRuleForm(),
            "errors": errors or [],
        }
        return render(request, "issues/routing.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        if not user_has_role(request.user, *access.ROUTERS):
            raise PermissionDenied
        form = RoutingRuleForm(request.POST)
        if not form.is_valid():
            return self.page(request, form=form, errors=[_("请检查填写的内容")], status=400)
        try:
            services.routing_set(
                category=form.cleaned_data["category"],
                department=form.cleaned_data["department"],
                actor=self.actor(request),
            )
        except IssueRefused as exc:
            return self.page(request, form=form, errors=[str(r) for r in exc.reasons],
                             status=exc.status)  # fmt: skip
        messages.success(request, _("分派规则已更新。"))
        return redirect("issues:routing")
