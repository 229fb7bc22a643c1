"""Callback screens: plans with coverage, tasks, "why does this task exist?", the STOCK-1 list.

Every page is read through ``browser`` (fails on any full ID number or mobile) by a
user of branch A01 (region R1); users of branch B01 (region R2) get 404.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.audit.models import AuditEvent
from huifang.callbacks.models import (
    Plan,
    PlanEntry,
    Purpose,
    Task,
    TaskEvent,
    VerificationListEntry,
)
from huifang.callbacks.rules import sample_order, sample_seed
from huifang.callbacks.services import task_assign
from huifang.clients.tests.conftest import ID_NUMBER_A, MOBILE_A
from huifang.clients.tests.conftest import world as world  # noqa: F401 (fixture)
from huifang.clients.tests.factories import ClientFactory
from huifang.core.testing import (
    assert_forbidden,
    assert_login_required,
    assert_out_of_scope_404,
    assert_private,
    browser,
)
from huifang.org.choices import Position
from huifang.org.tests.factories import StaffFactory
from huifang.policy.models import PolicyVersion

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("today")]

TODAY = "2026-10-20"
DAY = dt.date(2026, 10, 12)
NEW1_CITATION = "规则 NEW-1 · 来源 004 第十二条(一)1；004 经纪人 第三条、第五条"


@pytest.fixture
def today() -> Any:
    with override_settings(HUIFANG_TODAY=TODAY):
        yield


@pytest.fixture
def w(world: SimpleNamespace, policy: PolicyVersion) -> SimpleNamespace:  # noqa: F811
    """Branch A01's broker-introduced client K100 with a NEW-1 task assigned to agent S02."""
    broker = StaffFactory(staff_id="S01", name="经纪人甲", unit=world.a01, position=Position.BROKER)
    agent = StaffFactory(staff_id="S02", name="坐席乙", unit=world.a01, position=Position.AGENT)
    client = world.client_a
    client.broker = broker
    client.save(update_fields=["broker"])
    plan = Plan.objects.create(
        rule_code="NEW-2", rule_id="NEW-2", period="2026-10", period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31), stratum="A01", branch=world.a01, level="branch", share="0.3",
        population=10, required=3, sampled=2, skipped_at_cap=1,
        seed=sample_seed(policy.number, "NEW-2", "2026-10"), policy_version=policy, as_of=DAY,
    )  # fmt: skip
    PlanEntry.objects.create(plan=plan, client=client, added_on=DAY, sampled=True, sampled_on=DAY)
    PlanEntry.objects.create(plan=plan, client=world.client_a2, added_on=DAY, skipped_at_cap=True)
    task = _task(client, due=dt.date(2026, 10, 26))
    _purpose(task, "NEW-1", policy, plan=plan, facts={"open_date": "2026-10-12", "broker": "S01"})
    TaskEvent.objects.create(task=task, event="created", business_date=DAY, at=_at(), actor="run")
    task_assign(task=task, agent=agent, actor="test")
    return SimpleNamespace(
        **vars(world), policy=policy, plan=plan, task=task, agent=agent, broker=broker,
        manager_a=user_with_role(Role.BRANCH_MANAGER, unit=world.a01, username="manager_a"),
        manager_b=user_with_role(Role.BRANCH_MANAGER, unit=world.b01, username="manager_b"),
        regional_r2=user_with_role(Role.REGIONAL, region=world.r2, username="regional_r2"),
    )  # fmt: skip


def _at() -> dt.datetime:
    return dt.datetime(2026, 10, 12, 22, 0, tzinfo=dt.UTC)


def _task(client: Any, *, due: dt.date, level: str = "branch", **extra: Any) -> Task:
    return Task.objects.create(
        client=client, branch_id=client.branch_id, level=level, kind="compliance", due_date=due,
        created_on=DAY, quarter="2026-Q4", **extra,
    )  # fmt: skip


def _purpose(task: Task, rule: str, policy: PolicyVersion, **extra: Any) -> Purpose:
    facts = extra.pop("facts", {})
    return Purpose.objects.create(
        task=task, key=f"{rule}:{task.pk}", rule_code=rule, rule_id=rule, policy_version=policy,
        business_date=DAY, due_date=task.due_date, facts=json.dumps(facts), **extra,
    )  # fmt: skip


def http(user: Any) -> Any:
    return browser(user, pii_values=(ID_NUMBER_A, MOBILE_A))


def html_of(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def task_url(task: Task) -> str:
    return reverse("callbacks:task", args=[task.pk])


# --- the task page: why does this task exist? ------------------------------------------------


def test_the_task_page_answers_why_the_task_exists(w: SimpleNamespace) -> None:
    response = http(w.agent_a).get(task_url(w.task))
    html = html_of(response)
    assert_private(response)
    assert "为什么有这个回访任务？" in html
    assert NEW1_CITATION in html and "证券经纪人引荐的新开户客户" in html
    assert w.plan.seed in html and sample_order(w.plan.seed, "K100") in html
    assert reverse("callbacks:plan", args=[w.plan.pk]) in html
    assert "自开户起 5 个工作日" in html  # the due date rule of NEW-1
    # Triggering facts as labelled rows.
    assert (
        "<dt>开户日期</dt><dd>2026-10-12</dd>" in html and "<dt>证券经纪人</dt><dd>S01</dd>" in html
    )
    # The recusal proof: the broker S01 was checked and is not the agent S02.
    assert "已核查上述关系，均未发现冲突。" in html
    assert '<td class="mono">S01</td>' in html and "不是回访人员本人（未发现）" in html
    assert "坐席乙" in html and "分配" in html
    # The client, masked.
    assert "K100" in html and "110***********002X" in html and "139****5678" in html


def test_a_task_for_a_broker_shows_the_staff_member(w: SimpleNamespace) -> None:
    task = Task.objects.create(
        target_staff=w.broker, branch_id="A01", level="company", kind="compliance",
        due_date=dt.date(2026, 12, 31), created_on=DAY, quarter="2026-Q4",
    )  # fmt: skip
    html = html_of(http(w.hq).get(task_url(task)))
    assert "回访对象(员工)" in html and "S01" in html and "经纪人甲" in html
    assert "尚未分配，暂无回避证明。" in html


def test_the_task_page_shows_cap_exception_cooling_off_and_overdue(w: SimpleNamespace) -> None:
    Task.objects.filter(pk=w.task.pk).update(
        cap_exception=True, cap_reason="季度内已回访2次，100%规则不可合并", due_date=dt.date(2026, 10, 19),
        opens_at=dt.datetime(2026, 10, 13, 10, 0, tzinfo=dt.UTC),
    )  # fmt: skip
    html = html_of(http(w.agent_a).get(task_url(w.task)))
    assert "超季度上限" in html and "季度内已回访2次，100%规则不可合并" in html
    assert "冷静期至 2026-10-13 18:00，之后方可回访" in html
    assert 'class="error overdue-mark">逾期' in html


def test_outsiders_get_404_for_tasks_and_plans(w: SimpleNamespace) -> None:
    for user in (w.agent_b, w.manager_b, w.regional_r2):
        client = http(None)
        assert_out_of_scope_404(client, user, task_url(w.task))
        assert_out_of_scope_404(client, user, reverse("callbacks:plan", args=[w.plan.pk]))


def test_the_screens_require_sign_in_and_a_role(w: SimpleNamespace) -> None:
    client = http(None)
    for name in ("callbacks:tasks", "callbacks:plans", "callbacks:verification"):
        assert_login_required(client, reverse(name))
    adviser = user_with_role(Role.ADVISER, unit=w.a01, username="adviser_a")
    assert_forbidden(client, adviser, task_url(w.task), method="get")
    assert_forbidden(client, w.agent_a, reverse("callbacks:plans"), method="get")
    assert_forbidden(
        client,
        w.agent_a,
        reverse("callbacks:verification"),
        data={"client_id": "K100", "reason": "x"},
    )


# --- the task list -----------------------------------------------------------------------------


@pytest.fixture
def tasks(w: SimpleNamespace) -> SimpleNamespace:
    """Beside w.task (NEW-1, due 10-26, assigned to S02): an overdue one, a signed late one, a
    company-level KEY-1 one with a cooling-off time, and one of branch B01."""
    overdue = _task(ClientFactory(client_id="K101", branch=w.a01), due=dt.date(2026, 10, 15))
    _purpose(overdue, "NEW-2", w.policy)
    signed = _task(
        ClientFactory(client_id="K102", branch=w.a01), due=dt.date(2026, 10, 15), status="signed"
    )
    _purpose(signed, "NEW-2", w.policy)
    company = _task(
        ClientFactory(client_id="K103", branch=w.a01), due=dt.date(2026, 12, 31), level="company",
        opens_at=dt.datetime(2026, 10, 21, 2, 0, tzinfo=dt.UTC),
    )  # fmt: skip
    _purpose(company, "KEY-1", w.policy)
    marked = _task(ClientFactory(client_id="K104", branch=w.a01), due=dt.date(2026, 10, 30),
                   overdue_since=dt.date(2026, 10, 20))  # fmt: skip
    other = _task(w.client_b, due=dt.date(2026, 10, 15))
    return SimpleNamespace(
        new1=w.task, overdue=overdue, signed=signed, company=company, marked=marked, other=other
    )


def listed(html: str, *found: Task) -> set[int]:
    """Which of ``found`` the list links to."""
    return {task.pk for task in found if f'href="{task_url(task)}"' in html}


def test_the_task_list_shows_the_scope_with_overdue_marks(w: SimpleNamespace, tasks: Any) -> None:
    html = html_of(http(w.agent_a).get(reverse("callbacks:tasks")))
    everyone = vars(tasks).values()
    assert listed(html, *everyone) == {t.pk for t in everyone} - {tasks.other.pk}
    assert html.count('class="error overdue-mark"') == 2  # past due and open; marked by the run
    assert "冷静期至 2026-10-21 10:00，之后方可回访" in html
    assert "NEW-1" in html and "KEY-1" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "signed"}, {"signed"}),
        ({"rule": "NEW-2"}, {"overdue", "signed"}),
        ({"level": "company"}, {"company"}),
        ({"overdue": "yes"}, {"overdue", "marked"}),
        ({"overdue": "no"}, {"new1", "signed", "company"}),
        ({"assignee": "S02"}, {"new1"}),
        ({"due_from": "2026-10-20", "due_to": "2026-10-31"}, {"new1", "marked"}),
    ],
)
def test_the_task_list_filters(w: SimpleNamespace, tasks: Any, query: dict, expected: set) -> None:
    html = html_of(http(w.agent_a).get(reverse("callbacks:tasks"), query))
    names = {name for name, task in vars(tasks).items() if f'href="{task_url(task)}"' in html}
    assert names == expected


def test_htmx_gets_the_table_only(w: SimpleNamespace, tasks: Any) -> None:
    response = http(w.agent_a).get(
        reverse("callbacks:tasks"), {"level": "company"}, HTTP_HX_REQUEST="true"
    )
    html = html_of(response)
    assert "<html" not in html and f'href="{task_url(tasks.company)}"' in html


def test_the_task_list_pages(w: SimpleNamespace) -> None:
    for i in range(60):
        _task(ClientFactory(client_id=f"P{i:03d}", branch=w.a01), due=dt.date(2026, 11, 1))
    first = html_of(http(w.agent_a).get(reverse("callbacks:tasks"), {"level": "branch"}))
    assert "第 1 / 2 页，共 61 条" in first and "level=branch&amp;page=2" in first


# --- plans ---------------------------------------------------------------------------------------


def test_the_plan_list_shows_coverage_so_far(w: SimpleNamespace) -> None:
    response = http(w.manager_a).get(reverse("callbacks:plans"))
    html = html_of(response)
    assert reverse("callbacks:plan", args=[w.plan.pk]) in html
    assert "66.7%" in html and "20.0%" in html  # 2 of 3 required, 2 of 10 in the population
    assert w.plan.seed[:12] in html and "第 1 版" in html


def test_the_plan_list_filters(w: SimpleNamespace) -> None:
    other = Plan.objects.create(
        rule_code="SMALL-1", rule_id="SMALL-1", period="2026-H2", period_start=dt.date(2026, 7, 1),
        period_end=dt.date(2026, 12, 31), stratum="A02", branch=w.a02, level="branch", share="0.2",
        population=5, required=1, sampled=1, seed="1" * 64, policy_version=w.policy, as_of=DAY,
    )  # fmt: skip
    plans = reverse("callbacks:plans")
    browse = http(w.regional)
    url = reverse("callbacks:plan", args=[w.plan.pk])
    other_url = reverse("callbacks:plan", args=[other.pk])
    for query, shown in (
        ({}, {url, other_url}),
        ({"rule": "SMALL-1"}, {other_url}),
        ({"period": "2026-10"}, {url}),
        ({"branch": "A01"}, {url}),
    ):
        html = html_of(browse.get(plans, query))
        assert {u for u in (url, other_url) if u in html} == shown, query
    html = html_of(http(w.manager_b).get(plans))
    assert url not in html and other_url not in html


def test_the_plan_page_lists_who_was_sampled_and_when(w: SimpleNamespace) -> None:
    url = reverse("callbacks:plan", args=[w.plan.pk])
    html = html_of(http(w.manager_a).get(url))
    assert "K100" in html and "K200" not in html  # K200 is of branch A02, outside A01's scope
    assert sample_order(w.plan.seed, "K100")[:16] in html and "2026-10-12" in html
    assert "SHA-256(种子:客户号)" in html
    html = html_of(http(w.regional).get(url))
    assert "K100" in html and "K200" in html
    html = html_of(http(w.regional).get(url, {"sampled": "1"}))
    assert "K100" in html and "K200" not in html


# --- STOCK-1 verification list ----------------------------------------------------------------


def upload(user: Any, content: bytes, name: str = "list.csv") -> Any:
    return http(user).post(
        reverse("callbacks:verification_upload"),
        {"file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def test_a_branch_manager_lists_one_client_and_it_is_audited(w: SimpleNamespace) -> None:
    response = http(w.manager_a).post(
        reverse("callbacks:verification"), {"client_id": "K100", "reason": "证件已过期，需补齐"}
    )
    assert response.status_code == 302
    entry = VerificationListEntry.objects.get()
    assert (entry.client_id, entry.branch_id, entry.listed_on) == (
        "K100",
        "A01",
        dt.date(2026, 10, 20),
    )
    assert entry.listed_by == "manager_a" and entry.source == "页面录入"
    audit = AuditEvent.objects.get(action="callbacks.verification_list_add")
    assert audit.object_id == str(entry.pk) and audit.branch_code == "A01"
    html = html_of(http(w.manager_a).get(reverse("callbacks:verification")))
    assert "证件已过期，需补齐" in html and "K100" in html


def test_a_client_outside_the_scope_cannot_be_listed(w: SimpleNamespace) -> None:
    for client_id in ("K100", "NOPE"):  # outside the scope reads as unknown
        response = http(w.manager_b).post(
            reverse("callbacks:verification"), {"client_id": client_id, "reason": "核实地址"}
        )
        assert response.status_code == 400
        assert f"客户号 {client_id} 不存在或不在您的数据范围内" in response.content.decode()
    assert not VerificationListEntry.objects.exists()


def test_a_good_upload_lists_every_row(w: SimpleNamespace) -> None:
    ClientFactory(client_id="K105", branch=w.a01)
    content = 'client_id,reason\nK100,证件过期\nK105,"地址缺失,需补齐"\n'.encode("gb18030")
    response = upload(w.manager_a, content)
    assert response.status_code == 302
    assert sorted(VerificationListEntry.objects.values_list("client_id", "reason")) == [
        ("K100", "证件过期"),
        ("K105", "地址缺失,需补齐"),
    ]
    assert AuditEvent.objects.filter(action="callbacks.verification_list_add").count() == 2


def test_a_bad_upload_is_refused_whole_with_line_and_column(w: SimpleNamespace) -> None:
    content = (
        "client_id,reason\n"
        "K100,证件过期\n"  # good
        "K300,核实地址\n"  # branch B01: outside the scope
        "K100,再次\n"  # twice
        "K999,\n"  # unknown, no reason
        ",核实\n"  # no client id
        "K200,核实,多余\n"  # branch A02 and an extra column
    ).encode()
    response = upload(w.manager_a, content)
    assert response.status_code == 400
    html = response.content.decode()
    for problem in (
        "3:1: 客户号 K300 不存在或不在您的数据范围内",
        "4:1: 客户号 K100 与第 2 行重复",
        "5:1: 客户号 K999 不存在或不在您的数据范围内",
        "5:2: 核实事项为空",
        "6:1: 客户号为空",
        "7:3: 多余的列",
    ):
        assert problem in html, problem
    assert "2:1" not in html
    assert not VerificationListEntry.objects.exists()
    assert not AuditEvent.objects.filter(action="callbacks.verification_list_add").exists()


def test_an_upload_with_a_full_id_number_never_echoes_it(w: SimpleNamespace) -> None:
    response = upload(w.manager_a, f"{ID_NUMBER_A},核实\nK100,手机 {MOBILE_A} 停机\n".encode())
    assert response.status_code == 400  # the scanning client found no full ID number
    assert not VerificationListEntry.objects.exists()


def test_the_verification_list_keeps_to_the_scope(w: SimpleNamespace) -> None:
    VerificationListEntry.objects.create(
        client=w.client_a, branch=w.a01, listed_on=DAY, reason="核实证件", listed_by="x"
    )
    VerificationListEntry.objects.create(
        client=w.client_b, branch=w.b01, listed_on=DAY, reason="核实地址", listed_by="x"
    )
    url = reverse("callbacks:verification")
    html = html_of(http(w.manager_a).get(url))
    assert "核实证件" in html and "核实地址" not in html
    assert_out_of_scope_404(http(None), w.manager_a, url + "?branch=B01")
    html = html_of(http(w.manager_a).get(url, {"branch": "A01"}))
    assert "核实证件" in html


# --- English (NFR-5) ----------------------------------------------------------------------------


def test_the_task_page_speaks_english_when_chosen(w: SimpleNamespace) -> None:
    browse = http(w.agent_a)
    browse.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    html = html_of(browse.get(task_url(w.task)))
    assert '<html lang="en">' in html
    assert "Why does this callback task exist?" in html
    assert "Rule NEW-1 · source 004 第十二条(一)1；004 经纪人 第三条、第五条" in html
    assert "All the relations above were checked; no conflict was found." in html
    assert "为什么有这个回访任务" not in html
    html = html_of(browse.get(reverse("callbacks:tasks")))
    assert "Callback tasks" in html and "Overdue" in html


def test_every_message_of_the_english_catalog_is_translated() -> None:
    """NFR-5: no empty or fuzzy entry in django.po (run makemessages, translate, compile)."""
    po = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES" / "django.po"
    body = po.read_text(encoding="utf-8").split("\n\n", 1)[1]  # after the header entry
    assert "#, fuzzy" not in body
    empty = [m.start() for m in re.finditer(r'^msgstr(?:\[\d\])? ""\n(?!")', body, re.M)]
    assert not empty, [body[max(0, at - 120) : at] for at in empty]
