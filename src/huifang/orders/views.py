"""Order screens (SPC-1, PLAN-1, IB-1, MRG-8, REV-5): list, new/edit, targets, issue, progress,
scorecards. Views parse, call a selector or a service, and render; every read is scoped (an
order outside the scope answers 404, a missing role 403). Pages naming clients are private.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views import View

from huifang.accounts.permissions import user_has_role
from huifang.callbacks.access import TASK_VIEWERS
from huifang.core import clock
from huifang.core.context_processors import with_grants
from huifang.core.views import paginate, private_page, query_without_page, user_with_roles
from huifang.orders import access, selectors, services
from huifang.orders.choices import OrderStatus
from huifang.orders.forms import (
    OrderFilterForm,
    OrderForm,
    ScorecardForm,
    StaffPlanForm,
    TargetFilterForm,
    UploadForm,
    initial_of,
)
from huifang.orders.models import Order
from huifang.orders.services import OrderRefused
from huifang.org.choices import Position, UnitKind
from huifang.org.models import Staff, Unit
from huifang.workbench.models import Questionnaire

ITEM_TYPES = {"text": _lazy("文字"), "yesno": _lazy("是否"), "score": _lazy("评分"),
              "choice": _lazy("选择"), "check": _lazy("核对")}  # fmt: skip
TARGET_PAGE_SIZE = 100


def _visible_order(request: HttpRequest, pk: int, *roles: str) -> tuple[Any, Order]:
    """The order (404 outside the scope), then the role (403)."""
    user = with_grants(request.user)
    order = selectors.order_detail(user=user, pk=pk)
    user_with_roles(request, *roles)
    return user, order


def _managed_order(request: HttpRequest, pk: int) -> tuple[Any, Order]:
    user, order = _visible_order(request, pk, *access.ORDER_CREATORS)
    if not services.may_manage(user, order):
        raise PermissionDenied
    return user, order


def _order_units(user: Any) -> list[Unit]:
    units = Unit.objects.exclude(unit_kind=UnitKind.BRANCH).order_by("code")
    return [unit for unit in units if services.may_order_for(user, unit)]


def _questionnaire_codes() -> list[str]:
    codes = Questionnaire.objects.exclude(code__startswith="SPC").values_list("code", flat=True)
    return sorted(set(codes))


@method_decorator(private_page, name="dispatch")
class OrderListView(LoginRequiredMixin, View):
    """专项回访与回访计划: the orders of the user's scope."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = user_with_roles(request, *access.ORDER_VIEWERS)
        form = OrderFilterForm(request.GET or None)
        filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
        page = paginate(request, selectors.order_list(user=user, filters=filters))
        context = {
            "form": form,
            "page": page,
            "query": query_without_page(request),
            "can_create": user_has_role(user, *access.ORDER_CREATORS),
        }
        return render(request, "orders/order_list.html", context)


@method_decorator(private_page, name="dispatch")
class OrderCreateView(LoginRequiredMixin, View):
    """A new draft order (SPC-1, PLAN-1, IB-1, MRG-8)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = user_with_roles(request, *access.ORDER_CREATORS)
        today = clock.today()
        form = self.form(user, initial={"starts_on": today, "ends_on": today})
        return self.page(request, form)

    def post(self, request: HttpRequest) -> HttpResponse:
        user = user_with_roles(request, *access.ORDER_CREATORS)
        form = self.form(user, data=request.POST)
        if not form.is_valid():
            return self.page(request, form, status=400)
        try:
            order = services.order_create(user=user, fields=form.draft_fields())
        except OrderRefused as refused:
            return self.page(request, form, refused.reasons, status=refused.status)
        messages.success(request, _("已创建草稿 %(n)s。") % {"n": order.number})
        return redirect("orders:detail", pk=order.pk)

    def form(self, user: Any, **kwargs: Any) -> OrderForm:
        return OrderForm(units=_order_units(user), questionnaires=_questionnaire_codes(), **kwargs)

    def page(
        self, request: HttpRequest, form: OrderForm, problems: list[str] | None = None,
        status: int = 200, order: Order | None = None,
    ) -> HttpResponse:  # fmt: skip
        context = {"form": form, "problems": problems or [], "order": order}
        return render(request, "orders/order_form.html", context, status=status)


@method_decorator(private_page, name="dispatch")
class OrderEditView(OrderCreateView):
    """Change a draft (the rule stays)."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:  # type: ignore[override]
        user, order = _managed_order(request, pk)
        if not order.is_draft:
            return _not_a_draft(request, order)
        form = self.form(user, initial=initial_of(order))
        form.fields["rule_code"].disabled = True
        return self.page(request, form, order=order)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:  # type: ignore[override]
        user, order = _managed_order(request, pk)
        if not order.is_draft:
            return _not_a_draft(request, order)
        form = self.form(user, data=request.POST, initial=initial_of(order))
        form.fields["rule_code"].disabled = True
        if not form.is_valid():
            return self.page(request, form, status=400, order=order)
        try:
            services.order_update(user=user, order=order, fields=form.draft_fields())
        except OrderRefused as refused:
            return self.page(request, form, refused.reasons, refused.status, order=order)
        messages.success(request, _("草稿已保存。"))
        return redirect("orders:detail", pk=order.pk)


def _not_a_draft(request: HttpRequest, order: Order) -> HttpResponse:
    return detail_page(request, order, problems=[_("指令已下达,不能再修改")], status=409)


def _classes() -> dict[str, str]:
    from huifang.classification.selectors import Standards
    from huifang.policy.selectors import version_in_force_or_none

    version = version_in_force_or_none()
    if version is None:
        return {}
    return Standards().info(version.pk, services.CLASS_SCHEME)[2]


def detail_page(
    request: HttpRequest, order: Order, *, problems: list[str] | None = None, status: int = 200,
    **forms: Any,
) -> HttpResponse:  # fmt: skip
    """The order page: its fields and questions, targets, and (draft) the tools to set them."""
    user = with_grants(request.user)
    manage = services.may_manage(user, order) and order.is_draft
    context: dict[str, Any] = {
        "order": order,
        "questions": [
            {**item, "label": ITEM_TYPES.get(item.get("type"), "")} for item in order.questions
        ],  # fmt: skip
        "problems": problems or [],
        "can_manage": services.may_manage(user, order),
        "can_edit": manage,
        "can_issue": services.may_manage(user, order)
        and order.status != OrderStatus.CLOSED
        and (order.is_draft or order.targets.filter(purpose__isnull=True).exists()),
        "targets": paginate(
            request, selectors.order_targets(user=user, order=order), TARGET_PAGE_SIZE
        ),
        "query": query_without_page(request),
        "can_read_tasks": user_has_role(user, *TASK_VIEWERS),
    }
    if manage:
        branches = Unit.objects.filter(unit_kind=UnitKind.BRANCH).order_by("code")
        context["upload_form"] = forms.get("upload_form") or UploadForm()
        context["filter_form"] = forms.get("filter_form") or TargetFilterForm(
            branches=branches, classes=_classes()
        )
        if order.rule_code == "MRG-8":
            context["staff_form"] = forms.get("staff_form") or StaffPlanForm(staff=_service_staff())
    return render(request, "orders/order_detail.html", context, status=status)


def _service_staff() -> list[Staff]:
    staff = Staff.objects.active(on=clock.today()).filter(position=Position.SERVICE)
    return list(staff.filter(unit__unit_kind=UnitKind.BRANCH).order_by("unit_id", "staff_id"))


@method_decorator(private_page, name="dispatch")
class OrderDetailView(LoginRequiredMixin, View):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        _user, order = _visible_order(request, pk, *access.ORDER_VIEWERS)
        return detail_page(request, order)


@method_decorator(private_page, name="dispatch")
class TargetUploadView(LoginRequiredMixin, View):
    """A CSV/XLSX of client ids: every bad line listed, nothing saved if one is bad."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user, order = _managed_order(request, pk)
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return detail_page(request, order, upload_form=form, status=400)
        upload = form.cleaned_data["file"]
        try:
            count = services.order_targets_from_upload(
                user=user, order=order, raw=upload.read(), name=upload.name or ""
            )
        except OrderRefused as refused:
            return detail_page(request, order, problems=refused.reasons, status=refused.status)
        messages.success(request, _("已确定回访对象 %(n)d 位。") % {"n": count})
        return redirect("orders:detail", pk=order.pk)


@method_decorator(private_page, name="dispatch")
class TargetFilterView(LoginRequiredMixin, View):
    """Targets from a filter; GET (htmx) counts the clients the filter finds."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user, order = _managed_order(request, pk)
        form = self.form(request.GET)
        count = None
        if form.is_valid():
            count = services.filtered_clients(user, form.criteria()).count()
        return render(request, "orders/partials/filter_count.html", {"count": count})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user, order = _managed_order(request, pk)
        form = self.form(request.POST)
        if not form.is_valid():
            return detail_page(request, order, filter_form=form, status=400)
        try:
            count = services.order_targets_from_filter(
                user=user, order=order, criteria=form.criteria()
            )
        except OrderRefused as refused:
            return detail_page(request, order, problems=refused.reasons, status=refused.status,
                               filter_form=form)  # fmt: skip
        messages.success(request, _("已确定回访对象 %(n)d 位。") % {"n": count})
        return redirect("orders:detail", pk=order.pk)

    def form(self, data: Any) -> TargetFilterForm:
        branches = Unit.objects.filter(unit_kind=UnitKind.BRANCH).order_by("code")
        return TargetFilterForm(data, branches=branches, classes=_classes())


@method_decorator(private_page, name="dispatch")
class StaffPlanView(LoginRequiredMixin, View):
    """MRG-8: the service staff to rate and a sample of each one's margin clients."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user, order = _managed_order(request, pk)
        form = StaffPlanForm(request.POST, staff=_service_staff())
        if not form.is_valid():
            return detail_page(request, order, staff_form=form, status=400)
        try:
            count = services.order_staff_plan(
                user=user, order=order, staff_ids=form.cleaned_data["staff"],
                per_staff=form.cleaned_data["per_staff"],
            )  # fmt: skip
        except OrderRefused as refused:
            return detail_page(request, order, problems=refused.reasons, status=refused.status,
                               staff_form=form)  # fmt: skip
        messages.success(request, _("已抽取回访对象 %(n)d 位。") % {"n": count})
        return redirect("orders:detail", pk=order.pk)


@method_decorator(private_page, name="dispatch")
class OrderIssueView(LoginRequiredMixin, View):
    """下达: one purpose per target (idempotent)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user, order = _managed_order(request, pk)
        try:
            issued = services.order_issue(user=user, order=order)
        except OrderRefused as refused:
            return detail_page(request, order, problems=refused.reasons, status=refused.status)
        messages.success(request, _(
            "已下达:新建任务 %(created)d 个,并入已有任务 %(merged)d 个,此前已下达 %(existing)d 个。"
        ) % {"created": issued.created, "merged": issued.merged, "existing": issued.existing})  # fmt: skip
        return redirect("orders:progress", pk=order.pk)


@method_decorator(private_page, name="dispatch")
class OrderCloseView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        user, order = _managed_order(request, pk)
        try:
            services.order_close(user=user, order=order)
        except OrderRefused as refused:
            return detail_page(request, order, problems=refused.reasons, status=refused.status)
        messages.success(request, _("指令已结束。"))
        return redirect("orders:progress", pk=order.pk)


@method_decorator(private_page, name="dispatch")
class OrderProgressView(LoginRequiredMixin, View):
    """Progress for the ordering department (and each branch's part): tasks, overdue,
    records back by the records' due date; htmx swaps the target table only."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        user, order = _visible_order(request, pk, *access.ORDER_VIEWERS)
        status = request.GET.get("status", "")
        targets = selectors.order_targets(user=user, order=order, status=status)
        context = {
            "order": order,
            "progress": selectors.order_progress(user=user, order=order),
            "targets": paginate(request, targets, TARGET_PAGE_SIZE),
            "status": status,
            "query": query_without_page(request),
            "can_manage": services.may_manage(user, order),
            "can_read_tasks": user_has_role(user, *TASK_VIEWERS),
        }
        htmx = getattr(request, "htmx", False)
        template = "orders/partials/target_table.html" if htmx else "orders/progress.html"
        return render(request, template, context)


@method_decorator(private_page, name="dispatch")
class ScorecardView(LoginRequiredMixin, View):
    """REV-5: the MRG-8 scorecards of the service staff in the user's scope."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = user_with_roles(request, *access.SCORECARD_VIEWERS)
        form = ScorecardForm(request.GET or ScorecardForm.default(clock.today()))
        cards = []
        if form.is_valid():
            data = form.cleaned_data
            cards = selectors.scorecards(data["start"], data["end"], access.scope_of(user))
        return render(request, "orders/scorecards.html", {"form": form, "cards": cards})
