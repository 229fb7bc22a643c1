"""``audit verify``: re-check the chain, every change set, the archive manifests and evidence.

Evidence files (SPEC EXE-2) are vouched for by ``after.evidence`` (stored name ->
SHA-256) and re-read through Django's default storage (filesystem or S3-compatible);
a file purged after its retention date (NFR-3) is named by its purge row's
``after.purged`` and is no longer expected.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.storage import Storage

from huifang.audit import chain
from huifang.audit.models import AuditEvent
from huifang.audit.services import CHANGESETS, changeset_rows


@dataclass
class VerifyResult:
    checked: int = 0
    changesets: int = 0
    files: int = 0
    broken_id: int | None = None
    reason: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify(*, check_files: bool = True) -> VerifyResult:
    """Walk the trail in id order, each row linked to the previous row of its chain.

    Stops at the first row that does not hold.
    """
    result = VerifyResult()
    last: dict[int, str] = {}
    fields = [*chain.CHAINED_FIELDS, "id", "hash", "chain"]
    purged = _purged_evidence() if check_files else set()
    for row in AuditEvent.objects.order_by("id").values(*fields).iterator(chunk_size=5000):
        problem = _check_row(row, last.get(int(row["chain"]), chain.GENESIS))
        if problem is None and row["changeset_table"]:
            problem = _check_changeset(row)
            result.changesets += 1
        if problem is None and check_files:
            problem, files = _check_files(row)
            result.files += files
        if problem is None and check_files:
            problem, files = _check_evidence(row, purged)
            result.files += files
        if problem:
            result.broken_id, result.reason = row["id"], problem
            return result
        last[int(row["chain"])] = str(row["hash"])
        result.checked += 1
    return result


def _check_row(row: dict[str, object], prev: str) -> str | None:
    if row["prev_hash"] != prev:
        return (
            "prev_hash does not match the previous row of its chain "
            "(a row was removed, inserted, reordered or moved to another chain)"
        )
    if chain.row_hash(row) != row["hash"]:
        return "hash does not match the row's content (the row was altered)"
    return None


def _check_changeset(row: dict[str, object]) -> str | None:
    table = str(row["changeset_table"])
    if table not in CHANGESETS:
        return f"unknown change-set table {table}"
    sha, count = chain.changeset_hash(changeset_rows(table, dict(row["changeset_key"] or {})))  # type: ignore[call-overload]
    if count != row["changeset_rows"]:
        return f"change set {table} {row['changeset_key']} has {count} rows, the audit row says {row['changeset_rows']}"
    if sha != row["changeset_sha256"]:
        return f"change set {table} {row['changeset_key']} was altered (SHA-256 differs)"
    return None


def _check_files(row: dict[str, object]) -> tuple[str | None, int]:
    """Files an audit row vouches for (``after.files``: path -> SHA-256) must be unchanged."""
    after = row.get("after")
    if not isinstance(after, dict) or not isinstance(after.get("files"), dict):
        return None, 0
    from django.conf import settings

    from huifang.feeds.archive import file_sha256

    for relative, expected in after["files"].items():
        candidates = [Path(settings.DATA_DIR) / relative]
        replaced = after.get("replaced_root")
        if isinstance(replaced, str):
            candidates.append(Path(settings.DATA_DIR) / replaced / relative.split("/", 1)[1])
        existing = [p for p in candidates if p.exists()]
        if not existing:
            return f"file {relative} is missing", 0
        if not any(file_sha256(p) == expected for p in existing):
            return f"file {relative} was altered (SHA-256 differs)", 0
    return None, len(after["files"])


EVIDENCE_PURGE = "workbench.evidence_purge"


def _purged_evidence() -> set[str]:
    """Stored names of evidence purged after retention (their purge rows are chained too)."""
    names: set[str] = set()
    for after in AuditEvent.objects.filter(action=EVIDENCE_PURGE).values_list("after", flat=True):
        if isinstance(after, dict) and isinstance(after.get("purged"), dict):
            names.update(after["purged"])
    return names


def _check_evidence(row: dict[str, object], purged: set[str]) -> tuple[str | None, int]:
    """Evidence an audit row vouches for (``after.evidence``: stored name -> SHA-256), re-hashed."""
    after = row.get("after")
    if not isinstance(after, dict) or not isinstance(after.get("evidence"), dict):
        return None, 0
    from django.core.files.storage import default_storage

    checked = 0
    for name, expected in after["evidence"].items():
        if name in purged:
            continue
        if not default_storage.exists(name):
            return f"evidence file {name} is missing", 0
        if _storage_sha256(default_storage, name) != expected:
            return f"evidence file {name} was altered (SHA-256 differs)", 0
        checked += 1
    return None, checked


def _storage_sha256(storage: Storage, name: str) -> str:
    digest = hashlib.sha256()
    with storage.open(name, "rb") as handle:
        for chunk in handle.chunks():
            digest.update(chunk)
    return digest.hexdigest()
