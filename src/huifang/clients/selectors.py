"""Reads of the client master (CLI-1, CLI-4, CLI-5), always through the user's scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from huifang.clients.models import Client, ClientChange
from huifang.core import pii
from huifang.core.scope import get_visible_or_404
from huifang.org.choices import UnitKind
from huifang.org.models import Unit

# Columns of ``huifang export clients`` (SPEC §12), in order, with their model fields.
EXPORT_COLUMNS = (
    ("client_id", "client_id"),
    ("branch_code", "branch_id"),
    ("client_type", "client_type"),
    ("open_date", "open_date"),
    ("status", "status"),
    ("id_number", "id_number_masked"),
    ("mobile", "mobile_masked"),
)


def client_search(*, user: Any, query: str, limit: int = 50) -> QuerySet[Client]:
    """Clients in the user's scope matching ``query`` exactly or by name prefix.

    One query text is tried as: client_id, fund_account, ID number and mobile (the
    keyed hash of the normalised text against ``id_number_hash``/``mobile_hash``, so
    nothing is decrypted and only a complete number matches), or the start of the
    name. Every branch of the ``OR`` is served by an index, so the search stays fast
    at 10–20 million clients: a prefix ``LIKE 'x%'`` uses the name index (on
    PostgreSQL the ``varchar_pattern_ops`` index Django adds for ``db_index``), while
    ``icontains``/``istartswith`` would scan the table. Prefix matching is therefore
    case-sensitive on PostgreSQL, which Chinese names do not notice.
    """
    text = query.strip()
    if not text:
        return Client.objects.none()
    digest = pii.keyed_hash(text)
    condition = (
        Q(client_id=text)
        | Q(fund_account=text)
        | Q(id_number_hash=digest)
        | Q(mobile_hash=digest)
        | Q(name__startswith=text)
    )
    found = Client.objects.visible_to(user).filter(condition)
    return found.select_related("branch").order_by("client_id")[:limit]


def client_detail(*, user: Any, client_id: str) -> Client:
    """The client with its branch and staff links; 404 outside the user's scope."""
    clients = Client.objects.select_related("branch", "introducer", "broker", "adviser")
    return get_visible_or_404(clients, user, client_id=client_id)


def client_changes(*, user: Any, client: Client) -> QuerySet[ClientChange]:
    """The client's change history (CLI-5), newest first; personal fields are stored masked."""
    return (
        ClientChange.objects.visible_to(user)
        .filter(client=client)
        .order_by("-effective_date", "-id")
    )


ExportRow = tuple[str, str, str, dt.date, str, str, str]


def client_export_rows(*, chunk_size: int = 5000) -> Iterator[ExportRow]:
    """Every client as an export row, sorted by client_id, streamed in chunks (SPEC §12).

    The system's read for the auditors' export: no user scope, masked columns only.
    """
    fields = [field for _, field in EXPORT_COLUMNS]
    rows = Client.objects.order_by("client_id").values_list(*fields)
    return rows.iterator(chunk_size=chunk_size)  # type: ignore[return-value]


@dataclass(frozen=True)
class AuditSummary:
    """What the compliance dashboard shows of the audit trail (NFR-2)."""

    last_id: int | None
    last_at: dt.datetime | None


def audit_summary() -> AuditSummary:
    """The newest audit row's number and time: one index lookup, no count of a large table."""
    from huifang.audit.models import AuditEvent

    last = AuditEvent.objects.order_by("-id").values("id", "at").first()
    return AuditSummary(last["id"], last["at"]) if last else AuditSummary(None, None)


def units_in_scope(*, user: Any) -> QuerySet[Unit]:
    """The branches a user supervises (the regional dashboard), by code."""
    return Unit.objects.visible_to(user).filter(unit_kind=UnitKind.BRANCH).order_by("code")
