"""The call-center API (issue 7 item 9): a system account works callbacks as one agent.

Same services as the UI (EXE-3 attempts, EXE-2 evidence, EXE-4 answers, EXE-5 signature),
the same refusals with their codes and nothing written (CON-1, CON-5, PROD cooling-off,
EXE-2, EXE-4), branch scope (SPEC §0: 404 outside), PII masked (CLI-4), every call
audited (NFR-2). Times: Monday 2026-10-12 in Asia/Shanghai (``f.at``).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.accounts.tests.factories import user_with_role
from huifang.api.services import token_create, token_revoke
from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.org.models import Unit
from huifang.workbench import questionnaires
from huifang.workbench.choices import RecordStatus
from huifang.workbench.models import Attempt, Claim, Evidence, Finding, Record
from huifang.workbench.tests import factories as f

pytestmark = pytest.mark.django_db(transaction=False)

BASE = "/api/v1/workbench"
TEN = f.at(10)
# A WAV header and a little silence: a recording by its magic bytes (EXE-2).
WAV = (
    b"RIFF" + (36 + 800).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + (8000).to_bytes(4, "little")
    + (8000).to_bytes(4, "little") + (1).to_bytes(2, "little") + (8).to_bytes(2, "little")
    + b"data" + (800).to_bytes(4, "little") + b"\x80" * 800
)  # fmt: skip


@pytest.fixture(autouse=True)
def _policy(db: None) -> None:
    f.policy()


@pytest.fixture
def branch() -> Unit:
    return f.branch("A01")


@pytest.fixture
def agent(branch: Unit) -> User:
    return f.agent_user(branch, username="cc_agent")


@pytest.fixture
def token(agent: User) -> str:
    return token_create(user=agent, name="callcenter")[1]


def call(token: str | None, method: str, path: str, body: Any = None, **extra: Any) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    client = Client()
    if method == "get":
        return client.get(BASE + path, **headers)
    if body is None and "data" not in extra:
        return client.post(BASE + path, **headers)
    if "data" in extra:  # multipart
        return client.post(BASE + path, data=extra["data"], **headers)
    return client.post(
        BASE + path, data=json.dumps(body), content_type="application/json", **headers
    )


def api_calls(status: int | None = None) -> list[dict[str, Any]]:
    rows = [e.after for e in AuditEvent.objects.filter(action="api.call").order_by("id")]
    return [r for r in rows if status is None or r["status"] == status]


def held_task(agent: User, **kwargs: Any) -> Task:
    """A task of the agent's branch assigned to and claimed by him (no attempt yet)."""
    task = f.open_task(assignee=agent, branch=agent.staff.unit, **kwargs)  # type: ignore[union-attr]
    f.claim(task, agent, TEN)
    return task


def filled(record: Record) -> dict[str, dict[str, dict[str, Any]]]:
    """An answer to every required item of every section of the record (EXE-4)."""
    values = {"check": "matches", "yesno": "yes", "text": "已核对"}
    answers: dict[str, dict[str, dict[str, Any]]] = {}
    for section in record.sections.select_related("questionnaire"):
        items = {}
        for item in questionnaires.iter_items(section.questionnaire):
            if not item.get("required"):
                continue
            if item["type"] == "score":
                value: Any = max(int(o) for o in item.get("options") or [5])
            elif item["type"] == "choice":
                value = str(item["options"][0])
            else:
                value = values[item["type"]]
            items[item["id"]] = {"value": value, "note": ""}
        answers[str(section.pk)] = items
    return answers


def recorded(agent: User, **kwargs: Any) -> Task:
    """A held task with a connected phone try and its open record."""
    return f.connected_task(agent, record=True, when=TEN, **kwargs)


# ---------------------------------------------------------------- next task


def test_next_holds_the_most_urgent_task_and_shows_the_client_masked(
    agent: User, token: str
) -> None:
    home = agent.staff.unit  # type: ignore[union-attr]
    client = f.client_of(home, name="张三丰", mobile="13912345678")
    later = f.open_task(assignee=agent, client=f.client_of(home), due=dt.date(2026, 10, 20))
    task = f.open_task(assignee=agent, client=client, purposes=("NEW-1",), due=dt.date(2026, 10, 15),
                       facts={"open_date": "2026-10-09"})  # fmt: skip
    with clock.frozen(TEN):
        response = call(token, "post", "/next")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == task.pk and body["branch"] == "A01" and body["held"] is True
    assert body["client"]["name"] == "张**" and body["client"]["mobile"] == "139****5678"
    assert (
        "13912345678" not in response.content.decode() and "张三丰" not in response.content.decode()
    )
    assert [(p["rule_id"], p["facts"], p["due_date"]) for p in body["purposes"]] == [
        ("NEW-1", {"open_date": "2026-10-09"}, "2026-10-15")
    ]
    # no record yet: the questionnaires to come, the purpose's and the general F1 (EXE-4)
    assert all(s["section_id"] is None for s in body["sections"])
    assert "F1" in [s["questionnaire"] for s in body["sections"]]
    assert all(item["text"] for s in body["sections"] for item in s["items"])
    assert Claim.objects.get(released_at__isnull=True).task_id == task.pk
    # held: the same task again, not the later one
    with clock.frozen(f.at(10, 5)):
        again = call(token, "post", "/next")
    assert again.status_code == 200 and again.json()["id"] == task.pk != later.pk
    [first, second] = api_calls(200)
    assert first["operation"] == "workbench.next" and first["task"] == task.pk
    assert first["token"]["prefix"] == token[:11] and token not in json.dumps(first)


def test_next_answers_204_when_nothing_is_due(token: str) -> None:
    with clock.frozen(TEN):
        response = call(token, "post", "/next")
    assert response.status_code == 204 and response.content == b""
    assert not Claim.objects.exists()


def test_next_outside_call_hours_is_refused_with_call_hours_and_claims_nothing(
    agent: User, token: str
) -> None:
    """CON-5: calls only 09:00–20:00."""
    f.open_task(assignee=agent, branch=agent.staff.unit)  # type: ignore[union-attr]
    with clock.frozen(f.at(20, 30)):
        response = call(token, "post", "/next")
    assert response.status_code == 409
    assert response.json()["code"] == "call_hours" and "CON-5" in response.json()["reasons"][0]
    assert not Claim.objects.exists()
    assert api_calls(409)[0]["code"] == "call_hours"


# ---------------------------------------------------------------- scope, auth


def test_a_task_outside_the_agents_branches_is_404(agent: User, token: str) -> None:
    elsewhere = f.open_task(branch=f.branch("B01"))
    mine = f.open_task(assignee=agent, branch=agent.staff.unit)  # type: ignore[union-attr]
    with clock.frozen(TEN):
        assert call(token, "get", f"/tasks/{mine.pk}").status_code == 200
        for path in (f"/tasks/{elsewhere.pk}", "/tasks/999999"):
            response = call(token, "get", path)
            assert response.status_code == 404 and response.json()["code"] == "not_found"
        posted = call(token, "post", f"/tasks/{elsewhere.pk}/attempts",
                      {"method": "phone", "outcome": "connected"})  # fmt: skip
    assert posted.status_code == 404
    assert not Attempt.objects.exists()


ENDPOINTS = [
    ("post", "/next"), ("get", "/tasks/1"), ("post", "/tasks/1/attempts"),
    ("post", "/tasks/1/recording"), ("post", "/tasks/1/answers"), ("post", "/tasks/1/sign"),
    ("post", "/tasks/1/release"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_no_endpoint_answers_without_a_valid_token(
    method: str, path: str, agent: User, token: str
) -> None:
    body = {"method": "phone", "outcome": "connected"} if path.endswith("attempts") else None
    assert call(None, method, path, body).status_code == 401
    assert call("hf_not-a-token", method, path, body).status_code == 401
    token_revoke(user=agent, name="callcenter")
    assert call(token, method, path, body).status_code == 401
    refused = api_calls(401)
    assert len(refused) == 3 and {r["path"] for r in refused} == {BASE + path}
    assert [r.get("refused", {}).get("reason") for r in refused] == [
        None,
        "unknown token",
        "revoked token",
    ]
    assert not Claim.objects.exists() and not Attempt.objects.exists()


def test_a_token_of_a_user_who_is_not_an_agent_with_staff_is_403(branch: Unit) -> None:
    ops = user_with_role(Role.BRANCH_OPS, unit=branch, username="core_system")
    raw = token_create(user=ops, name="core")[1]
    with clock.frozen(TEN):
        response = call(raw, "post", "/next")
    assert response.status_code == 403 and response.json()["code"] == "not_agent"
    # an agent without a staff record may not even hold a token
    bare = user_with_role(Role.AGENT, unit=branch, username="bare_agent")
    with pytest.raises(ValidationError, match="linked staff member"):
        token_create(user=bare, name="cc")


# ---------------------------------------------------------------- attempts


def test_a_connected_try_opens_the_record_and_a_repeated_call_id_is_not_duplicated(
    agent: User, token: str
) -> None:
    """EXE-3: the try is logged by the attempts service; ``call_id`` makes the post idempotent."""
    task = held_task(agent)
    body = {
        "method": "phone",
        "outcome": "connected",
        "call_id": "CC-2026-0001",
        "note": "客户已接听",
    }
    with clock.frozen(f.at(10, 5)):
        first = call(token, "post", f"/tasks/{task.pk}/attempts", body)
        again = call(token, "post", f"/tasks/{task.pk}/attempts", body)
    assert first.status_code == 201, first.content
    out = first.json()
    record = Record.objects.get(task=task)
    assert out["created"] and out["task_status"] == "in_progress" and out["record"] == record.number
    assert out["call_id"] == "CC-2026-0001" and out["at"].startswith("2026-10-12T10:05")
    assert (
        again.status_code == 200 and again.json()["id"] == out["id"] and not again.json()["created"]
    )
    attempt = Attempt.objects.get()
    assert (attempt.channel, attempt.staff_id) == ("api", agent.staff_id)
    assert AuditEvent.objects.filter(action="workbench.attempt").count() == 1
    # the task now shows the record's sections with their ids
    with clock.frozen(f.at(10, 6)):
        shown = call(token, "get", f"/tasks/{task.pk}").json()
    assert shown["record"]["number"] == record.number
    assert sorted(s["section_id"] for s in shown["sections"]) == sorted(
        record.sections.values_list("id", flat=True)
    )


def test_a_failed_try_releases_the_claim_and_sets_the_retry(agent: User, token: str) -> None:
    task = held_task(agent)
    with clock.frozen(f.at(10, 5)):
        response = call(token, "post", f"/tasks/{task.pk}/attempts",
                        {"method": "phone", "outcome": "no_answer"})  # fmt: skip
    assert response.status_code == 201
    task.refresh_from_db()
    assert task.retry_after == f.at(9, day=dt.date(2026, 10, 13))
    assert not Claim.objects.filter(released_at__isnull=True).exists()


def test_a_try_on_a_task_the_agent_does_not_hold_is_refused(agent: User, token: str) -> None:
    task = f.open_task(branch=agent.staff.unit)  # type: ignore[union-attr]
    with clock.frozen(f.at(10, 5)):
        response = call(token, "post", f"/tasks/{task.pk}/attempts",
                        {"method": "phone", "outcome": "connected"})  # fmt: skip
    assert response.status_code == 409 and response.json()["code"] == "not_holder"
    assert not Attempt.objects.exists() and not Record.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"method": "phone", "outcome": "picked_up"},
        {"method": "phone"},
        {"method": "phone", "outcome": "connected", "colour": "red"},
        {"method": "phone", "outcome": "connected", "call_id": "has space"},
    ],
)
def test_an_invalid_attempt_is_422_and_writes_nothing(
    body: dict[str, Any], agent: User, token: str
) -> None:
    task = held_task(agent)
    with clock.frozen(f.at(10, 5)):
        response = call(token, "post", f"/tasks/{task.pk}/attempts", body)
    assert response.status_code == 422
    assert not Attempt.objects.exists()
    assert api_calls(422)[0]["path"].endswith("/attempts")


def test_a_phone_try_outside_call_hours_is_refused(agent: User, token: str) -> None:
    task = held_task(agent)
    with clock.frozen(f.at(21)):
        response = call(token, "post", f"/tasks/{task.pk}/attempts",
                        {"method": "phone", "outcome": "connected"})  # fmt: skip
    assert response.status_code == 409 and response.json()["code"] == "call_hours"
    assert not Attempt.objects.exists()


# ---------------------------------------------------------------- evidence


def test_a_recording_file_is_stored_with_its_sha256(agent: User, token: str) -> None:
    """EXE-2: a phone callback's recording, by file."""
    import hashlib

    task = recorded(agent)
    upload = SimpleUploadedFile("call.wav", WAV, content_type="audio/wav")
    with clock.frozen(f.at(10, 20)):
        response = call(token, "post", f"/tasks/{task.pk}/recording", data={"file": upload})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sha256"] == hashlib.sha256(WAV).hexdigest() and body["kind"] == "recording"
    evidence = Evidence.objects.get()
    assert evidence.sha256 == body["sha256"] and evidence.size == len(WAV)
    assert api_calls(201)[-1]["evidence"] == {"id": evidence.pk, "sha256": evidence.sha256}


def test_a_call_center_call_id_is_evidence_too(agent: User, token: str) -> None:
    task = recorded(agent)
    with clock.frozen(f.at(10, 20)):
        response = call(token, "post", f"/tasks/{task.pk}/recording", {"call_id": "CC-REC-77"})
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "call_id" and response.json()["call_id"] == "CC-REC-77"
    assert Evidence.objects.get().call_id == "CC-REC-77"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"body": {"call_id": ""}},
        {"body": {"call_id": "X", "file": "y"}},
        {"body": ["CC-1"]},
        {"data": {"other": SimpleUploadedFile("a.wav", WAV)}},
    ],
)
def test_a_recording_without_a_file_or_call_id_is_422(
    kwargs: dict[str, Any], agent: User, token: str
) -> None:
    task = recorded(agent)
    with clock.frozen(f.at(10, 20)):
        response = call(token, "post", f"/tasks/{task.pk}/recording", kwargs.get("body"),
                        **({"data": kwargs["data"]} if "data" in kwargs else {}))  # fmt: skip
    assert response.status_code == 422, response.content
    assert not Evidence.objects.exists()


def test_a_file_that_is_not_a_recording_is_refused(agent: User, token: str) -> None:
    task = recorded(agent)
    upload = SimpleUploadedFile("call.wav", b"MZ\x90\x00 not audio" * 20, content_type="audio/wav")
    with clock.frozen(f.at(10, 20)):
        response = call(token, "post", f"/tasks/{task.pk}/recording", data={"file": upload})
    assert response.status_code == 400 and response.json()["code"] == "bad_file"
    assert not Evidence.objects.exists()


def test_a_recording_over_the_size_limit_is_413(agent: User, token: str, settings: Any) -> None:
    settings.HUIFANG_EVIDENCE_MAX_BYTES = 100
    task = recorded(agent)
    upload = SimpleUploadedFile("call.wav", WAV, content_type="audio/wav")
    with clock.frozen(f.at(10, 20)):
        response = call(token, "post", f"/tasks/{task.pk}/recording", data={"file": upload})
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert not Evidence.objects.exists()


# ---------------------------------------------------------------- answers, signature


def test_answers_then_signature_then_no_more_answers(agent: User, token: str) -> None:
    """EXE-4 answers, EXE-5 the agent's signature; a signed record refuses changes (409 signed)."""
    task = recorded(agent)
    record = Record.objects.get(task=task)
    answers = filled(record)
    purpose = task.purposes.get()
    body = {
        "sections": answers, "notes": "客户对服务满意",
        "findings": [{"kind": "suggestion", "category": "service", "text": "希望增加网点",
                      "purpose_id": purpose.pk}],
    }  # fmt: skip
    with clock.frozen(f.at(10, 20)):
        saved = call(token, "post", f"/tasks/{task.pk}/answers", body)
        assert saved.status_code == 200, saved.content
        assert (
            call(token, "post", f"/tasks/{task.pk}/recording", {"call_id": "CC-REC-1"}).status_code
            == 201
        )
        signed = call(token, "post", f"/tasks/{task.pk}/sign")
        assert signed.status_code == 200, signed.content
        late = call(token, "post", f"/tasks/{task.pk}/answers", {**body, "notes": "改过"})
    out = saved.json()
    assert out["status"] == "draft" and out["notes"] == "客户对服务满意"
    assert out["findings"] == [{"kind": "suggestion", "category": "service", "text": "希望增加网点",
                                "purpose_id": purpose.pk}]  # fmt: skip
    assert {str(s["section_id"]): s["answers"] for s in out["sections"]} == answers
    sig = signed.json()
    record.refresh_from_db()
    assert sig["status"] == record.status == RecordStatus.AGENT_SIGNED
    assert sig["content_sha256"] == record.content_sha256 != ""
    assert late.status_code == 409 and late.json()["code"] == "signed"
    record.refresh_from_db()
    assert record.notes == "客户对服务满意" and Finding.objects.count() == 1


def test_answers_before_the_client_was_reached_are_refused(agent: User, token: str) -> None:
    task = held_task(agent)
    with clock.frozen(f.at(10, 5)):
        response = call(token, "post", f"/tasks/{task.pk}/answers", {"notes": "x"})
    assert response.status_code == 409 and response.json()["code"] == "wrong_state"
    assert not Record.objects.exists()


def test_a_bad_answer_is_refused_and_nothing_is_saved(agent: User, token: str) -> None:
    task = recorded(agent)
    record = Record.objects.get(task=task)
    section = record.sections.first()
    assert section is not None
    body = {"sections": {str(section.pk): {"no_such_item": {"value": "x"}}}, "notes": "n"}
    other = {"sections": {"999999": {"a": {"value": "x"}}}}
    with clock.frozen(f.at(10, 20)):
        response = call(token, "post", f"/tasks/{task.pk}/answers", body)
        foreign = call(token, "post", f"/tasks/{task.pk}/answers", other)
    assert response.status_code == 400 and response.json()["code"] == "bad_answer"
    assert foreign.status_code == 400 and foreign.json()["code"] == "bad_answer"
    record.refresh_from_db()
    assert record.notes == "" and section.answers == {}


def _sign_refused(token: str, task: Task, code: str) -> None:
    before = AuditEvent.objects.filter(action__startswith="workbench.").count()
    with clock.frozen(f.at(10, 30)):
        response = call(token, "post", f"/tasks/{task.pk}/sign")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == code and response.json()["reasons"]
    record = Record.objects.get(task=task)
    assert record.status == RecordStatus.DRAFT and record.content_sha256 == ""
    assert AuditEvent.objects.filter(action__startswith="workbench.").count() == before
    assert api_calls(409)[-1]["code"] == code


def test_signing_without_evidence_is_refused(agent: User, token: str) -> None:
    """EXE-2: a phone callback needs its recording before the record is signed."""
    task = recorded(agent)
    record = Record.objects.get(task=task)
    with clock.frozen(f.at(10, 20)):
        assert (
            call(
                token, "post", f"/tasks/{task.pk}/answers", {"sections": filled(record)}
            ).status_code
            == 200
        )
    _sign_refused(token, task, "no_evidence")


def test_signing_with_required_answers_missing_is_refused(agent: User, token: str) -> None:
    """EXE-4: every required item answered."""
    task = recorded(agent)
    with clock.frozen(f.at(10, 20)):
        assert (
            call(token, "post", f"/tasks/{task.pk}/recording", {"call_id": "CC-9"}).status_code
            == 201
        )
    _sign_refused(token, task, "incomplete")


def test_signing_a_callback_made_inside_the_cooling_off_is_refused(agent: User, token: str) -> None:
    """PROD-*: a callback before the cooling-off ended is void (AMAC Art. 29–31)."""
    task = recorded(agent, opens_at=f.at(10, 15))  # connected at 10:00, cooling-off until 10:15
    _sign_refused(token, task, "cooling_off")


def test_signing_a_callback_of_a_client_the_agent_introduced_is_refused(
    agent: User, token: str
) -> None:
    """CON-1: nobody calls back a client he introduced (checked again at signing)."""
    client = f.client_of(agent.staff.unit, introducer=agent.staff)  # type: ignore[union-attr]
    task = recorded(agent, client=client)
    _sign_refused(token, task, "recused")


# ---------------------------------------------------------------- release


def test_release_gives_the_task_back(agent: User, token: str) -> None:
    task = held_task(agent)
    with clock.frozen(f.at(10, 5)):
        first = call(token, "post", f"/tasks/{task.pk}/release")
        second = call(token, "post", f"/tasks/{task.pk}/release")
    assert first.status_code == 200 and first.json() == {
        "task_id": task.pk,
        "status": "assigned",
        "released": True,
    }
    assert second.status_code == 200 and second.json()["released"] is False
    assert Claim.objects.get().release_reason == "api"


def test_release_of_a_task_another_agent_holds_is_refused(agent: User, token: str) -> None:
    other = f.agent_user(agent.staff.unit)  # type: ignore[union-attr]
    task = held_task(other)
    with clock.frozen(f.at(10, 5)):
        response = call(token, "post", f"/tasks/{task.pk}/release")
    assert response.status_code == 409 and response.json()["code"] == "not_holder"
    assert Claim.objects.get().released_at is None
