"""Follow-ups of event callbacks: the event that ends one is noted on its purposes (SPEC §4 MRG-3).

MRG-3 (002 §8(1), §13(4)): a margin call is acknowledged, then followed up until
``margin_call_resolved``. A resolution in the same feed as the call is in the
purpose's facts from the start (``population_sales.events``); one that arrives on a
later business date is noted here by the nightly run: ``facts.resolved`` gets the
event, the business date it arrived, and each note is audited (NFR-2).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import duckdb

from huifang.audit.services import audit_record
from huifang.callbacks import population_sales
from huifang.callbacks.models import Purpose
from huifang.policy import kinds
from huifang.policy.models import PolicyVersion


def follow_ups(version: PolicyVersion) -> dict[str, str]:
    """The enabled event rules of ``version`` that follow up until an event: spec id → event type."""
    found: dict[str, str] = {}
    for rule in version.rules.filter(enabled=True, kind="event_callback"):
        params = kinds.parse(rule.kind, rule.params)
        if isinstance(params, kinds.EventCallback) and params.follow_until:
            found[rule.spec_id] = params.follow_until
    return found


def follow_ups_note(
    *, con: duckdb.DuckDBPyConnection, root: Path, day: dt.date, version: PolicyVersion,
    progress: Callable[[str], None] = lambda _m: None,
) -> int:  # fmt: skip
    """Note the business date's ending events on the unresolved purposes of their clients; how many."""
    noted = 0
    for spec_id, event_type in sorted(follow_ups(version).items()):
        events: dict[str, list[tuple[str, str | None]]] = {}
        for event_id, client_id, at in population_sales.resolutions(con, root, day, event_type):
            events.setdefault(client_id, []).append((event_id, at))
        if not events:
            continue
        purposes = Purpose.objects.filter(
            rule_id=spec_id, task__client_id__in=list(events), business_date__lte=day
        ).select_related("task")
        for purpose in purposes.order_by("id"):
            noted += _note(purpose, events[purpose.task.client_id or ""], day)
    if noted:
        progress(f"follow-ups: {noted} purpose(s) noted as resolved")
    return noted


def _note(purpose: Purpose, events: list[tuple[str, str | None]], day: dt.date) -> int:
    """Note the first event at or after the purpose's own event; 0 when resolved already or none fits."""
    facts = purpose.facts_dict
    if facts.get("resolved") or not facts.get("follow_until"):
        return 0
    since = facts.get("event_time")
    fitting = [(e, at) for e, at in events if at is None or since is None or at >= since]
    if not fitting:
        return 0
    event_id, at = fitting[0]
    after = {
        **facts,
        "resolved": {"event_id": event_id, "event_time": at, "business_date": day.isoformat()},
    }
    Purpose.objects.filter(pk=purpose.pk).update(facts=json.dumps(after, ensure_ascii=False))
    audit_record(
        action="callbacks.follow_up_resolved", object_type="callbacks.Purpose", object_id=str(purpose.pk),
        branch_code=purpose.task.branch_id, before={"resolved": None}, after={"resolved": after["resolved"]},
    )  # fmt: skip
    return 1
