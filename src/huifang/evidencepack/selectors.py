"""What an evidence pack holds: the client's records of the period and the audit rows about them.

Records: the client's ``workbench.Record`` rows whose callback date (回访日期) falls in
the period, limited to the user's data scope when a user asks (SPEC §0).

Audit rows that *concern the client* (NFR-2) — the rows shown in full in the pack:

1. At any time, every row about an object the pack carries: the tasks of its
   records (``callbacks.Task``: claims, attempts, assignment, unreachable
   requests), the records themselves (``workbench.Record``: open, answers,
   signatures, amendments, archive, review draws), their evidence
   (``workbench.Evidence``: upload, download, purge — a purged file is found
   through its upload row's ``after.task``), reviews (``workbench.Review``),
   e-questionnaire links (``workbench.QuestionnaireLink``), data corrections
   (``workbench.DataCorrection``), the tasks' purposes (``callbacks.Purpose``)
   and the issues raised from the records (``issues.Issue``). A review decided
   after the period still belongs to a record of the period.
2. Written inside the period (its ``at``, in Asia/Shanghai, from the first day's
   00:00 to the day after the last), every other row about the client: the client
   himself (``clients.Client``: PII reveals, earlier evidence packs), his other
   tasks and their objects as in 1, his issues, and every row whose ``after`` or
   ``before`` names him at the top level as ``client`` or ``client_id`` (task
   creation, intraday events, yearly visits …) together with the follow-up rows of
   the same event (``clients.MarginEvent`` / ``clients.AccountEvent``). These key
   look-ups read only the rows of the client's branches (``branch_code``, indexed).

The segment is every row from the first to the last concerning row, in id order and
of every chain of the trail (``AuditEvent.chain``); rows in between that do not
concern the client are reduced to their chain and hashes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldError
from django.db.models import Q, QuerySet

from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Purpose, Task
from huifang.clients.models import Client
from huifang.core.clock import SHANGHAI
from huifang.workbench.models import (
    DataCorrection,
    Evidence,
    QuestionnaireLink,
    Record,
    Review,
)

ATTACH_ACTION = "workbench.evidence_attach"
CLIENT_KEYS = ("client", "client_id")
EVENT_TYPES = ("clients.MarginEvent", "clients.AccountEvent")
CHUNK = 500


@dataclass
class Objects:
    """Object ids by audit ``object_type`` (ids as the audit rows write them: text)."""

    ids: dict[str, set[str]] = field(default_factory=dict)

    def add(self, object_type: str, values: Iterable[Any]) -> None:
        self.ids.setdefault(object_type, set()).update(str(v) for v in values)

    def query(self) -> Q | None:
        """Rows about any of these objects (the ``object_type, object_id`` index serves)."""
        found: Q | None = None
        for object_type, ids in self.ids.items():
            ordered = sorted(ids)
            for start in range(0, len(ordered), CHUNK):
                part = Q(object_type=object_type, object_id__in=ordered[start : start + CHUNK])
                found = part if found is None else found | part
        return found


def pack_records(
    *, client: Client, start: dt.date, end: dt.date, user: Any = None
) -> QuerySet[Record]:
    """The client's records of the period (EXE-5), oldest first; scoped to ``user`` if given."""
    records = Record.objects.visible_to(user) if user is not None else Record.objects.all()
    return records.filter(client=client, callback_date__range=(start, end)).order_by(
        "callback_date", "id"
    )


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The period as aware datetimes: the first day's 00:00 to the day after the last (Shanghai)."""
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=SHANGHAI),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI),
    )


def concerning_ids(
    *, client: Client, start: dt.date, end: dt.date, records: list[Record], user: Any = None
) -> set[int]:
    """Ids of the audit rows that concern the client (see the module docstring)."""
    record_tasks = {r.task_id for r in records}
    carried = task_objects(record_tasks)
    carried.add("workbench.Record", (r.pk for r in records))
    carried.add("issues.Issue", _issue_ids(record__in=[r.pk for r in records]))
    found = _ids(carried.query())

    since, until = period_bounds(start, end)
    in_period = AuditEvent.objects.filter(at__gte=since, at__lt=until)
    tasks = Task.objects.visible_to(user) if user is not None else Task.objects.all()
    task_ids = set(tasks.filter(client=client).values_list("pk", flat=True))
    own = task_objects(task_ids)
    own.add("clients.Client", [client.pk])
    own.add("issues.Issue", _issue_ids(client=client))
    found |= _ids(own.query(), in_period)

    branches = {
        client.branch_id,
        *tasks.filter(pk__in=task_ids).values_list("branch_id", flat=True),
    }
    named = in_period.filter(branch_code__in=sorted(branches)).filter(_names(client.pk))
    events = Objects()
    for pk, object_type, object_id in named.values_list("pk", "object_type", "object_id"):
        found.add(pk)
        if object_type in EVENT_TYPES:
            events.add(object_type, [object_id])
    found |= _ids(events.query(), in_period)
    return found


def task_objects(task_ids: set[int]) -> Objects:
    """The tasks and the objects hanging off them, as audit rows name them."""
    objects = Objects()
    ordered = sorted(task_ids)
    objects.add("callbacks.Task", ordered)
    for part in _chunks(ordered):
        objects.add("callbacks.Purpose", _pks(Purpose.objects.filter(task_id__in=part)))
        objects.add("workbench.Evidence", _pks(Evidence.objects.filter(task_id__in=part)))
        objects.add("workbench.Review", _pks(Review.objects.filter(task_id__in=part)))
        objects.add("workbench.QuestionnaireLink", _pks(QuestionnaireLink.objects.filter(task_id__in=part)))  # fmt: skip
        objects.add("workbench.DataCorrection", _pks(DataCorrection.objects.filter(task_id__in=part)))  # fmt: skip
        uploads = AuditEvent.objects.filter(action=ATTACH_ACTION, after__task__in=part)
        objects.add(
            "workbench.Evidence", uploads.values_list("object_id", flat=True)
        )  # purged ones
    return objects


def segment_rows(first: int, last: int) -> Iterator[tuple[int, int, str, str]]:
    """``(id, chain, prev_hash, hash)`` of every audit row from ``first`` to ``last``, of every
    chain, in id order (one query: one snapshot of the trail)."""
    rows = AuditEvent.objects.filter(pk__gte=first, pk__lte=last).order_by("pk")
    return rows.values_list("pk", "chain", "prev_hash", "hash").iterator(chunk_size=5000)


def _names(client_id: str) -> Q:
    """``after`` or ``before`` names the client at the top level."""
    found = Q()
    for column in ("after", "before"):
        for key in CLIENT_KEYS:
            found |= Q(**{f"{column}__{key}": client_id})
    return found


def _ids(query: Q | None, rows: QuerySet[AuditEvent] | None = None) -> set[int]:
    if query is None:
        return set()
    base = rows if rows is not None else AuditEvent.objects.all()
    return set(base.filter(query).values_list("pk", flat=True))


def _issue_ids(**lookup: Any) -> list[int]:
    """Issues of the client or of his records, if the issues app has them (ISS-1)."""
    try:
        model = apps.get_model("issues", "Issue")
        return list(model._default_manager.filter(**lookup).values_list("pk", flat=True))
    except (LookupError, FieldError):
        return []


def _pks(rows: QuerySet[Any]) -> list[Any]:
    return list(rows.values_list("pk", flat=True))


def _chunks(values: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]
