"""Background work of issues: load by argument, call the service, nothing else [Styleguide]."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from huifang.audit.context import audit_context

ACTOR = "system:issues.tick"


@shared_task
def tick(*, date: str | None = None) -> dict[str, int]:
    """ISS-5: the daily warnings and escalations (``date`` ISO, default the clock's today)."""
    from huifang.issues import services

    day = dt.date.fromisoformat(date) if date else None
    with audit_context(ACTOR):
        result = services.tick(day, actor=ACTOR)
    return {"warned": result.warned, "escalated": result.escalated}
