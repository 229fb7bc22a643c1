"""Every state change of callbacks: the nightly run and the assignment (SPEC §4, §12, CON-1..8).

``task_assign`` is the one way a task gets an agent, whoever calls it (nightly run,
UI, later API and bulk): it refuses recusal (CON-1) and independence (CON-2)
conflicts and the wrong unit (CON-6), and stores the recusal proof — the relations
checked and found absent — in the task's append-only history.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q

from huifang.audit import chain
from huifang.audit.services import CHANGESETS, audit_record
from huifang.calendars.service import require_years
from huifang.callbacks import population
from huifang.callbacks.choices import (
    OPEN_STATUSES,
    Level,
    RunStatus,
    TaskEventKind,
    TaskKind,
    TaskStatus,
)
from huifang.callbacks.engine import Evaluator, RuleSummary, rule_specs
from huifang.callbacks.followups import follow_ups_note
from huifang.callbacks.models import NightlyRun, Plan, PlanEntry, Purpose, Task, TaskEvent
from huifang.callbacks.population_people import STAFF_PREFIX
from huifang.callbacks.rules import (
    Entry,
    Relations,
    cumulative_draw,
    independence_conflicts,
    quarter_label,
    recusal_conflicts,
    required_count,
    sample_seed,
)
from huifang.clients.models import Client
from huifang.core import bulk, clock, duck
from huifang.core.crashpoints import crashpoint
from huifang.org.choices import Position, UnitKind
from huifang.org.models import Staff
from huifang.policy import kinds
from huifang.policy.models import PolicyVersion
from huifang.policy.selectors import rule_params, version_in_force

LOCK = 0x63616C6C  # "call": one nightly run writes at a time
Progress = Callable[[str], None]


class AssignmentRefused(ValueError):
    """The agent may not hold this task (CON-1, CON-2, CON-6); ``reasons`` say why."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(reasons))


class RunOutOfOrder(RuntimeError):
    """§12: dates run in non-decreasing order."""


# ---------------------------------------------------------------- constraints


@dataclass(frozen=True)
class Constraints:
    """CON-1, CON-2, CON-3 of the version in force."""

    version: PolicyVersion
    recusal: kinds.Recusal
    independence: kinds.Independence
    cap: kinds.QuarterlyCap

    @classmethod
    def of(cls, version: PolicyVersion) -> Constraints:
        recusal = rule_params(version, "CON-1") or kinds.Recusal(
            relations=["introducer", "broker", "adviser"]
        )
        independence = rule_params(version, "CON-2") or kinds.Independence(
            barred_positions=["marketing", "broker", "adviser"],
            barred_for_broker_clients=["marketing", "broker", "adviser", "service"],
        )
        cap = rule_params(version, "CON-3") or kinds.QuarterlyCap(max_per_quarter=2)
        assert isinstance(recusal, kinds.Recusal) and isinstance(independence, kinds.Independence)
        assert isinstance(cap, kinds.QuarterlyCap)
        return cls(version, recusal, independence, cap)


@dataclass(frozen=True)
class StaffFacts:
    staff_id: str
    unit_id: str
    unit_kind: str
    position: str
    client_id: str | None
    leave_date: dt.date | None


def assignment_problems(
    *,
    task: Task | dict[str, Any],
    staff: StaffFacts,
    rel: Relations,
    rules: Constraints,
    on: dt.date,
) -> tuple[list[str], dict[str, Any]]:
    """Why ``staff`` may not hold the task (empty: he may), and the proof of what was checked."""
    get = task.get if isinstance(task, dict) else lambda name: getattr(task, name)
    level, kind, branch = str(get("level")), str(get("kind")), str(get("branch_id"))
    problems = [f"CON-1 recusal: {r}" for r in recusal_conflicts(
        rel, staff_id=staff.staff_id, staff_client_id=staff.client_id, relations=rules.recusal.relations)]  # fmt: skip
    problems += [f"CON-2 independence: {r}" for r in independence_conflicts(
        position=staff.position, kind=kind, broker_client=rel.broker_client,
        barred=rules.independence.barred_positions,
        barred_for_broker_clients=rules.independence.barred_for_broker_clients)]  # fmt: skip
    if get("target_staff_id") is not None and get("target_staff_id") == staff.staff_id:
        problems.append("CON-1 recusal: the callback's target is the staff member himself")
    wanted = Position.SERVICE if kind == TaskKind.SERVICE else Position.AGENT
    if staff.position != wanted:
        problems.append(f"pool: position {staff.position}, needs {wanted}")
    if level == Level.COMPANY and staff.unit_kind != UnitKind.CALL_CENTER:
        problems.append(f"CON-6: company task, {staff.unit_id} is not the call center")
    if level == Level.BRANCH and staff.unit_id != branch:
        problems.append(f"CON-6: branch task of {branch}, staff of {staff.unit_id}")
    if staff.leave_date is not None and staff.leave_date <= on:
        problems.append(f"staff left on {staff.leave_date}")
    proof = {
        "staff_id": staff.staff_id,
        "position": staff.position,
        "unit": staff.unit_id,
        "relations_checked": {name: getattr(rel, name) for name in rules.recusal.relations},
        "staff_is_client": staff.client_id,
        "broker_client": rel.broker_client,
        "barred_positions": list(rules.independence.barred_positions),
        "barred_for_broker_clients": list(rules.independence.barred_for_broker_clients),
        "found": problems,
        "policy_version": rules.version.number,
    }
    return problems, proof


def _staff_facts(staff: Staff) -> StaffFacts:
    return StaffFacts(staff.pk, staff.unit_id, staff.unit.unit_kind, staff.position, staff.client_id,
                      staff.leave_date)  # fmt: skip


def _relations(client: Client | None) -> Relations:
    if client is None:  # a broker callback (BRK-4) targets staff, not a client
        return Relations("", None, None, None)
    return Relations(client.pk, client.introducer_id, client.broker_id, client.adviser_id)


def task_assign(*, task: Task, agent: Staff, actor: str) -> TaskEvent:
    """Assign ``task`` to ``agent`` after the CON-1/CON-2/CON-6 checks; stores the recusal proof."""
    day = clock.today()
    rules = Constraints.of(version_in_force(on=day))
    with transaction.atomic():
        task = Task.objects.select_for_update().get(pk=task.pk)
        problems, proof = assignment_problems(
            task=task, staff=_staff_facts(agent), rel=_relations(task.client), rules=rules, on=day
        )
        if problems:
            raise AssignmentRefused(problems)
        before = {"assignee": task.assignee_id, "status": task.status}
        Task.objects.filter(pk=task.pk).update(
            assignee=agent, status=TaskStatus.ASSIGNED, unassigned_reason=""
        )
        event = TaskEvent.objects.create(
            task=task, event=TaskEventKind.ASSIGNED, staff=agent, detail=json.dumps(proof, ensure_ascii=False),
            business_date=day, at=clock.now(), actor=actor,
        )  # fmt: skip
        audit_record(
            action="callbacks.task_assign", object_type="callbacks.Task", object_id=str(task.pk),
            branch_code=task.branch_id, before=before,
            after={"assignee": agent.pk, "status": TaskStatus.ASSIGNED, "proof": proof},
        )  # fmt: skip
    return event


# ---------------------------------------------------------------- the nightly run


@dataclass
class RunOutcome:
    run: NightlyRun | None
    summary: dict[str, dict[str, int]] = field(default_factory=dict)
    already: bool = False


def required_years(day: dt.date) -> list[int]:
    """Deadlines reach up to ~10 working days (and the week's end + 7) past the date."""
    return sorted({day.year, (day + dt.timedelta(days=45)).year})


def nightly_run(*, day: dt.date, actor: str, progress: Progress = lambda _m: None) -> RunOutcome:
    """Rules, plans, tasks and assignment for ``day`` (§12); idempotent, all or nothing."""
    require_years(required_years(day))
    version = version_in_force(on=day)
    done = NightlyRun.objects.filter(business_date=day, status=RunStatus.DONE).first()
    if done is not None:
        progress(f"{day}: already run (run {done.pk}); nothing to do")
        return RunOutcome(done, done.summary, already=True)
    later = NightlyRun.objects.filter(business_date__gt=day).order_by("-business_date").first()
    if later is not None:
        raise RunOutOfOrder(
            f"{day} is before {later.business_date}, already run: dates run in order (§12)"
        )
    rules = Constraints.of(version)
    scratch = Path(settings.DATA_DIR) / "tmp" / "callbacks"
    scratch.mkdir(parents=True, exist_ok=True)
    con = duck.connect(scratch)
    try:
        with transaction.atomic():
            _lock()
            run = NightlyRun.objects.create(
                business_date=day,
                status=RunStatus.RUNNING,
                policy_version=version,
                started_at=clock.now(),
            )
            summary = _evaluate(con, run, rules, progress)
            crashpoint("run_written")
            summary_assign = _assign_all(run, rules, progress)
            for code, n in summary_assign.items():
                summary.setdefault(code, RuleSummary()).unassigned += n
            overdue = _overdue(run, progress)
            out = {code: s.as_dict() for code, s in summary.items()}
            NightlyRun.objects.filter(pk=run.pk).update(
                status=RunStatus.DONE, finished_at=clock.now(), summary=out
            )
            audit_record(
                action="callbacks.nightly_run", object_type="callbacks.NightlyRun", object_id=str(run.pk),
                after={"business_date": day, "policy_version": version.number, "summary": out,
                       "overdue_marked": overdue},
                changeset=("callbacks.TaskEvent", {"run_id": run.pk}),
                changeset_digest=_events_digest(run),
            )  # fmt: skip
            crashpoint("run_before_commit")
    finally:
        con.close()
    run.refresh_from_db()
    return RunOutcome(run, out)


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])


def _evaluate(
    con: Any, run: NightlyRun, rules: Constraints, progress: Progress
) -> dict[str, RuleSummary]:
    day = run.business_date
    quarter = quarter_label(day)
    population.load_state(
        con, Path(settings.ARCHIVE_DIR), day, Path(settings.DATA_DIR) / "state" / "clients"
    )
    _state_tables(con, quarter)
    specs = rule_specs(rules.version, set(rules.cap.exempt_rules))
    plans: dict[tuple[str, str, str], dict[str, Any]] = {(p["rule_code"], p["period"], p["stratum"]): dict(p) for p in Plan.objects.filter(
        as_of__gte=day - dt.timedelta(days=400)).values()}  # fmt: skip
    evaluator = Evaluator(
        con, root=Path(settings.ARCHIVE_DIR), day=day, version=rules.version,
        max_per_quarter=rules.cap.max_per_quarter, next_task_id=_reserve_task_ids, plans=plans,
        open_tasks=_open_tasks, state_dir=Path(settings.DATA_DIR) / "state" / "plans",
    )  # fmt: skip
    for spec in specs:
        evaluator.evaluate(spec, progress)
    _write(con, run, evaluator, quarter)
    evaluator.save_plan_guards()
    follow_ups_note(
        con=con, root=Path(settings.ARCHIVE_DIR), day=day, version=rules.version, progress=progress
    )
    return evaluator.batch.summary


OPEN_SCHEMA = pa.schema([("task_id", pa.int64()), ("client_id", pa.string()), ("level", pa.string()),
                         ("kind", pa.string()), ("branch_code", pa.string()), ("due", pa.date32()),
                         ("counts", pa.bool_())])  # fmt: skip


def _state_tables(con: Any, quarter: str) -> None:
    """``capc`` from the database, as Arrow; ``open_t``, ``open_seen`` and ``done_keys`` start empty.

    ``open_t`` (open tasks, CON-4) is filled per drawn client by the evaluator
    (``Evaluator._ensure_open`` with ``_open_tasks``). A task whose target is a staff
    member (BRK-4) is ``'S:' || target_staff_id`` in ``open_t.client_id``
    (``population_people.STAFF_PREFIX``); the stored classes (``klass``) are loaded per
    standard when a rule needs them (``population_people.load_classes``).
    """
    task = Task._meta.db_table
    caps = bulk.fetch_typed(
        f'SELECT client_id, count(*) FROM "{task}" WHERE quarter = %s AND counts_to_cap '
        "AND client_id IS NOT NULL GROUP BY client_id",
        [quarter], schema=pa.schema([("client_id", pa.string()), ("n", pa.int64())]),
    )  # fmt: skip
    # purposes already written: looked up for each rule's candidates (``Evaluator._full``)
    keys = pa.table({"key": pa.array([], pa.string())})
    for name, table, schema in (
        ("open_t", OPEN_SCHEMA.empty_table(), "task_id BIGINT, client_id VARCHAR, level VARCHAR, kind VARCHAR, "
         "branch_code VARCHAR, due DATE, counts BOOLEAN, cap_exception BOOLEAN, cap_reason VARCHAR, "
         "new BOOLEAN, changed BOOLEAN, opens_at TIMESTAMPTZ, orig_due DATE, orig_counts BOOLEAN"),
        ("open_seen", pa.table({"client_id": pa.array([], pa.string())}), "client_id VARCHAR"),
        ("capc", caps, "client_id VARCHAR, n BIGINT"),
        ("done_keys", keys, "key VARCHAR"),
    ):  # fmt: skip
        duck.run(con, f"CREATE OR REPLACE TEMP TABLE {name} ({schema})")
        if table.num_rows:
            con.register("state_arrow", table)
            cols = ", ".join(table.column_names)
            duck.run(con, f"INSERT INTO {name} ({cols}) SELECT {cols} FROM state_arrow")
            con.unregister("state_arrow")


def _open_tasks(targets: pa.Array | None) -> pa.Table:
    """The open tasks (``OPEN_SCHEMA``) of ``targets`` (client ids, or ``'S:' || staff id`` for
    a staff target), or of everyone with ``None``."""
    task = Task._meta.db_table
    statuses = ", ".join(f"'{s}'" for s in OPEN_STATUSES)
    columns = (
        "SELECT t.id, coalesce(t.client_id, %s || t.target_staff_id), t.level, t.kind, t.branch_id, "
        "t.due_date, t.counts_to_cap"
    )
    select = f'{columns} FROM "{task}" t'
    if targets is None:
        return bulk.fetch_typed(
            f"{select} WHERE t.status IN ({statuses})", [STAFF_PREFIX], schema=OPEN_SCHEMA
        )
    staff = pc.starts_with(targets, STAFF_PREFIX)
    found = []
    for keys, column in (
        (pc.filter(targets, pc.invert(staff)), "client_id"),
        (pc.utf8_slice_codeunits(pc.filter(targets, staff), len(STAFF_PREFIX)), "target_staff_id"),
    ):
        if not len(keys):
            continue
        if connection.vendor == "postgresql":
            # one index probe per key: a plain join lets the planner, misled by the statistics of
            # a freshly loaded task table, scan every open task instead (1.2 s a rule at 10M clients);
            # OFFSET 0 keeps the lateral subquery from being flattened into that join
            sql = (
                f"{columns} FROM _bulk_keys k CROSS JOIN LATERAL "
                f'(SELECT * FROM "{task}" t WHERE t.{column} = k.k AND t.status IN ({statuses}) '
                "OFFSET 0) t"
            )
        else:
            sql = f"{select} JOIN _bulk_keys k ON t.{column} = k.k WHERE t.status IN ({statuses})"
        with bulk.staged_keys(keys):
            found.append(bulk.fetch_typed(sql, [STAFF_PREFIX], schema=OPEN_SCHEMA))
    return pa.concat_tables(found) if found else OPEN_SCHEMA.empty_table()


def _reserve_task_ids(n: int) -> int:
    return bulk.reserve_ids(Task._meta.db_table, n)


def _executemany(sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


def _write(con: Any, run: NightlyRun, ev: Evaluator, quarter: str) -> None:
    """Plans, entries, tasks, purposes and their events, through the bulk writer."""
    day, batch = run.business_date, ev.batch
    new_plans = [p for p in batch.plans if p["id"] is None]
    first = bulk.reserve_ids(Plan._meta.db_table, len(new_plans))
    for offset, plan in enumerate(new_plans):
        plan["id"] = first + offset
    plan_cols = ["id", "rule_code", "rule_id", "period", "period_start", "period_end", "stratum", "branch_id",
                 "level", "population", "required", "sampled", "skipped_at_cap", "seed", "policy_version_id",
                 "as_of"]  # fmt: skip
    if new_plans:
        counts = {"population", "required", "sampled", "skipped_at_cap"}
        table = pa.table({c: pa.array([p[c] for p in new_plans], pa.int32() if c in counts else None)
                          for c in plan_cols})  # fmt: skip
        table = table.append_column("share", pa.array([str(p["share"]) for p in new_plans]))
        bulk.insert(Plan._meta.db_table, table)
    known = [p for p in batch.plans if p["id"] is not None and p not in new_plans]
    if known:  # one staged UPDATE for every known plan (hundreds of strata a night)
        counted = ("population", "required", "sampled", "skipped_at_cap")
        bulk.update(Plan._meta.db_table, pa.table({
            "id": pa.array([p["id"] for p in known], pa.int64()),
            **{c: pa.array([p[c] for p in known], pa.int32()) for c in counted},
            "as_of": pa.array([p["as_of"] for p in known], pa.date32()),
        }), key=["id"])  # fmt: skip
    plan_ids = pa.table({
        "plan_key": [f"{p['rule_code']}|{p['period']}|{p['stratum']}" for p in batch.plans],
        "plan_id": pa.array([p["id"] for p in batch.plans], pa.int64()),
    })  # fmt: skip
    con.register("plan_ids", plan_ids)
    if batch.entries:
        con.register("entries_arrow", pa.concat_tables(batch.entries))
        entries = duck.table(con, """
            SELECT i.plan_id, e.client_id, CAST(? AS DATE) AS added_on, e.sampled, e.sampled_on, e.skipped_at_cap
            FROM entries_arrow e JOIN plan_ids i USING (plan_key)
            WHERE e.new OR e.sampled_on IS NOT NULL OR e.skipped_first""", [day])  # fmt: skip
        bulk.upsert(PlanEntry._meta.db_table, entries, key=["plan_id", "client_id"],
                    update=["sampled", "sampled_on", "skipped_at_cap"])  # fmt: skip
    # a staff target (BRK-4) is written as target_staff with no client (population_people)
    tasks = duck.table(con, """
        SELECT task_id AS id, CASE WHEN starts_with(client_id, ?) THEN NULL ELSE client_id END AS client_id,
               CASE WHEN starts_with(client_id, ?) THEN substr(client_id, ?) END AS target_staff_id,
               branch_code AS branch_id, level, kind, 'open' AS status, due AS due_date,
               CAST(? AS DATE) AS created_on, ? AS quarter, counts AS counts_to_cap, cap_exception, cap_reason,
               '' AS unassigned_reason, CAST(? AS BIGINT) AS run_id,
               CAST(opens_at AT TIME ZONE 'UTC' AS TIMESTAMP) AS opens_at
        FROM open_t WHERE new ORDER BY task_id""",
        [STAFF_PREFIX, STAFF_PREFIX, len(STAFF_PREFIX) + 1, day, quarter, run.pk])  # fmt: skip
    if tasks.column("opens_at").null_count == tasks.num_rows:  # keeps PostgreSQL's binary COPY
        tasks = tasks.drop_columns(["opens_at"])
    bulk.insert(Task._meta.db_table, tasks)
    changed = duck.table(
        con, "SELECT task_id AS id, due AS due_date, counts AS counts_to_cap FROM open_t "
        "WHERE changed AND NOT new AND (due IS DISTINCT FROM orig_due OR counts IS DISTINCT FROM orig_counts) "
        "ORDER BY task_id",
    )  # fmt: skip
    bulk.update(Task._meta.db_table, changed, key=["id"])
    # a merged cooling-off (PROD-*) moves opens_at later, never earlier; UTC without a zone, as stored
    opens = con.sql("SELECT CAST(opens_at AT TIME ZONE 'UTC' AS TIMESTAMP) AS t, task_id FROM open_t "
                    "WHERE changed AND NOT new AND opens_at IS NOT NULL").fetchall()  # fmt: skip
    _executemany(f'UPDATE "{Task._meta.db_table}" SET opens_at = %s WHERE id = %s AND (opens_at IS NULL OR opens_at < %s)',
                 [(t, task_id, t) for t, task_id in opens])  # fmt: skip
    if batch.purposes:
        con.register("purposes_arrow", pa.concat_tables(batch.purposes))
        purposes = duck.table(con, """
            SELECT p.task_id, p.key, p.rule_code, p.rule_id, i.plan_id, CAST(? AS BIGINT) AS policy_version_id,
                   p.business_date, p.due_date, p.cap_exempt, p.facts
            FROM purposes_arrow p LEFT JOIN plan_ids i ON i.plan_key = p.rule_code || '|' || p.period || '|' || p.stratum
            ORDER BY p.task_id, p.key""", [ev.version.pk])  # fmt: skip
        bulk.insert(Purpose._meta.db_table, purposes)
        events = duck.table(con, """
            SELECT CAST(? AS BIGINT) AS run_id, p.task_id,
                   CASE WHEN o.new THEN 'created' ELSE 'purpose_added' END AS event,
                   json_object('rule', p.rule_code, 'key', p.key)::VARCHAR AS detail
            FROM purposes_arrow p JOIN open_t o USING (task_id) ORDER BY p.task_id, p.key""", [run.pk])  # fmt: skip
        _events(events, day)


def _events(events: pa.Table, day: dt.date, staff: list[str | None] | None = None) -> None:
    n = events.num_rows
    at = clock.now().astimezone(dt.UTC)
    events = events.append_column("staff_id", pa.array(staff or [None] * n, pa.string()))
    events = events.append_column("business_date", pa.array([day] * n, pa.date32()))
    events = events.append_column("at", pa.array([at] * n, pa.timestamp("us", tz="UTC")))
    events = events.append_column("actor", pa.array(["system:run"] * n, pa.string()))
    bulk.insert(TaskEvent._meta.db_table, events)


# the Arrow type of each column of the task events' change set (``callbacks.apps``)
EVENT_TYPES = {"id": pa.int64(), "run_id": pa.int64(), "task_id": pa.int64(), "event": pa.string(),
               "staff_id": pa.string(), "detail": pa.string(), "business_date": pa.date32(),
               "actor": pa.string()}  # fmt: skip


def _events_digest(run: NightlyRun) -> tuple[str, int]:
    """The run's change set hashed set-wise (``chain.changeset_hash_arrow``): the same SHA-256
    as ``audit verify``'s row-by-row re-read (NFR-2), for hundreds of thousands of events."""
    names = CHANGESETS["callbacks.TaskEvent"].columns
    columns = ", ".join(f'"{c}"' for c in names)
    rows = bulk.fetch_typed(
        f'SELECT {columns} FROM "{TaskEvent._meta.db_table}" WHERE run_id = %s ORDER BY id',
        [run.pk], schema=pa.schema([(c, EVENT_TYPES[c]) for c in names]),
    )  # fmt: skip
    return chain.changeset_hash_arrow(rows)


def _overdue(run: NightlyRun, progress: Progress) -> int:
    """§12 overdue marks: an open task due before the business date is marked once.

    ``overdue_since`` is the first business date the run saw it overdue, and one
    ``overdue`` event joins the run's change set; a task already marked is left alone,
    so re-running (or running the next date) adds nothing.
    """
    day = run.business_date
    late = Task.objects.open().filter(due_date__lt=day, overdue_since__isnull=True)
    rows = list(late.order_by("id").values_list("id", "due_date"))
    if not rows:
        return 0
    late.update(overdue_since=day)
    details = [
        json.dumps({"due_date": due.isoformat(), "overdue_since": day.isoformat()})
        for _, due in rows
    ]
    _events(pa.table({
        "run_id": pa.array([run.pk] * len(rows), pa.int64()),
        "task_id": pa.array([pk for pk, _ in rows], pa.int64()),
        "event": pa.array([str(TaskEventKind.OVERDUE)] * len(rows), pa.string()),
        "detail": pa.array(details, pa.string()),
    }), day)  # fmt: skip
    progress(f"overdue: {len(rows):,} task(s) marked")
    return len(rows)


# ---------------------------------------------------------------- plan redraw


class PlanUnknown(LookupError):
    """``plan redraw``: no plan has this id."""


@dataclass(frozen=True)
class Redraw:
    """A plan's draw replayed from its stored members (CON-7, CON-8) against the stored sample."""

    plan: Plan
    seed: str  # the seed the plan's policy version, rule and period give (CON-7)
    entries: int
    required: int
    drawn: dict[str, dt.date]  # replayed: client → day drawn
    stored: dict[str, dt.date | None]  # stored sample: client → ``sampled_on``

    @property
    def drawn_not_stored(self) -> list[str]:
        return sorted(set(self.drawn) - set(self.stored))

    @property
    def stored_not_drawn(self) -> list[str]:
        return sorted(set(self.stored) - set(self.drawn))

    @property
    def seed_differs(self) -> bool:
        return self.seed != self.plan.seed

    @property
    def same(self) -> bool:
        return not (self.drawn_not_stored or self.stored_not_drawn or self.seed_differs)


def plan_redraw(*, plan_id: int) -> Redraw:
    """CON-7, CON-8: re-draw a plan's sample from its stored members and compare; audited.

    The members (``PlanEntry``: day joined, skipped at the cap, day drawn) are replayed
    by ``rules.cumulative_draw`` with the plan's seed and share. The seed is also
    derived again from the plan's policy version, rule and period. The comparison is
    a compliance check, so its outcome goes to the audit trail.
    """
    plan = Plan.objects.select_related("policy_version").filter(pk=plan_id).first()
    if plan is None:
        raise PlanUnknown(f"no plan {plan_id}")
    rows = list(PlanEntry.objects.filter(plan=plan).values_list(
        "client_id", "added_on", "skipped_at_cap", "sampled", "sampled_on"))  # fmt: skip
    entries = [Entry(c, added, skipped, on) for c, added, skipped, _sampled, on in rows]
    drawn = cumulative_draw(entries, plan.share, plan.seed)
    result = Redraw(
        plan=plan, seed=sample_seed(plan.policy_version.number, plan.rule_code, plan.period),
        entries=len(entries), required=required_count(plan.share, len(entries)), drawn=drawn,
        stored={c: on for c, _added, _skipped, sampled, on in rows if sampled},
    )  # fmt: skip
    audit_record(
        action="callbacks.plan_redraw", object_type="callbacks.Plan", object_id=str(plan.pk),
        branch_code=plan.branch_id or "",
        after={"same": result.same, "seed_differs": result.seed_differs, "entries": result.entries,
               "drawn": len(drawn), "stored": len(result.stored),
               "drawn_not_stored": result.drawn_not_stored, "stored_not_drawn": result.stored_not_drawn},
    )  # fmt: skip
    return result


# ---------------------------------------------------------------- assignment


def _assign_all(run: NightlyRun, rules: Constraints, progress: Progress) -> dict[str, int]:
    """Assign new and unassigned open tasks, reassign leavers' (CON-1, CON-2, CON-6), balanced.

    Each task goes to the least-loaded eligible staff member of its unit (open tasks,
    ties by staff id); a task nobody may hold is flagged with the reason and an
    ``unassigned`` event (once, not every night) and counted in the summary under
    the rule that created it — never dropped. Returns those counts by rule code.
    """
    day = run.business_date
    todo = _assignment_todo(day)
    if not todo:
        return {}
    units = _staff_by_unit(day)
    loads: dict[str, int] = dict(
        Task.objects.open()
        .filter(assignee__isnull=False)
        .values_list("assignee_id")
        .annotate(n=Count("id"))
    )
    clients = {c["client_id"]: c for c in bulk.fetch_by_keys(
        Client._meta.db_table, "client_id", pa.array(sorted({t["client_id"] for t in todo if t["client_id"]}), pa.string()),
        ["client_id", "introducer_id", "broker_id", "adviser_id"]).to_pylist()}  # fmt: skip
    updates: list[tuple[str | None, str, str, int]] = []
    event_rows: list[tuple[int, str, str]] = []
    staff_ids: list[str | None] = []
    nobody: list[int] = []  # tasks nobody may hold: counted under their first rule below
    for task in todo:
        c = clients.get(task["client_id"], {})
        rel = Relations(
            task["client_id"] or "", c.get("introducer_id"), c.get("broker_id"), c.get("adviser_id")
        )
        candidates = units.get(
            CALL_CENTER if task["level"] == Level.COMPANY else task["branch_id"], []
        )
        chosen, proof, refused = _choose(task, candidates, loads, rel, rules, day)
        if chosen is None:
            nobody.append(task["id"])
            reason = _unassigned_reason(task, refused)
            if task["unassigned_reason"] != reason or task["assignee_id"]:
                updates.append((None, TaskStatus.OPEN, reason, task["id"]))
                detail = {"reason": reason, "previous": task["assignee_id"], "refused": refused}
                event_rows.append(
                    (task["id"], TaskEventKind.UNASSIGNED, json.dumps(detail, ensure_ascii=False))
                )
                staff_ids.append(None)
            continue
        loads[chosen] = loads.get(chosen, 0) + 1
        kind = TaskEventKind.REASSIGNED if task["assignee_id"] else TaskEventKind.ASSIGNED
        proof["previous"] = task["assignee_id"]
        updates.append((chosen, TaskStatus.ASSIGNED, "", task["id"]))
        event_rows.append((task["id"], kind, json.dumps(proof, ensure_ascii=False)))
        staff_ids.append(chosen)
    if updates:  # one staged UPDATE (an assignment-heavy night changes tens of thousands)
        bulk.update(Task._meta.db_table, pa.table({
            "assignee_id": pa.array([u[0] for u in updates], pa.string()),
            "status": pa.array([str(u[1]) for u in updates], pa.string()),
            "unassigned_reason": pa.array([u[2] for u in updates], pa.string()),
            "id": pa.array([u[3] for u in updates], pa.int64()),
        }), key=["id"])  # fmt: skip
    if event_rows:
        _events(pa.table({
            "run_id": pa.array([run.pk] * len(event_rows), pa.int64()),
            "task_id": pa.array([r[0] for r in event_rows], pa.int64()),
            "event": pa.array([str(r[1]) for r in event_rows], pa.string()),
            "detail": pa.array([r[2] for r in event_rows], pa.string()),
        }), day, staff_ids)  # fmt: skip
    first_rule: dict[int, str] = {}
    for task_id, rule_code in (
        Purpose.objects.filter(task_id__in=nobody)
        .order_by("id")
        .values_list("task_id", "rule_code")
    ):
        first_rule.setdefault(task_id, rule_code)
    unassigned: dict[str, int] = {}
    for task_id in nobody:
        rule = first_rule.get(task_id, "")
        unassigned[rule] = unassigned.get(rule, 0) + 1
    progress(f"assignment: {len(updates)} task(s) changed, {sum(unassigned.values())} unassigned")
    return unassigned


CALL_CENTER = ":call_center"  # the key of the call-center staff in ``_staff_by_unit``


def _assignment_todo(day: dt.date) -> list[dict[str, Any]]:
    """Open tasks without an assignee or whose assignee has left by ``day``, most urgent first.

    Two queries, each on the (assignee, status) index, instead of one ``OR`` across the
    staff join that reads every task row (issue 6).
    """
    leavers = Staff.objects.filter(leave_date__lte=day).values("staff_id")
    rows = [
        dict(row)
        for wanted in (Q(assignee__isnull=True), Q(assignee_id__in=leavers))
        for row in Task.objects.open().filter(wanted)
        .values("id", "client_id", "target_staff_id", "level", "kind", "branch_id", "assignee_id",
                "unassigned_reason", "due_date")
    ]  # fmt: skip
    rows.sort(key=lambda row: (row["due_date"], row["id"]))
    return rows


def _staff_by_unit(day: dt.date) -> dict[str, list[StaffFacts]]:
    """Agents and service staff in office on ``day`` by unit; call-center staff also together (CON-6)."""
    units: dict[str, list[StaffFacts]] = {}
    for s in (
        Staff.objects.filter(position__in=[Position.AGENT, Position.SERVICE])
        .filter(Q(leave_date__isnull=True) | Q(leave_date__gt=day))
        .values("staff_id", "unit_id", "unit__unit_kind", "position", "client_id", "leave_date")
        .order_by("staff_id")
    ):
        facts = StaffFacts(s["staff_id"], s["unit_id"], s["unit__unit_kind"], s["position"],
                           s["client_id"], s["leave_date"])  # fmt: skip
        units.setdefault(facts.unit_id, []).append(facts)
        if facts.unit_kind == UnitKind.CALL_CENTER:
            units.setdefault(CALL_CENTER, []).append(facts)
    return units


def _choose(
    task: dict[str, Any], candidates: list[StaffFacts], loads: dict[str, int], rel: Relations,
    rules: Constraints, day: dt.date,
) -> tuple[str | None, dict[str, Any], dict[str, list[str]]]:  # fmt: skip
    """The least-loaded candidate who may hold the task (ties by staff id), his proof, and who was refused why."""
    refused: dict[str, list[str]] = {}
    for staff in sorted(candidates, key=lambda s: (loads.get(s.staff_id, 0), s.staff_id)):
        problems, proof = assignment_problems(task=task, staff=staff, rel=rel, rules=rules, on=day)
        if not problems:
            return staff.staff_id, proof, refused
        refused[staff.staff_id] = problems
    return None, {}, refused


def _unassigned_reason(task: dict[str, Any], refused: dict[str, list[str]]) -> str:
    """Why nobody may hold the task: nobody of its pool in its unit, or who was refused for what."""
    wanted = "客户服务人员" if task["kind"] == TaskKind.SERVICE else "回访专员"
    unit = "客户服务中心" if task["level"] == Level.COMPANY else f"营业部 {task['branch_id']}"
    pool = {s: p for s, p in sorted(refused.items()) if not any(x.startswith("pool:") for x in p)}
    if not pool:
        return f"{unit}无在岗{wanted} (CON-6)"
    why = "; ".join(f"{s}: {', '.join(p)}" for s, p in pool.items())
    return f"无符合回避与独立性要求的回访人员 (CON-1, CON-2, CON-6) — {why}"
