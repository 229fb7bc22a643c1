"""Evidence (SPEC EXE-2, NFR-3): content by magic bytes, SHA-256, storage, verify, retention."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings

from huifang.accounts.choices import Role
from huifang.audit.models import AuditEvent
from huifang.audit.verify import verify
from huifang.core import clock
from huifang.workbench import evidence, records
from huifang.workbench.choices import EvidenceKind, Method, Outcome
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Attempt, Evidence
from huifang.workbench.tests import factories as f
from huifang.workbench.tests.test_records import (
    PDF,
    ready_record,
    record_of,
    upload,
    wav,
)

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 17


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    """Evidence goes to a fresh MEDIA_ROOT per test (the default filesystem storage)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def held() -> tuple:
    """A connected phone task of branch A01 held by its agent, with the agent's actor."""
    agent = f.agent_user(f.branch("A01"))
    task = f.connected_task(agent, record=True)
    return task, f.actor(agent)


# ---------------------------------------------------------------- accepted files


def test_a_real_wav_recording_is_hashed_stored_without_pii_and_audited(
    held: tuple, media: Path
) -> None:
    task, actor = held
    content = wav()
    item = evidence.attach(task=task, actor=actor, kind=EvidenceKind.RECORDING,
                           upload=upload("王小明-13912345678.wav", content))  # fmt: skip
    assert item.sha256 == hashlib.sha256(content).hexdigest() and item.size == len(content)
    assert item.content_type == "audio/x-wav" and item.retention_until == dt.date(2046, 10, 14)
    name = item.file.name
    assert name.startswith("evidence/2026/10/") and name.endswith(".wav")
    assert "王小明" not in name and "13912345678" not in name
    assert (media / name).read_bytes() == content
    audit = AuditEvent.objects.get(action="workbench.evidence_attach", object_id=str(item.pk))
    assert audit.after == {"evidence": {name: item.sha256}, "kind": "recording", "task": task.pk,
                           "size": len(content)}  # fmt: skip
    assert "13912345678" not in json.dumps(audit.after, ensure_ascii=False)


@pytest.mark.parametrize(
    "kind, name, content",
    [
        (EvidenceKind.SIGNED_RECORD, "scan.pdf", PDF),
        (EvidenceKind.ENVELOPE, "envelope.PNG", PNG),
        (EvidenceKind.EMAIL_COPY, "mail.png", PNG),
        (EvidenceKind.SMS_LOG, "sms.csv", "时间,内容\n2026-10-12,已收到\n".encode()),
    ],
)
def test_allowed_types_per_kind_are_accepted(
    held: tuple, kind: str, name: str, content: bytes
) -> None:
    task, actor = held
    item = evidence.attach(task=task, actor=actor, kind=kind, upload=upload(name, content))
    assert Evidence.objects.filter(pk=item.pk, kind=kind).exists()


def test_a_call_center_call_id_is_kept_without_a_file(held: tuple) -> None:
    task, actor = held
    item = evidence.attach(task=task, actor=actor, kind=EvidenceKind.CALL_ID, call_id=" CC-1 ")
    assert (item.call_id, item.file.name, item.sha256) == ("CC-1", "", "")


# ---------------------------------------------------------------- refused files


@pytest.mark.parametrize(
    "kind, name, content",
    [
        (EvidenceKind.RECORDING, "call.wav", PDF),  # a PDF renamed .wav
        (EvidenceKind.RECORDING, "call.mp3", wav()),  # a WAV named .mp3
        (EvidenceKind.SIGNED_RECORD, "scan.pdf", wav()),  # audio is not a scan
        (EvidenceKind.RECORDING, "call.wav", b""),  # empty
        (EvidenceKind.RECORDING, "call.txt", "通话记录".encode()),  # text is not a recording
        (EvidenceKind.CALL_ID, "call.wav", wav()),  # a call id has no file
        ("selfie", "a.png", PNG),  # no such kind
    ],
)
def test_files_whose_content_does_not_fit_are_refused(
    held: tuple, media: Path, kind: str, name: str, content: bytes
) -> None:
    task, actor = held
    audits = AuditEvent.objects.count()
    with pytest.raises(WorkbenchRefused) as refused:
        evidence.attach(task=task, actor=actor, kind=kind, upload=upload(name, content))
    assert refused.value.code == "bad_file"
    assert not Evidence.objects.exists() and not stored_files(media)
    assert AuditEvent.objects.count() == audits


def test_a_file_over_the_size_limit_is_refused(held: tuple, media: Path) -> None:
    task, actor = held
    content = wav()
    with override_settings(HUIFANG_EVIDENCE_MAX_BYTES=len(content) - 1):
        with pytest.raises(WorkbenchRefused) as refused:
            evidence.attach(
                task=task, actor=actor, kind="recording", upload=upload("a.wav", content)
            )
        assert refused.value.code == "too_large" and refused.value.status == 413
        # a file without a declared size is measured while streaming
        stream = ContentFile(content, name="b.wav")
        stream.size = None  # type: ignore[assignment]
        with pytest.raises(WorkbenchRefused) as refused:
            evidence.attach(task=task, actor=actor, kind="recording", upload=stream)
        assert refused.value.code == "too_large"
    with override_settings(HUIFANG_EVIDENCE_MAX_BYTES=len(content)):
        evidence.attach(task=task, actor=actor, kind="recording", upload=upload("a.wav", content))
    assert Evidence.objects.count() == 1 and len(stored_files(media)) == 1


def test_questionnaire_answers_come_only_from_the_questionnaire_system(held: tuple) -> None:
    """EXE-6: the answers sheet is made by the system, not uploaded by a person."""
    task, actor = held
    sheet = json.dumps({"ip": "10.0.0.1", "answers": {}}).encode()
    with pytest.raises(WorkbenchRefused) as refused:
        evidence.attach(task=task, actor=actor, kind=EvidenceKind.QUESTIONNAIRE_ANSWERS,
                        upload=upload("answers.json", sheet))  # fmt: skip
    assert refused.value.code == "bad_file"
    system = f.actor(actor.user, channel="questionnaire")
    with pytest.raises(WorkbenchRefused) as refused:
        evidence.attach(task=task, actor=system, kind=EvidenceKind.QUESTIONNAIRE_ANSWERS,
                        upload=upload("answers.json", b"{not json"))  # fmt: skip
    assert refused.value.code == "bad_file"
    item = evidence.attach(task=task, actor=system, kind=EvidenceKind.QUESTIONNAIRE_ANSWERS,
                           upload=upload("answers.json", sheet))  # fmt: skip
    assert item.content_type == "application/json"


def test_only_the_holder_attaches_and_never_after_signing() -> None:
    agent = f.agent_user(f.branch("A01"))
    other = f.agent_user(f.branch("A01"))
    record = ready_record(agent)
    with pytest.raises(WorkbenchRefused) as refused:
        evidence.attach(task=record.task, actor=f.actor(other), kind="call_id", call_id="X1")
    assert refused.value.code == "not_holder"
    records.sign_agent(record=record, actor=f.actor(agent))
    with pytest.raises(WorkbenchRefused) as refused:
        evidence.attach(task=record.task, actor=f.actor(agent), kind="call_id", call_id="X1")
    assert refused.value.code == "signed" and Evidence.objects.count() == 1


# ---------------------------------------------------------------- what each method needs


@pytest.mark.parametrize(
    "method, missing",
    [
        (Method.PHONE, ["recording"]),
        (Method.VISIT, ["signed_record"]),
        (Method.MEETING, ["signed_record"]),
        (Method.LETTER, ["reply_letter", "postal_receipt", "envelope"]),
        (Method.EMAIL, ["email_copy"]),
        (Method.SMS, ["sms_log"]),
        (Method.QUESTIONNAIRE, ["questionnaire_answers"]),
        (Method.WECHAT, ["chat_log"]),
    ],
)
def test_missing_for_names_the_evidence_each_method_needs(method: str, missing: list[str]) -> None:
    """EXE-2 evidence per method."""
    agent = f.agent_user(f.branch("A01"))
    task = f.connected_task(agent, method=method)
    record = records.open_record(task=task, actor=f.actor(agent), method=method)
    assert evidence.missing_for(record) == missing


def test_a_letter_needs_all_three_pieces() -> None:
    agent = f.agent_user(f.branch("A01"))
    task = f.connected_task(agent, method=Method.LETTER, record=True)
    actor = f.actor(agent)
    evidence.attach(task=task, actor=actor, kind="reply_letter", upload=upload("r.pdf", PDF))
    evidence.attach(task=task, actor=actor, kind="envelope", upload=upload("e.png", PNG))
    assert evidence.missing_for(record_of(task)) == ["postal_receipt"]
    evidence.attach(task=task, actor=actor, kind="postal_receipt", upload=upload("p.pdf", PDF))
    assert evidence.missing_for(record_of(task)) == []


def test_a_connected_call_logged_with_its_call_id_counts_as_the_recording() -> None:
    agent = f.agent_user(f.branch("A01"))
    task = f.connected_task(agent, record=True)
    assert evidence.missing_for(record_of(task)) == ["recording"]
    Attempt.objects.create(task=task, staff=agent.staff, at=clock.now(), method=Method.PHONE,
                           outcome=Outcome.CONNECTED, call_id="CC-77")  # fmt: skip
    assert evidence.missing_for(record_of(task)) == []


# ---------------------------------------------------------------- audit verify


def test_audit_verify_rereads_evidence_and_breaks_when_one_byte_changes(
    held: tuple, media: Path
) -> None:
    """NFR-2, EXE-2: the audit row vouches for the stored file's SHA-256."""
    task, actor = held
    item = evidence.attach(task=task, actor=actor, kind="recording", upload=upload("a.wav", wav()))
    result = verify()
    assert result.ok and result.files >= 1, result.reason
    path = media / item.file.name
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    result = verify()
    assert not result.ok and "altered" in result.reason and item.file.name in result.reason
    audit = AuditEvent.objects.get(action="workbench.evidence_attach", object_id=str(item.pk))
    assert result.broken_id == audit.pk
    path.unlink()
    result = verify()
    assert not result.ok and "missing" in result.reason
    assert verify(check_files=False).ok


def test_audit_verify_command_reports_the_altered_evidence(held: tuple, media: Path) -> None:
    from django.core.management import call_command

    task, actor = held
    item = evidence.attach(task=task, actor=actor, kind="recording", upload=upload("a.wav", wav()))
    call_command("audit", "verify")
    (media / item.file.name).write_bytes(wav(0.02))
    with pytest.raises(SystemExit) as exited:
        call_command("audit", "verify")
    assert exited.value.code != 0


# ---------------------------------------------------------------- retention and purge


def test_purge_is_refused_before_the_retention_date(held: tuple, media: Path) -> None:
    """NFR-3: nothing with a retention period is deleted before it ends."""
    task, actor = held
    item = evidence.attach(task=task, actor=actor, kind="recording", upload=upload("a.wav", wav()))
    compliance = f.actor(f.leader_user(Role.COMPLIANCE, f.branch("A01")))
    with clock.frozen(dt.date(2046, 10, 13)), pytest.raises(WorkbenchRefused) as refused:
        evidence.purge(evidence=item, actor=compliance)
    assert refused.value.code == "retention"
    with clock.frozen(dt.date(2047, 1, 1)), pytest.raises(WorkbenchRefused) as refused:
        evidence.purge(evidence=item, actor=actor)  # an agent never purges
    assert refused.value.code == "forbidden"
    assert Evidence.objects.filter(pk=item.pk).exists() and (media / item.file.name).exists()


@pytest.mark.django_db(transaction=True)
def test_purge_after_retention_deletes_file_and_row_and_verify_still_holds(media: Path) -> None:
    """After retention (and only then) compliance purges; the purge is audited."""
    f.policy()
    agent = f.agent_user(f.branch("A01"))
    task = f.connected_task(agent, record=True)
    item = evidence.attach(task=task, actor=f.actor(agent), kind="recording",
                           upload=upload("a.wav", wav()))  # fmt: skip
    name = item.file.name
    compliance = f.actor(f.leader_user(Role.COMPLIANCE, f.branch("A01")))
    with clock.frozen(dt.date(2046, 10, 14)):
        evidence.purge(evidence=item, actor=compliance)
    assert not Evidence.objects.filter(pk=item.pk).exists()
    assert not default_storage.exists(name) and not (media / name).exists()
    purge = AuditEvent.objects.get(action="workbench.evidence_purge")
    assert purge.after == {"purged": {name: item.sha256}}
    assert verify().ok
