"""Background work of the workbench: load by argument, call the service, nothing else [Styleguide]."""

from __future__ import annotations

from celery import shared_task

from huifang.audit.context import audit_context


@shared_task
def send_questionnaire_message(*, link_id: int, sealed_token: str, actor: str) -> str:
    """Send an e-questionnaire link's message (EXE-6) as ``actor``; returns "sent" or "failed".

    The token arrives sealed with the field key, so the broker never holds it in clear.
    """
    from huifang.workbench.equestionnaire import deliver

    with audit_context(actor):
        link = deliver(link_id=link_id, sealed_token=sealed_token)
    if link is None:
        return "ignored"
    return "sent" if link.sent_at else "failed"
