from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from huifang.clients.tests.conftest import ID_NUMBER_A, MOBILE_A
from huifang.clients.tests.factories import ClientChangeFactory
from huifang.core.pii import PII_PATTERNS


def browser(user: object) -> HttpClient:
    http = HttpClient()
    http.force_login(user)  # type: ignore[arg-type]
    return http


def assert_no_full_pii(html: str) -> None:
    assert ID_NUMBER_A not in html
    assert MOBILE_A not in html
    for pattern in PII_PATTERNS:
        assert not pattern.search(html), pattern.search(html)


def detail_url(client_id: str) -> str:
    return reverse("clients:detail", args=[client_id])


@pytest.mark.parametrize("name", ["home", "clients:search"])
def test_pages_require_login(db: None, name: str) -> None:
    response = HttpClient().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_client_page_requires_login(world: SimpleNamespace) -> None:
    response = HttpClient().get(detail_url("K100"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_search_post_requires_login(world: SimpleNamespace) -> None:
    response = HttpClient().post(reverse("clients:search"), {"q": ID_NUMBER_A})
    assert response.status_code == 302


def test_login_page_is_in_chinese(db: None) -> None:
    response = HttpClient().get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "回访合规系统" in html
    assert "登录" in html


def test_login_then_logout(world: SimpleNamespace) -> None:
    http = HttpClient()
    response = http.post(reverse("login"), {"username": "agent_a", "password": "pw-for-tests-2026"})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert http.get(reverse("home")).status_code == 200
    assert http.post(reverse("logout")).status_code == 302
    assert http.get(reverse("home")).status_code == 302


def test_home_shows_the_shell_and_the_users_roles(world: SimpleNamespace) -> None:
    response = browser(world.agent_a).get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "回访专员" in html and "北京甲营业部" in html
    assert reverse("clients:search") in html
    assert reverse("logout") in html and reverse("set_language") in html
    assert "django_htmx/htmx-2.min.js" in html
    assert "huifang/app.css" in html
    assert not re.search(r"https?://", html), "no external asset in an air-gapped network"


def test_demo_banner_only_in_demo_mode(world: SimpleNamespace, settings: object) -> None:
    http = browser(world.agent_a)
    assert "demo-banner" not in http.get(reverse("home")).content.decode()
    settings.HUIFANG_DEMO = True  # type: ignore[attr-defined]
    assert "demo-banner" in http.get(reverse("home")).content.decode()


def test_client_page_shows_the_profile_masked(world: SimpleNamespace) -> None:
    response = browser(world.agent_a).get(detail_url("K100"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "王小明" in html and "北京甲营业部" in html
    assert world.client_a.id_number_masked in html
    assert world.client_a.mobile_masked in html
    assert_no_full_pii(html)


def test_client_page_is_never_cached(world: SimpleNamespace) -> None:
    response = browser(world.agent_a).get(detail_url("K100"))
    assert "no-store" in response["Cache-Control"]


def test_search_results_are_never_cached(world: SimpleNamespace) -> None:
    response = browser(world.agent_a).post(reverse("clients:search"), {"q": "王"})
    assert "no-store" in response["Cache-Control"]


def test_another_branch_gets_404_for_the_client_page(world: SimpleNamespace) -> None:
    assert browser(world.agent_b).get(detail_url("K100")).status_code == 404
    assert browser(world.agent_b).get(detail_url("NO-SUCH")).status_code == 404


def test_another_branch_finds_no_rows(world: SimpleNamespace) -> None:
    http = browser(world.agent_b)
    for query in ("K100", ID_NUMBER_A, MOBILE_A, "王小明"):
        html = http.post(reverse("clients:search"), {"q": query}).content.decode()
        assert detail_url("K100") not in html
        assert "找到 0 位客户" in html


def test_regional_user_sees_the_branches_of_his_region(world: SimpleNamespace) -> None:
    http = browser(world.regional)
    assert http.get(detail_url("K100")).status_code == 200
    assert http.get(detail_url("K200")).status_code == 200
    assert http.get(detail_url("K300")).status_code == 404


def test_hq_user_sees_every_branch(world: SimpleNamespace) -> None:
    http = browser(world.hq)
    for client_id in ("K100", "K200", "K300"):
        assert http.get(detail_url(client_id)).status_code == 200
    html = http.post(reverse("clients:search"), {"q": "王"}).content.decode()
    assert all(detail_url(c) in html for c in ("K100", "K200", "K300"))


def test_a_user_without_grants_sees_nothing(world: SimpleNamespace) -> None:
    from huifang.accounts.tests.factories import UserFactory

    http = browser(UserFactory())
    assert http.get(detail_url("K100")).status_code == 404


@pytest.mark.parametrize("query", [ID_NUMBER_A, MOBILE_A])
def test_search_by_id_number_or_mobile_never_echoes_it(world: SimpleNamespace, query: str) -> None:
    response = browser(world.agent_a).post(reverse("clients:search"), {"q": query})
    html = response.content.decode()
    assert detail_url("K100") in html
    assert "找到 1 位客户" in html
    assert_no_full_pii(html)


def test_search_with_htmx_returns_the_results_only(world: SimpleNamespace) -> None:
    response = browser(world.agent_a).post(
        reverse("clients:search"), {"q": ID_NUMBER_A}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "<html" not in html
    assert detail_url("K100") in html
    assert_no_full_pii(html)


def test_search_page_posts_its_form(world: SimpleNamespace) -> None:
    html = browser(world.agent_a).get(reverse("clients:search")).content.decode()
    assert 'method="post"' in html and 'hx-post="' in html


def test_an_empty_query_shows_an_error(world: SimpleNamespace) -> None:
    html = browser(world.agent_a).post(reverse("clients:search"), {"q": ""}).content.decode()
    assert 'class="error"' in html


def test_client_page_shows_the_change_history(world: SimpleNamespace) -> None:
    ClientChangeFactory(client=world.client_a, field="risk_level", old_value="C2", new_value="C4")
    ClientChangeFactory(
        client=world.client_a, field="mobile", old_value="139****5678", new_value="137****0000"
    )
    html = browser(world.agent_a).get(detail_url("K100")).content.decode()
    assert "风险承受能力" in html and "C4" in html
    assert "137****0000" in html
    assert_no_full_pii(html)


def test_client_page_lists_the_clients_callback_tasks_and_records(world: SimpleNamespace) -> None:
    from huifang.accounts.choices import Role
    from huifang.accounts.tests.factories import user_with_role
    from huifang.callbacks.models import Purpose
    from huifang.callbacks.tests.factories import task_for
    from huifang.core.tests.test_scope_matrix import record_for
    from huifang.policy.services import policy_default_ensure

    task = task_for(world.client_a)
    Purpose.objects.create(
        task=task, key="NEW-2:K100", rule_code="NEW-2", rule_id="NEW-2",
        policy_version=policy_default_ensure(), business_date=task.created_on,
        due_date=task.due_date,
    )  # fmt: skip
    record = record_for(task)
    other = task_for(world.client_a2)
    html = browser(world.agent_a).get(detail_url("K100")).content.decode()
    assert reverse("callbacks:task", args=[task.pk]) in html and "NEW-2" in html
    assert reverse("workbench:record", args=[record.pk]) in html and record.number in html
    assert reverse("callbacks:task", args=[other.pk]) not in html
    # the marketing sequence does not see callbacks (CON-2)
    adviser = user_with_role(Role.ADVISER, unit=world.a01, username="adviser_a")
    html = browser(adviser).get(detail_url("K100")).content.decode()
    assert reverse("callbacks:task", args=[task.pk]) not in html and "CON-2" in html
