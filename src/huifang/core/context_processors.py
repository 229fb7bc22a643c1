"""Values every page of the UI shell needs (SPEC §0, NFR-1, NFR-5).

- ``HUIFANG_DEMO``: the demo banner.
- ``shell.nav``: the navigation of the signed-in user, by role. It is a menu, not
  access control: every view checks role and scope itself.
- ``shell.calendar_banner``: from 1 November, next year's calendar missing (NFR-1).

``shell`` computes each value on first use, so a fragment that shows neither costs
no query.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from huifang.accounts.choices import Role
from huifang.accounts.permissions import user_has_role
from huifang.callbacks.access import LIST_VIEWERS, PLAN_VIEWERS, TASK_VIEWERS
from huifang.core import clock
from huifang.evaluation import access as evaluation_access
from huifang.issues import access as issues_access
from huifang.orders import access as orders_access
from huifang.reports import access as reports_access
from huifang.workbench import access as workbench_access

# Who reads client data; the admin manages users and calendars and sees no client data.
CLIENT_READERS = tuple(role for role in Role if role != Role.ADMIN)
# Who may see the import batches (huifang.feeds.views.VIEWERS) and the calendar in the menu.
DATA_STEWARDS = (Role.ADMIN, Role.COMPLIANCE, Role.HQ_SERVICE)
# From this day of the year on, next year's calendar should be loaded (NFR-1).
BANNER_FROM = (11, 1)


@dataclass(frozen=True)
class NavItem:
    """A menu entry: shown to holders of ``roles`` (everyone signed in when ``None``)."""

    url_name: str
    label: str | Promise
    roles: tuple[str, ...] | None
    section: str  # a view name, or a namespace followed by ":", that marks it active


NAV = (
    NavItem("home", _("首页"), None, "home"),
    NavItem("clients:search", _("客户查询"), CLIENT_READERS, "clients:"),
    NavItem("feeds:batches", _("数据导入"), DATA_STEWARDS, "feeds:"),
    NavItem("calendars:index", _("工作日历"), DATA_STEWARDS, "calendars:"),
    NavItem("policy:index", _("制度规则"), (Role.COMPLIANCE, Role.HQ_SERVICE), "policy:"),
    NavItem(
        "classification:branches", _("理财服务人员"), (Role.BRANCH_MANAGER,), "classification:"
    ),
    NavItem("callbacks:tasks", _("回访任务"), TASK_VIEWERS, "callbacks:tasks"),
    NavItem("callbacks:plans", _("回访计划"), PLAN_VIEWERS, "callbacks:plans"),
    NavItem("callbacks:verification", _("核实名单"), LIST_VIEWERS, "callbacks:verification"),
    # the workbench (SPEC §5, §6): agents, leaders' sign-off, review, data corrections
    NavItem("workbench:home", _("工作台"), workbench_access.WORKERS, "workbench:home"),
    NavItem(
        "workbench:sign_list",
        _("负责人签字"),
        (
            workbench_access.LEADER_FOR_COMPLIANCE,
            workbench_access.LEADER_FOR_SERVICE,
            workbench_access.LEADER_FOR_COMPANY,
        ),
        "workbench:sign_list",
    ),
    NavItem("workbench:reviews", _("复核"), workbench_access.REVIEWERS, "workbench:reviews"),
    NavItem(
        "workbench:corrections", _("资料更正"), workbench_access.CORRECTORS, "workbench:corrections"
    ),
    # problems, complaints and inquiries (SPEC §7)
    NavItem("issues:inbox", _("部门待办"), issues_access.INBOX, "issues:inbox"),
    NavItem("issues:list", _("问题与投诉"), issues_access.LISTERS, "issues:list"),
    # the ledger, reports and charts (RPT-1..4)
    NavItem("reports:dashboard", _("台账与报表"), reports_access.REPORT_VIEWERS, "reports:"),
    # special callbacks and plans ordered by departments (SPC-1, PLAN-1, IB-1, MRG-8)
    NavItem("orders:list", _("专项回访"), orders_access.ORDER_VIEWERS, "orders:"),
    # monthly closing, branch evaluation, staff scorecards (REV-3, REV-4, REV-5)
    NavItem(
        "evaluation:closing",
        _("月度报送"),
        evaluation_access.CLOSING_SUBMITTERS,
        "evaluation:closing",
    ),
    NavItem(
        "evaluation:closing_hq",
        _("月度报送情况"),
        evaluation_access.CLOSING_HQ,
        "evaluation:closing_hq",
    ),
    NavItem(
        "evaluation:list", _("营业部考核"), evaluation_access.EVALUATION_READERS, "evaluation:list"
    ),
    NavItem(
        "evaluation:scorecards",
        _("员工评分卡"),
        evaluation_access.SCORECARD_READERS,
        "evaluation:scorecards",
    ),
)
ADMIN_SITE_ITEM = NavItem("admin:index", _("系统管理"), None, "admin:")


@dataclass(frozen=True)
class NavLink:
    url: str
    label: str | Promise
    active: bool


@dataclass(frozen=True)
class CalendarBanner:
    """Next year's calendar is not loaded; ``load_url`` is given to admins only."""

    year: int
    load_url: str = ""


def with_grants(user: Any) -> Any:
    """Load a signed-in user's grants once: role checks and the scope then read the cache."""
    if getattr(user, "is_authenticated", False):
        from huifang.accounts.models import RoleGrant

        grants = RoleGrant.objects.select_related("unit", "region").order_by("role", "id")
        prefetch_related_objects([user], Prefetch("role_grants", queryset=grants))
    return user


def navigation(request: HttpRequest) -> list[NavLink]:
    """The menu of the request's user: the entries of the roles held, then the admin site."""
    user = with_grants(getattr(request, "user", None))
    if not getattr(user, "is_authenticated", False):
        return []
    items = [item for item in NAV if item.roles is None or user_has_role(user, *item.roles)]
    if admin.site.has_permission(request):
        items.append(ADMIN_SITE_ITEM)
    match = request.resolver_match
    current = match.view_name if match else ""
    return [NavLink(reverse(item.url_name), item.label, _active(item, current)) for item in items]


def _active(item: NavItem, current: str) -> bool:
    if item.section.endswith(":"):
        return current.startswith(item.section)
    return current == item.section


def calendar_banner(user: Any, today: dt.date | None = None) -> CalendarBanner | None:
    """From 1 November, the banner when next year's calendar is unknown (NFR-1)."""
    from huifang.calendars.service import CalendarYearMissing, calendar_year

    today = today or clock.today()
    if not getattr(user, "is_authenticated", False) or (today.month, today.day) < BANNER_FROM:
        return None
    try:
        calendar_year(today.year + 1)
    except CalendarYearMissing:
        load_url = reverse("calendars:index") if user_has_role(user, Role.ADMIN) else ""
        return CalendarBanner(today.year + 1, load_url)
    return None


class Shell:
    """The lazily computed parts of the page shell for one request."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    @cached_property
    def nav(self) -> list[NavLink]:
        return navigation(self.request)

    @cached_property
    def calendar_banner(self) -> CalendarBanner | None:
        return calendar_banner(with_grants(getattr(self.request, "user", None)))


def shell(request: HttpRequest) -> dict[str, Any]:
    return {"HUIFANG_DEMO": getattr(settings, "HUIFANG_DEMO", False), "shell": Shell(request)}
