"""Build an evidence pack (证据包): one client, one period, one zip that proves itself (NFR-2).

The zip holds::

    manifest.json            format, client (masked id + SHA-256 of the id), period,
                             generated_at/by, the records, the audit segment's ends
                             per chain, every other file with its SHA-256 and size
    manifest.json.sha256     the manifest's own SHA-256 (``sha256sum -c`` reads it)
    ledger.csv               the records of the period with the EXE-5 fields, PII masked
    records/<number>.json    record, signed content, sections with answers, findings,
                             amendments, reviews, attempts, evidence list
    evidence/<number>/<file> the evidence files, re-hashed while copied
    audit/segment.jsonl      the audit trail from the first to the last row that
                             concerns the client (``selectors``), in id order, his rows
                             in full (with ``chain``), every other row as
                             ``{"id", "chain", "prev_hash", "hash"}``
    verify.py                ``standalone_verify``: stdlib only, exit 0 "OK" / 1

The audit trail is several interleaved hash chains on PostgreSQL (``AuditEvent.chain``,
see ``huifang.audit.services``; one on SQLite): each row links to the previous row *of
its chain*. The segment holds every row of every chain between its two ends, and the
manifest's ``audit.chains`` anchors each chain present in it::

    "audit": {"segment": "audit/segment.jsonl", "rows": …, "full_rows": …,
              "first_id": …, "last_id": …,
              "chains": {"<n>": {"first_id", "first_prev_hash", "last_id", "last_hash",
                                 "rows"}}}

``first_prev_hash`` is the hash of the row before the segment in that chain (the
genesis hash if there is none), ``last_hash`` that of the chain's last row in the
segment: both can be matched against the live trail. The segment is read in one query
(one snapshot): the writers of one chain commit in id order, so each chain in it is
whole up to its last row; a row of another chain still uncommitted at that moment may
have an id inside the segment and be missing from it.

Refusals (``PackRefused``) are raised before anything is left behind: the zip is
written to a hidden file beside ``out`` and moved into place only when complete.
An evidence file whose bytes no longer hash to ``Evidence.sha256``, or a signed
record whose content no longer hashes to ``content_sha256``, stops the build: the
pack never carries a silently altered file.

The pack's own audit row (``evidencepack.build``, on the client) is written *after*
the zip is complete, because it carries the zip's SHA-256 — so it can never be
inside the pack it describes. It is in the trail (and in any later pack of the
same client whose period covers it): whoever receives a pack can match its
SHA-256 and its manifest's against that row, and each chain's ends against the
live trail (``huifang audit verify``). The row and the move of the
zip into place happen in one transaction: no pack without its row.

Identity in the pack: the manifest and the ledger show the client id masked
(and ``mask_name`` for his name), but the full audit rows and the signed record
content carry the id as it was hashed — it cannot be masked without breaking the
hashes. Nothing of any other client is in the pack.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import os
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huifang.audit import chain
from huifang.audit.models import AuditEvent
from huifang.audit.services import audit_record
from huifang.callbacks.models import Purpose
from huifang.clients.models import Client
from huifang.core import clock, pii
from huifang.evidencepack import selectors
from huifang.org.models import Staff
from huifang.workbench import questionnaires, records
from huifang.workbench.choices import FindingKind, RecordStatus
from huifang.workbench.models import Attempt, Evidence, Record, Review

FORMAT = "huifang-evidence-pack"
VERSION = 2  # 2: the audit segment is anchored per chain
ACTION = "evidencepack.build"
SEGMENT = "audit/segment.jsonl"
MANIFEST = "manifest.json"
SEAL = "manifest.json.sha256"
VERIFY_SOURCE = Path(__file__).with_name("standalone_verify.py")
CHUNK = 1024 * 1024
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class PackRefused(Exception):
    """The pack cannot be built; ``message`` says why in Chinese, ``str()`` in English."""

    def __init__(self, code: str, detail: str, message: str) -> None:
        super().__init__(detail)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PackSummary:
    """What ``build`` wrote, and the audit row that vouches for it."""

    path: Path
    sha256: str
    size: int
    manifest_sha256: str
    records: int
    evidence_files: int
    audit_rows: int
    full_rows: int
    audit_event_id: int

    def describe(self) -> str:
        return (
            f"{self.path}: {self.records} record(s), {self.evidence_files} evidence file(s), "
            f"{self.audit_rows} audit row(s) ({self.full_rows} in full), "
            f"SHA-256 {self.sha256}, audit row {self.audit_event_id}"
        )


def check_period(start: dt.date, end: dt.date) -> None:
    """The period must run forwards."""
    if start > end:
        raise PackRefused(
            "period",
            f"--from {start} is after --to {end}",
            _("开始日期 %(start)s 晚于结束日期 %(end)s") % {"start": start, "end": end},
        )


def build(
    *, client: Client, start: dt.date, end: dt.date, out: Path | str, actor: str, user: Any = None
) -> PackSummary:
    """Write the evidence pack of ``client`` for ``start``–``end`` to ``out`` (NFR-2, EXE-5).

    ``actor`` is named in the manifest; the audit row's author is the current audit
    context. With ``user``, only the records and tasks in his data scope are packed.
    Raises ``PackRefused`` (nothing written) for a backwards period or an evidence
    file or signed record that is unreadable or no longer matches its hash.
    """
    check_period(start, end)
    out = Path(out)
    partial = out.with_name(f".{out.name}.{uuid.uuid4().hex}.partial")
    try:
        stats = _write_zip(partial, client=client, start=start, end=end, actor=actor, user=user)
        digest, size = _file_sha256(partial)
        return _publish(partial, out, client, start, end, stats, digest, size)
    finally:
        partial.unlink(missing_ok=True)


# ---------------------------------------------------------------- the zip


@dataclass
class _Stats:
    records: int = 0
    evidence_files: int = 0
    audit_rows: int = 0
    full_rows: int = 0
    first_id: int | None = None
    last_id: int | None = None
    manifest_sha256: str = ""


class _Sink:
    """A zip member being written: hashes and counts what passes through."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.sha, self.size = raw, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.raw.write(data)
        self.sha.update(data)
        self.size += len(data)


@dataclass
class _Zip:
    zf: zipfile.ZipFile
    stamp: tuple[int, int, int, int, int, int]
    files: list[dict[str, Any]] = field(default_factory=list)

    @contextlib.contextmanager
    def member(self, name: str) -> Iterator[_Sink]:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        with self.zf.open(info, "w", force_zip64=True) as raw:
            sink = _Sink(raw)
            yield sink
        self.files.append({"path": name, "sha256": sink.sha.hexdigest(), "size": sink.size})

    def put(self, name: str, data: bytes) -> str:
        with self.member(name) as sink:
            sink.write(data)
        return str(self.files[-1]["sha256"])


def _write_zip(
    path: Path, *, client: Client, start: dt.date, end: dt.date, actor: str, user: Any
) -> _Stats:
    now = clock.now()
    stats = _Stats()
    rows = list(selectors.pack_records(client=client, start=start, end=end, user=user))
    with zipfile.ZipFile(path, "w") as zf:
        pack = _Zip(zf, now.timetuple()[:6])
        pack.put("verify.py", VERIFY_SOURCE.read_bytes())
        pack.put("ledger.csv", _ledger(client, rows))
        names = [_record(pack, record) for record in rows]
        stats.records = len(rows)
        stats.evidence_files = sum(1 for f in pack.files if f["path"].startswith("evidence/"))
        concerning = selectors.concerning_ids(
            client=client, start=start, end=end, records=rows, user=user
        )
        audit = _segment(pack, concerning, stats)
        manifest = _manifest(client, start, end, now, actor, names, audit, pack.files)
        stats.manifest_sha256 = pack.put(MANIFEST, manifest)
        zf.writestr(_info(SEAL, pack.stamp), f"{stats.manifest_sha256}  {MANIFEST}\n")
    return stats


def _info(name: str, stamp: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=stamp)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _manifest(
    client: Client, start: dt.date, end: dt.date, now: dt.datetime, actor: str,
    names: list[str], audit: dict[str, Any], files: list[dict[str, Any]],
) -> bytes:  # fmt: skip
    body = {
        "format": FORMAT,
        "version": VERSION,
        "client": {"id_masked": masked_id(client.pk), "id_sha256": _sha(client.pk)},
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "generated_at": now.isoformat(),
        "generated_by": actor,
        "records": names,
        "audit": audit,
        "files": files,
    }
    return (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode()


def masked_id(client_id: str) -> str:
    """The client id as the pack shows it: first 2 and last 2 characters."""
    return pii.mask_keep(client_id, head=2, tail=2)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- the audit segment


def _segment(pack: _Zip, concerning: set[int], stats: _Stats) -> dict[str, Any]:
    """Write ``audit/segment.jsonl``; return the manifest's ``audit`` entry (ends per chain)."""
    full = _full_rows(concerning)
    chains: dict[int, dict[str, Any]] = {}
    rows = selectors.segment_rows(min(concerning), max(concerning)) if concerning else iter(())
    with pack.member(SEGMENT) as sink:
        for pk, number, prev_hash, hash_ in rows:
            reduced = {"id": pk, "chain": number, "prev_hash": prev_hash, "hash": hash_}
            sink.write(segment_line(full.get(pk) or reduced))
            ends = chains.setdefault(number, {"first_id": pk, "first_prev_hash": prev_hash})
            ends.update(last_id=pk, last_hash=hash_, rows=ends.get("rows", 0) + 1)
    entry: dict[str, Any] = {
        "segment": SEGMENT,
        "rows": sum(ends["rows"] for ends in chains.values()),
        "full_rows": len(full),
        "first_id": min((ends["first_id"] for ends in chains.values()), default=None),
        "last_id": max((ends["last_id"] for ends in chains.values()), default=None),
        "chains": {str(number): chains[number] for number in sorted(chains)},
    }
    stats.audit_rows, stats.full_rows = entry["rows"], entry["full_rows"]
    stats.first_id, stats.last_id = entry["first_id"], entry["last_id"]
    return entry


def _full_rows(ids: set[int]) -> dict[int, dict[str, Any]]:
    fields = ["id", "chain", *chain.CHAINED_FIELDS, "hash"]
    found: dict[int, dict[str, Any]] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), selectors.CHUNK):
        part = ordered[start : start + selectors.CHUNK]
        for row in AuditEvent.objects.filter(pk__in=part).values(*fields):
            found[row["id"]] = full_row(row)
    return found


def full_row(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row as the segment shows it in full: ``at`` as ``row_hash`` writes it (UTC).

    ``chain`` is not hashed: the links (``prev_hash``) prove which chain a row belongs to.
    """
    shown = {"id": row["id"], "chain": row["chain"],
             **{name: row[name] for name in chain.CHAINED_FIELDS}}  # fmt: skip
    at = shown["at"]
    if isinstance(at, dt.datetime):
        shown["at"] = at.astimezone(dt.UTC).isoformat()
    shown["hash"] = row["hash"]
    return shown


def segment_line(row: dict[str, Any]) -> bytes:
    """One JSON line of the segment (UTF-8, keys sorted)."""
    text = json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (text + "\n").encode()


# ---------------------------------------------------------------- records and evidence


def _record(pack: _Zip, record: Record) -> str:
    """Copy the record's evidence, then write ``records/<number>.json``; return its path."""
    content = records.content(record)
    if record.content_sha256 and records.content_hash(record) != record.content_sha256:
        raise PackRefused(
            "record_altered",
            f"record {record.number}: its content no longer matches its signed SHA-256",
            _("回访记录 %(number)s 的内容与签字时的SHA-256不一致，拒绝生成证据包")
            % {"number": record.number},
        )
    staff = _StaffNames()
    body = {
        "record": _record_head(record, staff),
        "content": content,
        "purposes": _purposes(record),
        "sections": _sections(record),
        "findings": [
            {
                "kind": f.kind,
                "category": f.category,
                "text": f.text,
                "purpose": f.purpose_id,
                "created_at": _local(f.created_at),
            }
            for f in record.findings.order_by("id")
        ],  # fmt: skip
        "amendments": [
            {
                "seq": a.seq,
                "reason": a.reason,
                "changes": a.changes,
                "by": staff.of(a.by_id),
                "at": _local(a.at),
                "sha256": a.sha256,
            }
            for a in record.amendments.order_by("seq")
        ],  # fmt: skip
        "reviews": [
            _review(r, staff) for r in Review.objects.filter(task_id=record.task_id).order_by("id")
        ],  # fmt: skip
        "attempts": [
            _attempt(a, staff)
            for a in Attempt.objects.filter(task_id=record.task_id).order_by("at", "id")
        ],  # fmt: skip
        "evidence": [
            _evidence(pack, record, e)
            for e in Evidence.objects.filter(task_id=record.task_id).order_by("id")
        ],  # fmt: skip
    }
    name = f"records/{record.number}.json"
    pack.put(name, (json.dumps(body, ensure_ascii=False, indent=2, default=str) + "\n").encode())
    return name


class _StaffNames:
    """Staff shown as ``{"id", "name"}``; each looked up once."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def of(self, staff_id: str | None) -> dict[str, str] | None:
        if not staff_id:
            return None
        if staff_id not in self.names:
            self.names[staff_id] = (
                Staff.objects.filter(pk=staff_id).values_list("name", flat=True).first() or ""
            )
        return {"id": staff_id, "name": self.names[staff_id]}


def _record_head(record: Record, staff: _StaffNames) -> dict[str, Any]:
    return {
        "id": record.pk, "number": record.number, "task": record.task_id,
        "branch": record.branch_id, "level": record.level, "kind": record.kind,
        "method": record.method, "outcome": record.outcome, "status": record.status,
        "callback_date": record.callback_date.isoformat(), "source": record.source,
        "feedback_date": record.feedback_date.isoformat() if record.feedback_date else None,
        "agent": staff.of(record.agent_id), "agent_signed_at": _local(record.agent_signed_at),
        "leader": staff.of(record.leader_id), "leader_role": record.leader_role,
        "leader_signed_at": _local(record.leader_signed_at),
        "archived_by": staff.of(record.archived_by_id), "archived_at": _local(record.archived_at),
        "content_sha256": record.content_sha256 or None,
        "retention_until": record.retention_until.isoformat() if record.retention_until else None,
        "created_at": _local(record.created_at),
    }  # fmt: skip


def _purposes(record: Record) -> list[dict[str, Any]]:
    return [
        {"id": p.pk, "rule_code": p.rule_code, "rule_id": p.rule_id,
         "business_date": p.business_date.isoformat(), "due_date": p.due_date.isoformat()}
        for p in Purpose.objects.filter(task_id=record.task_id).order_by("rule_code", "id")
    ]  # fmt: skip


def _sections(record: Record) -> list[dict[str, Any]]:
    """Each section with its questionnaire and every answered item's wording (EXE-4)."""
    shown = []
    for section in record.sections.select_related("questionnaire").order_by("position", "id"):
        questionnaire = section.questionnaire
        items = questionnaires.items_by_id(questionnaire)
        answers = [
            {"item": key, "text": items.get(key, {}).get("text", ""),
             "value": value.get("value") if isinstance(value, dict) else value,
             "note": value.get("note", "") if isinstance(value, dict) else ""}
            for key, value in section.answers.items()
        ]  # fmt: skip
        shown.append({"position": section.position, "purpose": section.purpose_id,
                      "questionnaire": {"code": questionnaire.code, "version": questionnaire.version,
                                        "title": questionnaire.title, "sha256": questionnaire.sha256},
                      "answers": answers})  # fmt: skip
    return shown


def _review(review: Review, staff: _StaffNames) -> dict[str, Any]:
    return {
        "id": review.pk, "level": review.level, "reason": review.reason,
        "drawn_on": review.drawn_on.isoformat(), "draw_key": review.draw_key,
        "status": review.status, "reviewer": staff.of(review.reviewer_id),
        "findings": review.findings, "decided_at": _local(review.decided_at),
        "acknowledged_at": _local(review.acknowledged_at),
    }  # fmt: skip


def _attempt(attempt: Attempt, staff: _StaffNames) -> dict[str, Any]:
    return {
        "at": _local(attempt.at), "method": attempt.method, "outcome": attempt.outcome,
        "call_id": attempt.call_id, "note": attempt.note, "channel": attempt.channel,
        "staff": staff.of(attempt.staff_id),
    }  # fmt: skip


def _evidence(pack: _Zip, record: Record, evidence: Evidence) -> dict[str, Any]:
    """The evidence row; its file copied into ``evidence/<number>/`` and checked on the way."""
    stored = evidence.file.name or ""
    path = None
    if stored:
        path = (
            f"evidence/{record.number}/{evidence.pk}-{evidence.kind}{PurePosixPath(stored).suffix}"
        )
        copied = _copy(pack, path, stored, evidence)
        if copied != evidence.sha256:
            raise PackRefused(
                "evidence_altered",
                f"evidence {evidence.pk} ({stored}) of record {record.number}: the stored file's "
                f"SHA-256 {copied} differs from the recorded {evidence.sha256}",
                _(
                    "回访记录 %(number)s 的留痕文件（编号 %(pk)s）与登记的SHA-256不一致，拒绝生成证据包"
                )
                % {"number": record.number, "pk": evidence.pk},
            )
    return {
        "id": evidence.pk, "kind": evidence.kind, "path": path, "stored_name": stored or None,
        "sha256": evidence.sha256 or None, "size": evidence.size,
        "content_type": evidence.content_type, "call_id": evidence.call_id,
        "uploaded_by": evidence.uploaded_by, "uploaded_at": _local(evidence.uploaded_at),
        "retention_until": evidence.retention_until.isoformat(),
    }  # fmt: skip


def _copy(pack: _Zip, path: str, stored: str, evidence: Evidence) -> str:
    """Stream a stored file into the zip; its SHA-256 as read."""
    try:
        handle = default_storage.open(stored, "rb")
    except Exception as error:  # any storage backend's "cannot read"
        raise _unreadable(evidence, stored, error) from error
    with handle, pack.member(path) as sink:
        try:
            while chunk := handle.read(CHUNK):
                sink.write(chunk)
        except OSError as error:
            raise _unreadable(evidence, stored, error) from error
    return str(pack.files[-1]["sha256"])


def _unreadable(evidence: Evidence, stored: str, error: BaseException) -> PackRefused:
    return PackRefused(
        "evidence_unreadable",
        f"evidence {evidence.pk} ({stored}) cannot be read: {type(error).__name__}: {error}",
        _("留痕文件（编号 %(pk)s）无法读取，拒绝生成证据包") % {"pk": evidence.pk},
    )


def _local(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value, clock.SHANGHAI).isoformat() if value else None


# ---------------------------------------------------------------- the ledger


def ledger_header() -> list[str]:
    """EXE-5 / RPT-1 columns of ``ledger.csv``."""
    return [
        _("记录编号"), _("营业部"), _("回访日期"), _("客户号"), _("客户姓名/名称"), _("客户类型"),
        _("资金账号"), _("回访目的"), _("回访级别"), _("回访类型"), _("回访方式"), _("结果"),
        _("状态"), _("需求与建议"), _("发现问题"), _("问题处理情况"), _("反馈日期"),
        _("回访人"), _("回访人签字时间"), _("负责人"), _("负责人角色"), _("负责人签字时间"),
        _("签字内容SHA-256"),
    ]  # fmt: skip


def _ledger(client: Client, rows: list[Record]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(ledger_header())
    staff = _StaffNames()
    for record in rows:
        writer.writerow([_cell(v) for v in _ledger_row(client, record, staff)])
    return buffer.getvalue().encode("utf-8-sig")


def _ledger_row(client: Client, record: Record, staff: _StaffNames) -> list[Any]:
    findings = list(record.findings.order_by("id").values_list("kind", "text"))
    needs = [t for k, t in findings if k != FindingKind.PROBLEM]
    problems = [t for k, t in findings if k == FindingKind.PROBLEM]
    rules = Purpose.objects.filter(task_id=record.task_id).order_by("rule_code")
    agent, leader = staff.of(record.agent_id), staff.of(record.leader_id)
    return [
        record.number, record.branch_id, record.callback_date.isoformat(), masked_id(client.pk),
        pii.mask_name(client.name), client.get_client_type_display(),
        pii.mask_keep(client.fund_account) if client.fund_account else "",
        " ".join(rules.values_list("rule_code", flat=True)), record.get_level_display(),
        record.get_kind_display(), record.get_method_display(), record.outcome,
        RecordStatus(record.status).label if record.status in RecordStatus.values else record.status,
        pii.scrub("；".join(needs)), pii.scrub("；".join(problems)),
        pii.scrub(record.problem_handling),
        record.feedback_date.isoformat() if record.feedback_date else "",
        agent["name"] if agent else "", _local(record.agent_signed_at) or "",
        leader["name"] if leader else "", record.leader_role, _local(record.leader_signed_at) or "",
        record.content_sha256,
    ]  # fmt: skip


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet never runs as a formula."""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


# ---------------------------------------------------------------- publishing


def _file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _publish(
    partial: Path, out: Path, client: Client, start: dt.date, end: dt.date, stats: _Stats,
    digest: str, size: int,
) -> PackSummary:  # fmt: skip
    """The audit row and the zip's move into place, together or not at all."""
    placed = False
    try:
        with transaction.atomic():
            event = audit_record(
                action=ACTION, object_type="clients.Client", object_id=client.pk,
                branch_code=client.branch_id,
                after={"client": client.pk, "from": start, "to": end, "zip_sha256": digest,
                       "zip_size": size, "manifest_sha256": stats.manifest_sha256,
                       "records": stats.records, "evidence_files": stats.evidence_files,
                       "audit_rows": stats.audit_rows, "segment_first_id": stats.first_id,
                       "segment_last_id": stats.last_id},
            )  # fmt: skip
            os.replace(partial, out)
            placed = True
    except BaseException:
        if placed:
            out.unlink(missing_ok=True)
        raise
    return PackSummary(
        path=out, sha256=digest, size=size, manifest_sha256=stats.manifest_sha256,
        records=stats.records, evidence_files=stats.evidence_files,
        audit_rows=stats.audit_rows, full_rows=stats.full_rows, audit_event_id=event.pk,
    )  # fmt: skip
