"""In Chromium, under the strict CSP: the whole callback through the workbench (issue 7).

1. An agent takes the next task (工作台 → 领取下一个任务, EXE-3), logs a failed try
   (无人接听: the claim is released, the task comes back the next day), takes it again the
   next day, logs a connected call, uploads a recording (EXE-2), fills F1 — every check
   item 一致 — with a problem finding (EXE-4) and signs (回访人签字, EXE-5); the 营运总监
   signs (负责人签字, EXE-5); a reviewer passes the record, drawn for its problem (REV-1).
2. A client opens the e-questionnaire link he received (EXE-6) on a phone-sized screen,
   answers and submits; a second use of the same link (a second tab, then the link
   again) gets the "该链接已使用" page.

Every page is asserted by its visible Chinese text, no Content-Security-Policy error is
logged, and every request goes to the live server. Screenshots go to ``artifacts/``.
Data is made before the browser starts: no ORM call runs under Playwright's event loop.
The clock is the autouse 2026-10-14 10:00 of ``conftest``; ``clock.frozen`` pins a
module-level list the live server's thread reads too, so the test moves it a day on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import wave
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import PASSWORD
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.core.testing import ARTIFACTS, CHROMIUM, CLOSED_NETWORK_FLAGS
from huifang.workbench import questionnaires
from huifang.workbench.choices import (
    EvidenceKind,
    Method,
    Outcome,
    RecordStatus,
    ReviewReason,
    ReviewStatus,
)
from huifang.workbench.equestionnaire import send_link
from huifang.workbench.models import Attempt, Evidence, QuestionnaireLink, Record, Review
from huifang.workbench.tests import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NEXT_DAY_10AM = dt.datetime(2026, 10, 15, 10, 0, tzinfo=clock.SHANGHAI)
PHONE = {"width": 390, "height": 844}
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Mobile Safari/537.36"
)
FINDING = "客户反映开户时未说明佣金标准"


@pytest.fixture(autouse=True)
def _files(settings: Any, tmp_path: Path) -> Path:
    """Evidence and the message outbox in a fresh folder; the file message backend (EXE-6)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    settings.HUIFANG_MESSAGE_BACKEND = "huifang.workbench.messaging.FileBackend"
    return tmp_path


def _chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")


def _wav(path: Path) -> Path:
    """A real, tiny WAV recording (8 kHz mono, 0.1 s of silence)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * 800)
    return path


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"workbench-{name}.png"), full_page=True)


class Watch:
    """Console messages and request URLs of every page of every browser context."""

    def __init__(self) -> None:
        self.console: list[str] = []
        self.requests: list[str] = []

    def context(self, browser: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("locale", "zh-CN")
        context = browser.new_context(**kwargs)
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("page", self.page)
        return context

    def page(self, page: Any) -> None:
        page.on("console", lambda message: self.console.append(message.text))

    def csp_errors(self) -> list[str]:
        return [text for text in self.console if "Content Security Policy" in text]

    def hosts(self) -> set[str]:
        return {urlsplit(url).netloc for url in self.requests if not url.startswith("data:")}


def _sign_in(context: Any, base: str, username: str) -> Any:
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def _text(page: Any, selector: str = "body") -> str:
    return str(page.inner_text(selector))


# ---------------------------------------------------------------- 1. the workbench


def test_a_callback_from_next_task_to_review_in_chromium(live_server: Any, tmp_path: Path) -> None:
    """EXE-1…EXE-5, REV-1 in the browser: failed try, next day connected, WAV, F1, two
    signatures, the reviewer passes it."""
    _chromium()
    f.policy()
    questionnaires.install_defaults()  # a transactional flush may have removed them
    a01 = f.branch("A01", name="北京甲营业部")
    agent = f.agent_user(a01, username="agent_a")
    leader = f.leader_user(Role.BRANCH_OPS, a01, username="ops_a")
    reviewer = f.reviewer_user(a01, username="review_a")
    client = f.client_of(a01, name="王小明", mobile="13912345678")
    task = f.open_task(client, purposes=("NEW-1",), branch=a01)
    recording = _wav(tmp_path / "call.wav")
    base = live_server.url
    task_url = f"{base}/workbench/task/{task.pk}/"
    watch = Watch()
    seen: dict[str, str] = {}

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CLOSED_NETWORK_FLAGS)
        desk = {"viewport": {"width": 1280, "height": 900}}

        # 工作台 → 领取下一个任务 (EXE-3)
        page = _sign_in(watch.context(browser, **desk), base, agent.username)
        page.goto(f"{base}/workbench/")
        seen["home"] = _text(page, "main")
        page.get_by_role("button", name="领取下一个任务").click()
        page.wait_for_url(task_url)
        seen["task"] = _text(page, "main")
        _shot(page, "01-next-task")

        # a failed try through htmx: 无人接听; the claim goes, the task waits for tomorrow
        page.select_option("#attempt-method", Method.PHONE)
        page.select_option("#attempt-outcome", Outcome.NO_ANSWER)
        page.fill("#attempt-note", "拨打两次均无人接听")
        page.get_by_role("button", name="记录本次尝试").click()
        page.wait_for_selector("#attempts-panel .saved")
        seen["failed"] = _text(page, "#attempts-panel")
        seen["failed_url"] = page.url
        _shot(page, "02-failed-attempt")

        with clock.frozen(NEXT_DAY_10AM):
            # the next day the queue hands the same task back
            page.goto(f"{base}/workbench/")
            page.get_by_role("button", name="领取下一个任务").click()
            page.wait_for_url(task_url)
            seen["again"] = _text(page, "main")

            # connected: the page refreshes (HX-Refresh) and the questionnaire appears
            page.select_option("#attempt-outcome", Outcome.CONNECTED)
            page.get_by_role("button", name="记录本次尝试").click()
            page.wait_for_selector("form.questionnaire")
            seen["connected"] = _text(page, "main")

            # the recording (EXE-2)
            page.select_option("#upload-kind", EvidenceKind.RECORDING)
            page.set_input_files("#upload-file", str(recording))
            with page.expect_navigation():
                page.get_by_role("button", name="上传", exact=True).click()
            seen["uploaded"] = _text(page, "main")

            # F1: every check item 一致, yes/no answered, satisfaction 5; one problem found
            form = page.locator("form.questionnaire")
            for radio in form.locator("input[type=radio][value=matches]").all():
                radio.check()
            for radio in form.locator("input[type=radio][value=yes]").all():
                radio.check()
            for item in ("has_proxy", "other_agreements", "forbidden_acts"):
                form.locator(f"input[type=radio][name$='-{item}'][value=no]").check()
            for radio in form.locator("input[type=radio][value='5']").all():
                radio.check()
            form.locator("select[name=finding_kind]").first.select_option("problem")
            form.locator("select[name=finding_category]").first.select_option("fees")
            form.locator("input[name=finding_text]").first.fill(FINDING)
            page.fill("#notes", "客户确认开户资料一致，已提示市场风险。")
            page.fill("#problem_handling", "已转营业部核实佣金说明情况。")
            with page.expect_navigation():
                page.get_by_role("button", name="保存问卷").click()
            seen["saved"] = _text(page, "main")
            _shot(page, "03-questionnaire")

            # 回访人签字 (EXE-5)
            page.get_by_role("button", name="回访人签字").click()
            page.wait_for_url(f"{base}/workbench/")
            seen["agent_signed"] = _text(page, "main")
            _shot(page, "04-agent-signed")

            # 负责人签字: the 营运总监 of the branch (EXE-5)
            boss = _sign_in(watch.context(browser, **desk), base, leader.username)
            boss.goto(f"{base}/workbench/sign/")
            seen["sign_list"] = _text(boss, "main")
            boss.locator("table.data a[href*='/workbench/record/']").first.click()
            boss.wait_for_url("**/workbench/record/*/")
            seen["record"] = _text(boss, "main")
            _shot(boss, "05-record-to-sign")
            boss.get_by_role("button", name="负责人签字").click()
            boss.wait_for_url(f"{base}/workbench/sign/")
            seen["leader_signed"] = _text(boss, "main")
            _shot(boss, "06-leader-signed")

            # 复核: the record has a problem, so REV-1 always draws it; the reviewer passes it
            check = _sign_in(watch.context(browser, **desk), base, reviewer.username)
            check.goto(f"{base}/workbench/review/")
            seen["reviews"] = _text(check, "main")
            check.locator("tr", has_text="发现问题").locator("a").first.click()
            check.wait_for_url("**/workbench/review/*/")
            seen["review"] = _text(check, "main")
            check.get_by_label("复核通过").check()
            check.fill("#decision-findings", "录音与记录一致，问题已转营业部处理。")
            _shot(check, "07-review")
            check.get_by_role("button", name="提交复核结论").click()
            check.wait_for_url(f"{base}/workbench/review/")
            seen["reviewed"] = _text(check, "main")
            _shot(check, "08-review-passed")
        browser.close()

    record = Record.objects.get(task=task)
    assert "领取下一个任务" in seen["home"]
    assert "任务办理" in seen["task"] and "王小明" in seen["task"] and "NEW-1" in seen["task"]
    assert "139****5678" in seen["task"] and "13912345678" not in seen["task"]
    assert "（本人）" in seen["task"]
    # EXE-3: the try is logged, the retry time is the next day's call hours; htmx kept the URL
    assert "已记录本次回访尝试" in seen["failed"] and "无人接听" in seen["failed"]
    assert "本任务 2026-10-15 09:00 后再次进入回访队列" in seen["failed"]
    assert "在工作台领取任务后方可记录回访尝试" in seen["failed"]
    assert seen["failed_url"] == task_url
    assert "（本人）" in seen["again"]
    assert "已接通" in seen["connected"] and record.number in seen["connected"]
    assert "已上传留痕材料" in seen["uploaded"] and "call.wav" in seen["uploaded"]
    assert "已保存回访问卷" in seen["saved"]
    assert "回访人已签字，等待负责人签字" in seen["agent_signed"]
    assert record.number in seen["sign_list"] and "待签字的回访记录" in seen["sign_list"]
    assert FINDING in seen["record"]
    assert f"负责人已签字：{record.number}" in seen["leader_signed"]
    assert "发现问题" in seen["reviews"] and record.number in seen["reviews"]
    assert record.number in seen["review"]
    assert "已提交复核结论" in seen["reviewed"]

    # what the pages did, in the database
    tries = list(Attempt.objects.filter(task=task).order_by("at", "id"))
    assert [(a.outcome, a.at) for a in tries] == [
        (Outcome.NO_ANSWER, f.at(10, day=dt.date(2026, 10, 14))),
        (Outcome.CONNECTED, NEXT_DAY_10AM),
    ]
    assert tries[0].retry_after == dt.datetime(2026, 10, 15, 9, 0, tzinfo=clock.SHANGHAI)
    wav_file = Evidence.objects.get(task=task, kind=EvidenceKind.RECORDING)
    assert wav_file.original_name == "call.wav" and len(wav_file.sha256) == 64
    assert record.status == RecordStatus.SIGNED
    assert record.agent_id == agent.staff.pk and record.leader_id == leader.staff.pk
    assert list(record.findings.values_list("kind", "category", "text")) == [
        ("problem", "fees", FINDING)
    ]
    f1 = record.sections.get(questionnaire__code="F1")
    assert questionnaires.missing_required(f1.questionnaire, f1.answers) == []
    checks = [
        item["id"]
        for item in questionnaires.iter_items(f1.questionnaire)
        if item["type"] == "check"
    ]
    assert {f1.answers[i]["value"] for i in checks} == {"matches"}
    problem = Review.objects.get(record=record, reason=ReviewReason.PROBLEM)
    assert problem.status == ReviewStatus.PASSED and problem.reviewer_id == reviewer.staff.pk
    others_pending = Review.objects.filter(record=record).exclude(status=ReviewStatus.PASSED)
    expected = "signed" if others_pending.exists() else "reviewed"  # REV-2 may draw it too
    assert Task.objects.get(pk=task.pk).status == expected

    assert watch.csp_errors() == []
    assert watch.hosts() == {urlsplit(base).netloc}, watch.hosts()


# ---------------------------------------------------------------- 2. the e-questionnaire


def _outbox_url(data_dir: Path) -> str:
    """The link in the one message the file backend wrote (EXE-6)."""
    messages = sorted((data_dir / "outbox").glob("*.json"))
    assert len(messages) == 1, messages
    text = json.loads(messages[0].read_text(encoding="utf-8"))["text"]
    match = re.search(r"https?://\S+/q/[A-Za-z0-9_\-]+/", text)
    assert match is not None, text
    return match.group(0)


def _answer_all(page: Any) -> None:
    """Every item as the client would: data 一致, yes (no forbidden acts), satisfaction 5."""
    form = page.locator("form.q-form")
    for radio in form.locator("input[type=radio][value=matches]").all():
        radio.check()
    for radio in form.locator("input[type=radio][value=yes]").all():
        radio.check()
    for item in ("has_proxy", "other_agreements", "forbidden_acts"):
        for radio in form.locator(f"input[type=radio][name$='.{item}'][value=no]").all():
            radio.check()
    for radio in form.locator("input[type=radio][value='5']").all():
        radio.check()


def test_a_client_answers_the_e_questionnaire_on_a_phone_once(
    live_server: Any, settings: Any, _files: Path
) -> None:
    """EXE-6: the link from the message opens on a phone; answered once; a second use is refused."""
    _chromium()
    f.policy()
    questionnaires.install_defaults()
    settings.HUIFANG_PUBLIC_BASE_URL = live_server.url
    a01 = f.branch("A01", name="北京甲营业部")
    agent = f.agent_user(a01, username="agent_a")
    client = f.client_of(a01, name="王小明", mobile="13912345678")
    task = f.open_task(client, purposes=("NEW-1",), assignee=agent)
    f.claim(task, agent)
    link = send_link(task=task, actor=f.actor(agent), channel="sms")  # delivered on commit
    url = _outbox_url(_files)
    watch = Watch()
    seen: dict[str, Any] = {}

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CLOSED_NETWORK_FLAGS)
        phone = watch.context(
            browser, viewport=PHONE, is_mobile=True, has_touch=True, user_agent=PHONE_UA
        )
        page = phone.new_page()
        page.goto(url)
        # the same link in a second tab, opened before the first answer is sent
        second = phone.new_page()
        second.goto(url)
        seen["form"] = _text(page)
        seen["width"] = page.evaluate("document.documentElement.scrollWidth")
        _answer_all(page)
        _shot(page, "09-equestionnaire-phone")
        with page.expect_response(lambda r: r.request.method == "POST") as first:
            page.get_by_role("button", name="提交问卷").click()
        page.wait_for_load_state()
        seen["first_status"] = first.value.status
        seen["origin"] = first.value.request.headers.get("origin")
        seen["thanks"] = _text(page)
        _shot(page, "10-equestionnaire-submitted")

        # a second use: the other tab submits, then the link is opened again
        _answer_all(second)
        with second.expect_response(lambda r: r.request.method == "POST") as posted:
            second.get_by_role("button", name="提交问卷").click()
        second.wait_for_load_state()
        seen["second_status"] = posted.value.status
        seen["second"] = _text(second)
        response = page.goto(url)
        seen["again_status"] = response.status if response is not None else None
        seen["again"] = _text(page)
        _shot(page, "11-equestionnaire-used")
        browser.close()

    assert "客户回访问卷" in seen["form"] and "王**" in seen["form"]
    assert "王小明" not in seen["form"] and "13912345678" not in seen["form"]
    assert "本链接仅可提交一次" in seen["form"] and "提交问卷" in seen["form"]
    assert seen["width"] <= PHONE["width"]  # no sideways scrolling on the phone
    # the browser's own POST must pass the CSRF origin check (no "Origin: null")
    assert (seen["first_status"], seen["origin"]) == (200, live_server.url), seen["thanks"][:300]
    assert "提交成功" in seen["thanks"] and "您的答卷已提交" in seen["thanks"]
    assert seen["second_status"] == 410 and "该链接已使用" in seen["second"]
    assert seen["again_status"] == 410 and "该链接已使用" in seen["again"]

    link = QuestionnaireLink.objects.get(pk=link.pk)
    assert link.used_at == clock.now() and "Android" in link.used_device
    record = Record.objects.get(task=task)
    assert record.method == Method.QUESTIONNAIRE and record.status == RecordStatus.DRAFT
    assert Evidence.objects.filter(task=task, kind=EvidenceKind.QUESTIONNAIRE_ANSWERS).count() == 1
    assert list(Attempt.objects.filter(task=task).values_list("method", "outcome")) == [
        (Method.QUESTIONNAIRE, Outcome.CONNECTED)
    ]
    assert watch.csp_errors() == []
    assert watch.hosts() == {urlsplit(live_server.url).netloc}, watch.hosts()
