"""The workbench screens (SPEC §5, §6; issue 7): the whole callback through the UI, scope, roles.

Every page is read through ``browser`` (fails on any full ID number or mobile, CLI-4).
The flow: an agent takes the next task, logs a failed try, takes it again the next
day, connects, uploads a recording, fills the questionnaire and signs (EXE-1…EXE-5);
the 营运总监 signs (EXE-5); a reviewer passes it (REV-1). Users of another branch get
404 on every object page (SPEC §0); roles without the workbench get 403.

Also the shared helpers of ``test_ui_gates`` (``answers_post``, ``ready_task``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.accounts.tests.factories import user_with_role
from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.core.testing import assert_private, browser
from huifang.workbench import evidence, questionnaires, records
from huifang.workbench.choices import EvidenceKind, Method, Outcome, RecordStatus, ReviewStatus
from huifang.workbench.forms import section_forms
from huifang.workbench.models import (
    Attempt,
    Claim,
    DataCorrection,
    Evidence,
    QuestionnaireLink,
    Record,
    Review,
)
from huifang.workbench.tests import factories as f
from huifang.workbench.tests.test_records import (
    media,  # noqa: F401 (autouse fixture)
    wav,
)

pytestmark = pytest.mark.django_db

NEXT_DAY_10AM = dt.datetime(2026, 10, 15, 10, 0, tzinfo=clock.SHANGHAI)


# ---------------------------------------------------------------- shared helpers


def _answer(item: dict[str, Any]) -> Any:
    kind = item["type"]
    if kind == "check":
        return "matches"
    if kind == "yesno":
        return "yes"
    if kind == "text":
        return "无"
    options = item.get("options") or [5]
    return str(options[-1] if kind == "score" else options[0])


def answers_post(record: Record, *, skip: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    """The task page's questionnaire form, every required item answered the way an agent would."""
    data: dict[str, Any] = {"notes": "客户确认资料无误。", "problem_handling": ""}
    for form in section_forms(record):
        for _title, items in form.groups:
            for item in items:
                if item.item.get("required") and item.item["id"] not in skip:
                    data[item.name] = _answer(item.item)
    data.update(extra)
    return data


def ready_task(agent: User, **task_kwargs: Any) -> Task:
    """A connected phone task of ``agent`` with its record, every required answer and a recording."""
    task = f.connected_task(agent, record=True, **task_kwargs)
    record = Record.objects.get(task=task)
    actor = f.actor(agent)
    answers = {
        section.pk: {
            item["id"]: {"value": _answer(item)}
            for item in questionnaires.iter_items(section.questionnaire)
            if item.get("required")
        }
        for section in record.sections.select_related("questionnaire")
    }
    records.save_answers(record=record, actor=actor, answers=answers, findings=[], notes="无")
    evidence.attach(
        task=task, actor=actor, kind=EvidenceKind.RECORDING,
        upload=SimpleUploadedFile("call.wav", wav()),
    )  # fmt: skip
    return task


def signed_by_agent(agent: User, **task_kwargs: Any) -> Record:
    task = ready_task(agent, **task_kwargs)
    record = Record.objects.get(task=task)
    records.sign_agent(record=record, actor=f.actor(agent))
    return Record.objects.get(pk=record.pk)


def sample_review(record: Record) -> Review:
    """The record's REV-1 sample review (the leader's signature may have drawn it already)."""
    review, _created = Review.objects.get_or_create(
        task_id=record.task_id, reason="sample",
        defaults={"record": record, "branch_id": record.branch_id, "level": record.level,
                  "drawn_on": clock.today()},
    )  # fmt: skip
    return review


def page(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.content.decode()


# ---------------------------------------------------------------- the whole flow


def test_a_callback_goes_through_the_ui_from_next_task_to_review() -> None:
    """EXE-1…EXE-5, REV-1: next task, failed try, connected try, WAV, F1, signatures, review."""
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    leader = f.leader_user(Role.BRANCH_OPS, branch)
    reviewer = f.reviewer_user(branch)
    task = f.open_task(branch=branch, purposes=("NEW-2",), facts={"open_date": "2026-10-12"})
    mobile = task.client.mobile_masked
    ui = browser(agent)

    # 工作台 → 领取下一个任务
    home = ui.get(reverse("workbench:home"))
    assert home.status_code == 200 and "领取下一个任务" in home.content.decode()
    assert_private(home)
    response = ui.post(reverse("workbench:next"))
    assert response.status_code == 302 and response["Location"] == reverse(
        "workbench:task", args=[task.pk]
    )
    html = page(ui, response["Location"])
    assert "NEW-2" in html and mobile in html
    assert "<dt>开户日期</dt><dd>2026-10-12</dd>" in html  # the purpose's facts, labelled
    assert reverse("callbacks:task", args=[task.pk]) in html  # "为什么？"
    assert Claim.objects.filter(task=task, staff=agent.staff, released_at__isnull=True).exists()

    # a failed try through htmx: the attempts panel comes back, the claim is released (EXE-3)
    attempt_url = reverse("workbench:attempt", args=[task.pk])
    partial = ui.post(
        attempt_url, {"method": Method.PHONE, "outcome": Outcome.NO_ANSWER, "note": "无人接听"},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    assert partial.status_code == 200
    body = partial.content.decode()
    assert 'id="attempts-panel"' in body and "<html" not in body and "无人接听" in body
    assert Attempt.objects.filter(task=task, outcome=Outcome.NO_ANSWER).count() == 1
    assert not Claim.objects.filter(task=task, released_at__isnull=True).exists()

    # the next day: the queue gives the same task back; connected opens the record
    with clock.frozen(NEXT_DAY_10AM):
        assert ui.post(reverse("workbench:next"))["Location"] == reverse(
            "workbench:task", args=[task.pk]
        )
        connected = ui.post(
            attempt_url, {"method": Method.PHONE, "outcome": Outcome.CONNECTED},
            HTTP_HX_REQUEST="true",
        )  # fmt: skip
        assert connected.status_code == 200 and connected["HX-Refresh"] == "true"
        record = Record.objects.get(task=task)
        assert record.status == RecordStatus.DRAFT

        upload = SimpleUploadedFile("call.wav", wav(), content_type="audio/wav")
        response = ui.post(
            reverse("workbench:upload", args=[task.pk]), {"kind": "recording", "file": upload}
        )
        assert response.status_code == 302
        item = Evidence.objects.get(task=task, kind=EvidenceKind.RECORDING)
        assert len(item.sha256) == 64
        html = page(ui, reverse("workbench:task", args=[task.pk]))
        assert item.sha256[:16] in html and "call.wav" in html and "F1" in html

        data = answers_post(
            record, finding_kind=["problem"], finding_category=["service"],
            finding_text=["客户反映营业部电话难打通"], finding_purpose=[""],
        )  # fmt: skip
        response = ui.post(reverse("workbench:answers", args=[task.pk]), data)
        assert response.status_code == 302, response.content.decode()[:2000]
        record.refresh_from_db()
        assert record.notes == "客户确认资料无误。"
        assert record.findings.get().text == "客户反映营业部电话难打通"

        response = ui.post(reverse("workbench:sign", args=[task.pk]))
        assert response.status_code == 302, response.content.decode()[:3000]
        record.refresh_from_db()
        assert record.status == RecordStatus.AGENT_SIGNED

    # 负责人签字 (EXE-5)
    boss = browser(leader)
    assert record.number in page(boss, reverse("workbench:sign_list"))
    html = page(boss, reverse("workbench:record", args=[record.pk]))
    assert item.sha256 in html and "客户反映营业部电话难打通" in html
    response = boss.post(reverse("workbench:leader_sign", args=[record.pk]))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == RecordStatus.SIGNED and record.leader_id == leader.staff.pk
    assert reverse("workbench:record", args=[record.pk]) not in page(
        boss, reverse("workbench:sign_list")
    )

    # 复核: a record with a problem is always drawn (REV-1); the reviewer passes it
    review = Review.objects.get(record=record, reason="problem")
    checker = browser(reviewer)
    assert reverse("workbench:review", args=[review.pk]) in page(
        checker, reverse("workbench:reviews")
    )
    assert record.number in page(checker, reverse("workbench:review", args=[review.pk]))
    response = checker.post(
        reverse("workbench:review_decide", args=[review.pk]), {"outcome": "passed"}
    )
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == ReviewStatus.PASSED and review.reviewer_id == reviewer.staff.pk
    # REV-2: the head office's call center passes its spot-check of the branch
    hq = browser(f.reviewer_user(role=Role.HQ_SERVICE))
    for other in Review.objects.filter(record=record).exclude(pk=review.pk):
        response = hq.post(
            reverse("workbench:review_decide", args=[other.pk]), {"outcome": "passed"}
        )
        assert response.status_code == 302, response.content.decode()[:2000]
    assert Task.objects.get(pk=task.pk).status == "reviewed"


def test_the_evidence_download_streams_the_file_and_is_audited() -> None:
    """EXE-2 files reach users in scope only; each download is an audited export (NFR-2)."""
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    task = ready_task(agent)
    item = Evidence.objects.get(task=task)
    leader = f.leader_user(Role.BRANCH_OPS, branch)
    audits = AuditEvent.objects.filter(action="workbench.evidence_download").count()
    response = browser(leader).get(reverse("workbench:evidence", args=[item.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == wav()  # type: ignore[attr-defined]
    assert "attachment" in response["Content-Disposition"]
    events = AuditEvent.objects.filter(action="workbench.evidence_download")
    assert events.count() == audits + 1
    assert events.latest("id").after["sha256"] == item.sha256


def test_the_home_lists_the_agents_tasks_and_returned_findings() -> None:
    """工作台: 我持有的 / 我的 / 今日到期 / 已逾期; reviewer findings with an acknowledge button."""
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    held = f.connected_task(agent)
    late = f.open_task(
        branch=branch,
        assignee=agent,
        due=dt.date(2026, 10, 13),
        overdue_since=dt.date(2026, 10, 14),
    )
    today = f.open_task(branch=branch, assignee=agent, due=dt.date(2026, 10, 14))
    other = f.open_task(branch=branch)
    html = page(browser(agent), reverse("workbench:home"))
    for task in (held, late, today):
        assert reverse("workbench:task", args=[task.pk]) in html
    assert reverse("workbench:task", args=[other.pk]) not in html
    assert html.index('id="list-held"') < html.index(reverse("workbench:task", args=[held.pk]))


def test_the_agent_acknowledges_findings_returned_by_a_reviewer() -> None:
    """REV-1: findings go back to the agent, who confirms he read them."""
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    leader = f.leader_user(Role.BRANCH_OPS, branch)
    reviewer = f.reviewer_user(branch)
    record = signed_by_agent(agent)
    records.sign_leader(record=record, actor=f.actor(leader))
    review = sample_review(record)
    ui = browser(reviewer)
    response = ui.post(
        reverse("workbench:review_decide", args=[review.pk]),
        {"outcome": "findings", "findings": "录音中未提示市场风险"},
    )
    assert response.status_code == 302
    agent_ui = browser(agent)
    html = page(agent_ui, reverse("workbench:home"))
    assert "录音中未提示市场风险" in html and "确认已阅" in html
    response = agent_ui.post(reverse("workbench:acknowledge", args=[review.pk]))
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.acknowledged_at is not None
    assert "已确认" in page(agent_ui, reverse("workbench:home"))


def test_a_supervisor_reassigns_to_eligible_staff_only() -> None:
    """主管改派: the picker lists the unit's agents without a conflict; the service assigns."""
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    other = f.agent_user(branch)
    introducer = f.agent_user(branch)
    elsewhere = f.agent_user(f.branch("B01"))
    client = f.client_of(branch, introducer=introducer.staff)
    task = f.open_task(client=client, assignee=agent)
    ops = f.leader_user(Role.BRANCH_OPS, branch)
    ui = browser(ops)
    html = page(ui, reverse("workbench:task", args=[task.pk]))
    assert f'value="{other.staff.pk}"' in html
    assert f'value="{introducer.staff.pk}"' not in html  # CON-1: he introduced the client
    assert f'value="{elsewhere.staff.pk}"' not in html  # CON-6: another unit
    response = ui.post(reverse("workbench:reassign", args=[task.pk]), {"to_staff": other.staff.pk})
    assert response.status_code == 302
    assert Task.objects.get(pk=task.pk).assignee_id == other.staff.pk
    # an agent may not reassign
    response = browser(agent).post(
        reverse("workbench:reassign", args=[task.pk]), {"to_staff": other.staff.pk}
    )
    assert response.status_code == 403


def test_the_corrections_list_closes_a_wrong_number() -> None:
    """EXE-3: a wrong number opens a data correction the branch marks done."""
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    task = f.open_task(branch=branch, assignee=agent)
    f.claim(task, agent)
    response = browser(agent).post(
        reverse("workbench:attempt", args=[task.pk]),
        {"method": Method.PHONE, "outcome": Outcome.WRONG_NUMBER},
    )
    assert response.status_code == 302
    correction = DataCorrection.objects.get(task=task)
    ops = browser(f.leader_user(Role.BRANCH_OPS, branch))
    assert f"#{task.pk}" in page(ops, reverse("workbench:corrections"))
    response = ops.post(
        reverse("workbench:correction_done", args=[correction.pk]), {"note": "已更新手机号码"}
    )
    assert response.status_code == 302
    correction.refresh_from_db()
    assert correction.status == "done" and correction.note == "已更新手机号码"


def test_the_task_page_links_to_and_from_the_callbacks_task_page() -> None:
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    task = f.open_task(branch=branch, assignee=agent)
    html = page(browser(agent), reverse("callbacks:task", args=[task.pk]))
    assert reverse("workbench:task", args=[task.pk]) in html


def test_the_menu_offers_each_role_its_workbench_screen() -> None:
    branch = f.branch("A01")
    cases = {
        f.agent_user(branch): "workbench:home",
        f.leader_user(Role.BRANCH_OPS, branch): "workbench:sign_list",
        f.reviewer_user(branch): "workbench:reviews",
    }
    for user, name in cases.items():
        html = page(browser(user), reverse(name))
        assert f'href="{reverse(name)}" class="active"' in html


# ---------------------------------------------------------------- scope and roles


@pytest.fixture
def objects() -> dict[str, Any]:
    """A signed record of branch A01 with a recording and a pending review."""
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    record = signed_by_agent(agent)
    records.sign_leader(record=record, actor=f.actor(f.leader_user(Role.BRANCH_OPS, branch)))
    review = sample_review(record)
    return {
        "task": reverse("workbench:task", args=[record.task_id]),
        "record": reverse("workbench:record", args=[record.pk]),
        "evidence": reverse("workbench:evidence", args=[Evidence.objects.get().pk]),
        "review": reverse("workbench:review", args=[review.pk]),
    }


OUTSIDERS = {
    "agent": lambda b: f.agent_user(b),
    "branch_ops": lambda b: f.leader_user(Role.BRANCH_OPS, b),
    "reviewer": lambda b: f.reviewer_user(b),
}


@pytest.mark.parametrize("page_name", ["task", "record", "evidence", "review"])
@pytest.mark.parametrize("role", sorted(OUTSIDERS))
def test_another_branch_gets_404(objects: dict[str, Any], role: str, page_name: str) -> None:
    """SPEC §0: outside the scope an object does not exist (404, never 403)."""
    outsider = OUTSIDERS[role](f.branch("B01"))
    allowed = {
        "task": ("agent", "branch_ops"),
        "record": ("agent", "branch_ops", "reviewer"),
        "evidence": ("agent", "branch_ops", "reviewer"),
        "review": ("reviewer",),
    }
    expected = 404 if role in allowed[page_name] else 403
    assert browser(outsider).get(objects[page_name]).status_code == expected


def test_the_same_branch_reads_them(objects: dict[str, Any]) -> None:
    """The control of the 404 matrix: the pages exist for the branch's own users."""
    branch = f.branch("A01")
    ops = browser(f.leader_user(Role.BRANCH_OPS, branch))
    for name in ("task", "record", "evidence"):
        assert ops.get(objects[name]).status_code == 200, name
    assert browser(f.reviewer_user(branch)).get(objects["review"]).status_code == 200


def test_posts_on_another_branchs_task_are_404_and_write_nothing(objects: dict[str, Any]) -> None:
    outsider = f.agent_user(f.branch("B01"))
    task_id = int(objects["task"].rstrip("/").rsplit("/", 1)[1])
    ui = browser(outsider)
    audits = AuditEvent.objects.count()
    for name in ("attempt", "sign", "answers", "release", "unreachable", "upload"):
        assert ui.post(reverse(f"workbench:{name}", args=[task_id]), {}).status_code == 404, name
    assert AuditEvent.objects.count() == audits


@pytest.mark.parametrize(
    "name", ["home", "sign_list", "reviews", "corrections", "task", "record", "evidence", "review"]
)
def test_an_adviser_is_refused_every_workbench_page(objects: dict[str, Any], name: str) -> None:
    """CON-2: the marketing sequence (理财服务人员) never works callbacks: 403 before any lookup."""
    adviser = user_with_role(Role.ADVISER, unit=f.branch("A01"))
    url = objects.get(name) or reverse(f"workbench:{name}")
    assert browser(adviser).get(url).status_code == 403


def test_next_task_is_post_only_and_needs_the_agent_role() -> None:
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    assert browser(agent).get(reverse("workbench:next")).status_code == 405
    reviewer = f.reviewer_user(branch)
    assert browser(reviewer).post(reverse("workbench:next")).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(objects: dict[str, Any]) -> None:
    client = Client()
    for url in (reverse("workbench:home"), *objects.values()):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"], url


def test_static_shortcuts_script_exists_and_the_pages_have_no_inline_script() -> None:
    """Keyboard shortcuts come from a static file (strict CSP: no inline code)."""
    static = Path(__file__).resolve().parents[1] / "static" / "workbench" / "workbench.js"
    assert "keydown" in static.read_text()
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    task = f.connected_task(agent, record=True)
    html = page(browser(agent), reverse("workbench:task", args=[task.pk]))
    assert "workbench/workbench.js" in html and "accesskey=" in html
    for bad in ("<script>", " onclick=", ' style="'):
        assert bad not in html


def test_the_agent_sends_the_e_questionnaire_link() -> None:
    """EXE-6: 发送电子问卷 creates a one-time link; the page shows the masked address only."""
    agent = f.agent_user(f.branch("A01"))
    task = f.open_task(branch=agent.staff.unit, assignee=agent)
    f.claim(task, agent)
    ui = browser(agent)
    response = ui.post(
        reverse("workbench:send_link", args=[task.pk]), {"channel": "sms"}, follow=True
    )
    assert response.status_code == 200
    link = QuestionnaireLink.objects.get(task=task)
    html = response.content.decode()
    assert "已发送电子问卷链接" in html and link.address_masked in html


def test_an_unreachable_closure_is_requested_and_approved_through_the_ui() -> None:
    """EXE-3: after 3 failed days the agent asks; a reviewer approves; the task closes."""
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    task = f.open_task(branch=branch, assignee=agent)
    for day in (12, 13, 14):
        Attempt.objects.create(
            task=task, staff=agent.staff, at=f.at(10, day=dt.date(2026, 10, day)),
            method=Method.PHONE, outcome=Outcome.NO_ANSWER,
        )  # fmt: skip
    response = browser(agent).post(reverse("workbench:unreachable", args=[task.pk]), follow=True)
    assert "已申请无法联系结案" in response.content.decode()
    review = Review.objects.get(task=task, reason="unreachable")
    checker = browser(f.reviewer_user(branch))
    html = page(checker, reverse("workbench:review", args=[review.pk]))
    assert "无法联系结案审批" in html and "无人接听" in html
    response = checker.post(
        reverse("workbench:review_unreachable", args=[review.pk]), {"approve": "1"}
    )
    assert response.status_code == 302
    assert Task.objects.get(pk=task.pk).status == "unreachable"


def test_a_service_record_is_signed_by_marketing_and_archived_by_ops() -> None:
    """EXE-5 (004 §13.3): 营销总监 signs a service record, then the 营运总监 archives it."""
    branch = f.branch("A01")
    agent = f.agent_user(branch, position="service")
    record = signed_by_agent(agent, kind="service", purposes=("CORE-1",))
    marketing = browser(f.leader_user(Role.BRANCH_MARKETING, branch))
    assert reverse("workbench:record", args=[record.pk]) in page(
        marketing, reverse("workbench:sign_list")
    )
    assert marketing.post(reverse("workbench:leader_sign", args=[record.pk])).status_code == 302
    ops = browser(f.leader_user(Role.BRANCH_OPS, branch))
    listing = page(ops, reverse("workbench:sign_list"))
    assert listing.index("待归档") < listing.index(reverse("workbench:record", args=[record.pk]))
    assert ops.post(reverse("workbench:archive", args=[record.pk])).status_code == 302
    assert Record.objects.get(pk=record.pk).status == RecordStatus.ARCHIVED


def test_the_agent_releases_a_held_task() -> None:
    agent = f.agent_user(f.branch("A01"))
    task = f.open_task(branch=agent.staff.unit, assignee=agent)
    f.claim(task, agent)
    response = browser(agent).post(reverse("workbench:release", args=[task.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("workbench:home")
    assert not Claim.objects.filter(task=task, released_at__isnull=True).exists()
