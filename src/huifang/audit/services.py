"""Writing the audit trail: one chained row per change, one per bulk change set (NFR-2).

Writers of one chain are serialised, each reads the last hash of the chain and appends.
Call inside the transaction of the change it records.

PostgreSQL: the trail is ``HUIFANG_AUDIT_CHAINS`` interleaved chains (default 16). A
transaction appends to the chain of its connection (backend pid modulo the number of
chains), under a transaction-scoped advisory lock of that chain: one transaction always
writes one chain (no lock-order deadlocks), and concurrent requests on other
connections do not wait for it — with a single chain every audited request queued
behind the one lock until its commit (issue 7's load benchmark: 13.8 of 14.2 active
connections waiting). SQLite transactions are IMMEDIATE (the write lock is taken at
BEGIN), so writers are serialised anyway and everything goes to chain 0.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction

from huifang.audit import chain
from huifang.audit.context import current
from huifang.audit.models import AuditEvent

ADVISORY_LOCK = 0x68756966  # "huif"


@dataclass(frozen=True)
class ChangeSetSpec:
    """A history table whose rows form change sets, selected by ``key`` columns."""

    model: str  # "app_label.ModelName"
    columns: tuple[str, ...]
    order_by: tuple[str, ...] = ("id",)


# Every history table that bulk changes write to; ``audit verify`` re-hashes them.
CHANGESETS: dict[str, ChangeSetSpec] = {
    "clients.ClientChange": ChangeSetSpec(
        "clients.ClientChange",
        (
            "id",
            "client_id",
            "field",
            "old_value",
            "new_value",
            "effective_date",
            "actor",
            "batch_id",
        ),
    ),
}


def register_changeset(spec: ChangeSetSpec) -> None:
    """Later apps (classification, task batches) register their history tables here."""
    CHANGESETS[spec.model] = spec


def changeset_rows(table: str, key: dict[str, Any]) -> Iterator[Sequence[Any]]:
    """The rows of one change set in canonical order."""
    spec = CHANGESETS[table]
    model = apps.get_model(spec.model)
    query = model._default_manager.filter(**key).order_by(*spec.order_by).values_list(*spec.columns)
    return query.iterator(chunk_size=20_000)


def chains() -> int:
    """How many chains the trail has on this database (1 on SQLite)."""
    if connection.vendor != "postgresql":
        return 1
    return max(1, int(getattr(settings, "HUIFANG_AUDIT_CHAINS", 16)))


def _chain_of_connection(cursor: Any) -> int:
    """The chain of this database session: its backend pid modulo the number of chains."""
    raw = connection.connection
    cached = getattr(connection, "_huifang_audit_chain", None)
    if cached is not None and cached[0] is raw:
        return int(cached[1])
    cursor.execute("SELECT pg_backend_pid()")
    number = int(cursor.fetchone()[0]) % chains()
    connection._huifang_audit_chain = (raw, number)  # type: ignore[attr-defined]
    return number


class _Appended:
    """A no-op ``on_commit`` callback marking the last row this transaction appended.

    Django drops a callback registered inside a savepoint that is rolled back, and all of
    them when the transaction ends; so while the marker is still registered, the row is
    part of this transaction, the chain's lock is still held (taken in the same savepoint
    as the row) and nobody else can have appended to the chain since.
    """

    def __init__(self, number: int, last: str) -> None:
        self.number, self.last = number, last

    def __call__(self) -> None:
        pass


def _appended_here() -> _Appended | None:
    """The marker of this transaction's last row, if the row still stands (see ``_Appended``)."""
    marker = getattr(connection, "_huifang_audit_appended", None)
    if marker is None or not connection.in_atomic_block:
        return None
    for registered in reversed(connection.run_on_commit):  # (savepoint ids, func, robust)
        if registered[1] is marker:
            return marker
    return None


def _lock_and_last() -> tuple[int, str]:
    """The chain to append to, locked, and its last hash.

    A second row of one transaction needs neither the lock nor the read: it chains to
    the first (two round trips saved per extra audited change of a request, issue 7).
    """
    appended = _appended_here()
    if appended is not None:
        return appended.number, appended.last
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # lock, then read with a snapshot taken after the lock (migration 0004): one round trip
            number = _chain_of_connection(cursor)
            cursor.execute("SELECT huifang_audit_lock_last(%s, %s)", [ADVISORY_LOCK, number])
            last = cursor.fetchone()[0]
        else:
            number = 0
            cursor.execute(
                "SELECT hash FROM audit_auditevent WHERE chain = %s ORDER BY id DESC LIMIT 1",
                [number],
            )
            row = cursor.fetchone()
            last = row[0] if row else None
    return number, (last if last is not None else chain.GENESIS)


def audit_record(
    *,
    action: str,
    object_type: str,
    object_id: str = "",
    branch_code: str = "",
    before: Any = None,
    after: Any = None,
    changeset: tuple[str, dict[str, Any]] | None = None,
    changeset_digest: tuple[str, int] | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one chained audit row for the current actor; with ``changeset``, hash that set.

    A bulk writer that still holds the rows it inserted may pass their
    ``chain.changeset_hash_arrow`` as ``changeset_digest`` instead of re-reading them
    (its tests prove both agree; ``audit verify`` always re-reads).
    """
    actor = current()
    from django.utils import timezone

    # no savepoint of its own inside a caller's transaction (two round trips per row saved): a
    # failed insert fails the caller's transaction, as an unaudited change must not commit
    with transaction.atomic(savepoint=False):
        number, prev = _lock_and_last()
        fields: dict[str, Any] = {
            "at": (at or timezone.now()).astimezone(dt.UTC),
            "actor": actor.actor,
            "actor_user_id": actor.user_id,
            "request_id": actor.request_id,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "branch_code": branch_code or "",
            "before": chain.plain(before),
            "after": chain.plain(after),
            "changeset_table": "",
            "changeset_key": None,
            "changeset_rows": 0,
            "changeset_sha256": "",
            "prev_hash": prev,
        }
        if changeset is not None:
            table, key = changeset
            sha, rows = changeset_digest or chain.changeset_hash(changeset_rows(table, key))
            fields.update(
                changeset_table=table,
                changeset_key=chain.plain(key),
                changeset_rows=rows,
                changeset_sha256=sha,
            )
        event = _insert({**fields, "chain": number, "hash": chain.row_hash(fields)})
        marker = _Appended(number, event.hash)
        transaction.on_commit(marker)
        connection._huifang_audit_appended = marker  # type: ignore[attr-defined]
        return event


_INSERT_FIELDS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]


@functools.cache
def _insert_sql(vendor: str, returning: bool) -> str:
    """The audit row's INSERT, built once per database vendor."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in _INSERT_FIELDS)
    marks = ", ".join(["%s"] * len(_INSERT_FIELDS))
    table = quote(AuditEvent._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({marks})" + (
        " RETURNING id" if returning else ""
    )


def _insert(values: dict[str, Any]) -> AuditEvent:
    """One audit row through a fixed INSERT: every change writes one, so the ORM's per-call
    compilation is skipped; each value is still prepared by its model field, as ``create`` does."""
    returning = connection.features.can_return_columns_from_insert
    sql = _insert_sql(connection.vendor, returning)
    params = [f.get_db_prep_save(values[f.attname], connection) for f in _INSERT_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        pk = cursor.fetchone()[0] if returning else cursor.lastrowid
    event = AuditEvent(id=pk, **values)
    event._state.adding, event._state.db = False, connection.alias
    return event
