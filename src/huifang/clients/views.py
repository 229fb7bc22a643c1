"""Client pages: home, search, the client page and the PII reveal (CLI-1, CLI-4, CLI-5).

Pages show masked ID numbers and mobiles only; the full values appear once, in
the response to a reveal with a reason, which is audited. Every page that could
show personal data is private (``no-store``, ``Pragma: no-cache``). Reads go
through the selectors, which apply the user's data scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.decorators import method_decorator
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from huifang.accounts.choices import Role
from huifang.accounts.permissions import user_has_role
from huifang.clients.forms import ClientPiiRevealForm, ClientSearchForm
from huifang.clients.models import PII_FIELDS, Client
from huifang.clients.selectors import (
    audit_summary,
    client_changes,
    client_detail,
    client_search,
    units_in_scope,
)
from huifang.clients.services import client_pii_reveal, pii_reveal_allowed
from huifang.core import pii
from huifang.core.context_processors import with_grants
from huifang.core.views import private_page

SEARCH_LIMIT = 50
CHANGE_LIMIT = 200
# Names in the change history that are not columns of Client (personal data, class).
EXTRA_FIELD_LABELS = {
    "id_number": _("证件号码"),
    "mobile": _("手机"),
    "phone": _("电话"),
    "email": _("电子邮箱"),
    "address": _("地址"),
    "class": _("客户分类"),
}


@dataclass(frozen=True)
class Panel:
    """One block of the home page, shown to the holders of ``roles``.

    ``items`` are (title, what a later version will show there): placeholders until
    tasks, records and issues exist.
    """

    key: str
    title: str | Promise
    roles: tuple[str, ...]
    items: tuple[tuple[str | Promise, str | Promise], ...]


DASHBOARD = (
    Panel(
        "agent",
        _("我的回访"),
        (Role.AGENT,),
        (
            (_("我的任务"), _("分派给您的回访任务将在此列出。")),
            (_("今日到期"), _("今天到期、须当日完成的回访将在此列出。")),
            (_("逾期"), _("已超过期限仍未完成的回访将在此列出，须优先处理。")),
        ),
    ),
    Panel(
        "reviewer",
        _("复核"),
        (Role.REVIEWER,),
        ((_("待复核"), _("待您复核和抽检的回访记录将在此列出。")),),
    ),
    Panel(
        "branch",
        _("本营业部"),
        (Role.BRANCH_OPS, Role.BRANCH_MARKETING, Role.BRANCH_MANAGER),
        (
            (_("本营业部覆盖率"), _("各类回访的应回访数、已完成数和覆盖率将在此显示。")),
            (_("待签字"), _("等待您签字确认的回访记录将在此列出。")),
        ),
    ),
    Panel(
        "adviser",
        _("我的客户"),
        (Role.ADVISER,),
        (
            (_("我服务的客户"), _("由您服务的客户及其服务计划将在此列出。")),
            (_("服务记录"), _("您登记的服务记录将在此列出。")),
        ),
    ),
    Panel(
        "regional",
        _("辖区督导"),
        (Role.REGIONAL,),
        ((_("辖区营业部"), _("各营业部的回访覆盖率、逾期和问题情况将在此显示。")),),
    ),
    Panel(
        "hq_service",
        _("总部客户服务"),
        (Role.HQ_SERVICE,),
        (
            (_("公司级回访"), _("公司级回访任务及其完成情况将在此显示。")),
            (_("抽检计划"), _("对各营业部的抽检计划与结果将在此显示。")),
        ),
    ),
    Panel(
        "department",
        _("问题处理"),
        (Role.DEPARTMENT,),
        ((_("待处理问题"), _("回访中发现、转交本部门处理的问题将在此列出。")),),
    ),
    Panel(
        "compliance",
        _("合规总览"),
        (Role.COMPLIANCE,),
        (
            (_("合规总览"), _("各营业部回访完成率、逾期率和问题处理情况将在此显示。")),
            (_("审计链校验状态"), _("每次校验的结果将在此显示；现可运行 huifang audit verify。")),
        ),
    ),
    Panel(
        "admin",
        _("系统管理"),
        (Role.ADMIN,),
        (
            (_("用户"), _("用户、角色与数据范围的管理。")),
            (_("日历"), _("载入新一年的工作日历。")),
            (_("数据导入"), _("核心交易系统数据的导入批次。")),
        ),
    ),
)


def home_panels(user: Any) -> list[Panel]:
    """The dashboard panels of the roles the user holds, in a fixed order."""
    return [panel for panel in DASHBOARD if user_has_role(user, *panel.roles)]


def admin_user_url() -> str:
    """Where users are managed in the admin site (its index until the user admin exists)."""
    try:
        return reverse("admin:accounts_user_changelist")
    except NoReverseMatch:
        return reverse("admin:index")


@method_decorator(never_cache, name="dispatch")
class HomeView(LoginRequiredMixin, TemplateView):
    """The start page: the user's roles and one dashboard panel per role."""

    template_name = "clients/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        user = with_grants(self.request.user)
        panels = home_panels(user)
        keys = {panel.key for panel in panels}
        context: dict[str, Any] = {"grants": list(user.role_grants.all()), "panels": panels}
        if "regional" in keys:
            context["branches"] = list(units_in_scope(user=user))
        if "compliance" in keys:
            context["audit"] = audit_summary()
        if "admin" in keys and user.is_staff:
            context["admin_user_url"] = admin_user_url()
        return super().get_context_data(**context, **kwargs)


@method_decorator(private_page, name="dispatch")
class ClientSearchView(LoginRequiredMixin, View):
    """客户查询: the form is POSTed so that ID numbers and mobiles stay out of URLs."""

    template_name = "clients/search.html"
    partial_name = "clients/partials/search_results.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": ClientSearchForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ClientSearchForm(request.POST)
        # A fresh form: a bound one would echo a full ID number back into the page.
        context: dict[str, Any] = {
            "form": ClientSearchForm(),
            "searched": True,
            "limit": SEARCH_LIMIT,
        }
        if form.is_valid():
            query = form.cleaned_data["q"]
            found = client_search(user=request.user, query=query, limit=SEARCH_LIMIT)
            context["query_shown"] = masked_query(query)
            context["clients"] = list(found)
        else:
            context["query_errors"] = form.errors.get("q")
        template = self.partial_name if getattr(request, "htmx", False) else self.template_name
        return render(request, template, context)


def client_page(
    request: HttpRequest,
    client: Client,
    *,
    reveal_form: ClientPiiRevealForm | None = None,
    revealed: list[tuple[str, str | None]] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The client page; with ``revealed`` (a reveal without htmx) the full values once."""
    from huifang.callbacks.access import TASK_VIEWERS
    from huifang.callbacks.models import Task
    from huifang.classification.selectors import client_class_panel
    from huifang.classification.services import RATING_ROLES, VISIT_ROLES
    from huifang.workbench.models import Record

    changes = client_changes(user=request.user, client=client)[:CHANGE_LIMIT]
    sees_callbacks = user_has_role(request.user, *TASK_VIEWERS)
    tasks = records = None
    if sees_callbacks:  # the marketing sequence does not see callbacks (CON-2)
        tasks = list(
            Task.objects.visible_to(request.user).filter(client=client)
            .prefetch_related("purposes").order_by("-created_on", "-id")[:CHANGE_LIMIT]
        )  # fmt: skip
        records = list(
            Record.objects.visible_to(request.user).filter(client=client)
            .order_by("-callback_date", "-id")[:CHANGE_LIMIT]
        )  # fmt: skip
    context = {
        "tasks": tasks,
        "records": records,
        "client": client,
        "class_panel": client_class_panel(user=request.user, client=client),
        "can_rate": user_has_role(request.user, *RATING_ROLES),
        "can_record_visit": user_has_role(request.user, *VISIT_ROLES),
        "change_rows": [(field_label(change.field), change) for change in changes],
        "change_limit": CHANGE_LIMIT,
        "can_reveal": pii_reveal_allowed(user=request.user, client=client),
        "reveal_form": reveal_form or ClientPiiRevealForm(),
        "revealed": revealed,
    }
    return render(request, "clients/detail.html", context, status=status)


@method_decorator(private_page, name="dispatch")
class ClientDetailView(LoginRequiredMixin, View):
    """客户档案: the profile, class, callback tasks and records, the change history."""

    def get(self, request: HttpRequest, client_id: str) -> HttpResponse:
        client = client_detail(user=with_grants(request.user), client_id=client_id)
        return client_page(request, client)


@method_decorator(private_page, name="dispatch")
class ClientPiiRevealView(LoginRequiredMixin, View):
    """显示完整信息: POST a reason, get the full personal data once (CLI-4).

    Out of scope answers 404; in scope without a reveal role, 403. With htmx the
    answer is the fragment that replaces the form; without, the client page.
    """

    http_method_names = ["post"]
    partial_name = "clients/partials/pii_reveal.html"

    def post(self, request: HttpRequest, client_id: str) -> HttpResponse:
        user = with_grants(request.user)
        client = client_detail(user=user, client_id=client_id)
        if not pii_reveal_allowed(user=user, client=client):
            raise PermissionDenied
        form = ClientPiiRevealForm(request.POST)
        if form.is_valid():
            try:
                values = client_pii_reveal(
                    user=user, client=client, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                form.add_error("detail", error)
            else:
                rows = [(field_label(name), values[name]) for name in PII_FIELDS]
                return self.respond(request, client, ClientPiiRevealForm(), rows)
        return self.respond(request, client, scrubbed(form), None)

    def respond(
        self,
        request: HttpRequest,
        client: Client,
        form: ClientPiiRevealForm,
        revealed: list[tuple[str, str | None]] | None,
    ) -> HttpResponse:
        # htmx swaps only 2xx answers: a refused reason comes back as 200 with its error.
        refused = revealed is None
        if getattr(request, "htmx", False):
            context = {"client": client, "reveal_form": form, "revealed": revealed}
            return render(request, self.partial_name, context)
        return client_page(
            request, client, reveal_form=form, revealed=revealed, status=400 if refused else 200
        )


def scrubbed(form: ClientPiiRevealForm) -> ClientPiiRevealForm:
    """The refused form again, any ID number or mobile typed in it masked before it is echoed."""
    data = {
        "purpose": form.data.get("purpose", ""),
        "detail": pii.scrub(form.data.get("detail", "")),
    }
    again = ClientPiiRevealForm(data)
    again.is_valid()
    for field, errors in form.errors.items():
        if field not in again.errors:
            for error in errors:
                again.add_error(None if field == "__all__" else field, error)
    return again


def masked_query(query: str) -> str:
    """The query as it may be shown back: anything with a digit could be an ID or mobile."""
    if any(char.isdigit() for char in query):
        return pii.mask_keep(query)
    return query


def field_label(name: str) -> str:
    """The Chinese label of a client field named in the change history."""
    if name in EXTRA_FIELD_LABELS:
        return str(EXTRA_FIELD_LABELS[name])
    try:
        field = Client._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))
