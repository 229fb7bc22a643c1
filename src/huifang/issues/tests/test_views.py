"""The issue screens (SPEC §7): scope (404 outside it), roles (403), the forms call the services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from huifang.audit.models import AuditEvent
from huifang.core import clock
from huifang.core.testing import (
    assert_forbidden,
    assert_list_excludes,
    assert_login_required,
    assert_out_of_scope_404,
    assert_private,
    browser,
)
from huifang.issues import services
from huifang.issues.choices import IssueStatus, StepKind
from huifang.issues.models import Issue, RoutingRule
from huifang.issues.tests import factories as f
from huifang.policy.services import policy_default_ensure

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 10, 12)


@pytest.fixture
def w() -> f.World:
    policy_default_ensure()
    return f.world()


@pytest.fixture
def issue(w: f.World) -> Issue:
    record = f.record_with_findings(w, DAY, [("problem", "account", "地址变更未生效")])
    with clock.frozen(DAY):
        [made] = services.raise_from_record(record, f.actor(w.agent))
    return made


def detail(issue: Issue, action: str = "") -> str:
    return reverse(f"issues:{action or 'detail'}", args=[issue.pk])


def test_pages_need_a_sign_in(issue: Issue) -> None:
    http = browser()
    for url in (reverse("issues:list"), reverse("issues:inbox"), reverse("issues:register"),
                reverse("issues:routing"), detail(issue)):  # fmt: skip
        assert_login_required(http, url)


def test_a_branch_user_of_another_branch_gets_404(w: f.World, issue: Issue) -> None:
    """Scope (SPEC §0): B01's manager neither opens nor acts on A01's issue."""
    http = browser()
    assert_out_of_scope_404(http, w.outsider, detail(issue))
    data = {"step": StepKind.FEEDBACK_BRANCH}
    assert_out_of_scope_404(http, w.outsider, detail(issue, "feedback"), method="post", data=data)
    assert_list_excludes(http.get(reverse("issues:list")), issue.number)
    # another department does not see an issue routed elsewhere either
    assert_out_of_scope_404(http, w.it_user, detail(issue, "answer"), method="post",
                            data={"text": "x"})  # fmt: skip
    http.force_login(w.manager)
    response = http.get(reverse("issues:list"))
    assert response.status_code == 200 and issue.number in response.content.decode()
    assert_private(response)


def test_the_department_inbox_shows_the_issue_with_its_clock_and_answers_it(
    w: f.World, issue: Issue
) -> None:
    http = browser(w.dept)
    with clock.frozen(DAY):
        page = http.get(reverse("issues:inbox")).content.decode()
    assert issue.number in page and "2026-10-14" in page  # answer due: 10-12 + 2 working days
    assert "剩 2 个工作日" in page
    page = http.get(detail(issue)).content.decode()  # today 10-14: due today
    assert "提交答复" in page and "今日到期" in page
    response = http.post(detail(issue, "answer"), {"text": "已核实处理"})
    assert response.status_code == 302
    issue.refresh_from_db()
    assert issue.status == IssueStatus.ANSWERED and issue.answer == "已核实处理"


def test_compliance_sees_the_issue_but_may_not_answer_for_the_department(
    w: f.World, issue: Issue
) -> None:
    http = browser(w.compliance)
    assert "提交答复" not in http.get(detail(issue)).content.decode()
    response = http.post(detail(issue, "answer"), {"text": "代答"})
    assert response.status_code == 403 and "只有承办部门可以答复" in response.content.decode()
    issue.refresh_from_db()
    assert issue.status == IssueStatus.ROUTED


def test_branch_users_give_feedback_and_close_on_the_issue_page(w: f.World, issue: Issue) -> None:
    services.answer(issue=issue, actor=f.actor(w.dept), text="已处理")
    manager, agent, ops = browser(w.manager), browser(w.agent), browser(w.ops)
    assert "反馈营业部负责人" in manager.get(detail(issue)).content.decode()
    assert manager.post(detail(issue, "feedback"), {"step": "feedback_branch"}).status_code == 302
    # the agent may not acknowledge for the branch leader
    again = agent.post(detail(issue, "feedback"), {"step": "feedback_branch"})
    assert again.status_code in (403, 409)
    for step in ("feedback_agent", "feedback_client"):
        assert agent.post(detail(issue, "feedback"), {"step": step}).status_code == 302
    assert "办结" in ops.get(detail(issue)).content.decode()
    assert ops.post(detail(issue, "close"), {"note": "客户满意"}).status_code == 302
    issue.refresh_from_db()
    assert issue.status == IssueStatus.CLOSED


def test_registering_a_complaint_from_the_form(w: f.World) -> None:
    http = browser(w.ops)
    assert http.get(reverse("issues:register")).status_code == 200
    data = {"source": "complaint", "channel": "letter", "category": "complaint",
            "client_id": w.client.pk, "summary": "客户来信投诉服务态度", "major": "on"}  # fmt: skip
    with clock.frozen(dt.datetime(2026, 10, 14, 9, tzinfo=clock.SHANGHAI)):
        response = http.post(reverse("issues:register"), data)
    issue = Issue.objects.get()
    assert response.status_code == 302 and response["Location"] == detail(issue)
    assert (issue.source, issue.channel, issue.major, issue.branch_id) == (
        "complaint", "letter", True, "A01")  # fmt: skip
    assert issue.owner_id == w.ops.staff.pk and issue.department_id == "HQCC"


def test_registering_for_a_client_outside_the_scope_is_refused(w: f.World) -> None:
    http = browser(w.outsider)
    data = {"source": "complaint", "channel": "phone", "category": "complaint",
            "client_id": w.client.pk, "summary": "投诉"}  # fmt: skip
    assert http.post(reverse("issues:register"), data).status_code == 404
    assert not Issue.objects.exists()


def test_the_routing_table_is_edited_by_compliance_only_and_audited(w: f.World) -> None:
    url = reverse("issues:routing")
    data = {"category": "product", "department": "HQRT"}
    assert_forbidden(browser(), w.dept, url, data=data)
    assert RoutingRule.objects.get(category="product").department_id == "HQPD"
    http = browser(w.compliance)
    page = http.get(url).content.decode()
    assert "机构未载入" in page  # HQPD is not loaded in this world
    assert http.post(url, data).status_code == 302
    rule = RoutingRule.objects.get(category="product")
    assert rule.department_id == "HQRT" and rule.updated_by == "compliance"
    event = AuditEvent.objects.get(action="issues.routing_set")
    assert (event.before, event.after, event.actor) == (
        {"department": "HQPD"}, {"department": "HQRT"}, "compliance")  # fmt: skip


def test_compliance_routes_an_unrouted_issue_from_its_inbox(w: f.World) -> None:
    record = f.record_with_findings(w, DAY, [("need", "product", "想买新基金")])
    [issue] = services.raise_from_record(record, f.actor(w.agent))
    http = browser(w.compliance)
    assert issue.number in http.get(reverse("issues:inbox")).content.decode()
    assert http.post(detail(issue, "route"), {"department": "HQRT"}).status_code == 302
    issue.refresh_from_db()
    assert issue.department_id == "HQRT" and issue.status == IssueStatus.ROUTED
