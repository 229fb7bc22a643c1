"""The batch engine: a rating evaluated in DuckDB, only the changed rows written back.

1. SQL step (DuckDB, in memory): the rated clients and their measures from the
   Parquet archive (``measures.Inputs``), every enabled class standard compiled to
   a ``CASE`` (``compile.rank_sql``).
2. Current state: the stored classes exported from the database as Arrow (the
   whole table for annual and quarterly ratings — on PostgreSQL as blocks of CSV
   text, ``export_table`` — the candidates' rows otherwise).
3. Diff (DuckDB): a row changes when its class differs; upgrade-only ratings
   (quarterly, new accounts, manual: 就高不就低) keep a higher current class.
4. Write-back, in one transaction under a lock: ``ClassChange`` rows (insert) and
   ``ClientClass`` rows (insert new, update existing) through the bulk writer, the
   run row and ONE audit row whose change set is the run's ``ClassChange`` rows
   (CLS-9, NFR-2). The commit is part of the write-back's time.

Only what the DuckDB wheel ships is used (parquet, json): no extension downloads.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, transaction

from huifang.audit import chain
from huifang.audit.services import CHANGESETS, audit_record
from huifang.classification.choices import REASON_OF_KIND, RatingKind
from huifang.classification.compile import rank_sql
from huifang.classification.measures import CONTEXT_COLUMNS, MEASURE_COLUMNS, Inputs, Scope
from huifang.classification.models import ClassificationRun
from huifang.classification.schedule import RatingPeriod
from huifang.core import bulk, clock, duck
from huifang.policy.kinds import ClassStandard
from huifang.policy.models import PolicyVersion

LOCK = 0x636C6173  # "clas": one rating writes at a time
_HASHER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify-digest")
CHANGESET = "classification.ClassChange"
STATE_COLUMNS = ["client_id", "scheme", "class_code", "policy_version_id"]


@dataclass(frozen=True)
class Plan:
    """One rating to run: what, when, under which version and standards."""

    kind: RatingKind
    period: RatingPeriod
    version: PolicyVersion
    standards: dict[str, ClassStandard]
    upgrade_only: bool
    client_id: str | None = None
    branch_code: str = ""


@dataclass
class Outcome:
    """What a run did, and how long each step took (seconds)."""

    run: ClassificationRun
    rated: int
    changed: int
    counts: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


class _Clock:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(self.timings.get(name, 0.0) + now - self._last, 4)
        self._last = now


def run(plan: Plan, *, actor: str) -> Outcome:
    """Evaluate ``plan`` and write back what changed; returns the outcome."""
    laps = _Clock()
    scratch = Path(settings.DATA_DIR) / "tmp" / "classify"
    scratch.mkdir(parents=True, exist_ok=True)
    con = duck.connect(scratch)
    # Rows are ordered where order matters (the write-back sorts by client); elsewhere
    # DuckDB may build tables in parallel without keeping the input order.
    duck.run(con, "SET preserve_insertion_order = false")
    try:
        evaluate(con, plan)
        laps.lap("sql")
        with transaction.atomic():
            _lock()
            started = clock.now()
            con.register("cur_arrow", current_state(con, plan))
            laps.lap("state")
            counts = decide(con, plan)
            laps.lap("diff")
            changes = change_rows(con, plan)
            laps.lap("payload")
            outcome = _write(plan, changes, counts, actor=actor, started=started, laps=laps)
        laps.lap("commit")
        steps = ("payload", "write_history", "write_state", "audit", "commit")
        laps.timings["write"] = round(sum(laps.timings[k] for k in steps), 4)
        outcome.timings = laps.timings
        ClassificationRun.objects.filter(pk=outcome.run.pk).update(timings=laps.timings)
    finally:
        con.close()
    return outcome


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])


def _rank_column(position: int) -> str:
    return f"rank_{position}"


def evaluate(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """The SQL step: ``codes`` and ``measured`` with one rank column per class standard."""
    p = plan.period
    scope = Scope(
        p.rating_date, p.statistical_date, p.commission_year, p.opened_from, plan.client_id
    )
    measures = set().union(*(s.measures() for s in plan.standards.values()))
    ranks = []
    for position, standard in enumerate(plan.standards.values()):
        case, values = rank_sql(standard)
        ranks.append((_rank_column(position), f"({case})::INTEGER", list(values)))
    Inputs(con, Path(settings.ARCHIVE_DIR), scope).build(measures, ranks)
    rows = [
        (scheme, rank, definition.code)
        for scheme, standard in plan.standards.items()
        for rank, definition in enumerate(standard.classes)
    ]
    codes = pa.table(
        {
            "scheme": pa.array([r[0] for r in rows], pa.string()),
            "rank": pa.array([r[1] for r in rows], pa.int32()),
            "code": pa.array([r[2] for r in rows], pa.string()),
        }
    )
    con.register("codes_arrow", codes)
    duck.run(con, "CREATE OR REPLACE TEMP TABLE codes AS SELECT * FROM codes_arrow")


def _result_sql(plan: Plan) -> tuple[str, list[Any]]:
    """(client, scheme, rank) for every standard; rows that cannot change are left out.

    An upgrade-only rating skips clients no class of a standard takes (rank NULL).
    """
    selects, params = [], []
    for position, (scheme, standard) in enumerate(plan.standards.items()):
        column = _rank_column(position)
        open_ended = not standard.classes[-1].any_of  # a class for all others: never NULL
        skip = f" WHERE {column} IS NOT NULL" if plan.upgrade_only and not open_ended else ""
        selects.append(
            f"SELECT client_id, ?::VARCHAR AS scheme, {column} AS rank FROM measured{skip}"
        )
        params.append(scheme)
    if not selects:  # no standard enabled: nobody gets a class
        return (
            "SELECT client_id, NULL::VARCHAR AS scheme, NULL::INTEGER AS rank FROM measured WHERE false",
            [],
        )
    return " UNION ALL ".join(selects), params


def current_state(con: duckdb.DuckDBPyConnection, plan: Plan) -> pa.Table:
    """The stored classes the diff needs, as Arrow (client_id, scheme, class_code, version).

    Upgrade-only ratings never look at the version (``_stale``), so it is left empty.
    """
    from huifang.classification.models import ClientClass

    table = ClientClass._meta.db_table
    columns = STATE_COLUMNS if not plan.upgrade_only else STATE_COLUMNS[:3]
    if plan.client_id is not None:
        rows = ClientClass.objects.filter(client_id=plan.client_id).values_list(*columns)
        return _arrow_state(list(rows))
    if plan.kind == RatingKind.NEW_ACCOUNTS:
        keys = duck.table(con, "SELECT client_id FROM rated").column("client_id")
        if len(keys) == 0:
            return _arrow_state([])
        found = bulk.fetch_by_keys(table, "client_id", keys, columns)
        return _arrow_state(list(zip(*(c.to_pylist() for c in found.columns), strict=True)))
    state = bulk.export_strings(table, columns)
    for name in STATE_COLUMNS[len(columns) :]:
        state = state.append_column(name, pa.repeat(pa.scalar("", pa.string()), state.num_rows))
    return state


_STATE_SCHEMA = pa.schema([(name, pa.string()) for name in STATE_COLUMNS])


def _arrow_state(rows: list[tuple[Any, ...]]) -> pa.Table:
    columns: list[Any] = list(zip(*rows, strict=True)) if rows else [[] for _ in STATE_COLUMNS]
    columns += [[""] * len(rows)] * (len(STATE_COLUMNS) - len(columns))
    return pa.table(
        [pa.array([str(v) for v in c], pa.string()) for c in columns], schema=_STATE_SCHEMA
    )


def _inputs_sql(plan: Plan) -> str:
    """``json_object(…)`` of each client's measures (CLS-9 inputs; the run holds the dates)."""
    wanted = set().union(*(s.measures() for s in plan.standards.values()))
    parts = []
    for measure in sorted(wanted):
        parts.append(f"'{measure}', m.{MEASURE_COLUMNS[measure]}")
        parts += [f"'{extra}', m.{extra}::VARCHAR" for extra in CONTEXT_COLUMNS.get(measure, ())]
    return f"json_object({', '.join(parts)})::VARCHAR" if parts else "'{}'"


def _stale(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """``stale``: (version, scheme) pairs of stored classes set under another standard.

    A class code keeps its meaning only under the same standard: after a change of
    standard (CLS-5) the annual rating rewrites even an unchanged code, so that every
    class cites the version whose standard it meets.
    """
    from huifang.policy.models import Rule
    from huifang.policy.rules import RuleData, standards

    pairs = (
        []
        if plan.upgrade_only
        else con.execute("SELECT DISTINCT policy_version_id, scheme FROM cur_arrow").fetchall()
    )
    stale: list[tuple[int, str]] = []
    for version_id in {int(v) for v, _ in pairs}:
        rules = Rule.objects.filter(version_id=version_id, kind="class_standard")
        theirs = standards(RuleData(r.code, r.kind, r.enabled, r.params) for r in rules)
        stale += [
            (version_id, scheme)
            for v, scheme in pairs
            if int(v) == version_id and theirs.get(scheme) != plan.standards.get(scheme)
        ]
    con.register(
        "stale_arrow",
        pa.table(
            {
                "policy_version_id": pa.array([str(v) for v, _ in stale], pa.string()),
                "scheme": pa.array([s for _, s in stale], pa.string()),
            }
        ),
    )


def decide(con: duckdb.DuckDBPyConnection, plan: Plan) -> dict[str, Any]:
    """``diff``: the rows whose class changes (old and new class); returns the counts."""
    _stale(con, plan)
    if plan.upgrade_only:  # 就高不就低; a code the standard lacks ranks lowest
        changed = "r.rank IS NOT NULL AND (oc.rank IS NULL OR r.rank < oc.rank)"
    else:  # the class resets, and a class set under another standard is set again
        changed = (
            "coalesce(nc.code, '') <> coalesce(cur.class_code, '') "
            "OR (st.scheme IS NOT NULL AND nc.code IS NOT NULL)"
        )
    result, params = _result_sql(plan)
    duck.run(
        con,
        f"CREATE OR REPLACE TEMP TABLE diff AS WITH result AS ({result}) "
        "SELECT r.client_id, r.scheme, "
        "coalesce(cur.class_code, '') AS old_class, coalesce(nc.code, '') AS new_class, "
        "cur.client_id IS NOT NULL AS existing FROM result r "
        "LEFT JOIN cur_arrow cur ON cur.client_id = r.client_id AND cur.scheme = r.scheme "
        "LEFT JOIN codes nc ON nc.scheme = r.scheme AND nc.rank = r.rank "
        "LEFT JOIN codes oc ON oc.scheme = r.scheme AND oc.code = cur.class_code "
        "LEFT JOIN stale_arrow st ON st.policy_version_id = cur.policy_version_id "
        f"AND st.scheme = cur.scheme WHERE {changed}",
        params,
    )
    return _counts(con, plan)


def change_rows(con: duckdb.DuckDBPyConnection, plan: Plan) -> pa.Table:
    """The write-back's rows: each change with its inputs (CLS-9), as Arrow.

    Sorted by client, so that the database meets its index pages in order, not at
    random; the first rating (nothing stored yet) fills empty tables, whose indexes
    the bulk writer builds afterwards, and needs no order.
    """
    empty = con.execute("SELECT count(*) = 0 FROM cur_arrow").fetchall()[0][0]
    order = "" if empty else " ORDER BY d.client_id, d.scheme"
    return duck.table(
        con,
        f"SELECT d.client_id, d.scheme, d.old_class, d.new_class, d.existing, {_inputs_sql(plan)} "
        f"AS inputs FROM diff d JOIN measured m USING (client_id){order}",
    )


def _counts(con: duckdb.DuckDBPyConnection, plan: Plan) -> dict[str, Any]:
    """Rated clients, and per standard how many fell in each class and how many changed."""
    rated = con.execute("SELECT count(*) FROM measured").fetchall()[0][0]
    computed: dict[str, dict[str, int]] = {}
    for position, (scheme, standard) in enumerate(plan.standards.items()):
        column = _rank_column(position)
        rows = con.execute(f"SELECT {column}, count(*) FROM measured GROUP BY ALL ORDER BY ALL")
        computed[scheme] = {
            (standard.classes[rank].code if rank is not None else "-"): n
            for rank, n in rows.fetchall()
        }
    changed: dict[str, dict[str, int]] = {}
    for scheme, code, n in con.execute(
        "SELECT scheme, new_class, count(*) FROM diff GROUP BY ALL ORDER BY ALL"
    ).fetchall():
        changed.setdefault(scheme, {})[code or "-"] = n
    return {"rated": rated, "computed": computed, "changed": changed}


def _repeat(value: Any, n: int, kind: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, kind), n)


def _write(
    plan: Plan,
    changes: pa.Table,
    counts: dict[str, Any],
    *,
    actor: str,
    started: dt.datetime,
    laps: _Clock,
) -> Outcome:
    """Write-back; its laps are ``write_history``, ``write_state`` and ``audit``."""
    from huifang.classification.models import ClassChange, ClientClass

    p = plan.period
    run_row = ClassificationRun.objects.create(
        kind=plan.kind,
        rating_date=p.rating_date,
        statistical_date=p.statistical_date,
        commission_year=p.commission_year,
        period=p.label,
        policy_version=plan.version,
        client_id=plan.client_id,
        actor=actor,
        started_at=started,
    )
    n = changes.num_rows
    reason = str(REASON_OF_KIND[plan.kind])
    common = {
        "run_id": _repeat(run_row.pk, n, pa.int64()),
        "policy_version_id": _repeat(plan.version.pk, n, pa.int64()),
        "reason": _repeat(reason, n, pa.string()),
    }
    first_id = bulk.reserve_ids(ClassChange._meta.db_table, n)
    history = pa.table(
        {
            "id": pa.array(range(first_id, first_id + n), pa.int64()),
            "run_id": common["run_id"],
            "client_id": changes["client_id"],
            "scheme": changes["scheme"],
            "old_class": changes["old_class"],
            "new_class": changes["new_class"],
            "reason": common["reason"],
            "effective_date": _repeat(p.rating_date, n, pa.date32()),
            "policy_version_id": common["policy_version_id"],
            "inputs": changes["inputs"],
        }
    )
    # The change set's digest is computed on another core while the database writes.
    hashing = _HASHER.submit(
        chain.changeset_hash_arrow, history.select(list(CHANGESETS[CHANGESET].columns))
    )
    bulk.insert(ClassChange._meta.db_table, history)
    laps.lap("write_history")
    state = pa.table(
        {
            "client_id": changes["client_id"],
            "scheme": changes["scheme"],
            "class_code": changes["new_class"],
            "since": _repeat(p.rating_date, n, pa.date32()),
            "policy_version_id": common["policy_version_id"],
            "reason": common["reason"],
            "run_id": common["run_id"],
        }
    )
    existing = changes["existing"]
    table = ClientClass._meta.db_table
    bulk.insert(table, state.filter(pc.invert(existing)))
    bulk.update(table, state.filter(existing), key=["client_id", "scheme"])
    laps.lap("write_state")
    ClassificationRun.objects.filter(pk=run_row.pk).update(
        rated=counts["rated"], changed=n, counts=counts, finished_at=clock.now()
    )
    run_row.refresh_from_db()
    audit_record(
        action=f"classification.{plan.kind}",
        object_type="classification.ClassificationRun",
        object_id=str(run_row.pk),
        branch_code=plan.branch_code,
        after={
            "kind": plan.kind,
            "period": p.label,
            "rating_date": p.rating_date,
            "statistical_date": p.statistical_date,
            "policy_version": plan.version.number,
            "client_id": plan.client_id,
            "rated": counts["rated"],
            "changed": n,
        },
        changeset=(CHANGESET, {"run_id": run_row.pk}),
        changeset_digest=hashing.result(),
    )
    laps.lap("audit")
    return Outcome(run_row, counts["rated"], n, counts)
