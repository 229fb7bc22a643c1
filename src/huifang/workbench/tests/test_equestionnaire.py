"""The client e-questionnaire (EXE-6; evidence EXE-2; attempt EXE-3; record EXE-5).

An agent sends a one-time link by SMS or e-mail (only the token's SHA-256 is
stored, the message goes out through the configured backend); the client opens
``/q/<token>/`` without signing in, answers, and the answers become the task's
record with the answer sheet as evidence and one connected attempt. A used,
expired or forged link gets one of three pages and nothing else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.test import Client as HttpClient
from django.urls import reverse

from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.core.testing import assert_private, browser
from huifang.workbench import equestionnaire, records
from huifang.workbench.choices import EvidenceKind, Method, Outcome, RecordStatus
from huifang.workbench.equestionnaire import FormSection, form_sections, send_link, token_digest
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Attempt, Evidence, QuestionnaireLink, Record
from huifang.workbench.tests import factories as f

pytestmark = pytest.mark.django_db

MOBILE = "13912345678"
EMAIL = "wangxm@example.com"
NAME = "王小明"
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
URL_RE = re.compile(r"http://127\.0\.0\.1:8000/q/([A-Za-z0-9_\-]+)/")


class FailingBackend:
    """A gateway that refuses, repeating the address in its error as real ones do."""

    def send(self, channel: str, address: str, text: str) -> None:
        raise RuntimeError(f"gateway refused {address}")


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path
    settings.HUIFANG_MESSAGE_BACKEND = "huifang.workbench.messaging.FileBackend"
    settings.HUIFANG_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    return tmp_path


@pytest.fixture
def w() -> SimpleNamespace:
    """Branch A01's client 王小明 (mobile, e-mail) with a NEW-1 task assigned to and held by an agent."""
    a01 = f.branch("A01", name="北京甲营业部")
    agent = f.agent_user(a01, username="agent_a")
    client = f.client_of(a01, name=NAME, mobile=MOBILE, email=EMAIL)
    task = f.open_task(client, purposes=("NEW-1",), assignee=agent)
    f.claim(task, agent)
    other = f.open_task(f.client_of(a01, name="李四"), purposes=("NEW-1",), assignee=agent)
    return SimpleNamespace(a01=a01, agent=agent, client=client, task=task, other=other)


@pytest.fixture
def sent(
    w: SimpleNamespace, django_capture_on_commit_callbacks: Callable[..., Any], data_dir: Path
) -> Callable[..., tuple[QuestionnaireLink, str]]:
    """Send a link for a task (the message runs after commit) → (link, token read from the outbox)."""

    def send(task: Task | None = None, channel: str = "sms") -> tuple[QuestionnaireLink, str]:
        before = set(outbox(data_dir))
        with django_capture_on_commit_callbacks(execute=True):
            link = send_link(task=task or w.task, actor=f.actor(w.agent), channel=channel)
        new = [p for p in outbox(data_dir) if p not in before]
        assert len(new) == 1, new
        match = URL_RE.search(json.loads(new[0].read_text(encoding="utf-8"))["text"])
        assert match is not None
        link.refresh_from_db()
        return link, match.group(1)

    return send


def outbox(data_dir: Path) -> list[Path]:
    folder = data_dir / "outbox"
    return sorted(folder.glob("*.json")) if folder.exists() else []


def fill_url(token: str) -> str:
    return reverse("questionnaire:fill", args=[token])


def complete_answers(sections: list[FormSection]) -> dict[str, str]:
    """A POST answering every item of every section (check: 一致; yes; score 5; first option)."""
    data: dict[str, str] = {}
    for section in sections:
        for item in section.items:
            name = f"{section.key}.{item['id']}"
            kind = item["type"]
            if kind == "check":
                data[name] = "matches"
            elif kind == "yesno":
                data[name] = "yes"
            elif kind == "score":
                data[name] = str(max(int(o) for o in item["options"]))
            elif kind == "choice":
                data[name] = str(item["options"][0])
            else:
                data[name] = "无"
    return data


def counts() -> tuple[int, int, int, int]:
    return (
        Record.objects.count(),
        Evidence.objects.count(),
        Attempt.objects.count(),
        AuditEvent.objects.count(),
    )


def html(response: Any) -> str:
    return str(response.content.decode())


# --- sending (EXE-6) ------------------------------------------------------------------------


def test_send_link_stores_only_the_hash_and_the_file_backend_writes_the_link(
    w: SimpleNamespace, sent: Any, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    link, token = sent()
    assert link.token_sha256 == hashlib.sha256(token.encode()).hexdigest() == token_digest(token)
    assert len(token) >= 43  # secrets.token_urlsafe(32)
    stored = json.dumps(list(QuestionnaireLink.objects.values()), default=str)
    assert token not in stored and MOBILE not in stored
    assert link.address_masked == "139****5678" and link.channel == "sms"
    assert link.sent_at == clock.now() and link.send_error == ""
    assert link.expires_at == clock.now() + dt.timedelta(hours=72)
    assert link.created_by == "agent_a"
    message = json.loads(outbox(data_dir)[0].read_text(encoding="utf-8"))
    assert message["to"] == MOBILE and message["channel"] == "sms"
    assert f"http://127.0.0.1:8000/q/{token}/" in message["text"]
    assert "72小时内有效" in message["text"] and "北京甲营业部" in message["text"]
    # Audited with the address masked; the address is never logged.
    actions = list(
        AuditEvent.objects.filter(object_type="workbench.QuestionnaireLink").values_list(
            "action", flat=True
        )
    )
    assert actions == ["workbench.questionnaire_link.send", "workbench.questionnaire_link.sent"]
    trail = json.dumps(list(AuditEvent.objects.values("before", "after")), ensure_ascii=False)
    assert MOBILE not in trail and token not in trail and "139****5678" in trail
    assert MOBILE not in caplog.text and token not in caplog.text


def test_an_email_link_goes_to_the_clients_email(
    w: SimpleNamespace, sent: Any, data_dir: Path
) -> None:
    link, token = sent(channel="email")
    assert link.address_masked.startswith("wa") and EMAIL not in link.address_masked
    message = json.loads(outbox(data_dir)[0].read_text(encoding="utf-8"))
    assert message["to"] == EMAIL and message["channel"] == "email"


def test_a_new_link_revokes_the_older_unused_one(w: SimpleNamespace, sent: Any) -> None:
    first, first_token = sent()
    second, second_token = sent()
    first.refresh_from_db()
    assert first.revoked_at == clock.now() and second.revoked_at is None
    response = browser().get(fill_url(first_token))
    assert response.status_code == 410 and "该链接已使用" in html(response)
    assert browser().get(fill_url(second_token)).status_code == 200


def test_a_client_without_the_address_is_refused_and_nothing_is_written(
    w: SimpleNamespace,
) -> None:
    task = f.open_task(f.client_of(w.a01, email=None), assignee=w.agent)
    before = counts()
    with pytest.raises(WorkbenchRefused) as refused:
        send_link(task=task, actor=f.actor(w.agent), channel="email")
    assert refused.value.code == "no_address" and "电子邮箱" in refused.value.reasons[0]
    assert not QuestionnaireLink.objects.exists() and counts() == before


def test_only_the_holder_or_assignee_sends(w: SimpleNamespace) -> None:
    stranger = f.agent_user(w.a01)
    with pytest.raises(WorkbenchRefused) as refused:
        send_link(task=w.task, actor=f.actor(stranger), channel="sms")
    assert refused.value.code == "not_holder" and refused.value.status == 403
    # A live claim without the assignment is enough.
    task = f.open_task(f.client_of(w.a01))
    f.claim(task, stranger)
    assert send_link(task=task, actor=f.actor(stranger), channel="sms").task_id == task.pk
    assert not QuestionnaireLink.objects.filter(task=w.task).exists()


def test_no_link_during_the_cooling_off(w: SimpleNamespace) -> None:
    """PROD-*: answers given before the task opens would not count, so no link goes out."""
    task = f.open_task(
        f.client_of(w.a01), assignee=w.agent, opens_at=clock.now() + dt.timedelta(hours=1)
    )
    with pytest.raises(WorkbenchRefused) as refused:
        send_link(task=task, actor=f.actor(w.agent), channel="sms")
    assert refused.value.code == "cooling_off" and not QuestionnaireLink.objects.exists()


def test_a_send_failure_is_stored_and_the_link_stays_unsent(
    w: SimpleNamespace, settings: Any, django_capture_on_commit_callbacks: Any, data_dir: Path
) -> None:
    settings.HUIFANG_MESSAGE_BACKEND = f"{__name__}.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        link = send_link(task=w.task, actor=f.actor(w.agent), channel="sms")
    link.refresh_from_db()
    assert link.sent_at is None
    assert "RuntimeError: gateway refused 139****5678" in link.send_error
    assert MOBILE not in link.send_error and not outbox(data_dir)
    failed = AuditEvent.objects.get(action="workbench.questionnaire_link.send_failed")
    assert failed.after["error"] == link.send_error and MOBILE not in json.dumps(failed.after)


def test_the_message_waits_for_the_commit(
    w: SimpleNamespace, django_capture_on_commit_callbacks: Any, data_dir: Path
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        link = send_link(task=w.task, actor=f.actor(w.agent), channel="sms")
    assert callbacks and not outbox(data_dir)
    for callback in callbacks:  # the message, and the audit trail's no-op chain markers
        callback()
    link.refresh_from_db()
    assert link.sent_at is not None and len(outbox(data_dir)) == 1


# --- the public page ------------------------------------------------------------------------


def test_opening_the_link_shows_the_mobile_form(w: SimpleNamespace, sent: Any) -> None:
    _link, token = sent()
    response = browser(pii_values=(MOBILE, NAME, EMAIL)).get(fill_url(token))
    page = html(response)
    assert response.status_code == 200
    assert_private(response)
    assert response["Referrer-Policy"] == "same-origin"  # the token never leaves the site
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "王**" in page and NAME not in page and w.client.client_id not in page
    assert 'name="csrfmiddlewaretoken"' in page
    sections = form_sections(w.task)
    assert [s.questionnaire.code for s in sections] == ["F-BRK", "F1"]  # NEW-1 and the general
    for section in sections:
        assert section.questionnaire.title in page
        assert all(item["text"] in page for item in section.items)
    general = sections[-1]
    check = next(item for item in general.items if item["type"] == "check")
    assert f'name="{general.key}.{check["id"]}" value="matches"' in page
    assert ">一致</span>" in page and ">不一致</span>" in page
    assert f'name="{general.key}.{check["id"]}.note"' in page
    score = next(item for item in general.items if item["type"] == "score")
    assert f'name="{general.key}.{score["id"]}" value="5"' in page
    # Strict CSP: no inline script or style.
    assert "<script" not in page and "style=" not in page
    assert "workbench/public/questionnaire.css" in page


def test_submitting_creates_the_record_evidence_and_attempt(w: SimpleNamespace, sent: Any) -> None:
    link, token = sent()
    http = HttpClient(enforce_csrf_checks=True, HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.9")
    form = http.get(fill_url(token))
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html(form))
    assert csrf is not None
    data = complete_answers(form_sections(w.task))
    response = http.post(fill_url(token), {**data, "csrfmiddlewaretoken": csrf.group(1)})
    assert response.status_code == 200, html(response)
    assert "提交成功" in html(response)

    link.refresh_from_db()
    assert link.used_at == clock.now() and link.used_ip == "203.0.113.9" and link.used_device == UA
    record = Record.objects.get(task=w.task)
    assert record.method == Method.QUESTIONNAIRE and record.source == "questionnaire"
    assert record.status == RecordStatus.DRAFT and record.agent_id == w.agent.staff.pk
    for section in record.sections.select_related("questionnaire"):
        assert section.answers, section.questionnaire.code
        assert all(entry["value"] for entry in section.answers.values())

    evidence = Evidence.objects.get(task=w.task)
    assert evidence.kind == EvidenceKind.QUESTIONNAIRE_ANSWERS
    with default_storage.open(evidence.file.name, "rb") as stored:
        content = stored.read()
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    sheet = json.loads(content)
    assert sheet["ip"] == "203.0.113.9" and sheet["device"] == UA and sheet["link"] == link.pk
    assert sheet["submitted_at"] == clock.now().isoformat()
    assert sheet["record"] == record.number
    assert set(sheet["answers"]) == {s.key for s in form_sections(w.task)}

    attempt = Attempt.objects.get(task=w.task, method=Method.QUESTIONNAIRE)
    assert attempt.outcome == Outcome.CONNECTED and attempt.channel == "questionnaire"
    assert attempt.staff_id == w.agent.staff.pk and attempt.at == clock.now()
    w.task.refresh_from_db()
    assert w.task.status == "in_progress"
    assert AuditEvent.objects.filter(
        action="workbench.questionnaire_link.submit", actor="system:questionnaire"
    ).exists()


def test_the_agent_then_signs_the_questionnaire_record(w: SimpleNamespace, sent: Any) -> None:
    _link, token = sent()
    response = browser().post(fill_url(token), complete_answers(form_sections(w.task)))
    assert response.status_code == 200
    record = records.sign_agent(record=Record.objects.get(task=w.task), actor=f.actor(w.agent))
    assert record.status == RecordStatus.AGENT_SIGNED and record.content_sha256


def test_a_second_submit_gets_the_used_page_and_writes_nothing(
    w: SimpleNamespace, sent: Any
) -> None:
    _link, token = sent()
    data = complete_answers(form_sections(w.task))
    assert browser().post(fill_url(token), data).status_code == 200
    before = counts()
    for method in ("get", "post"):
        response = getattr(browser(pii_values=(MOBILE, NAME)), method)(fill_url(token), data)
        page = html(response)
        assert response.status_code == 410 and "该链接已使用" in page
        assert "王**" not in page and "问卷" not in page.split("<body")[1]
    assert counts() == before


def test_a_concurrent_second_submit_loses_the_compare_and_set(
    w: SimpleNamespace, sent: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both submits passed ``open_link``; only the first marks the link used (EXE-6)."""
    link, token = sent()
    answers = service_answers(form_sections(w.task))
    stale = equestionnaire.open_link(token)
    equestionnaire.submit(token=token, answers=answers, ip="198.51.100.1", device=UA)
    before = counts()
    monkeypatch.setattr(equestionnaire, "open_link", lambda _token: stale)
    with pytest.raises(WorkbenchRefused) as refused:
        equestionnaire.submit(token=token, answers=answers, ip="198.51.100.2", device="other")
    assert refused.value.code == "link_used" and refused.value.status == 410
    assert counts() == before
    link.refresh_from_db()
    assert link.used_ip == "198.51.100.1"


def service_answers(sections: list[FormSection]) -> dict[str, dict[str, dict[str, Any]]]:
    """``complete_answers`` in the shape ``submit`` takes: section key → item id → entry."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for section in sections:
        for name, value in complete_answers([section]).items():
            item_id = name.split(".", 1)[1]
            out.setdefault(section.key, {})[item_id] = {"value": value}
    return out


def test_an_expired_link_gets_the_expired_page(w: SimpleNamespace, sent: Any) -> None:
    link, token = sent()
    data = complete_answers(form_sections(w.task))
    with clock.frozen(link.expires_at + dt.timedelta(seconds=1)):
        for method in ("get", "post"):
            response = getattr(browser(pii_values=(MOBILE, NAME)), method)(fill_url(token), data)
            assert response.status_code == 410 and "该链接已过期" in html(response)
            assert "王**" not in html(response)
    link.refresh_from_db()
    assert link.used_at is None and not Record.objects.filter(task=w.task).exists()
    # Just before the end it still opens.
    with clock.frozen(link.expires_at - dt.timedelta(seconds=1)):
        assert browser().get(fill_url(token)).status_code == 200


def test_a_forged_token_gets_the_invalid_page(w: SimpleNamespace, sent: Any) -> None:
    _link, token = sent()
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    before = counts()
    for url in (fill_url(forged), fill_url("0" * 32), fill_url("x" * 300)):
        for method in ("get", "post"):
            response = getattr(browser(pii_values=(MOBILE, NAME)), method)(url, {"a": "b"})
            page = html(response)
            assert response.status_code == 404 and "链接无效" in page
            assert "王**" not in page and "北京甲营业部" not in page
    assert counts() == before


def test_the_link_of_another_task_cannot_be_used_for_this_one(
    w: SimpleNamespace, sent: Any
) -> None:
    _mine, token = sent(w.task)
    theirs, their_token = sent(w.other)
    response = browser().post(fill_url(token), complete_answers(form_sections(w.task)))
    assert response.status_code == 200
    # The answers went to this task only; the other task's link is untouched and still open.
    assert list(Record.objects.values_list("task_id", flat=True)) == [w.task.pk]
    theirs.refresh_from_db()
    assert theirs.used_at is None
    # This task's token never opens the other task's form (nor reaches it after use).
    assert browser().get(fill_url(token)).status_code == 410
    page = html(browser().get(fill_url(their_token)))
    assert "李**" in page and "王**" not in page


def test_a_bad_answer_shows_the_form_again_and_keeps_the_link(
    w: SimpleNamespace, sent: Any
) -> None:
    link, token = sent()
    sections = form_sections(w.task)
    data = complete_answers(sections)
    check = next((s, item) for s in sections for item in s.items if item["type"] == "check")
    data[f"{check[0].key}.{check[1]['id']}"] = "differs"  # differs without a note (EXE-4)
    required = next((s, i) for s in sections for i in s.items if i.get("required"))
    data.pop(f"{required[0].key}.{required[1]['id']}", None)
    response = browser().post(fill_url(token), data)
    page = html(response)
    assert response.status_code == 400
    assert "须说明不符之处" in page and f"请回答：{required[1]['text']}" in page
    assert 'value="differs" checked' in page  # what was given stays filled in
    link.refresh_from_db()
    assert link.used_at is None and not Record.objects.exists()


@pytest.mark.parametrize(
    ("proxies", "expected"), [(0, "10.0.0.1"), (1, "10.0.0.2")], ids=["direct", "one-proxy"]
)
def test_the_ip_comes_from_x_forwarded_for_only_behind_a_trusted_proxy(
    w: SimpleNamespace, sent: Any, settings: Any, proxies: int, expected: str
) -> None:
    """The leftmost X-Forwarded-For entry may be forged; only trusted hops are read."""
    settings.HUIFANG_TRUSTED_PROXY_COUNT = proxies
    link, token = sent()
    http = HttpClient(
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.2",
        HTTP_USER_AGENT="x" * 400,
    )
    assert http.post(fill_url(token), complete_answers(form_sections(w.task))).status_code == 200
    link.refresh_from_db()
    assert link.used_ip == expected and link.used_device == "x" * 300


def test_a_link_stops_working_once_the_record_is_signed(w: SimpleNamespace, sent: Any) -> None:
    _used, token = sent()
    assert (
        browser().post(fill_url(token), complete_answers(form_sections(w.task))).status_code == 200
    )
    records.sign_agent(record=Record.objects.get(task=w.task), actor=f.actor(w.agent))
    with pytest.raises(WorkbenchRefused) as refused:
        send_link(task=w.task, actor=f.actor(w.agent), channel="sms")
    assert refused.value.code == "wrong_state"
