"""The home page: one dashboard panel per role, placeholders for what later issues fill in."""

from __future__ import annotations

from types import SimpleNamespace
from unittest.mock import patch

import pytest
from django.urls import reverse

from huifang.accounts.choices import HQ_ROLES, Role
from huifang.accounts.tests.factories import UserFactory, grant, user_with_role
from huifang.audit.services import audit_record
from huifang.core.testing import browser

PANEL_TEXT = {
    Role.AGENT: ("我的任务", "今日到期", "逾期"),
    Role.REVIEWER: ("待复核",),
    Role.BRANCH_OPS: ("本营业部覆盖率", "待签字"),
    Role.BRANCH_MARKETING: ("本营业部覆盖率", "待签字"),
    Role.BRANCH_MANAGER: ("本营业部覆盖率", "待签字"),
    Role.ADVISER: ("我服务的客户", "服务记录"),
    Role.REGIONAL: ("辖区营业部",),
    Role.HQ_SERVICE: ("公司级回访", "抽检计划"),
    Role.DEPARTMENT: ("待处理问题",),
    Role.COMPLIANCE: ("合规总览", "审计链校验状态"),
    Role.ADMIN: ("用户", "日历", "数据导入"),
}
PANEL_ID = {
    Role.AGENT: "agent",
    Role.REVIEWER: "reviewer",
    Role.BRANCH_OPS: "branch",
    Role.BRANCH_MARKETING: "branch",
    Role.BRANCH_MANAGER: "branch",
    Role.ADVISER: "adviser",
    Role.REGIONAL: "regional",
    Role.HQ_SERVICE: "hq_service",
    Role.DEPARTMENT: "department",
    Role.COMPLIANCE: "compliance",
    Role.ADMIN: "admin",
}


def holder(role: str, world: SimpleNamespace) -> object:
    if role in HQ_ROLES:
        return user_with_role(role, username=f"{role}_all")
    if role == Role.REGIONAL:
        return user_with_role(role, region=world.r1, username=f"{role}_r1")
    return user_with_role(role, unit=world.a01, username=f"{role}_a01")


def panels(html: str) -> set[str]:
    return {key for key in set(PANEL_ID.values()) if f'id="panel-{key}"' in html}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_its_own_panel(world: SimpleNamespace, role: Role) -> None:
    html = browser(holder(role, world)).get(reverse("home")).content.decode()
    assert panels(html) == {PANEL_ID[role]}
    for text in PANEL_TEXT[role]:
        assert text in html, text
    assert "后续版本提供" in html


def test_several_roles_see_several_panels_once(world: SimpleNamespace) -> None:
    user = user_with_role(Role.BRANCH_OPS, unit=world.a01, username="ops")
    grant(user, Role.BRANCH_MANAGER, unit=world.a02)
    grant(user, Role.REVIEWER, unit=world.a01)
    html = browser(user).get(reverse("home")).content.decode()
    assert panels(html) == {"branch", "reviewer"}
    assert html.count('id="panel-branch"') == 1


def test_the_regional_panel_names_the_branches_of_the_region(world: SimpleNamespace) -> None:
    html = browser(world.regional).get(reverse("home")).content.decode()
    assert "A01 北京甲营业部" in html and "A02 北京乙营业部" in html
    assert "B01" not in html


def test_the_compliance_panel_shows_how_far_the_audit_trail_goes(world: SimpleNamespace) -> None:
    http = browser(user_with_role(Role.COMPLIANCE, username="compliance"))
    for _ in range(2):
        row = audit_record(action="test.event", object_type="test")
        assert f"审计记录已至第 {row.pk} 条" in http.get(reverse("home")).content.decode()


def test_the_compliance_panel_without_audit_rows(world: SimpleNamespace) -> None:
    from huifang.clients.selectors import AuditSummary

    with patch("huifang.clients.views.audit_summary", return_value=AuditSummary(None, None)):
        html = browser(user_with_role(Role.COMPLIANCE)).get(reverse("home")).content.decode()
    assert "尚无审计记录" in html


def test_the_admin_panel_links_to_calendar_import_and_users(world: SimpleNamespace) -> None:
    admin = user_with_role(Role.ADMIN, username="admin", is_staff=True)
    html = browser(admin).get(reverse("home")).content.decode()
    panel = html[html.index('id="panel-admin"') :]
    for url in (reverse("calendars:index"), reverse("feeds:batches"), "/admin/"):
        assert f'href="{url}' in panel


def test_a_user_without_roles_is_told_to_ask_for_one(db: None) -> None:
    html = browser(UserFactory()).get(reverse("home")).content.decode()
    assert panels(html) == set()
    assert "尚未授予任何角色" in html


def test_the_home_page_reads_the_grants_once(
    world: SimpleNamespace, django_assert_max_num_queries: object
) -> None:
    user = user_with_role(Role.COMPLIANCE, username="compliance")
    grant(user, Role.ADMIN)
    http = browser(user)
    http.get(reverse("home"))
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        http.get(reverse("home"))
