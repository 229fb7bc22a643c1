"""The members of one sampled rule's plans of one period, kept between nightly runs (CON-7, CON-8).

``PlanEntry`` is written by the nightly run only, together with its plans' counts, in
one transaction; a member never leaves the table and its flags (``sampled``,
``skipped_at_cap``) only ever turn true. So the members as of a run are the members
as of the run before plus that run's written rows, and the plans' stored
``population``, ``sampled`` and ``as_of`` tell which run the table reflects. A run
keeps each sampled rule's members as ``state/plans/<rule>/<period>.parquet`` (the base)
plus one small Parquet file per later night with the rows that night wrote (the
deltas), and beside them the plans' counts as that run left them. The next run uses
the files only when those counts and dates are exactly what the database holds and
the files hold as many members (and sampled members) as the plans count; anything
else — a missing or unreadable file, a run that committed but did not save, a run
that saved but rolled back, a new stratum — makes it read the members from the
table again. ``plan redraw`` always reads the table.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import duckdb

from huifang.core import duck

MAX_DELTAS = 20  # more nights than this since the base: the next save rewrites the base
PlanCounts = dict[str, list[Any]]  # stratum → [id, population, sampled, as_of (ISO date)]


def counts(plans: list[dict[str, Any]]) -> PlanCounts:
    """The guarded figures of ``plans`` (dicts of ``Plan`` fields, with their ids), by stratum."""
    return {
        p["stratum"]: [int(p["id"]), int(p["population"]), int(p["sampled"]), str(p["as_of"])]
        for p in plans
    }


def _name(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]  # codes and labels are free text


def _dir(state_dir: Path, rule_code: str) -> Path:
    return state_dir / _name(rule_code)


def _meta_path(state_dir: Path, rule_code: str, period: str) -> Path:
    return _dir(state_dir, rule_code) / f"{_name(period)}.json"


def _scan(paths: list[Path]) -> str:
    return "read_parquet([" + ", ".join(duck.lit(str(f)) for f in paths) + "])"


def _merged(table: str, source: str) -> str:
    """``table`` := one row per member of ``source`` (flags only ever turn true: any true wins)."""
    return (
        f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT stratum, client_id, "
        f"bool_or(sampled) AS sampled, bool_or(skipped) AS skipped FROM {source} "
        "GROUP BY stratum, client_id"
    )


def load(
    con: duckdb.DuckDBPyConnection,
    state_dir: Path,
    rule_code: str,
    period: str,
    stored: PlanCounts,
) -> bool:
    """``known_entries`` from the files when they match ``stored`` (the plans in the database).

    Returns whether it did; on ``False`` ``known_entries`` is untouched.
    """
    meta_path = _meta_path(state_dir, rule_code, period)
    try:
        meta = json.loads(meta_path.read_text())
        files = [meta_path.parent / f for f in [meta["base"], *meta["deltas"]]]
        if meta["rule"] != rule_code or meta["period"] != period or meta["plans"] != stored:
            return False
        if not stored or not all(f.is_file() for f in files):
            return False
        duck.run(con, _merged("known_entries_cached", _scan(files)))
    except (OSError, ValueError, KeyError, TypeError, duckdb.Error):
        return False
    population = sum(c[1] for c in stored.values())
    sampled = sum(c[2] for c in stored.values())
    found = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE sampled) FROM known_entries_cached"
    ).fetchall()[0]
    if (int(found[0]), int(found[1])) != (population, sampled):
        duck.run(con, "DROP TABLE known_entries_cached")
        return False
    duck.run(
        con, "CREATE OR REPLACE TEMP TABLE known_entries AS SELECT * FROM known_entries_cached"
    )
    duck.run(con, "DROP TABLE known_entries_cached")
    return True


def save_files(
    con: duckdb.DuckDBPyConnection,
    state_dir: Path,
    rule_code: str,
    period: str,
    day: str,
    *,
    rebase: bool,
    delta: str,
) -> dict[str, Any]:
    """This night's files: ``delta`` (a query of the members the run writes) added (no file
    when it is empty), or, with ``rebase``, a new base of ``known_entries`` (the members
    before tonight) and the delta.

    The base is also rewritten when there are ``MAX_DELTAS`` deltas. The guard is removed
    first and written by ``save_guard`` once the plans have their ids; returns what it needs.
    """
    folder = _dir(state_dir, rule_code)
    folder.mkdir(parents=True, exist_ok=True)
    meta_path = _meta_path(state_dir, rule_code, period)
    stem = _name(period)
    meta: dict[str, Any] | None = None
    if not rebase:
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            meta = None
    meta_path.unlink(missing_ok=True)  # never a stale guard beside new files
    duck.run(con, f"CREATE OR REPLACE TEMP TABLE plan_delta AS {delta}")
    if meta is None or len(meta["deltas"]) >= MAX_DELTAS:
        base_from = (
            "known_entries"
            if meta is None
            else _scan([folder / f for f in [meta["base"], *meta["deltas"]]])
        )
        duck.run(
            con,
            _merged("plan_base", f"(SELECT * FROM {base_from} UNION ALL SELECT * FROM plan_delta)"),
        )
        base = f"{stem}.{day}.base.parquet"
        duck.write_parquet(con, "plan_base", folder / base)
        duck.run(con, "DROP TABLE plan_base")
        meta = {"rule": rule_code, "period": period, "base": base, "deltas": []}
    elif con.execute("SELECT count(*) FROM plan_delta").fetchall()[0][0]:
        name = f"{stem}.{day}.delta.parquet"
        duck.write_parquet(con, "plan_delta", folder / name)
        meta["deltas"] = [d for d in meta["deltas"] if d != name] + [name]
    duck.run(con, "DROP TABLE plan_delta")
    return meta


def save_guard(state_dir: Path, meta: dict[str, Any], after: PlanCounts) -> None:
    """The guard beside the files of ``save_files``: the plans as this run writes them.

    Files of the rule no longer listed (older bases and deltas, other periods) are removed.
    """
    meta = {**meta, "plans": after}
    meta_path = _meta_path(state_dir, meta["rule"], meta["period"])
    keep = {meta["base"], *meta["deltas"], meta_path.name}
    staged = meta_path.with_name(meta_path.name + ".partial")
    staged.write_text(json.dumps(meta))
    os.replace(staged, meta_path)
    for stale in meta_path.parent.iterdir():
        if stale.name not in keep:
            stale.unlink(missing_ok=True)


def forget(state_dir: Path, rule_code: str) -> None:
    """Every file kept for the rule: its members are read from the table again."""
    shutil.rmtree(_dir(state_dir, rule_code), ignore_errors=True)
