"""Callback screens: plans with coverage, tasks, "why does this task exist?", the STOCK-1 list.

Every read goes through the selectors, which apply the user's data scope: an object
outside it answers 404, a missing role 403. Pages that name clients are private
(never cached). Views parse, call a selector or service, and render.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View

from huifang.accounts.permissions import user_has_role
from huifang.callbacks import selectors
from huifang.callbacks.access import LIST_VIEWERS, LISTING_ROLES, PLAN_VIEWERS, TASK_VIEWERS
from huifang.callbacks.forms import (
    ParsedList,
    PlanFilterForm,
    TaskFilterForm,
    VerificationEntryForm,
    VerificationUploadForm,
)
from huifang.callbacks.verification import (
    ListingRefused,
    sorted_problems,
    verification_list_add,
    verification_rows_check,
)
from huifang.clients.selectors import units_in_scope
from huifang.core import clock
from huifang.core.context_processors import with_grants
from huifang.core.scope import get_visible_or_404
from huifang.core.views import paginate, private_page, query_without_page, user_with_roles
from huifang.org.choices import UnitKind
from huifang.org.models import Unit

MEMBER_PAGE_SIZE = 100
# Stored data, in Chinese whatever the interface language (like the audited reasons).
SCREEN_SOURCE = "页面录入"


@method_decorator(private_page, name="dispatch")
class PlanListView(LoginRequiredMixin, View):
    """回访计划: plans per rule and period with their coverage so far (SPEC §12, CON-7, CON-8)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = user_with_roles(request, *PLAN_VIEWERS)
        form = PlanFilterForm(
            request.GET or None,
            rules=selectors.obligation_rule_codes(),
            branches=units_in_scope(user=user),
        )
        filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
        plans = selectors.plan_list(user=user, filters=filters)
        page = paginate(request, plans)
        context = {
            "form": form,
            "page": page,
            "rows": [selectors.PlanRow(plan) for plan in page],
            "query": query_without_page(request),
        }
        return render(request, "callbacks/plan_list.html", context)


@method_decorator(private_page, name="dispatch")
class PlanDetailView(LoginRequiredMixin, View):
    """One plan: its counts, seed, and its members — who was sampled and when (CON-7, CON-8)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = with_grants(request.user)
        plan = selectors.plan_detail(user=user, pk=pk)
        user_with_roles(request, *PLAN_VIEWERS)
        sampled_only = request.GET.get("sampled") == "1"
        members = selectors.plan_members(user=user, plan=plan, sampled_only=sampled_only)
        page = paginate(request, members, MEMBER_PAGE_SIZE)
        context = {
            "plan": plan,
            "row": selectors.PlanRow(plan),
            "page": page,
            "members": selectors.member_rows(plan, page),
            "sampled_only": sampled_only,
            "query": query_without_page(request),
        }
        return render(request, "callbacks/plan_detail.html", context)


@method_decorator(private_page, name="dispatch")
class TaskListView(LoginRequiredMixin, View):
    """回访任务: the tasks of the user's scope with filters; htmx swaps the table only."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = user_with_roles(request, *TASK_VIEWERS)
        form = TaskFilterForm(request.GET or None, rules=selectors.obligation_rule_codes())
        filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
        tasks = selectors.task_list(user=user, filters=filters).select_related(
            "client", "target_staff", "assignee"
        )
        page = paginate(request, tasks)
        context = {
            "form": form,
            "page": page,
            "rows": selectors.task_rows(page),
            "query": query_without_page(request),
        }
        htmx = getattr(request, "htmx", False)
        template = "callbacks/partials/task_table.html" if htmx else "callbacks/task_list.html"
        return render(request, template, context)


@method_decorator(private_page, name="dispatch")
class TaskDetailView(LoginRequiredMixin, View):
    """为什么有这个回访任务？ Rules, citations, plan and seed, facts, deadline, cap, recusal proof."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user = with_grants(request.user)
        task = selectors.task_detail(user=user, pk=pk)
        user_with_roles(request, *TASK_VIEWERS)
        context = {
            "task": task,
            "why": selectors.task_explanation(task, user=user),
            "overdue": selectors.is_overdue(task, clock.today()),
        }
        return render(request, "callbacks/task_detail.html", context)


@method_decorator(private_page, name="dispatch")
class VerificationListView(LoginRequiredMixin, View):
    """存量客户核实名单 (STOCK-1): the entries of the scope; listing roles add one client.

    ``?branch=CODE`` narrows the list to one branch; a branch outside the scope answers 404.
    """

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request)

    def post(self, request: HttpRequest) -> HttpResponse:
        user = user_with_roles(request, *LISTING_ROLES)
        form = VerificationEntryForm(request.POST)
        if not form.is_valid():
            return self.page(request, entry_form=form, status=400)
        try:
            verification_list_add(user=user, rows=[form.row()], source=SCREEN_SOURCE)
        except ListingRefused as refused:
            for problem in refused.problems:
                form.add_error(None, problem.split(": ", 1)[-1])
            return self.page(request, entry_form=form, status=400)
        messages.success(request, _("已列入核实名单。"))
        return redirect("callbacks:verification")

    def page(
        self,
        request: HttpRequest,
        *,
        entry_form: VerificationEntryForm | None = None,
        upload_form: VerificationUploadForm | None = None,
        problems: list[str] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        user = with_grants(request.user)
        branch = request.GET.get("branch") or None
        if branch:
            get_visible_or_404(Unit.objects.all(), user, code=branch, unit_kind=UnitKind.BRANCH)
        user_with_roles(request, *LIST_VIEWERS)
        entries = selectors.verification_list(user=user, branch=branch)
        context = {
            "page": paginate(request, entries),
            "branch": branch,
            "can_list": user_has_role(user, *LISTING_ROLES),
            "entry_form": entry_form or VerificationEntryForm(),
            "upload_form": upload_form or VerificationUploadForm(),
            "problems": problems or [],
            "query": query_without_page(request),
        }
        return render(request, "callbacks/verification_list.html", context, status=status)


@method_decorator(private_page, name="dispatch")
class VerificationUploadView(LoginRequiredMixin, View):
    """A CSV of clients to verify: every row checked, nothing saved if one is bad."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        user = user_with_roles(request, *LISTING_ROLES)
        form = VerificationUploadForm(request.POST, request.FILES)
        listing = VerificationListView()
        if not form.is_valid():
            problems = [str(p) for p in form.errors.get("file", [])]
            return listing.page(request, upload_form=form, problems=problems, status=400)
        parsed: ParsedList = form.cleaned_data["file"]
        upload = request.FILES["file"]
        name = getattr(upload, "name", "") or ""
        try:
            if parsed.problems:  # report the format and the content problems together
                raise ListingRefused(
                    parsed.problems + verification_rows_check(user=user, rows=parsed.rows)
                )
            added = verification_list_add(user=user, rows=parsed.rows, source=f"CSV {name}")
        except ListingRefused as refused:
            problems = sorted_problems(refused.problems)
            return listing.page(request, problems=problems, status=400)
        messages.success(request, _("已列入核实名单 %(n)d 位客户。") % {"n": len(added)})
        return redirect("callbacks:verification")
