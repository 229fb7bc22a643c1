"""The client page's classification section, ad-hoc rating, visits and advisers (CLS-4, 6, 7, 9)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.audit.models import AuditEvent
from huifang.classification.models import AdviserAssignment, ClientClass, YearlyVisit
from huifang.classification.services import classification_run
from huifang.classification.tests import archivekit as ak
from huifang.clients.models import ClientChange
from huifang.clients.tests.factories import ClientFactory
from huifang.core.testing import assert_forbidden, assert_out_of_scope_404, browser
from huifang.org.tests.factories import UnitFactory
from huifang.policy.models import PolicyVersion


@pytest.fixture
def rated(default_policy: PolicyVersion, branches: SimpleNamespace) -> SimpleNamespace:
    """A01: VIP K1 (the feed's adviser S101), core K2 and K3 (no adviser), ordinary K4; rated 2026."""
    w = branches
    ClientFactory(client_id="K1", branch=w.a01, adviser=w.adviser_1)
    for client_id in ("K2", "K3", "K4"):
        ClientFactory(client_id=client_id, branch=w.a01)
    ak.write("clients", "2025-06-30", [ak.client(c) for c in ("K1", "K2", "K3", "K4")])
    ak.write("assets", "2025-12-31", [
        {"client_id": "K1", "total_assets": 12_000_000},
        {"client_id": "K2", "total_assets": 400_000},
        {"client_id": "K3", "total_assets": 300_000},
        {"client_id": "K4", "total_assets": 5_000},
    ])  # fmt: skip
    classification_run(kind="annual", day=dt.date(2026, 1, 5), actor="system:test")
    return w


def page(user: object, client_id: str) -> str:
    response = browser(user).get(reverse("clients:detail", args=[client_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_client_page_shows_the_class_its_rule_and_its_history(rated: SimpleNamespace) -> None:
    html = page(rated.agent_a, "K1")
    assert "VIP客户（一类）" in html and "规则 CLS-1 · 来源 003 第三条" in html
    assert "公司重要客户" in html and "规则 CLS-8 · 来源 004（2019 回访制度）第三条" in html
    assert "财务通" in html and "税务顾问服务" in html and "规则 CLS-6 · 来源 003 第五条" in html
    assert "年度评级" in html and reverse("policy:version", args=[1]) in html
    assert "资产 12,000,000.00" in html and "统计日 2025-12-31" in html  # the inputs (CLS-9)
    assert "S101 理财甲" in html and "2026 年上门拜访" in html
    assert "按现行标准分类" not in html  # an agent does not rate


def test_a_core_client_without_adviser_is_flagged(rated: SimpleNamespace) -> None:
    assert "未配备" in page(rated.manager_a, "K2")
    assert "未配备" not in page(rated.manager_a, "K4")  # ordinary: no adviser required


def test_a_branch_user_rates_one_client_upgrade_only(rated: SimpleNamespace) -> None:
    ak.write("assets", "2026-10-13", [
        {"client_id": "K4", "total_assets": 20_000_000},
        {"client_id": "K2", "total_assets": 1},
    ])  # fmt: skip
    http = browser(rated.ops_a)
    for client_id in ("K4", "K2"):
        response = http.post(reverse("classification:rate", args=[client_id]))
        assert response.status_code == 302
    row = ClientClass.objects.get(client_id="K4", scheme="CLS-1")
    assert (row.class_code, row.reason, row.since) == ("vip", "manual", dt.date(2026, 10, 14))
    assert (
        ClientClass.objects.get(client_id="K2", scheme="CLS-1").class_code == "core"
    )  # never down
    event = AuditEvent.objects.filter(action="classification.manual").first()
    assert event is not None and event.actor == "ops_a" and event.branch_code == "A01"
    assert "营业部动态分类" in page(rated.ops_a, "K4")


def test_rating_needs_a_branch_role_and_the_clients_scope(rated: SimpleNamespace) -> None:
    url = reverse("classification:rate", args=["K4"])
    assert_forbidden(browser(), rated.agent_a, url)
    assert_out_of_scope_404(browser(), rated.manager_b, url, method="post")
    assert ClientClass.objects.get(client_id="K4", scheme="CLS-1").reason == "annual"


def test_a_visit_is_recorded_toward_the_yearly_obligation(rated: SimpleNamespace) -> None:
    adviser = user_with_role(Role.ADVISER, unit=rated.a01, username="adviser_a")
    response = browser(adviser).post(reverse("classification:visit", args=["K1"]))
    assert response.status_code == 302
    visit = YearlyVisit.objects.get(client_id="K1", year=2026)
    assert (visit.visits, visit.last_visited_on, visit.last_visited_by) == (
        1,
        dt.date(2026, 10, 14),
        "adviser_a",
    )
    assert "已拜访 1 次，应拜访 1 次" in page(adviser, "K1")
    branch_page = browser(rated.manager_a).get(reverse("classification:advisers", args=["A01"]))
    assert "本年度尚未上门拜访的客户（2 位）" in branch_page.content.decode()
    browser(adviser).post(reverse("classification:visit", args=["K4"]))  # ordinary: nothing owed
    assert not YearlyVisit.objects.filter(client_id="K4").exists()
    assert_forbidden(browser(), rated.agent_a, reverse("classification:visit", args=["K1"]))


def test_the_branch_manager_sees_who_lacks_an_adviser(rated: SimpleNamespace) -> None:
    response = browser(rated.manager_a).get(reverse("classification:advisers", args=["A01"]))
    html = response.content.decode()
    assert response.status_code == 200
    lacking = html.split("本年度尚未上门拜访")[0]
    assert reverse("clients:detail", args=["K2"]) in lacking
    assert reverse("clients:detail", args=["K3"]) in lacking
    assert reverse("clients:detail", args=["K1"]) not in lacking  # served by S101
    assert "按工作量均衡分配" in html
    assert "本年度尚未上门拜访的客户（3 位）" in html  # K1 (VIP, important), K2, K3 (core)


def test_bulk_assignment_is_balanced_by_workload_and_audited(rated: SimpleNamespace) -> None:
    response = browser(rated.manager_a).post(reverse("classification:advisers", args=["A01"]))
    assert response.status_code == 302
    assigned = dict(AdviserAssignment.objects.values_list("client_id", "adviser_id"))
    assert assigned == {"K2": "S102", "K3": "S101"}  # S101 already serves K1
    history = ClientChange.objects.filter(field="adviser").order_by("client_id")
    assert [(c.client_id, c.new_value, c.actor) for c in history] == [
        ("K2", "S102", "manager_a"),
        ("K3", "S101", "manager_a"),
    ]
    event = AuditEvent.objects.get(action="classification.adviser_assign")
    assert event.after == {"K2": "S102", "K3": "S101"} and event.branch_code == "A01"
    html = (
        browser(rated.manager_a)
        .get(reverse("classification:advisers", args=["A01"]))
        .content.decode()
    )
    assert "所有VIP和核心客户均已配备理财服务人员" in html


def test_only_a_branch_manager_assigns(rated: SimpleNamespace) -> None:
    marketing = user_with_role(Role.BRANCH_MARKETING, unit=rated.a01, username="marketing_a")
    url = reverse("classification:advisers", args=["A01"])
    assert browser(marketing).get(url).status_code == 200
    assert_forbidden(browser(), marketing, url)
    assert_forbidden(browser(), rated.agent_a, url, method="get")
    assert not AdviserAssignment.objects.exists()


def test_the_adviser_menu_goes_to_the_managers_branch(rated: SimpleNamespace) -> None:
    response = browser(rated.manager_a).get(reverse("classification:branches"))
    assert response.status_code == 302 and response["Location"] == reverse(
        "classification:advisers", args=["A01"]
    )
    UnitFactory(code="A02", name="北京乙营业部", region=rated.r1)
    regional = user_with_role(Role.REGIONAL, region=rated.r1, username="regional_r1")
    html = browser(regional).get(reverse("classification:branches")).content.decode()
    assert reverse("classification:advisers", args=["A01"]) in html
    assert reverse("classification:advisers", args=["B01"]) not in html


def test_compliance_sees_the_rating_runs(rated: SimpleNamespace) -> None:
    html = browser(rated.compliance).get(reverse("classification:runs")).content.decode()
    assert "年度评级" in html and "2025-12-31" in html
    assert_forbidden(browser(), rated.agent_a, reverse("classification:runs"), method="get")
