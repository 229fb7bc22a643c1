"""Records (SPEC EXE-4, EXE-5): opening with one section per purpose, answers, immutability.

Also the shared helpers of the records helper's tests (``ready_record``, ``wav``,
``full_answers``): ``test_signoff`` and ``test_evidence`` import them.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.workbench import evidence, questionnaires, records
from huifang.workbench.choices import EvidenceKind, Method, RecordStatus
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Amendment, Finding, Record, Section
from huifang.workbench.tests import factories as f

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- shared helpers


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    """Evidence goes to a fresh MEDIA_ROOT per test (the default filesystem storage)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


def wav(seconds: float = 0.01) -> bytes:
    """A real, tiny WAV file (8 kHz mono silence)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * int(8000 * seconds))
    return buffer.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def _value(item: dict[str, Any]) -> Any:
    return {"check": "matches", "yesno": "yes", "score": 5, "text": "无"}.get(
        item["type"], (item.get("options") or [""])[0]
    )


def full_answers(record: Record) -> dict[int, dict[str, Any]]:
    """Valid answers to every required item of every section."""
    return {
        section.pk: {
            item["id"]: {"value": _value(item)}
            for item in questionnaires.iter_items(section.questionnaire)
            if item.get("required")
        }
        for section in record.sections.select_related("questionnaire")
    }


def record_of(task: Task) -> Record:
    return Record.objects.get(task=task)


def ready_record(agent: User, *, recording: bool = True, **task_kwargs: Any) -> Record:
    """A phone record with a connected call, every required answer and (by default) a recording."""
    task = f.connected_task(agent, record=True, **task_kwargs)
    record = record_of(task)
    actor = f.actor(agent)
    records.save_answers(record=record, actor=actor, answers=full_answers(record), findings=[],
                         notes="客户确认资料无误。")  # fmt: skip
    if recording:
        evidence.attach(task=task, actor=actor, kind=EvidenceKind.RECORDING,
                        upload=upload("call.wav", wav()))  # fmt: skip
    return Record.objects.get(pk=record.pk)


def signed_record(**task_kwargs: Any) -> tuple[Record, User, User]:
    """A record signed by agent and 营运总监 of branch A01; returns (record, agent, leader)."""
    branch = f.branch("A01")
    agent, leader = f.agent_user(branch), f.leader_user(Role.BRANCH_OPS, branch)
    record = ready_record(agent, **task_kwargs)
    records.sign_agent(record=record, actor=f.actor(agent))
    records.sign_leader(record=record, actor=f.actor(leader))
    return Record.objects.get(pk=record.pk), agent, leader


def row(record: Record) -> dict[str, Any]:
    return Record.objects.filter(pk=record.pk).values().get()


# ---------------------------------------------------------------- opening


def test_open_record_numbers_it_and_makes_one_section_per_purpose_plus_general() -> None:
    """EXE-5 number HF{yyyymmdd}{task:08d}; CON-4 one section per purpose; EXE-4 general F1."""
    agent = f.agent_user(f.branch("A01"))
    task = f.connected_task(agent, purposes=("NEW-1", "PROD-1"))
    with clock.frozen(f.at(11)):
        record = records.open_record(task=task, actor=f.actor(agent), method=Method.PHONE)
    assert record.number == f"HF20261012{task.pk:08d}"
    assert record.status == RecordStatus.DRAFT and record.agent_id == agent.staff.pk
    assert (record.branch_id, record.client_id, record.kind) == (
        "A01",
        task.client_id,
        "compliance",
    )
    sections = list(record.sections.order_by("position").select_related("questionnaire", "purpose"))
    assert [
        (s.purpose.rule_code if s.purpose else None, s.questionnaire.code) for s in sections
    ] == [
        ("NEW-1", "F-BRK"),
        ("PROD-1", "F-PROD"),
        (None, "F1"),  # a new-account rule: the general section is F1 (EXE-4)
    ]
    assert (
        AuditEvent.objects.filter(action="workbench.record_open", object_id=str(record.pk)).count()
        == 1
    )


def test_open_record_skips_the_general_section_when_a_purpose_uses_it() -> None:
    """NEW-2's questionnaire is F1 itself; KEY-1's is F2 itself."""
    agent = f.agent_user(f.branch("A01"))
    for rule, code in (("NEW-2", "F1"), ("KEY-1", "F2")):
        task = f.connected_task(agent, purposes=(rule,))
        record = records.open_record(task=task, actor=f.actor(agent), method=Method.PHONE)
        assert [s.questionnaire.code for s in record.sections.all()] == [code]


def test_open_record_is_idempotent_and_adds_sections_of_merged_purposes() -> None:
    agent = f.agent_user(f.branch("A01"))
    task = f.connected_task(agent, purposes=("PROD-1",), record=True)
    record = record_of(task)
    again = records.open_record(task=task, actor=f.actor(agent), method=Method.PHONE)
    assert again.pk == record.pk and record.sections.count() == 2  # F-PROD + general F2
    merged = f.open_task(purposes=("KEY-1",), branch=agent.staff.unit).purposes.get()
    merged.task = task  # CON-4: the nightly run merged a new purpose into the open task
    merged.save()
    records.open_record(task=task, actor=f.actor(agent), method=Method.PHONE)
    assert Record.objects.filter(task=task).count() == 1
    assert sorted(s.questionnaire.code for s in record.sections.all()) == ["F-PROD", "F2", "F2"]


def test_open_record_refuses_someone_who_does_not_hold_the_task() -> None:
    branch = f.branch("A01")
    agent, other = f.agent_user(branch), f.agent_user(branch)
    task = f.connected_task(agent)
    with pytest.raises(WorkbenchRefused) as refused:
        records.open_record(task=task, actor=f.actor(other), method=Method.PHONE)
    assert refused.value.code == "not_holder" and not Record.objects.exists()


def test_open_record_moves_an_assigned_task_in_progress() -> None:
    agent = f.agent_user(f.branch("A01"))
    task = f.open_task(assignee=agent, branch=agent.staff.unit)
    records.open_record(task=task, actor=f.actor(agent), method=Method.VISIT)
    task.refresh_from_db()
    assert task.status == "in_progress"


# ---------------------------------------------------------------- answers


def test_save_answers_stores_answers_findings_and_banned_phrases() -> None:
    """EXE-4 answers and findings; EXE-7 notes checked for 服务忌语."""
    agent = f.agent_user(f.branch("A01"))
    task = f.connected_task(agent, purposes=("PROD-1",), record=True)
    record = record_of(task)
    purpose = task.purposes.get()
    answers = full_answers(record)
    records.save_answers(
        record=record, actor=f.actor(agent), answers=answers, notes="客户说:你有完没完?",
        findings=[{"kind": "problem", "category": "product", "text": "未收到风险揭示书",
                   "purpose_id": purpose.pk}],
    )  # fmt: skip
    record.refresh_from_db()
    assert record.banned_phrases == ["你有完没完?"]
    assert {s.pk: s.answers for s in record.sections.all()} == answers
    assert list(Finding.objects.filter(record=record).values_list("kind", "purpose_id")) == [
        ("problem", purpose.pk)
    ]
    # findings replace the draft's, answers merge (None clears one item)
    section = record.sections.first()
    assert section is not None
    first = next(iter(answers[section.pk]))
    records.save_answers(record=record, actor=f.actor(agent), answers={section.pk: {first: None}},
                         findings=[], notes="")  # fmt: skip
    section.refresh_from_db()
    assert first not in section.answers and len(section.answers) == len(answers[section.pk]) - 1
    assert not Finding.objects.filter(record=record).exists()


@pytest.mark.parametrize(
    "answers, findings",
    [
        ({"section": {"no_such_item": {"value": "yes"}}}, []),
        ({"section": {"bank_transfer": {"value": "maybe"}}}, []),
        ({999999: {"name": {"value": "matches"}}}, []),
        ({}, [{"kind": "wish", "category": "other", "text": "x"}]),
        ({}, [{"kind": "need", "category": "other", "text": "x", "purpose_id": 999999}]),
    ],
)
def test_save_answers_refuses_bad_answers_and_writes_nothing(answers: Any, findings: Any) -> None:
    agent = f.agent_user(f.branch("A01"))
    record = record_of(f.connected_task(agent, purposes=("NEW-2",), record=True))
    section = record.sections.get()
    answers = {section.pk if k == "section" else k: v for k, v in answers.items()}
    audits = AuditEvent.objects.count()
    with pytest.raises(WorkbenchRefused) as refused:
        records.save_answers(record=record, actor=f.actor(agent), answers=answers,
                             findings=findings, notes="已更新")  # fmt: skip
    assert refused.value.code == "bad_answer"
    section.refresh_from_db()
    assert (
        section.answers == {}
        and row(record)["notes"] == ""
        and AuditEvent.objects.count() == audits
    )


def test_save_answers_refuses_someone_not_holding_the_task() -> None:
    branch = f.branch("A01")
    agent, other = f.agent_user(branch), f.agent_user(branch)
    record = record_of(f.connected_task(agent, record=True))
    with pytest.raises(WorkbenchRefused) as refused:
        records.save_answers(
            record=record, actor=f.actor(other), answers={}, findings=[], notes="x"
        )
    assert refused.value.code == "not_holder" and row(record)["notes"] == ""


def test_save_answers_after_signing_is_refused() -> None:
    """EXE-5: a signed record is immutable."""
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    record = ready_record(agent)
    records.sign_agent(record=record, actor=f.actor(agent))
    before = row(record)
    with pytest.raises(WorkbenchRefused) as refused:
        records.save_answers(
            record=record, actor=f.actor(agent), answers={}, findings=[], notes="改"
        )
    assert refused.value.code == "signed" and row(record) == before


# ---------------------------------------------------------------- content and amendments


def test_the_content_hash_is_stable_and_covers_what_was_signed() -> None:
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    record = ready_record(agent)
    draft_hash = records.content_hash(record)
    assert draft_hash == records.content_hash(Record.objects.get(pk=record.pk))
    content = records.content(record)
    assert content["number"] == record.number and content["notes"] == "客户确认资料无误。"
    assert [e["kind"] for e in content["evidence"]] == ["recording"]
    records.sign_agent(record=record, actor=f.actor(agent))
    signed = Record.objects.get(pk=record.pk)
    assert signed.content_sha256 == draft_hash == records.content_hash(signed)
    # any change of the content changes the hash
    records_content = records.content(signed)
    records_content["sections"][0]["answers"] = {}
    assert records._canonical(records_content) != records._canonical(records.content(signed))


def test_amend_appends_chained_amendments_and_never_updates_the_record() -> None:
    """EXE-5: corrections are appended amendments; the record row stays as signed."""
    record, agent, leader = signed_record()
    before = row(record)
    first = records.amend(record=record, actor=f.actor(agent), reason="客户地址记录有误",
                          changes={"notes": "客户确认地址已变更"})  # fmt: skip
    second = records.amend(record=record, actor=f.actor(leader), reason="补充说明",
                           changes={"problem_handling": "已通知营业部更新资料"})  # fmt: skip
    assert row(record) == before
    assert [a.seq for a in Amendment.objects.filter(record=record)] == [1, 2]
    assert first.sha256 == records.amendment_hash(
        record_sha256=record.content_sha256, previous="", seq=1, reason=first.reason,
        changes=first.changes, by=agent.staff.pk, at=first.at,
    )  # fmt: skip
    assert second.sha256 == records.amendment_hash(
        record_sha256=record.content_sha256, previous=first.sha256, seq=2, reason=second.reason,
        changes=second.changes, by=leader.staff.pk, at=second.at,
    )  # fmt: skip
    assert AuditEvent.objects.filter(action="workbench.record_amend").count() == 2


def test_amend_refuses_drafts_outsiders_and_empty_corrections() -> None:
    record, agent, _leader = signed_record()
    outsider = f.agent_user(f.branch("A01"))
    cases = [
        (outsider, "原因", {"notes": "x"}, "not_holder"),
        (agent, " ", {"notes": "x"}, "bad_answer"),
        (agent, "原因", {}, "bad_answer"),
    ]
    for user, reason, changes, code in cases:
        with pytest.raises(WorkbenchRefused) as refused:
            records.amend(record=record, actor=f.actor(user), reason=reason, changes=changes)
        assert refused.value.code == code
    draft_agent = f.agent_user(f.branch("A01"))
    draft = record_of(f.connected_task(draft_agent, record=True))
    with pytest.raises(WorkbenchRefused) as refused:
        records.amend(record=draft, actor=f.actor(draft_agent), reason="原因", changes={"a": 1})
    assert refused.value.code == "not_signed" and not Amendment.objects.exists()


# ---------------------------------------------------------------- the database holds too


def _refused_by_database(action: Any) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        action()


def test_the_database_refuses_changing_a_signed_record_its_sections_and_findings() -> None:
    """Migration 0004: only the leader's and archiver's transitions may touch a signed row."""
    record, _agent, _leader = signed_record()
    section = record.sections.first()
    assert section is not None
    _refused_by_database(lambda: Record.objects.filter(pk=record.pk).update(notes="改过"))
    _refused_by_database(lambda: Record.objects.filter(pk=record.pk).update(status="draft"))
    _refused_by_database(lambda: Record.objects.filter(pk=record.pk).update(leader_role="x"))
    _refused_by_database(lambda: Record.objects.filter(pk=record.pk).delete())
    _refused_by_database(lambda: Section.objects.filter(pk=section.pk).update(answers={}))
    _refused_by_database(lambda: Section.objects.filter(pk=section.pk).delete())
    _refused_by_database(
        lambda: Finding.objects.create(
            record=record, kind="need", category="other", text="x", created_at=clock.now()
        )  # fmt: skip
    )
    assert row(record)["notes"] == "客户确认资料无误。" and row(record)["status"] == "signed"
    # a same-value save (no change) is allowed
    Record.objects.filter(pk=record.pk).update(status="signed")


def test_the_database_still_lets_drafts_change() -> None:
    agent = f.agent_user(f.branch("A01"))
    record = record_of(f.connected_task(agent, record=True))
    Record.objects.filter(pk=record.pk).update(notes="草稿可改")
    Section.objects.filter(record=record).update(answers={"name": {"value": "matches"}})
    assert row(record)["notes"] == "草稿可改"
