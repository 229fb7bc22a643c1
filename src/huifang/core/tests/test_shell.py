"""The UI shell: navigation by role, the calendar banner, Chinese by default and English (NFR-1, NFR-5)."""

from __future__ import annotations

import datetime as dt
import gettext
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from huifang.accounts.choices import HQ_ROLES, Role
from huifang.accounts.tests.factories import UserFactory, user_with_role
from huifang.calendars.services import calendar_load
from huifang.calendars.tests.factories import rows_2027
from huifang.core import clock
from huifang.core.context_processors import calendar_banner
from huifang.core.testing import browser

ALL_ENTRIES = {"首页", "客户查询", "数据导入", "工作日历", "制度规则", "理财服务人员", "系统管理",
               "回访任务", "回访计划", "核实名单", "工作台", "负责人签字", "复核", "资料更正",
               "问题与投诉", "部门待办", "台账与报表", "专项回访", "月度报送", "月度报送情况",
               "营业部考核", "员工评分卡"}  # fmt: skip
# Issue 8 added: 问题与投诉/部门待办 (SPEC §7), 专项回访 (SPC-1, PLAN-1, IB-1, MRG-8),
# 台账与报表 (RPT-1..4), 月度报送/月度报送情况/营业部考核/员工评分卡 (REV-3..5).
_BRANCH_LEADERS = {"专项回访", "台账与报表", "员工评分卡", "营业部考核", "问题与投诉"}
NAV_BY_ROLE = {
    Role.AGENT: {"首页", "客户查询", "回访任务", "工作台", "问题与投诉"},
    Role.REVIEWER: {"首页", "客户查询", "回访任务", "复核"},
    Role.BRANCH_OPS: {
        "首页", "客户查询", "回访任务", "回访计划", "核实名单", "负责人签字", "资料更正",
        "月度报送", *_BRANCH_LEADERS,
    },
    Role.BRANCH_MARKETING: {
        "首页", "客户查询", "回访任务", "回访计划", "负责人签字", *_BRANCH_LEADERS,
    },
    Role.BRANCH_MANAGER: {
        "首页", "客户查询", "理财服务人员", "回访任务", "回访计划", "核实名单", "资料更正",
        "月度报送", *_BRANCH_LEADERS,
    },
    Role.ADVISER: {"首页", "客户查询", "问题与投诉"},
    Role.REGIONAL: {"首页", "客户查询", "回访任务", "回访计划", "核实名单", *_BRANCH_LEADERS},
    Role.HQ_SERVICE: {
        "首页", "客户查询", "数据导入", "工作日历", "制度规则", "回访任务", "回访计划", "核实名单",
        "负责人签字", "复核", "部门待办", "月度报送情况", *_BRANCH_LEADERS,
    },
    Role.DEPARTMENT: {"首页", "客户查询", "部门待办", "问题与投诉", "专项回访"},
    Role.COMPLIANCE: {
        "首页", "客户查询", "数据导入", "工作日历", "制度规则", "回访任务", "回访计划", "核实名单",
        "部门待办", "月度报送情况", *_BRANCH_LEADERS,
    },
    Role.ADMIN: {"首页", "数据导入", "工作日历"},
}  # fmt: skip


def holder(role: str, world: SimpleNamespace, **kwargs: object) -> object:
    if role in HQ_ROLES:
        return user_with_role(role, username=f"{role}_all", **kwargs)
    if role == Role.REGIONAL:
        return user_with_role(role, region=world.r1, username=f"{role}_r1", **kwargs)
    return user_with_role(role, unit=world.a01, username=f"{role}_a01", **kwargs)


def nav_of(html: str) -> dict[str, str]:
    """The menu entries of a page: label → URL."""
    nav = re.search(r'<nav class="nav"[^>]*>(.*?)</nav>', html, re.S)
    if nav is None:
        return {}
    return {
        label: url for url, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav.group(1))
    }


def test_every_role_has_its_menu() -> None:
    assert set(NAV_BY_ROLE) == set(Role)


@pytest.mark.parametrize("role", list(Role))
def test_the_menu_follows_the_role(world: SimpleNamespace, role: Role) -> None:
    html = browser(holder(role, world)).get(reverse("home")).content.decode()
    assert set(nav_of(html)) == NAV_BY_ROLE[role]


def test_the_menu_links_where_it_says(world: SimpleNamespace) -> None:
    html = browser(user_with_role(Role.COMPLIANCE)).get(reverse("home")).content.decode()
    assert nav_of(html) == {
        "首页": reverse("home"),
        "客户查询": reverse("clients:search"),
        "数据导入": reverse("feeds:batches"),
        "工作日历": reverse("calendars:index"),
        "制度规则": reverse("policy:index"),
        "回访任务": reverse("callbacks:tasks"),
        "回访计划": reverse("callbacks:plans"),
        "核实名单": reverse("callbacks:verification"),
        "问题与投诉": reverse("issues:list"),
        "部门待办": reverse("issues:inbox"),
        "台账与报表": reverse("reports:dashboard"),
        "专项回访": reverse("orders:list"),
        "月度报送情况": reverse("evaluation:closing_hq"),
        "营业部考核": reverse("evaluation:list"),
        "员工评分卡": reverse("evaluation:scorecards"),
    }


def test_staff_status_adds_the_admin_site(world: SimpleNamespace) -> None:
    admin = user_with_role(Role.ADMIN, username="admin", is_staff=True)
    menu = nav_of(browser(admin).get(reverse("home")).content.decode())
    assert menu["系统管理"] == reverse("admin:index")
    assert set(menu) == {"首页", "数据导入", "工作日历", "系统管理"}


def test_a_superuser_sees_every_entry(db: None) -> None:
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert set(nav_of(browser(root).get(reverse("home")).content.decode())) == ALL_ENTRIES


def test_a_user_without_roles_sees_the_home_page_only(db: None) -> None:
    html = browser(UserFactory()).get(reverse("home")).content.decode()
    assert set(nav_of(html)) == {"首页"}


def test_the_sign_in_page_has_no_menu(db: None) -> None:
    html = browser().get(reverse("login")).content.decode()
    assert nav_of(html) == {}
    assert 'class="calendar-banner"' not in html


def test_the_current_section_is_marked(world: SimpleNamespace) -> None:
    html = browser(world.agent_a).get(reverse("clients:detail", args=["K100"])).content.decode()
    current = re.findall(r'<a href="([^"]+)" class="active" aria-current="page">', html)
    assert current == [reverse("clients:search")]


# --- the calendar banner (NFR-1) -------------------------------------------------------


def banner_of(html: str) -> str | None:
    found = re.search(r'<div class="calendar-banner" role="alert">(.*?)</div>', html, re.S)
    return " ".join(found.group(1).split()) if found else None


@override_settings(HUIFANG_TODAY="2026-10-31")
def test_no_banner_before_november(world: SimpleNamespace) -> None:
    assert banner_of(browser(world.agent_a).get(reverse("home")).content.decode()) is None


@override_settings(HUIFANG_TODAY="2026-11-01")
@pytest.mark.parametrize("page", ["home", "clients:search", "calendars:index"])
def test_from_1_november_every_user_sees_the_banner(world: SimpleNamespace, page: str) -> None:
    banner = banner_of(browser(world.agent_a).get(reverse(page)).content.decode())
    assert banner == "2027 年工作日历尚未载入，请管理员于工作日历页面载入。"


@override_settings(HUIFANG_TODAY="2026-11-01")
def test_an_admin_gets_a_link_to_the_calendar_page(world: SimpleNamespace) -> None:
    admin = user_with_role(Role.ADMIN, username="admin")
    banner = banner_of(browser(admin).get(reverse("home")).content.decode())
    assert banner == (
        f'2027 年工作日历尚未载入，请管理员于<a href="{reverse("calendars:index")}">工作日历</a>页面载入。'
    )


def test_the_pinned_clock_decides(world: SimpleNamespace) -> None:
    http = browser(world.agent_a)
    with clock.frozen(dt.date(2026, 12, 31)):
        assert banner_of(http.get(reverse("home")).content.decode())
    with clock.frozen(dt.date(2027, 1, 1)):
        assert banner_of(http.get(reverse("home")).content.decode()) is None


@override_settings(HUIFANG_TODAY="2026-11-01")
def test_no_banner_once_next_year_is_loaded(world: SimpleNamespace) -> None:
    calendar_load(rows=rows_2027(), actor="test")
    assert banner_of(browser(world.agent_a).get(reverse("home")).content.decode()) is None


def test_the_banner_rule(world: SimpleNamespace) -> None:
    assert calendar_banner(world.agent_a, dt.date(2026, 10, 31)) is None
    assert calendar_banner(world.agent_a, dt.date(2026, 11, 1)) is not None
    assert calendar_banner(world.agent_a, dt.date(2025, 11, 1)) is None, "2026 is known"
    from django.contrib.auth.models import AnonymousUser

    assert calendar_banner(AnonymousUser(), dt.date(2026, 11, 1)) is None


# --- language (NFR-5) ------------------------------------------------------------------


def test_every_page_is_chinese_by_default(world: SimpleNamespace) -> None:
    for http, url in ((browser(), reverse("login")), (browser(world.agent_a), reverse("home"))):
        html = http.get(url).content.decode()
        assert '<html lang="zh-hans">' in html
        assert "回访合规系统" in html


@override_settings(HUIFANG_TODAY="2026-11-01")
def test_english_can_be_chosen(world: SimpleNamespace) -> None:
    http = browser(world.agent_a)
    response = http.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    assert response.status_code == 302
    html = http.get(reverse("home")).content.decode()
    assert '<html lang="en">' in html
    assert nav_of(html) == {
        "Home": reverse("home"),
        "Client search": reverse("clients:search"),
        "Callback tasks": reverse("callbacks:tasks"),
        "Workbench": reverse("workbench:home"),
        "Issues and complaints": reverse("issues:list"),
    }
    assert "My tasks" in html and "Due today" in html and "Callback agent" in html
    assert banner_of(html) == (
        "The 2027 working calendar is not loaded yet: "
        "an administrator should load it on the Working calendar page."
    )
    assert "Sign out" in html


def test_the_compiled_translations_match_their_source() -> None:
    """django.mo is committed: it must say what django.po says (recompile after editing)."""
    folder = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    entries = read_po(folder / "django.po")
    assert entries
    for msgid, plural, strings in entries:
        if "\x04" in msgid:  # msgctxt + EOT + msgid, as gettext keys a context's entry
            context, text = msgid.split("\x04")
            assert compiled.pgettext(context, text) == (strings[0] or text), msgid
        elif plural is None:
            assert compiled.gettext(msgid) == (strings[0] or msgid), msgid
        else:
            assert compiled.ngettext(msgid, plural, 1) == (strings[0] or msgid), msgid


def read_po(path: Path) -> list[tuple[str, str | None, list[str]]]:
    """(msgid, msgid_plural, msgstrs) of each non-fuzzy entry of a .po file."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        if "#, fuzzy" in block:
            continue
        fields: dict[str, str] = {}
        key = ""
        for line in block.splitlines():
            head = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if head:
                key = head.group(1)
                fields[key] = head.group(2)
            elif line.startswith('"') and key:
                fields[key] += line[1:-1]
        if fields.get("msgid"):
            strings = [_unescape(v) for k, v in sorted(fields.items()) if k.startswith("msgstr")]
            plural = fields.get("msgid_plural")
            msgid = _unescape(fields["msgid"])
            if "msgctxt" in fields:
                msgid = _unescape(fields["msgctxt"]) + "\x04" + msgid
            entries.append((msgid, _unescape(plural) if plural else None, strings))
    return entries


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
