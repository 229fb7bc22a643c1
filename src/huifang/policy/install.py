"""Installing a policy document as an approved version (the default policy's data migration).

Works with the historical models a migration passes in as well as with the real
ones: the rules are written while the version is a draft, then the version is
approved in one UPDATE (the triggers allow exactly that order).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

DEFAULT_DOCUMENT = Path(__file__).resolve().parent / "migrations" / "0003_default_policy.json"


def frozen_default_document() -> dict[str, Any]:
    """The default policy exactly as migration 0003 installed it."""
    return json.loads(DEFAULT_DOCUMENT.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def install_document(
    policy_model: Any,
    version_model: Any,
    rule_model: Any,
    document: dict[str, Any],
    *,
    now: dt.datetime,
    note: str,
) -> Any:
    """Create the document's policy (if new) and an approved version holding its rules."""
    head = document["policy"]
    policy, _ = policy_model.objects.get_or_create(
        code=head["code"], defaults={"name": head["name"]}
    )
    last = version_model.objects.filter(policy=policy).order_by("-number").first()
    meta = document["version"]
    version = version_model.objects.create(
        policy=policy,
        number=(last.number + 1) if last else 1,
        status="draft",
        effective_from=dt.date.fromisoformat(meta["effective_from"]),
        reason=meta["reason"],
        author=meta.get("author", "system"),
        created_at=now,
    )
    rule_model.objects.bulk_create(
        rule_model(version=version, position=position, **{k: rule[k] for k in RULE_FIELDS})
        for position, rule in enumerate(document["rules"], start=1)
    )
    version_model.objects.filter(pk=version.pk).update(
        status="approved", approved_at=now, approval_note=note
    )
    return version_model.objects.get(pk=version.pk)


RULE_FIELDS = ("code", "spec_id", "kind", "title", "citation", "note", "enabled", "params")
