"""Intraday events: a margin or account event posted during the trading day (MRG-3, MRG-4, SPC-2).

SPEC §4 MRG-3/MRG-4: "1 trading day; intraday through the API". ``post_event``
stores one event (``MarginEvent`` / ``AccountEvent``, the §1 fields) and, in the
same transaction and under the nightly run's advisory lock, evaluates the event
rules of the policy in force for that single event with the nightly engine
(``engine.Evaluator``: CON-4 merge, CON-3 cap and its exemptions, due dates from
the event date), writes the tasks and purposes, and assigns them with the nightly
run's balanced assignment and ``services.task_assign`` (CON-1, CON-2, CON-6).

A purpose is keyed ``<rule>:<event_id>`` as the nightly event rules key theirs, so
the nightly run of the date, which imports the same event with its feed, finds the
purpose done and creates nothing. No ``NightlyRun`` is written: the task events of
one posted event have ``run`` NULL and form one audited change set keyed by their
ids (``audit verify`` re-hashes it). Posting the same event again is a no-op that
answers with the same tasks; the same ``event_id`` with other content is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count

from huifang.audit.services import audit_record
from huifang.calendars.service import require_years
from huifang.callbacks import population_sales, services
from huifang.callbacks.choices import Level, TaskEventKind, TaskStatus
from huifang.callbacks.engine import Evaluator, RuleSpec, rule_specs
from huifang.callbacks.models import Plan, Purpose, Task, TaskEvent
from huifang.callbacks.rules import quarter_label
from huifang.clients.choices import AccountEventType, MarginEventType
from huifang.clients.models import AccountEvent, Client, MarginEvent
from huifang.core import clock, duck, pii
from huifang.org.models import Staff
from huifang.policy import kinds
from huifang.policy.models import PolicyVersion
from huifang.policy.selectors import version_in_force

EventKind = Literal["margin", "account"]
SOURCES: dict[str, str] = {"margin": "margin_events", "account": "account_events"}
ACTOR_PREFIX = "api:"  # task events of an intraday post: ``api:<username>``


class EventInvalid(ValueError):
    """The event breaks a §1 rule that the request schema cannot see (unknown staff, future time)."""


class EventConflict(ValueError):
    """The ``event_id`` is already known with other content."""


class ClientNotVisible(LookupError):
    """No such client in the actor's scope (answered as 404: existence is not leaked)."""


@dataclass(frozen=True)
class EventIn:
    """One §1 ``margin_events`` / ``account_events`` row, already typed."""

    event_id: str
    client_id: str
    event_type: str
    event_time: dt.datetime | None = None
    security_code: str = ""  # margin events
    amount: Decimal | None = None  # account events
    staff_id: str | None = None  # account events
    detail: str = ""

    def content(self, kind: EventKind) -> dict[str, Any]:
        """The fields that make two posts of one ``event_id`` the same event."""
        when = self.event_time.astimezone(dt.UTC).isoformat() if self.event_time else None
        common = {"client_id": self.client_id, "event_type": self.event_type,
                  "event_time": when, "detail": self.detail}  # fmt: skip
        if kind == "margin":
            return {**common, "security_code": self.security_code}
        amount = str(self.amount.quantize(Decimal("0.01"))) if self.amount is not None else None
        return {**common, "amount": amount, "staff_id": self.staff_id}


@dataclass
class PostedTask:
    """A task the event created or joined, as the API answers it."""

    task_id: int
    level: str
    kind: str
    status: str
    due_date: dt.date
    assignee: str | None
    unassigned_reason: str
    purposes: list[dict[str, Any]]


@dataclass
class PostOutcome:
    """What ``post_event`` did: ``created`` is False for a repeated post (nothing written)."""

    event_id: str
    kind: EventKind
    created: bool
    business_date: dt.date
    tasks: list[PostedTask] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # the event rules the event matched


# ---------------------------------------------------------------- the service


def post_event(*, kind: EventKind, payload: EventIn, actor: Any) -> PostOutcome:
    """Store one intraday event and create or merge its callback tasks at once (MRG-3, MRG-4, SPC-2).

    ``actor`` is the user the API token belongs to: the client must be in his data
    scope (SPEC §0), else ``ClientNotVisible``. The business date is today: the
    event belongs to today's feed, whose nightly run will find its purposes done.
    Idempotent on ``event_id``.
    """
    _check_types(kind, payload)
    now = clock.now()
    if payload.event_time is not None and payload.event_time > now:
        raise EventInvalid(f"event_time {payload.event_time.isoformat()} is in the future")
    day = now.date()
    require_years(services.required_years(day))
    version = version_in_force(on=day)
    with transaction.atomic():
        _lock()
        client = Client.objects.visible_to(actor).filter(pk=payload.client_id).first()
        if client is None:
            raise ClientNotVisible(payload.client_id)
        if payload.staff_id and not Staff.objects.filter(pk=payload.staff_id).exists():
            raise EventInvalid(f"staff_id {payload.staff_id!r}: no such staff member")
        rules = services.Constraints.of(version)
        specs = event_specs(version, kind, payload.event_type, set(rules.cap.exempt_rules))
        created = _store(kind, payload, day)
        outcome = PostOutcome(payload.event_id, kind, created, day,
                              rules=sorted({s.code for s in specs}))  # fmt: skip
        if _callable(client, day):  # a repeated post finds its purposes done: nothing new
            _evaluate_and_write(client, payload, kind, specs, rules, day, actor)
        outcome.tasks = _tasks_of(payload.event_id, specs)
    return outcome


def _check_types(kind: EventKind, payload: EventIn) -> None:
    codes = MarginEventType.values if kind == "margin" else AccountEventType.values
    if payload.event_type not in codes:
        raise EventInvalid(f"event_type {payload.event_type!r} is not a §1 {kind} event type")


def _lock() -> None:
    """The nightly run's lock: one writer of tasks at a time (SQLite: BEGIN IMMEDIATE)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [services.LOCK])


def _callable(client: Client, day: dt.date) -> bool:
    """The nightly rules see open accounts only (``population.load_state``): so does this path."""
    closed = client.status == "closed" or (
        client.close_date is not None and client.close_date <= day
    )
    return not closed


def _files(spec: RuleSpec) -> set[str]:
    """The feed files whose events the rule reads, as the nightly population functions map them."""
    assert isinstance(spec.params, kinds.EventCallback)
    if spec.spec_id in population_sales.EVENT_RULES:
        return {population_sales.EVENT_FILES[s] for s in spec.params.sources
                if s in population_sales.EVENT_FILES}  # fmt: skip
    return {s for s in spec.params.sources if s in SOURCES.values()}  # ABN-4: population.events


def event_specs(
    version: PolicyVersion, kind: EventKind, event_type: str, cap_exempt: set[str]
) -> list[RuleSpec]:
    """The nightly run's event rules (``engine.rule_specs``) that an event of this file and type triggers.

    Only 100 % rules: a sampled event rule is left to the nightly run, which draws
    its population over the period (CON-8); one event alone cannot be drawn fairly.
    """
    return [
        spec for spec in rule_specs(version, cap_exempt)
        if isinstance(spec.params, kinds.EventCallback) and not spec.sampled
        and event_type in spec.params.event_types and SOURCES[kind] in _files(spec)
    ]  # fmt: skip


def _store(kind: EventKind, payload: EventIn, day: dt.date) -> bool:
    """Insert the event, or find it the same (False); another content raises ``EventConflict``."""
    model: type[MarginEvent] | type[AccountEvent] = (
        MarginEvent if kind == "margin" else AccountEvent
    )
    found = model.objects.filter(pk=payload.event_id).first()  # the queryset is typed Model
    existing = found if isinstance(found, MarginEvent | AccountEvent) else None
    if existing is not None:
        stored = _stored_content(kind, existing)
        if stored != payload.content(kind):
            differs = sorted(k for k, v in payload.content(kind).items() if stored.get(k) != v)
            raise EventConflict(
                f"event {payload.event_id} is already known with other content ({', '.join(differs)})"
            )
        return False
    other = AccountEvent if kind == "margin" else MarginEvent
    if other.objects.filter(pk=payload.event_id).exists():
        raise EventConflict(f"event {payload.event_id} is already known as another kind of event")
    fields: dict[str, Any] = {
        "event_id": payload.event_id, "client_id": payload.client_id, "event_type": payload.event_type,
        "event_time": payload.event_time, "detail": payload.detail, "business_date": day, "batch": None,
    }  # fmt: skip
    if kind == "margin":
        MarginEvent.objects.create(**fields, security_code=payload.security_code)
    else:
        AccountEvent.objects.create(**fields, amount=payload.amount, staff_id=payload.staff_id)
    audit_record(
        action=f"clients.{kind}_event_post", object_type=f"clients.{model.__name__}",
        object_id=payload.event_id, branch_code=Client.objects.get(pk=payload.client_id).branch_id,
        after={**payload.content(kind), "detail": pii.scrub(payload.detail), "business_date": day},
    )  # fmt: skip
    return True


def _stored_content(kind: EventKind, row: MarginEvent | AccountEvent) -> dict[str, Any]:
    time = row.event_time
    if isinstance(row, MarginEvent):
        payload = EventIn(row.event_id, row.client_id, row.event_type, time,
                          security_code=row.security_code, detail=row.detail)  # fmt: skip
    else:
        payload = EventIn(row.event_id, row.client_id, row.event_type, time, amount=row.amount,
                          staff_id=row.staff_id, detail=row.detail)  # fmt: skip
    return payload.content(kind)


# ---------------------------------------------------------------- the engine, for one event


def _evaluate_and_write(
    client: Client, payload: EventIn, kind: EventKind, specs: list[RuleSpec],
    rules: services.Constraints, day: dt.date, actor: Any,
) -> None:  # fmt: skip
    """Evaluate ``specs`` for the event as the nightly run would; write, assign and audit.

    The nightly population functions read the event from an archive partition and
    the client from ``cl``: here the partition holds the one posted event (as the
    archive keeps it: detail scrubbed, time in UTC) and ``cl`` the one client, so
    the purposes — key, start, facts, levels, CON-3 exemptions — are the nightly's.
    """
    if not specs:
        return
    scratch = Path(settings.DATA_DIR) / "tmp" / "intraday"
    scratch.mkdir(parents=True, exist_ok=True)
    con = duck.connect()
    try:
        with tempfile.TemporaryDirectory(dir=scratch) as root:
            _one_event_archive(Path(root), kind, payload, day)
            _one_client(con, client)
            quarter = quarter_label(day)
            _client_state(con, client.pk, [f"{s.code}:{payload.event_id}" for s in specs], quarter)
            codes = {s.code for s in specs}
            plans = {(p["rule_code"], p["period"], p["stratum"]): dict(p)
                     for p in Plan.objects.filter(rule_code__in=codes, as_of__gte=day - dt.timedelta(days=400))
                     .values()}  # fmt: skip
            ev = Evaluator(
                con, root=Path(root), day=day, version=rules.version,
                max_per_quarter=rules.cap.max_per_quarter, next_task_id=services._reserve_task_ids, plans=plans,
            )  # fmt: skip
            for spec in specs:
                ev.evaluate(spec, lambda _message: None)
        actor_name = f"{ACTOR_PREFIX}{actor.get_username()}"
        event_ids, touched = _write(con, ev, day, quarter, actor_name)
    finally:
        con.close()
    if not touched:
        return
    event_ids += _assign(touched, rules, day, actor_name)
    model = "MarginEvent" if kind == "margin" else "AccountEvent"
    audit_record(
        action="callbacks.intraday_event", object_type=f"clients.{model}", object_id=payload.event_id,
        branch_code=client.branch_id,
        after={"business_date": day, "policy_version": rules.version.number, "rules": sorted(codes),
               "tasks": sorted(touched), "task_events": len(event_ids)},
        changeset=("callbacks.TaskEvent", {"id__in": sorted(event_ids)}) if event_ids else None,
    )  # fmt: skip


def _one_event_archive(root: Path, kind: EventKind, payload: EventIn, day: dt.date) -> None:
    """``<root>/<file>/date=D/part-0.parquet`` with the event as the archive keeps it (§1, CLI-4)."""
    when = (
        payload.event_time.astimezone(dt.UTC).replace(tzinfo=None) if payload.event_time else None
    )
    columns: dict[str, pa.Array] = {
        "event_id": pa.array([payload.event_id], pa.string()),
        "client_id": pa.array([payload.client_id], pa.string()),
        "event_type": pa.array([payload.event_type], pa.string()),
        "detail": pa.array([pii.scrub(payload.detail) or None], pa.string()),
        "event_time": pa.array([when], pa.timestamp("us")),
    }
    if kind == "margin":
        columns["security_code"] = pa.array([payload.security_code or None], pa.string())
    else:
        columns["amount"] = pa.array([payload.amount], pa.decimal128(18, 2))
        columns["staff_id"] = pa.array([payload.staff_id], pa.string())
    folder = root / SOURCES[kind] / f"date={day.isoformat()}"
    folder.mkdir(parents=True)
    pq.write_table(pa.table(columns), folder / duck.PART)


def _one_client(con: duckdb.DuckDBPyConnection, client: Client) -> None:
    """``cl`` as ``population.load_state`` builds it, for the one client (open: ``_callable``)."""
    duck.run(
        con,
        "CREATE OR REPLACE TEMP TABLE cl (client_id VARCHAR, branch_code VARCHAR, open_date DATE, "
        "introducer_staff_id VARCHAR, broker_staff_id VARCHAR, adviser_staff_id VARCHAR, "
        "last_trade_date DATE)",
    )
    duck.run(con, "INSERT INTO cl VALUES (?, ?, ?, ?, ?, ?, ?)",
             [client.pk, client.branch_id, client.open_date, client.introducer_id, client.broker_id,
              client.adviser_id, client.last_trade_date])  # fmt: skip


# The nightly run's state tables (``services._state_tables``), for one client.
STATE_TABLES = {
    "open_t": "task_id BIGINT, client_id VARCHAR, level VARCHAR, kind VARCHAR, branch_code VARCHAR, "
              "due DATE, counts BOOLEAN, cap_exception BOOLEAN, cap_reason VARCHAR, new BOOLEAN, "
              "changed BOOLEAN, opens_at TIMESTAMPTZ, orig_due DATE, orig_counts BOOLEAN",
    "capc": "client_id VARCHAR, n BIGINT",
    "done_keys": "key VARCHAR",
}  # fmt: skip


def _client_state(
    con: duckdb.DuckDBPyConnection, client_id: str, keys: list[str], quarter: str
) -> None:
    """``open_t``, ``capc``, ``done_keys`` for one client: what the nightly loads for all, in milliseconds."""
    for name, schema in STATE_TABLES.items():
        duck.run(con, f"CREATE OR REPLACE TEMP TABLE {name} ({schema})")
    for t in Task.objects.open().filter(client_id=client_id):
        duck.run(con, "INSERT INTO open_t VALUES (?, ?, ?, ?, ?, ?, ?, FALSE, '', FALSE, FALSE, NULL, ?, ?)",
                 [t.pk, client_id, t.level, t.kind, t.branch_id, t.due_date, t.counts_to_cap,
                  t.due_date, t.counts_to_cap])  # fmt: skip
    capped = Task.objects.filter(client_id=client_id, quarter=quarter, counts_to_cap=True).count()
    if capped:
        duck.run(con, "INSERT INTO capc VALUES (?, ?)", [client_id, capped])
    for key in Purpose.objects.filter(key__in=keys).values_list("key", flat=True):
        duck.run(con, "INSERT INTO done_keys VALUES (?)", [key])


def _write(
    con: duckdb.DuckDBPyConnection, ev: Evaluator, day: dt.date, quarter: str, actor: str
) -> tuple[list[int], set[int]]:
    """Plans, tasks, purposes and ``created``/``purpose_added`` events, as the nightly writer would."""
    plan_ids = _write_plans(ev)
    new: set[int] = set()
    touched: set[int] = set()
    rows = con.execute("SELECT task_id, client_id, branch_code, level, kind, due, counts, cap_exception, "
                       "cap_reason, new FROM open_t WHERE changed OR new ORDER BY task_id").fetchall()  # fmt: skip
    for (
        task_id,
        client_id,
        branch,
        level,
        kind,
        due,
        counts,
        cap_exception,
        cap_reason,
        is_new,
    ) in rows:
        touched.add(task_id)
        if is_new:
            new.add(task_id)
            Task.objects.create(
                id=task_id, client_id=client_id, branch_id=branch, level=level, kind=kind,
                status=TaskStatus.OPEN, due_date=due, created_on=day, quarter=quarter,
                counts_to_cap=counts, cap_exception=cap_exception, cap_reason=cap_reason, run=None,
            )  # fmt: skip
        else:
            Task.objects.filter(pk=task_id).update(due_date=due, counts_to_cap=counts)
    event_ids: list[int] = []
    at = clock.now()
    for table in ev.batch.purposes:
        for p in table.to_pylist():
            plan_key = (p["rule_code"], p["period"], p["stratum"])
            Purpose.objects.create(
                task_id=p["task_id"], key=p["key"], rule_code=p["rule_code"], rule_id=p["rule_id"],
                plan_id=plan_ids.get(plan_key), policy_version=ev.version, business_date=p["business_date"],
                due_date=p["due_date"], cap_exempt=p["cap_exempt"], facts=p["facts"],
            )  # fmt: skip
            what = TaskEventKind.CREATED if p["task_id"] in new else TaskEventKind.PURPOSE_ADDED
            detail = json.dumps({"rule": p["rule_code"], "key": p["key"]}, ensure_ascii=False)
            event = TaskEvent.objects.create(run=None, task_id=p["task_id"], event=what, detail=detail,
                                             business_date=day, at=at, actor=actor)  # fmt: skip
            event_ids.append(event.pk)
    return event_ids, touched


def _write_plans(ev: Evaluator) -> dict[tuple[str, str, str], int]:
    """The day's plan of each rule and stratum (100 %: population = required = sampled)."""
    counts = ("population", "required", "sampled", "skipped_at_cap", "as_of")
    ids = {}
    for p in ev.batch.plans:
        if p["id"] is None:
            fields = {k: v for k, v in p.items() if k != "id"}
            p["id"] = Plan.objects.create(**fields).pk
        else:
            Plan.objects.filter(pk=p["id"]).update(**{k: p[k] for k in counts})
        ids[(p["rule_code"], p["period"], p["stratum"])] = p["id"]
    return ids


# ---------------------------------------------------------------- assignment


def _assign(touched: set[int], rules: services.Constraints, day: dt.date, actor: str) -> list[int]:
    """Assign the event's unassigned tasks as the nightly run does: least-loaded eligible staff.

    The choice is the nightly run's (``services._choose`` over the unit's agents, CON-6);
    ``services.task_assign`` re-checks recusal and independence (CON-1, CON-2) and
    stores the proof. A task nobody may hold is flagged with the reason and one
    ``unassigned`` event (returned, for the change set), never dropped.
    """
    todo: list[dict[str, Any]] = [dict(row) for row in Task.objects.filter(
        pk__in=touched, assignee__isnull=True).order_by("due_date", "id").values("id", "client_id", "target_staff_id", "level", "kind", "branch_id", "assignee_id",
                        "unassigned_reason")]  # fmt: skip
    if not todo:
        return []
    units = services._staff_by_unit(day)
    event_ids = []
    for task in todo:
        unit = services.CALL_CENTER if task["level"] == Level.COMPANY else task["branch_id"]
        candidates = units.get(unit, [])
        loads = dict(Task.objects.open().filter(assignee_id__in=[s.staff_id for s in candidates])
                     .values_list("assignee_id").annotate(n=Count("id")))  # fmt: skip
        client = Client.objects.get(pk=task["client_id"])
        chosen, _proof, refused = services._choose(
            task, candidates, loads, services._relations(client), rules, day
        )
        if chosen is not None:
            services.task_assign(task=Task.objects.get(pk=task["id"]),
                                 agent=Staff.objects.get(pk=chosen), actor=actor)  # fmt: skip
            continue
        reason = services._unassigned_reason(task, refused)
        Task.objects.filter(pk=task["id"]).update(unassigned_reason=reason)
        detail = json.dumps(
            {"reason": reason, "previous": None, "refused": refused}, ensure_ascii=False
        )
        event = TaskEvent.objects.create(run=None, task_id=task["id"], event=TaskEventKind.UNASSIGNED,
                                         detail=detail, business_date=day, at=clock.now(), actor=actor)  # fmt: skip
        event_ids.append(event.pk)
    return event_ids


# ---------------------------------------------------------------- the answer


def _tasks_of(event_id: str, specs: list[RuleSpec]) -> list[PostedTask]:
    """The tasks serving this event's purposes (``<rule>:<event_id>``), by task id."""
    keys = [f"{s.code}:{event_id}" for s in specs]
    task_ids = set(Purpose.objects.filter(key__in=keys).values_list("task_id", flat=True))
    found = []
    for task in Task.objects.filter(pk__in=task_ids).prefetch_related("purposes").order_by("id"):
        purposes = [
            {"rule_id": p.rule_id, "rule_code": p.rule_code, "key": p.key, "due_date": p.due_date}
            for p in sorted(task.purposes.all(), key=lambda p: p.key)
        ]
        found.append(PostedTask(task.pk, task.level, task.kind, task.status, task.due_date,
                                task.assignee_id, task.unassigned_reason, purposes))  # fmt: skip
    return found
