"""Nightly-run benchmark (issue 6: `huifang run` at scale, SPEC §4, §12).

Builds a synthetic brokerage of ``--clients`` clients (default 10,000,000;
``--smoke`` 20,000 with 12 branches, every row count scaled in proportion):
20,000 new accounts on each run date, 50,000,000 flow rows in the ISO week up to
the ordinary date, 5,000 product purchases and 2,000 margin events a run date,
written straight as Parquet in the importer's archive layout, and the database
as an import, the annual rating and the runs up to 2026-09-30 leave it (see
``_nightly_data``). That set-up is timed apart and is not part of the run.

Then ``huifang run`` (``call_command("run")``) on two dates, in order:

1. 2026-10-08, the first working day of Q4 (after the National Day holiday):
   the quarterly classification runs, CORE-1 starts October, the cap resets;
2. 2026-10-14, an ordinary Wednesday (the week's last trading day is Friday
   10-16, so the weekly rules do not fire): the measured date.

Each run is split into phases from its progress messages' timestamps, the
bulk writer's calls and every DuckDB statement run through ``core.duck`` (the
recorder). The floor of a phase is the same DuckDB statements re-executed bare
in a fresh connection in the same process, with the same Arrow inputs. The
run's per-rule counts are checked against counts made independently from the
generated arrays or the database; a disagreement exits 1.

Targets on 2 cores for the ordinary date: rule evaluation ≤ 3× its floor; tasks
written (task + purpose + event rows / write-phase seconds) ≥ 500,000 rows/s;
the whole run ≤ 60 s after the feed is archived.

    python bench/nightly_bench.py [--smoke] [--clients N] [--branches N] [--database sqlite|postgres]
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _nightly_data import DAY, QUARTER_DAY, Brokerage
from _setup import bench_parser, fresh_environment

WRITE_INPUTS = {"entries_arrow", "purposes_arrow"}  # write phase: not replayed
TARGET_RULES_OVER_FLOOR = 3.0
TARGET_WRITE_ROWS_PER_S = 500_000
TARGET_RUN_S = 60.0
PHASES = [
    "classify",
    "prelude",
    "load_state",
    "state_export",
    "rules",
    "write",
    "assignment",
    "finish",
]


@dataclass
class Statement:
    sql: str
    params: list[Any] | None
    began: float
    ended: float
    inputs: dict[str, Any] = field(default_factory=dict)
    floor: float = 0.0

    @property
    def seconds(self) -> float:
        return self.ended - self.began

    def short(self, width: int = 96) -> str:
        return re.sub(r"\s+", " ", self.sql).strip()[:width]


@dataclass
class Trace:
    """What one run did, when: progress, DuckDB statements, database calls, paused spans."""

    messages: list[tuple[float, str]] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    db: list[tuple[str, str, int, float, float]] = field(
        default_factory=list
    )  # op, what, rows, t0, t1
    paused: list[tuple[float, float]] = field(default_factory=list)
    depth: int = 0

    def recorder(
        self, con: Any, sql: str, params: Sequence[Any] | None, began: float, ended: float
    ) -> None:
        statement = Statement(sql, list(params) if params is not None else None, began, ended)
        self.statements.append(statement)
        wanted = set(re.findall(r"\b(\w+_arrow)\b", sql)) - WRITE_INPUTS
        if wanted:
            start = time.perf_counter()
            for name in wanted:  # the registered Arrow input, as it is now
                relation = con.sql(f"SELECT * FROM {name}")
                statement.inputs[name] = (
                    getattr(relation, "to_arrow_table", None) or relation.arrow
                )()
            self.paused.append((start, time.perf_counter()))

    def paused_in(self, start: float, end: float) -> float:
        return sum(max(0.0, min(b, end) - max(a, start)) for a, b in self.paused)


class Progress(io.StringIO):
    """The command's stdout: each message with the time it was written."""

    def __init__(self, trace: Trace) -> None:
        super().__init__()
        self.trace = trace

    def write(self, text: str) -> int:
        self.trace.messages.append((time.perf_counter(), text.rstrip("\n")))
        return super().write(text)


def instrument(trace: Trace) -> Callable[[], None]:
    """Time the bulk writer's calls (patched in this process only); returns the undo."""
    from huifang.core import bulk

    originals = {
        name: getattr(bulk, name)
        for name in (
            "insert",
            "upsert",
            "update",
            "fetch",
            "fetch_typed",
            "fetch_by_keys",
            "reserve_ids",
        )
    }

    def wrap(name: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            trace.depth += 1
            began = time.perf_counter()
            try:
                result = original(*args, **kwargs)
            finally:
                trace.depth -= 1
            if trace.depth == 0:
                rows = result if isinstance(result, int) else getattr(result, "num_rows", 0)
                what = re.sub(r"\s+", " ", str(args[0]))[:70] if args else ""
                trace.db.append((name, what, int(rows), began, time.perf_counter()))
            return result

        return timed

    for name, original in originals.items():
        setattr(bulk, name, wrap(name, original))
    return lambda: [setattr(bulk, n, o) for n, o in originals.items()] and None


def sql_logger(trace: Trace) -> Callable[..., Any]:
    """A Django execute wrapper: every ORM/cursor statement outside the bulk writer."""

    def log(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if trace.depth == 0:
                rows = len(params) if many and hasattr(params, "__len__") else 1
                what = ("executemany " if many else "") + re.sub(r"\s+", " ", sql)[:70]
                trace.db.append(("sql", what, rows, began, time.perf_counter()))

    return log


# ---------------------------------------------------------------- one run


def run_date(day: dt.date) -> tuple[Trace, float, float]:
    """``huifang run --date day`` with everything recorded; returns the trace and its bounds."""
    from django.core.management import call_command
    from django.db import connection

    from huifang.core import clock, duck

    trace = Trace()
    undo = instrument(trace)
    try:
        with (
            clock.frozen(day),
            duck.recording(trace.recorder),
            connection.execute_wrapper(sql_logger(trace)),
        ):
            began = time.perf_counter()
            call_command("run", date=day.isoformat(), stdout=Progress(trace))
            ended = time.perf_counter()
    finally:
        undo()
    return trace, began, ended


def phases(trace: Trace, began: float, ended: float) -> dict[str, tuple[float, float]]:
    """Phase → (start, end), from the progress messages, the statements and the bulk calls."""
    st = trace.statements
    msgs = trace.messages
    classify_end = max([t for t, m in msgs if m.startswith("classify")], default=began)
    load = [
        s
        for s in st
        if s.began > classify_end and re.search(r"TEMP TABLE (_cs_empty|cs|cl|st)\b", s.sql)
    ]
    load_start = load[0].began
    # load_state ends where the state export starts reading the database
    load_end = min([t0 for op, _w, _r, t0, _t1 in trace.db
                    if op in ("fetch", "fetch_typed") and t0 > load_start],
                   default=load[-1].ended)  # fmt: skip
    state_end = next(
        s.ended for s in st if s.sql.startswith("UPDATE open_t SET cap_exception = FALSE")
    )
    # the rules' messages come before assignment's and before the command's closing table
    cutoff = min([t for t, m in msgs if m.startswith(("assignment", "rule "))], default=ended)
    rule_msgs = [t for t, m in msgs if state_end < t < cutoff]
    rules_end = rule_msgs[-1] if rule_msgs else state_end
    writes = [
        (op, what, t1) for op, what, _r, t0, t1 in trace.db if t0 > rules_end and op == "insert"
    ]
    events = [t1 for op, what, t1 in writes if "callbacks_taskevent" in what]
    tasks = [t1 for op, what, t1 in writes if "callbacks_task" in what]
    write_end = events[0] if events else (tasks[0] if tasks else rules_end)
    assign = [t for t, m in msgs if m.startswith("assignment")]
    assign_end = assign[0] if assign else write_end
    bounds = [
        began,
        classify_end,
        load_start,
        load_end,
        state_end,
        rules_end,
        write_end,
        assign_end,
        ended,
    ]
    return {name: (bounds[i], bounds[i + 1]) for i, name in enumerate(PHASES)}


def replay(trace: Trace, start: float, end: float, workdir: Path) -> None:
    """The floor: the recorded statements of [start, end] again, in a fresh bare DuckDB."""
    from huifang.core import duck

    con = duck.connect(workdir)
    try:
        for s in trace.statements:
            if not start <= s.began < end:
                continue
            for name, table in s.inputs.items():
                con.register(name, table)
            began = time.perf_counter()
            if s.sql.lstrip().upper().startswith(("SELECT", "WITH")):
                relation = (
                    con.sql(s.sql, params=s.params) if s.params is not None else con.sql(s.sql)
                )
                (getattr(relation, "to_arrow_table", None) or relation.arrow)()
            elif s.params is not None:
                con.execute(s.sql, s.params).fetchall()
            else:
                con.execute(s.sql).fetchall()
            s.floor = time.perf_counter() - began
            for name in s.inputs:
                con.unregister(name)
    finally:
        con.close()


def measure(day: dt.date, workdir: Path) -> dict[str, Any]:
    """Run ``day`` and return its figures: phases against their floors, hot spots, counts."""
    from huifang.callbacks.models import NightlyRun

    trace, began, ended = run_date(day)
    bounds = phases(trace, began, ended)
    replay(trace, bounds["load_state"][0], bounds["rules"][1], workdir)
    out: dict[str, Any] = {"date": day.isoformat()}
    for name, (a, b) in bounds.items():
        inside = [s for s in trace.statements if a <= s.began < b]
        db = sum(t1 - t0 for _o, _w, _r, t0, t1 in trace.db if a <= t0 < b)
        out[name] = {
            "s": round(b - a - trace.paused_in(a, b), 3),
            "duck_s": round(sum(s.seconds for s in inside), 3),
            "floor_s": round(sum(s.floor for s in inside), 3) if name in ("load_state", "state_export", "rules") else None,
            "db_s": round(db, 3),
            "statements": len(inside),
        }  # fmt: skip
    out["whole_run_s"] = round(ended - began - trace.paused_in(began, ended), 3)
    wa, wb = bounds["write"]
    written = sum(r for op, what, r, t0, _t1 in trace.db if op == "insert" and wa <= t0 < wb
                  and re.search(r"callbacks_(task|purpose|taskevent)\b", what))  # fmt: skip
    out["rows_written"] = written
    out["write_rows_per_s"] = round(written / out["write"]["s"]) if out["write"]["s"] else 0
    rules = out["rules"]
    out["rules_over_floor"] = round(rules["s"] / rules["floor_s"], 2) if rules["floor_s"] else None
    out["per_rule"] = per_rule(trace, bounds)
    out["top_duckdb"] = [
        {"s": round(s.seconds, 3), "floor_s": round(s.floor, 3), "phase": phase_of(bounds, s.began), "sql": s.short()}
        for s in sorted(trace.statements, key=lambda s: -s.seconds)[:8]
    ]  # fmt: skip
    grouped: dict[str, list[float]] = {}
    for op, what, rows, t0, t1 in trace.db:
        key = f"{phase_of(bounds, t0):10s} {op} {what}"
        acc = grouped.setdefault(key, [0.0, 0, 0])
        acc[0] += t1 - t0
        acc[1] += 1
        acc[2] += rows
    out["top_db"] = [
        {"s": round(v[0], 3), "calls": v[1], "rows": v[2], "what": k}
        for k, v in sorted(grouped.items(), key=lambda kv: -kv[1][0])[:10]
    ]
    out["messages"] = [m for _t, m in trace.messages]
    out["summary"] = NightlyRun.objects.get(business_date=day).summary
    return out


def phase_of(bounds: dict[str, tuple[float, float]], t: float) -> str:
    return next((name for name, (a, b) in bounds.items() if a <= t < b), "?")


def per_rule(trace: Trace, bounds: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    """Each rule between the previous progress message and its own, with its floor."""
    a, end = bounds["rules"]
    rows = []
    for t, message in trace.messages:
        if not a < t <= end:
            continue
        inside = [s for s in trace.statements if a <= s.began < t]
        rows.append({
            "rule": message.split(" ")[0].rstrip(":"), "s": round(t - a - trace.paused_in(a, t), 3),
            "duck_s": round(sum(s.seconds for s in inside), 3), "floor_s": round(sum(s.floor for s in inside), 3),
            "db_s": round(sum(t1 - t0 for _o, _w, _r, t0, t1 in trace.db if a <= t0 < t), 3),
        })  # fmt: skip
        a = t
    return rows


# ---------------------------------------------------------------- checks


def expected(b: Brokerage, day: dt.date) -> dict[str, int]:
    """Per rule, the purposes the run must create, counted without the engine."""
    from huifang.callbacks.models import Purpose
    from huifang.classification.models import ClientClass

    core = ClientClass.objects.filter(
        scheme="CLS-1", class_code__in=["vip", "core"], client__open_date__lte=day
    ).count()
    month = f"CORE-1:{day:%Y-%m}:"
    done = Purpose.objects.filter(key__startswith=month, business_date__lt=day).count()
    return {
        "NEW-1": b.broker_introduced(day),
        "KEY-1": len(b.bumped) if day == DAY else 0,
        "ABN-4": b.abnormal[day],
        "DEP-1": b.departed_pairs() if day == DAY else 0,
        "CORE-1": core - done,
    }


def check(b: Brokerage, day: dt.date, summary: dict[str, dict[str, int]]) -> list[str]:
    problems = []
    for code, n in expected(b, day).items():
        got = summary.get(code, {}).get("population", 0)
        if got != n:
            problems.append(f"{day} {code}: the run found {got:,}, the independent count {n:,}")
    return problems


# ---------------------------------------------------------------- report


def show(title: str, figures: dict[str, Any]) -> None:
    print(f"  {title} ({figures['date']})")
    print(
        f"    {'phase':14s} {'run_s':>9s} {'floor_s':>9s} {'duckdb_s':>9s} {'db_s':>9s} {'stmts':>6s}"
    )
    for name in PHASES:
        p = figures[name]
        floor = f"{p['floor_s']:9.3f}" if p["floor_s"] is not None else f"{'-':>9s}"
        print(
            f"    {name:14s} {p['s']:9.3f} {floor} {p['duck_s']:9.3f} {p['db_s']:9.3f} {p['statements']:6d}"
        )
    print(f"    {'whole run':14s} {figures['whole_run_s']:9.3f}")
    print(f"    rules / floor {figures['rules_over_floor']}, rows written {figures['rows_written']:,} "
          f"at {figures['write_rows_per_s']:,} rows/s")  # fmt: skip
    print(f"    {'rule':10s} {'run_s':>8s} {'floor_s':>8s} {'duckdb_s':>9s} {'db_s':>8s}")
    for r in figures["per_rule"]:
        print(
            f"    {r['rule']:10s} {r['s']:8.3f} {r['floor_s']:8.3f} {r['duck_s']:9.3f} {r['db_s']:8.3f}"
        )
    print("    slowest DuckDB statements (run_s, floor_s, phase):")
    for s in figures["top_duckdb"][:6]:
        print(f"      {s['s']:8.3f} {s['floor_s']:8.3f} {s['phase']:12s} {s['sql']}")
    print("    database time by call (s, calls, rows):")
    for d in figures["top_db"][:8]:
        print(f"      {d['s']:8.3f} {d['calls']:6d} {d['rows']:>10,}  {d['what']}")
    print(
        f"    {'rule':10s} {'population':>10s} {'required':>9s} {'created':>8s} {'merged':>8s} {'unassigned':>10s}"
    )
    for code, s in sorted(figures["summary"].items()):
        print(f"    {code:10s} {s['population']:10,} {s['required']:9,} {s['created']:8,} {s['merged']:8,} "
              f"{s['unassigned']:10,}")  # fmt: skip


def main() -> None:
    parser = bench_parser(__doc__, default_clients=10_000_000)
    args = parser.parse_args()
    clients = 20_000 if args.smoke else args.clients
    branches = 12 if args.smoke else args.branches
    scale = clients / 10_000_000
    b = Brokerage(
        clients, branches, new=max(10, round(20_000 * scale)), flows=max(1_000, round(50_000_000 * scale)),
        purchases=max(10, round(5_000 * scale)), margin_events=max(20, round(2_000 * scale)),
    )  # fmt: skip
    data_dir = fresh_environment(args.database, "nightly")

    from _nightly_data import fill_database, seed_prior_state
    from django.conf import settings

    from huifang.audit.context import system_context

    began = time.perf_counter()
    b.generate()
    b.write_archive(Path(settings.ARCHIVE_DIR))
    generated = time.perf_counter() - began
    began = time.perf_counter()
    with system_context("bench"):
        fill_database(b)
        seeded = seed_prior_state(b)
    filled = time.perf_counter() - began
    workdir = Path(data_dir) / "tmp" / "floor"
    workdir.mkdir(parents=True, exist_ok=True)
    quarter = measure(QUARTER_DAY, workdir)
    ordinary = measure(DAY, workdir)
    problems = check(b, QUARTER_DAY, quarter["summary"]) + check(b, DAY, ordinary["summary"])

    o = ordinary
    figures: dict[str, Any] = {
        "database": args.database, "clients": clients, "branches": branches, "new_accounts_per_date": b.new,
        "flow_rows": b.flows, "purchases_per_date": b.purchases, "margin_events_per_date": b.margin_events,
        "staff": b.staff, **seeded, "generate_archive_s": round(generated, 2), "fill_database_s": round(filled, 2),
        "ordinary_whole_run_s": o["whole_run_s"], "ordinary_rules_s": o["rules"]["s"],
        "ordinary_rules_floor_s": o["rules"]["floor_s"], "ordinary_rules_over_floor": o["rules_over_floor"],
        "ordinary_write_s": o["write"]["s"], "ordinary_rows_written": o["rows_written"],
        "ordinary_write_rows_per_s": o["write_rows_per_s"], "quarter_whole_run_s": quarter["whole_run_s"],
        "quarter_rules_over_floor": quarter["rules_over_floor"], "quarter_write_rows_per_s": quarter["write_rows_per_s"],
        "cpus": os.cpu_count(),
    }  # fmt: skip
    print(f"nightly_bench ({args.database}, {clients:,} clients, {branches} branches)")
    for key, value in figures.items():
        shown = f"{value:>14,}" if isinstance(value, int | float) else f"{value!s:>14}"
        print(f"  {key:30s} {shown}")
    show("ordinary date", ordinary)
    show("quarter start", quarter)
    targets = [
        ("rule evaluation ≤ 3× floor", (o["rules_over_floor"] or 0) <= TARGET_RULES_OVER_FLOOR),
        ("tasks written ≥ 500,000 rows/s", o["write_rows_per_s"] >= TARGET_WRITE_ROWS_PER_S),
        ("whole run ≤ 60 s", o["whole_run_s"] <= TARGET_RUN_S),
    ]
    for name, ok in targets:
        print(f"  target {name:34s} {'met' if ok else 'NOT MET'}")
    out = Path("artifacts")
    out.mkdir(exist_ok=True)
    suffix = "-smoke" if args.smoke else ""
    report = {"figures": figures, "ordinary": ordinary, "quarter": quarter, "problems": problems}
    (out / f"bench-nightly-{args.database}{suffix}.json").write_text(
        json.dumps(report, indent=1, default=str)
    )
    shutil.rmtree(data_dir, ignore_errors=True)
    if problems:
        raise SystemExit("the run disagrees with the independent counts:\n" + "\n".join(problems))
    print("  counts agree with the independent counts (NEW-1, KEY-1, ABN-4, DEP-1, CORE-1)")


if __name__ == "__main__":
    main()
