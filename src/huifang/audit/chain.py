"""Canonical forms and hashes of audit rows and change sets (pure functions)."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

GENESIS = "0" * 64

# The id is not chained (it is assigned on insert); order is proven by prev_hash.
CHAINED_FIELDS = (
    "at",
    "actor",
    "actor_user_id",
    "request_id",
    "action",
    "object_type",
    "object_id",
    "branch_code",
    "before",
    "after",
    "changeset_table",
    "changeset_key",
    "changeset_rows",
    "changeset_sha256",
    "prev_hash",
)


def plain(value: Any) -> Any:
    """A JSON-native form: what is hashed is exactly what the database returns."""
    return (
        json.loads(json.dumps(value, default=_default, ensure_ascii=False))
        if value is not None
        else None
    )


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date | decimal.Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def row_hash(fields: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the chained fields of one audit row."""
    canonical = {name: fields.get(name) for name in CHAINED_FIELDS}
    at = canonical["at"]
    if isinstance(at, dt.datetime):
        canonical["at"] = at.astimezone(dt.UTC).isoformat()
    text = json.dumps(
        canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_default
    )
    return hashlib.sha256(text.encode()).hexdigest()


def changeset_hash(rows: Iterable[Sequence[Any]]) -> tuple[str, int]:
    """SHA-256 over the canonical lines of a change set, and its row count."""
    digest = hashlib.sha256()
    count = 0
    for row in rows:
        digest.update(
            json.dumps([_cell(v) for v in row], ensure_ascii=False, separators=(",", ":")).encode()
        )
        digest.update(b"\n")
        count += 1
    return digest.hexdigest(), count


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    return _default(value)
