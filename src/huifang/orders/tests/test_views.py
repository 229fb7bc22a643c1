"""Order screens: login and roles, the new-order form, targets upload with its error list, the
filter count (htmx), issue, progress, scorecards; another branch gets 404 (SPEC §0)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.callbacks.models import Purpose
from huifang.core.testing import (
    assert_forbidden,
    assert_list_excludes,
    assert_login_required,
    assert_out_of_scope_404,
    browser,
)
from huifang.orders import services
from huifang.orders.models import Order
from huifang.orders.tests.factories import (
    branch_user,
    clients,
    csv_bytes,
    dept_user,
    draft,
    hq_user,
    upload,
)
from huifang.org.tests.factories import UnitFactory
from huifang.workbench.tests.factories import agent_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> dict[str, Any]:
    dept = dept_user(username="dept")
    a, b = UnitFactory(code="VA01"), UnitFactory(code="VB01")
    people_a, people_b = clients(a, 2), clients(b, 2)
    order = draft(dept, title="佣金调整专项回访")
    upload(dept, order, [c.client_id for c in people_a + people_b])
    services.order_issue(user=dept, order=order)
    return {"dept": dept, "a": a, "b": b, "people_a": people_a, "people_b": people_b,
            "order": order}  # fmt: skip


def test_pages_need_a_login_and_an_ordering_role(world: dict[str, Any]) -> None:
    http = browser()
    for name in ("orders:list", "orders:new", "orders:scorecards"):
        assert_login_required(http, reverse(name))
    agent = agent_user(world["a"])
    assert_forbidden(http, agent, reverse("orders:new"), method="get")
    assert_forbidden(http, agent, reverse("orders:list"), method="get")
    ops = branch_user(world["a"])
    assert_forbidden(http, ops, reverse("orders:new"), method="get")
    assert_forbidden(http, ops, reverse("orders:issue", args=[world["order"].pk]))


def test_a_department_creates_a_draft_with_its_questions(world: dict[str, Any]) -> None:
    http = browser(world["dept"])
    assert http.get(reverse("orders:new")).status_code == 200
    data = {"rule_code": "SPC-1", "title": "两融风险专项", "ordered_by_unit": "HQMK",
            "starts_on": "2026-10-14", "ends_on": "2026-10-30", "level": "", "kind": "",
            "method": "phone", "questionnaire_code": "",
            "questions": "是否：是否知晓风险\n选择：渠道|短信/电话"}  # fmt: skip
    response = http.post(reverse("orders:new"), data)
    order = Order.objects.get(title="两融风险专项")
    assert response.status_code == 302 and response["Location"] == order.get_absolute_url()
    assert [q["type"] for q in order.questions] == ["yesno", "choice"]
    bad = http.post(reverse("orders:new"), {**data, "questions": "选择：只有|一"})
    assert bad.status_code == 400 and "第 1 行" in bad.content.decode()


def test_a_bad_upload_lists_each_line_and_saves_nothing(world: dict[str, Any]) -> None:
    http = browser(world["dept"])
    order = draft(world["dept"])
    raw = csv_bytes([world["people_a"][0].client_id, "K7777777", world["people_a"][0].client_id])
    response = http.post(reverse("orders:upload", args=[order.pk]),
                         {"file": SimpleUploadedFile("list.csv", raw)})  # fmt: skip
    page = response.content.decode()
    assert response.status_code == 400
    assert "第 2 行: 客户号 K7777777 不存在" in page and "第 3 行: " in page
    assert not order.targets.exists()
    good = csv_bytes([c.client_id for c in world["people_b"]])
    response = http.post(reverse("orders:upload", args=[order.pk]),
                         {"file": SimpleUploadedFile("list.csv", good)})  # fmt: skip
    assert response.status_code == 302 and order.targets.count() == 2


def test_the_filter_counts_with_htmx_and_sets_the_targets(world: dict[str, Any]) -> None:
    http = browser(world["dept"])
    order = draft(world["dept"])
    url = reverse("orders:filter", args=[order.pk])
    counted = http.get(url, {"branches": ["VA01"]}, headers={"HX-Request": "true"})
    assert counted.status_code == 200 and "2 位" in counted.content.decode()
    assert http.post(url, {"branches": ["VA01", "VB01"]}).status_code == 302
    assert order.targets.count() == 4


def test_issue_from_the_page_then_the_progress_page(world: dict[str, Any]) -> None:
    http = browser(world["dept"])
    order = draft(world["dept"])
    upload(world["dept"], order, [world["people_a"][1].client_id])
    response = http.post(reverse("orders:issue", args=[order.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:progress", args=[order.pk])
    assert Purpose.objects.filter(key__startswith=f"SPC-1:order{order.pk}:").count() == 1
    page = http.get(response["Location"])
    assert page.status_code == 200 and world["people_a"][1].client_id in page.content.decode()
    partial = http.get(response["Location"], {"status": "open"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "<html" not in partial.content.decode()


def test_another_branch_gets_404_and_a_branch_sees_only_its_part(world: dict[str, Any]) -> None:
    order = world["order"]
    outsider = branch_user(UnitFactory(code="VC01"), role=Role.BRANCH_MANAGER)
    http = browser()
    for name in ("orders:detail", "orders:progress"):
        assert_out_of_scope_404(http, outsider, reverse(name, args=[order.pk]))
    assert_out_of_scope_404(http, outsider, reverse("orders:issue", args=[order.pk]), method="post")
    assert_list_excludes(browser(outsider).get(reverse("orders:list")), order)
    ops = branch_user(world["a"])
    mine = browser(ops)
    page = mine.get(reverse("orders:progress", args=[order.pk]))
    assert page.status_code == 200
    assert world["people_a"][0].client_id in page.content.decode()
    assert_list_excludes(page, *(c.client_id for c in world["people_b"]))
    assert order.get_absolute_url() in mine.get(reverse("orders:list")).content.decode()
    hidden = draft(world["dept"])
    upload(world["dept"], hidden, [world["people_a"][0].client_id])
    assert_out_of_scope_404(http, ops, reverse("orders:detail", args=[hidden.pk]))  # a draft


def test_scorecards_page(world: dict[str, Any]) -> None:
    http = browser(hq_user())
    response = http.get(reverse("orders:scorecards"), {"start": "2026-10-01", "end": "2026-10-31"})
    assert response.status_code == 200
    assert_forbidden(http, agent_user(world["a"]), reverse("orders:scorecards"), method="get")


def test_a_draft_is_edited_and_an_mrg_8_draft_offers_the_staff_plan(world: dict[str, Any]) -> None:
    http = browser(world["dept"])
    order = draft(world["dept"], rule_code="MRG-8", title="督导")
    page = http.get(order.get_absolute_url())
    assert page.status_code == 200 and reverse("orders:staff_plan", args=[order.pk]) in (
        page.content.decode()
    )
    edit = reverse("orders:edit", args=[order.pk])
    assert http.get(edit).status_code == 200
    data = {"rule_code": "SPC-1", "title": "督导(修改)", "ordered_by_unit": "HQMK",
            "starts_on": "2026-10-14", "ends_on": "2026-10-28", "level": "", "kind": "",
            "method": "", "questionnaire_code": "", "questions": ""}  # fmt: skip
    assert http.post(edit, data).status_code == 302
    order.refresh_from_db()
    assert (order.title, order.rule_code, order.ends_on.day) == ("督导(修改)", "MRG-8", 28)
    issued = reverse("orders:edit", args=[world["order"].pk])
    assert http.get(issued).status_code == 409 and http.post(issued, data).status_code == 409


def test_closing_from_the_page(world: dict[str, Any]) -> None:
    http = browser(world["dept"])
    response = http.post(reverse("orders:close", args=[world["order"].pk]))
    assert response.status_code == 302
    world["order"].refresh_from_db()
    assert world["order"].status == "closed"
