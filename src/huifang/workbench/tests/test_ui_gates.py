"""Every validity gate refused through the UI (SPEC §4 CON-*, §5 EXE-*, §6 REV-*; issue 7).

Each test posts what a user would post and checks that the answer shows the
service's Chinese reason (with its SPEC ID) and that nothing was written: the
task, record, sections, findings, claims, attempts, evidence, amendments, reviews
and the audit trail are exactly as before.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.core.testing import browser
from huifang.org.choices import Position
from huifang.workbench import evidence, records
from huifang.workbench.choices import EvidenceKind, Method, Outcome, RecordStatus
from huifang.workbench.models import (
    Amendment,
    Attempt,
    Claim,
    DataCorrection,
    Evidence,
    Finding,
    QuestionnaireLink,
    Record,
    Review,
    Section,
)
from huifang.workbench.tests import factories as f
from huifang.workbench.tests.test_records import (
    media,  # noqa: F401 (autouse fixture)
    wav,
)
from huifang.workbench.tests.test_views import (
    answers_post,
    ready_task,
    sample_review,
    signed_by_agent,
)

pytestmark = pytest.mark.django_db

REFUSED = "未能办理，未保存任何内容"


def snapshot(task_id: int) -> dict[str, Any]:
    """Everything a workbench service could write about one task."""
    return {
        "task": Task.objects.filter(pk=task_id).values().get(),
        "records": list(Record.objects.filter(task_id=task_id).values()),
        "sections": list(Section.objects.filter(record__task_id=task_id).values()),
        "findings": list(Finding.objects.filter(record__task_id=task_id).values()),
        "claims": list(Claim.objects.filter(task_id=task_id).values()),
        "attempts": list(Attempt.objects.filter(task_id=task_id).values_list("pk", flat=True)),
        "evidence": list(Evidence.objects.filter(task_id=task_id).values_list("pk", flat=True)),
        "amendments": Amendment.objects.filter(record__task_id=task_id).count(),
        "reviews": list(Review.objects.filter(task_id=task_id).values()),
        "links": QuestionnaireLink.objects.filter(task_id=task_id).count(),
        "corrections": DataCorrection.objects.filter(task_id=task_id).count(),
        "audit": AuditEvent.objects.count(),
    }


def refused(ui: Client, url: str, task_id: int, reason: str, data: Any = None) -> str:
    """POST ``url``: the page says ``reason`` and nothing about the task changed."""
    before = snapshot(task_id)
    response = ui.post(url, data or {})
    html = response.content.decode()
    assert response.status_code in (400, 403, 409), (response.status_code, html[:500])
    assert REFUSED in html and reason in html, html[
        html.find("refused") : html.find("refused") + 800
    ]
    assert snapshot(task_id) == before
    return html


def sign_url(task: Task) -> str:
    return reverse("workbench:sign", args=[task.pk])


def a01() -> Any:
    return f.branch("A01")


# ---------------------------------------------------------------- the agent's signature (EXE-5)


def test_signing_without_evidence_is_refused() -> None:
    """EXE-2: a phone callback needs its recording (file or call-center id) before signing."""
    agent = f.agent_user(a01())
    task = f.connected_task(agent, record=True)
    record = Record.objects.get(task=task)
    ui = browser(agent)
    assert (
        ui.post(reverse("workbench:answers", args=[task.pk]), answers_post(record)).status_code
        == 302
    )
    refused(ui, sign_url(task), task.pk, "缺少留痕材料（EXE-2）")


def test_signing_inside_the_cooling_off_is_refused_and_the_button_disabled() -> None:
    """PROD-*: a callback inside the cooling-off is not valid; the page says until when."""
    agent = f.agent_user(a01())
    opens = dt.datetime(2026, 10, 16, 10, 0, tzinfo=clock.SHANGHAI)
    task = ready_task(agent, opens_at=opens)
    ui = browser(agent)
    html = ui.get(reverse("workbench:task", args=[task.pk])).content.decode()
    assert "冷静期至 2026-10-16 10:00" in html
    form = html[html.index(sign_url(task)) :]
    assert "disabled" in form[: form.index("回访人签字")]
    refused(ui, sign_url(task), task.pk, "冷静期内的回访无效")


def test_signing_by_a_recused_agent_is_refused() -> None:
    """CON-1: the agent introduced this client (checked again at signing)."""
    branch = a01()
    agent = f.agent_user(branch)
    task = ready_task(agent, client=f.client_of(branch, introducer=agent.staff))
    refused(browser(agent), sign_url(task), task.pk, "回访人须回避")


def test_signing_by_the_marketing_sequence_is_refused() -> None:
    """CON-2: a 营销人员 never signs a compliance callback."""
    agent = f.agent_user(a01(), position=Position.MARKETING)
    task = ready_task(agent)
    refused(browser(agent), sign_url(task), task.pk, "营销序列人员不得办理合规回访（CON-2）")


def test_signing_with_required_answers_missing_is_refused() -> None:
    """EXE-4: every required item of every section is answered before signing."""
    agent = f.agent_user(a01())
    task = f.connected_task(agent, record=True)
    evidence.attach(
        task=task, actor=f.actor(agent), kind=EvidenceKind.RECORDING,
        upload=SimpleUploadedFile("call.wav", wav()),
    )  # fmt: skip
    refused(browser(agent), sign_url(task), task.pk, "未回答必答项")


def test_signing_a_task_someone_else_holds_is_refused() -> None:
    branch = a01()
    agent = f.agent_user(branch)
    task = ready_task(agent)
    refused(browser(f.agent_user(branch)), sign_url(task), task.pk, "只有持有该任务的回访人")


# ---------------------------------------------------------------- the questionnaire (EXE-4, EXE-5)


def test_a_differing_item_without_a_note_is_refused_and_the_form_keeps_the_input() -> None:
    """EXE-4: "differs" needs a note; the refused form shows what the agent typed."""
    agent = f.agent_user(a01())
    task = f.connected_task(agent, record=True)
    record = Record.objects.get(task=task)
    data = answers_post(record, notes="客户称住址已变更")
    first = next(name for name, value in data.items() if value == "matches")
    data[first] = "differs"
    html = refused(
        browser(agent),
        reverse("workbench:answers", args=[task.pk]),
        task.pk,
        "须说明不符之处",
        data,
    )
    assert "客户称住址已变更" in html and f'name="{first}" value="differs" checked' in html


def test_answers_changed_after_signing_are_refused_and_amendments_appended_instead() -> None:
    """EXE-5: a signed record never changes; a correction is an appended amendment."""
    branch = a01()
    agent = f.agent_user(branch)
    leader = f.leader_user(Role.BRANCH_OPS, branch)
    record = signed_by_agent(agent)
    task = Task.objects.get(pk=record.task_id)
    ui = browser(agent)
    data = answers_post(record, notes="签字后改写的说明")
    refused(ui, reverse("workbench:answers", args=[task.pk]), task.pk, "记录已签字，不能修改", data)
    upload = SimpleUploadedFile("again.wav", wav())
    refused(
        ui, reverse("workbench:upload", args=[task.pk]), task.pk, "记录已签字，不能再追加留痕材料",
        {"kind": "recording", "file": upload},
    )  # fmt: skip

    records.sign_leader(record=record, actor=f.actor(leader))
    row = Record.objects.filter(pk=record.pk).values().get()
    boss = browser(leader)
    response = boss.post(
        reverse("workbench:amend", args=[record.pk]),
        {"field": "notes", "value": "客户补充：地址为新址", "reason": "录入遗漏"},
    )
    assert response.status_code == 302
    amendment = Amendment.objects.get(record=record)
    assert amendment.seq == 1 and amendment.changes == {"notes": "客户补充：地址为新址"}
    assert Record.objects.filter(pk=record.pk).values().get() == row  # the record itself unchanged
    html = boss.get(reverse("workbench:record", args=[record.pk])).content.decode()
    assert "客户补充：地址为新址" in html and "录入遗漏" in html


def test_banned_phrases_in_the_notes_are_flagged_back_on_screen() -> None:
    """EXE-7: call notes are checked for 服务忌语; the page shows the suspicion."""
    agent = f.agent_user(a01())
    task = f.connected_task(agent, record=True)
    record = Record.objects.get(task=task)
    ui = browser(agent)
    data = answers_post(record, notes="客户追问多次，我说你有完没完")
    response = ui.post(reverse("workbench:answers", args=[task.pk]), data, follow=True)
    html = response.content.decode()
    assert "疑似有服务忌语" in html and "你有完没完" in html
    assert Record.objects.get(pk=record.pk).banned_phrases


# ---------------------------------------------------------------- the leader and the reviewer


def test_a_leader_signing_his_own_record_is_refused() -> None:
    """Mutual checks (相互制衡): the agent may not sign his record again as its leader."""
    branch = a01()
    agent = f.agent_user(branch)
    f.grant_role(agent, Role.BRANCH_OPS, branch)
    record = signed_by_agent(agent)
    refused(
        browser(agent), reverse("workbench:leader_sign", args=[record.pk]), record.task_id,
        "不能签署本人的回访记录",
    )  # fmt: skip


def test_the_wrong_leader_is_refused() -> None:
    """EXE-5: a compliance record is signed by the 营运总监, not the 营销总监."""
    branch = a01()
    record = signed_by_agent(f.agent_user(branch))
    marketing = f.leader_user(Role.BRANCH_MARKETING, branch)
    refused(
        browser(marketing), reverse("workbench:leader_sign", args=[record.pk]), record.task_id,
        "您不是本记录的签字负责人",
    )  # fmt: skip


def test_a_reviewer_reviewing_his_own_record_is_refused() -> None:
    """CON-1: a reviewer never reviews a record he made or signed (004 2017细则 §5)."""
    branch = a01()
    agent = f.agent_user(branch)
    f.grant_role(agent, Role.REVIEWER, branch)
    record = signed_by_agent(agent)
    records.sign_leader(record=record, actor=f.actor(f.leader_user(Role.BRANCH_OPS, branch)))
    review = sample_review(record)
    refused(
        browser(agent), reverse("workbench:review_decide", args=[review.pk]), record.task_id,
        "复核员不得复核本人回访或签字的记录", {"outcome": "passed"},
    )  # fmt: skip


def test_findings_without_a_comment_are_refused() -> None:
    branch = a01()
    record = signed_by_agent(f.agent_user(branch))
    records.sign_leader(record=record, actor=f.actor(f.leader_user(Role.BRANCH_OPS, branch)))
    review = sample_review(record)
    refused(
        browser(f.reviewer_user(branch)), reverse("workbench:review_decide", args=[review.pk]),
        record.task_id, "退回时请填写复核意见", {"outcome": "findings", "findings": ""},
    )  # fmt: skip


# ---------------------------------------------------------------- the queue and the attempts


def _refused_next(user: User, reason: str, moment: dt.datetime) -> None:
    ui = browser(user)
    before = AuditEvent.objects.count(), Claim.objects.count(), list(Task.objects.values())
    with clock.frozen(moment):
        response = ui.post(reverse("workbench:next"))
    html = response.content.decode()
    assert response.status_code == 409 and REFUSED in html and reason in html
    assert (
        AuditEvent.objects.count(),
        Claim.objects.count(),
        list(Task.objects.values()),
    ) == before


def test_next_task_outside_call_hours_is_refused() -> None:
    """CON-5: calls only between 09:00 and 20:00 (the default policy)."""
    branch = a01()
    agent = f.agent_user(branch)
    f.open_task(branch=branch)
    _refused_next(agent, "(CON-5)", dt.datetime(2026, 10, 14, 21, 30, tzinfo=clock.SHANGHAI))


def test_a_phone_attempt_outside_call_hours_is_refused_in_the_htmx_panel() -> None:
    """CON-5 again when logging a phone try; htmx gets the panel with the reason (HTTP 200)."""
    agent = f.agent_user(a01())
    task = f.open_task(branch=agent.staff.unit, assignee=agent)
    f.claim(task, agent)
    ui = browser(agent)
    before = snapshot(task.pk)
    with clock.frozen(dt.datetime(2026, 10, 14, 8, 0, tzinfo=clock.SHANGHAI)):
        response = ui.post(
            reverse("workbench:attempt", args=[task.pk]),
            {"method": Method.PHONE, "outcome": Outcome.NO_ANSWER}, HTTP_HX_REQUEST="true",
        )  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200 and 'id="attempts-panel"' in html
    assert REFUSED in html and "(CON-5)" in html
    assert snapshot(task.pk) == before


def test_an_attempt_on_a_task_not_held_is_refused() -> None:
    branch = a01()
    agent = f.agent_user(branch)
    task = f.open_task(branch=branch, assignee=agent)
    refused(
        browser(agent), reverse("workbench:attempt", args=[task.pk]), task.pk, "您未领取该任务",
        {"method": Method.PHONE, "outcome": Outcome.NO_ANSWER},
    )  # fmt: skip


def test_unreachable_before_three_failed_days_is_refused() -> None:
    """EXE-3: ≥ 3 failed tries on different days before an unreachable closure."""
    agent = f.agent_user(a01())
    task = f.open_task(branch=agent.staff.unit, assignee=agent)
    f.claim(task, agent)
    Attempt.objects.create(
        task=task, staff=agent.staff, at=f.at(10), method=Method.PHONE, outcome=Outcome.NO_ANSWER
    )
    refused(
        browser(agent), reverse("workbench:unreachable", args=[task.pk]), task.pk,
        "不同日期尝试联系未果后方可申请无法联系结案",
    )  # fmt: skip


def test_a_file_that_is_not_a_recording_is_refused() -> None:
    """EXE-2: the content is checked by its bytes, not by its name."""
    agent = f.agent_user(a01())
    task = f.connected_task(agent, record=True)
    fake = SimpleUploadedFile("call.wav", b"this is not audio at all\n" * 4)
    refused(
        browser(agent), reverse("workbench:upload", args=[task.pk]), task.pk,
        "文件内容与留痕类别不符", {"kind": "recording", "file": fake},
    )  # fmt: skip


def test_a_reassignment_to_a_recused_agent_is_refused() -> None:
    """CON-1 through the supervisor's 改派 (the picker hides him; a forged post is refused)."""
    branch = a01()
    agent = f.agent_user(branch)
    introducer = f.agent_user(branch)
    task = f.open_task(client=f.client_of(branch, introducer=introducer.staff), assignee=agent)
    ops = browser(f.leader_user(Role.BRANCH_OPS, branch))
    html = refused(
        ops, reverse("workbench:reassign", args=[task.pk]), task.pk, "请检查填写的内容",
        {"to_staff": introducer.staff.pk},
    )  # fmt: skip
    assert "任务办理" in html


def test_an_e_questionnaire_inside_the_cooling_off_is_refused() -> None:
    """PROD-*: answers given inside the cooling-off would not count (EXE-6)."""
    agent = f.agent_user(a01())
    opens = dt.datetime(2026, 10, 16, 10, 0, tzinfo=clock.SHANGHAI)
    task = f.open_task(branch=agent.staff.unit, assignee=agent, opens_at=opens)
    refused(
        browser(agent), reverse("workbench:send_link", args=[task.pk]), task.pk,
        "冷静期结束后方可发送电子问卷", {"channel": "sms"},
    )  # fmt: skip


def test_a_record_not_yet_opened_cannot_be_signed() -> None:
    agent = f.agent_user(a01())
    task = f.open_task(branch=agent.staff.unit, assignee=agent)
    f.claim(task, agent)
    refused(browser(agent), sign_url(task), task.pk, "尚未接通客户")


def test_refusals_keep_the_record_a_draft() -> None:
    """The control: the same record signs once the missing recording is uploaded (EXE-2)."""
    agent = f.agent_user(a01())
    task = f.connected_task(agent, record=True)
    record = Record.objects.get(task=task)
    ui = browser(agent)
    ui.post(reverse("workbench:answers", args=[task.pk]), answers_post(record))
    refused(ui, sign_url(task), task.pk, "缺少留痕材料")
    upload = SimpleUploadedFile("call.wav", wav())
    ui.post(reverse("workbench:upload", args=[task.pk]), {"kind": "recording", "file": upload})
    assert ui.post(sign_url(task)).status_code == 302
    assert Record.objects.get(pk=record.pk).status == RecordStatus.AGENT_SIGNED
