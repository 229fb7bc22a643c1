"""Evidence of a callback (留痕, SPEC EXE-2, NFR-3): files checked, hashed, stored, kept.

A file is accepted only when its content — read by magic bytes, never trusted from
the browser — is a type allowed for its kind, and its name's extension agrees with
that content. Its SHA-256 is computed while streaming; it is stored through Django's
default storage (the filesystem under ``MEDIA_ROOT``, or an S3-compatible bucket, see
settings) under a random name that reveals nothing about the client. The audit row
says ``after={"evidence": {stored_name: sha256}}`` and ``huifang audit verify`` re-reads
the file. Evidence rows are append-only; ``purge`` removes one only after its
retention date, in the documented maintenance mode, with an audit row.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import uuid
from pathlib import PurePath
from typing import IO, Any

import filetype
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from huifang.accounts.choices import Role
from huifang.audit.services import audit_record
from huifang.callbacks.models import Task
from huifang.core import clock, tx
from huifang.workbench import params
from huifang.workbench.actors import Actor
from huifang.workbench.choices import EvidenceKind, Method, Outcome, RecordStatus
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Attempt, Evidence, Record
from huifang.workbench.queue import works_on

EVIDENCE = "workbench.Evidence"
PURGE_ACTION = "workbench.evidence_purge"
CHUNK = 64 * 1024
HEAD = 8192  # what filetype reads

AUDIO_VIDEO = frozenset({"wav", "mp3", "m4a", "amr", "ogg", "aac", "mp4"})
SCANS = frozenset({"pdf", "jpg", "png", "tif"})
IMAGES = frozenset({"jpg", "png", "tif", "gif", "bmp", "webp"})
TEXT = frozenset({"txt", "csv"})  # SMS / chat exports: no magic bytes, must be UTF-8 text

# EXE-2: the content types accepted per kind of evidence.
ALLOWED: dict[str, frozenset[str]] = {
    EvidenceKind.RECORDING: AUDIO_VIDEO,
    EvidenceKind.VIDEO: AUDIO_VIDEO | {"mov"},
    EvidenceKind.SIGNED_RECORD: SCANS,
    EvidenceKind.REPLY_LETTER: SCANS,
    EvidenceKind.POSTAL_RECEIPT: SCANS,
    EvidenceKind.ENVELOPE: SCANS,
    EvidenceKind.EMAIL_COPY: IMAGES | {"pdf"},
    EvidenceKind.SMS_LOG: IMAGES | {"pdf"} | TEXT,
    EvidenceKind.CHAT_LOG: IMAGES | {"pdf"} | TEXT,
    EvidenceKind.QUESTIONNAIRE_ANSWERS: frozenset({"json"}),
    EvidenceKind.OTHER: AUDIO_VIDEO | IMAGES | {"pdf"},
}
# Extensions that name the same content as the detected type.
ALIASES = {"jpeg": "jpg", "tiff": "tif", "txt": "txt", "csv": "txt"}
# An .m4a may carry an ordinary MP4 brand; both are ISO media files.
SAME_CONTAINER = {("m4a", "mp4"), ("mp4", "m4a")}

# EXE-2: what each method must leave; a tuple inside is "one of".
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    Method.PHONE: ((EvidenceKind.RECORDING, EvidenceKind.CALL_ID),),
    Method.VISIT: ((EvidenceKind.SIGNED_RECORD,),),
    Method.MEETING: ((EvidenceKind.SIGNED_RECORD,),),
    Method.LETTER: (
        (EvidenceKind.REPLY_LETTER,),
        (EvidenceKind.POSTAL_RECEIPT,),
        (EvidenceKind.ENVELOPE,),
    ),
    Method.EMAIL: ((EvidenceKind.EMAIL_COPY,),),
    Method.SMS: ((EvidenceKind.SMS_LOG,),),
    Method.QUESTIONNAIRE: ((EvidenceKind.QUESTIONNAIRE_ANSWERS,),),
    Method.WECHAT: ((EvidenceKind.CHAT_LOG,),),
}

PURGERS = (Role.COMPLIANCE, Role.ADMIN)


def label(kind: str) -> str:
    """The Chinese name of an evidence kind."""
    return str(EvidenceKind(kind).label) if kind in EvidenceKind.values else kind


# ---------------------------------------------------------------- attach


def attach(
    *, task: Task, actor: Actor, kind: str, upload: Any = None, call_id: str = ""
) -> Evidence:
    """Keep one piece of evidence for ``task`` (EXE-2): a checked file, or a call-center call id.

    Refusals: ``not_holder`` (only the holder, or the e-questionnaire system), ``signed``
    (the record is signed: evidence is part of what was signed), ``bad_file`` (kind,
    content or extension wrong, empty), ``too_large`` (over ``params.max_upload_bytes()``).
    """
    _check_actor(task, actor, kind)
    if kind == EvidenceKind.CALL_ID:
        return _attach_call_id(task, actor, call_id, upload)
    if kind not in ALLOWED:
        raise WorkbenchRefused("bad_file", _("留痕材料类别无效（EXE-2）"), status=400)
    if upload is None or call_id:
        raise WorkbenchRefused("bad_file", _("请上传留痕文件"), status=400)
    detected, sha256, size = inspect(upload, kind)
    stream = _rewound(upload)
    name = default_storage.save(
        _storage_name(detected), stream if isinstance(stream, File) else File(stream)
    )
    try:
        with tx.atomic():
            evidence = Evidence.objects.create(
                task=task, kind=kind, file=name, original_name=_original(upload)[:255],
                content_type=_mime(detected), size=size, sha256=sha256,
                meta={"detected": detected}, uploaded_by=actor.name, uploaded_at=clock.now(),
                retention_until=params.retention_until(clock.today()),
            )  # fmt: skip
            _audit(evidence, task, "workbench.evidence_attach",
                   after={"evidence": {name: sha256}, "kind": kind, "task": task.pk, "size": size})  # fmt: skip
    except BaseException:
        default_storage.delete(name)  # nothing stays behind a failed write
        raise
    return evidence


def _attach_call_id(task: Task, actor: Actor, call_id: str, upload: Any) -> Evidence:
    """EXE-2: a call center's recording id stands for the recording file."""
    call_id = (call_id or "").strip()
    if upload is not None or not call_id or len(call_id) > 64:
        raise WorkbenchRefused("bad_file", _("请填写呼叫中心录音编号（不超过64位）"), status=400)
    with tx.atomic():
        evidence = Evidence.objects.create(
            task=task, kind=EvidenceKind.CALL_ID, call_id=call_id, uploaded_by=actor.name,
            uploaded_at=clock.now(), retention_until=params.retention_until(clock.today()),
        )  # fmt: skip
        _audit(evidence, task, "workbench.evidence_attach",
               after={"kind": EvidenceKind.CALL_ID, "call_id": call_id, "task": task.pk})  # fmt: skip
    return evidence


def _check_actor(task: Task, actor: Actor, kind: str) -> None:
    if kind == EvidenceKind.QUESTIONNAIRE_ANSWERS:
        if actor.channel != "questionnaire":
            raise WorkbenchRefused(
                "bad_file", _("电子问卷答卷只能由电子问卷系统生成（EXE-6）"), status=400
            )
    elif actor.staff is None or not works_on(actor.staff, task):
        raise WorkbenchRefused("not_holder", _("您未持有该回访任务"), status=403)
    status = Record.objects.filter(task_id=task.pk).values_list("status", flat=True).first()
    if status is not None and status != RecordStatus.DRAFT:
        raise WorkbenchRefused("signed", _("记录已签字，不能再追加留痕材料；请追加更正（EXE-5）"))


def inspect(upload: Any, kind: str) -> tuple[str, str, int]:
    """Check an upload against ``kind`` by its content; return (type, SHA-256, size)."""
    limit = params.max_upload_bytes()
    declared = getattr(upload, "size", None)
    if declared is not None and declared > limit:
        raise _too_large(limit)
    stream = _rewound(upload)
    digest, size, head = hashlib.sha256(), 0, b""
    text = _TextCheck()
    for chunk in _chunks(stream):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        if len(head) < HEAD:
            head += chunk[: HEAD - len(head)]
        digest.update(chunk)
        text.feed(chunk)
    if size == 0:
        raise WorkbenchRefused("bad_file", _("文件为空"), status=400)
    detected = _detect(head, text.finish(), kind, stream)
    _check_type(detected, kind, _extension(_original(upload)))
    return detected, digest.hexdigest(), size


def _detect(head: bytes, is_text: bool, kind: str, stream: IO[bytes]) -> str:
    guess = filetype.guess(head)
    if guess is not None:
        return str(guess.extension)
    if kind == EvidenceKind.QUESTIONNAIRE_ANSWERS and is_text:
        try:
            json.load(codecs.getreader("utf-8")(_rewound(stream)))
        except ValueError:
            return "unknown"
        return "json"
    return "txt" if is_text else "unknown"


def _check_type(detected: str, kind: str, extension: str) -> None:
    allowed = ALLOWED[kind]
    if detected not in allowed and not (detected == "txt" and allowed & TEXT):
        raise WorkbenchRefused(
            "bad_file",
            _("文件内容与留痕类别不符（EXE-2）：允许 %(types)s")
            % {"types": ", ".join(sorted(allowed))},
            status=400,
        )
    named = ALIASES.get(extension, extension)
    if named != detected and (extension, detected) not in SAME_CONTAINER:
        raise WorkbenchRefused(
            "bad_file", _("文件扩展名与文件内容不一致，请上传原始文件"), status=400
        )


class _TextCheck:
    """Whether a stream is UTF-8 text without NUL bytes (SMS and chat exports)."""

    def __init__(self) -> None:
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.ok = True

    def feed(self, chunk: bytes) -> None:
        if self.ok:
            try:
                self.ok = "\x00" not in self.decoder.decode(chunk)
            except UnicodeDecodeError:
                self.ok = False

    def finish(self) -> bool:
        if self.ok:
            try:
                self.decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self.ok = False
        return self.ok


def _too_large(limit: int) -> WorkbenchRefused:
    return WorkbenchRefused(
        "too_large", _("文件超过上限 %(mb)s MB") % {"mb": round(limit / 1024 / 1024, 1)}, status=413
    )


def _chunks(stream: Any) -> Any:
    if hasattr(stream, "chunks"):
        yield from stream.chunks(CHUNK)
        return
    while chunk := stream.read(CHUNK):
        yield chunk


def _rewound(upload: Any) -> Any:
    if hasattr(upload, "seek"):
        upload.seek(0)
    return upload


def _original(upload: Any) -> str:
    return PurePath(str(getattr(upload, "name", "") or "")).name


def _extension(name: str) -> str:
    return PurePath(name).suffix.lower().lstrip(".")


def _mime(detected: str) -> str:
    found = filetype.get_type(ext=detected)
    if found is not None:
        return str(found.mime)
    return {"json": "application/json", "txt": "text/plain"}.get(
        detected, "application/octet-stream"
    )


def _storage_name(detected: str) -> str:
    """``evidence/YYYY/MM/<random>.<type>``: nothing of the client in the name."""
    return f"evidence/{clock.today():%Y/%m}/{uuid.uuid4().hex}.{detected}"


# ---------------------------------------------------------------- what a record needs


def record_download(*, evidence: Evidence, task: Task) -> None:
    """NFR-2: every download of a trace file is an export and leaves an audit row (the caller
    has checked the task is in the user's scope)."""
    audit_record(
        action="workbench.evidence_download", object_type="workbench.Evidence",
        object_id=str(evidence.pk), branch_code=task.branch_id,
        after={"task": task.pk, "kind": evidence.kind, "sha256": evidence.sha256},
    )  # fmt: skip


def missing_for(record: Record, rows: list[Evidence] | None = None) -> list[str]:
    """EXE-2: the evidence kinds still missing for the record's method (empty: complete).

    For a phone callback a recording file, a ``call_id`` evidence, or a connected
    phone attempt logged with its call-center id each count as the recording.
    ``rows``: the task's evidence if the caller has read it already.
    """
    if rows is None:
        have = set(Evidence.objects.filter(task_id=record.task_id).values_list("kind", flat=True))
    else:
        have = {e.kind for e in rows}
    required = REQUIRED.get(record.method, ())
    call_id_would_help = any(
        EvidenceKind.CALL_ID in options and not any(kind in have for kind in options)
        for options in required
    )
    if call_id_would_help and (
        Attempt.objects.filter(
            task_id=record.task_id, method=Method.PHONE, outcome=Outcome.CONNECTED
        )
        .exclude(call_id="")
        .exists()
    ):
        have.add(EvidenceKind.CALL_ID)
    return [str(options[0]) for options in required if not any(kind in have for kind in options)]


# ---------------------------------------------------------------- purge


def purge(*, evidence: Evidence, actor: Actor) -> None:
    """NFR-3: delete an evidence file and its row after its retention date, never before.

    Only compliance or an administrator purges; the row goes in the documented
    maintenance mode of the append-only triggers, and the audit row names the file so
    that ``audit verify`` no longer expects it.
    """
    from huifang.audit.triggers import maintenance

    if not actor.has(*PURGERS):
        raise WorkbenchRefused("forbidden", _("只有合规或系统管理员可以清理留痕材料"), status=403)
    evidence = Evidence.objects.get(pk=evidence.pk)
    keep_until = max(
        [evidence.retention_until]
        + [d for d in Record.objects.filter(task_id=evidence.task_id).values_list("retention_until", flat=True) if d]
    )  # fmt: skip
    if clock.today() < keep_until:
        raise WorkbenchRefused(
            "retention",
            _("保存期限至 %(day)s，期满前不得删除（NFR-3）") % {"day": keep_until.isoformat()},
        )
    name, task = evidence.file.name or "", Task.objects.get(pk=evidence.task_id)
    with transaction.atomic(), maintenance():
        _audit(evidence, task, PURGE_ACTION,
               before={"kind": evidence.kind, "sha256": evidence.sha256, "call_id": evidence.call_id,
                       "retention_until": keep_until},
               after={"purged": {name: evidence.sha256} if name else {}})  # fmt: skip
        Evidence.objects.filter(pk=evidence.pk).delete()
        if name:
            transaction.on_commit(lambda: default_storage.delete(name))


def _audit(evidence: Evidence, task: Task, action: str, *, before: Any = None, after: Any) -> None:
    audit_record(
        action=action, object_type=EVIDENCE, object_id=str(evidence.pk),
        branch_code=task.branch_id, before=before, after=after,
    )  # fmt: skip
