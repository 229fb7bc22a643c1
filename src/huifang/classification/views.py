"""Classification pages: ad-hoc rating and visits from the client page, advisers per branch, runs.

Objects outside the user's scope answer 404; a missing role answers 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from huifang.accounts.choices import Role
from huifang.accounts.permissions import user_has_role
from huifang.classification.selectors import branch_advisers, branches_for_advisers, recent_runs
from huifang.classification.services import (
    ASSIGNING_ROLES,
    RATING_ROLES,
    VISIT_ROLES,
    adviser_assign_balanced,
    client_class_rate,
    visit_record,
)
from huifang.clients.models import Client
from huifang.core.context_processors import with_grants
from huifang.core.scope import get_visible_or_404
from huifang.org.choices import UnitKind
from huifang.org.models import Unit
from huifang.policy.selectors import NoPolicyInForce

# Who looks at advisers' workloads (CLS-7); only a branch manager assigns.
ADVISER_VIEWERS = (
    Role.BRANCH_MANAGER,
    Role.BRANCH_MARKETING,
    Role.REGIONAL,
    Role.HQ_SERVICE,
    Role.COMPLIANCE,
)
RUN_VIEWERS = (Role.COMPLIANCE, Role.HQ_SERVICE)


def _client(request: HttpRequest, client_id: str) -> Client:
    return get_visible_or_404(
        Client.objects.select_related("branch"), with_grants(request.user), client_id=client_id
    )


class ClientClassRateView(LoginRequiredMixin, View):
    """按标准分类: a branch rates one client now (CLS-4), upgrade only; back to the client page."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, client_id: str) -> HttpResponse:
        client = _client(request, client_id)
        if not user_has_role(request.user, *RATING_ROLES):
            raise PermissionDenied
        try:
            outcome = client_class_rate(client=client, user=request.user)
        except NoPolicyInForce:
            messages.error(request, _("今天没有生效的制度版本，无法分类。"))
        else:
            if outcome.changed:
                messages.success(request, _("已按现行标准分类，类别已更新。"))
            else:
                messages.info(request, _("已按现行标准分类，类别不变（季度内只升不降）。"))
        return redirect("clients:detail", client_id=client.client_id)


class VisitRecordView(LoginRequiredMixin, View):
    """登记上门拜访: one visit toward the client's yearly obligation (CLS-7, SVC-4)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, client_id: str) -> HttpResponse:
        client = _client(request, client_id)
        if not user_has_role(request.user, *VISIT_ROLES):
            raise PermissionDenied
        try:
            visit_record(client=client, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("已登记上门拜访。"))
        return redirect("clients:detail", client_id=client.client_id)


class AdviserBranchListView(LoginRequiredMixin, View):
    """理财服务人员: the branches in scope; a single branch goes straight to its page."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = with_grants(request.user)
        if not user_has_role(user, *ADVISER_VIEWERS):
            raise PermissionDenied
        branches = list(branches_for_advisers(user=user))
        if len(branches) == 1:
            return redirect("classification:advisers", branch_code=branches[0].code)
        return render(request, "classification/branch_list.html", {"branches": branches})


class AdviserBranchView(LoginRequiredMixin, View):
    """A branch's advisers, their workload and the VIP/core clients without one (CLS-7)."""

    def _branch(self, request: HttpRequest, branch_code: str) -> Unit:
        user = with_grants(request.user)
        branch = get_visible_or_404(
            Unit.objects.all(), user, code=branch_code, unit_kind=UnitKind.BRANCH
        )
        if not user_has_role(user, *ADVISER_VIEWERS):
            raise PermissionDenied
        return branch

    def get(self, request: HttpRequest, branch_code: str) -> HttpResponse:
        return self.page(request, self._branch(request, branch_code))

    def post(self, request: HttpRequest, branch_code: str) -> HttpResponse:
        branch = self._branch(request, branch_code)
        if not user_has_role(request.user, *ASSIGNING_ROLES):
            raise PermissionDenied
        chosen = request.POST.getlist("client") or None
        try:
            assigned = adviser_assign_balanced(branch=branch, user=request.user, client_ids=chosen)
        except ValidationError as error:
            return self.page(request, branch, problems=list(error.messages), status=400)
        messages.success(request, _("已分配 %(n)s 位客户。") % {"n": len(assigned)})
        return redirect("classification:advisers", branch_code=branch.code)

    def page(self, request: HttpRequest, branch: Unit, *, problems: list[str] | None = None,
             status: int = 200) -> HttpResponse:  # fmt: skip
        context: dict[str, Any] = {
            "state": branch_advisers(branch=branch),
            "can_assign": user_has_role(request.user, *ASSIGNING_ROLES),
            "problems": problems or [],
        }
        return render(request, "classification/branch_advisers.html", context, status=status)


class ClassificationRunListView(LoginRequiredMixin, View):
    """分类评级批次: the latest ratings, their policy version and counts (CLS-9)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        if not user_has_role(request.user, *RUN_VIEWERS):
            raise PermissionDenied
        return render(request, "classification/run_list.html", {"runs": recent_runs()})
