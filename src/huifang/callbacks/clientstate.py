"""Each client's state on a business date, derived from the archive and kept between runs.

The rules need, for every client, his latest archived row, his last trade and his
latest assets snapshot (SPEC §1: a client absent from a later snapshot keeps his
last one). Read from the whole history, that costs more every night — a
10-million-client brokerage archives 10 million asset rows a day. So each run
leaves ``state/clients/date=D.parquet`` (one row per client) with a manifest of
the archive partitions it was made from, and the next run reads that file plus
only the partitions dated after D.

The file is a cache of the archive, never a source: it is used only if every
partition dated up to D is still exactly the one it was made from (name, size,
modification time) — a re-imported (``--replace``) or late partition makes the
run derive the state from the whole history again. Nothing here touches the
database; a run that fails after writing the file leaves it valid.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import duckdb

from huifang.core import duck

SOURCES = ("clients", "trades", "assets")
KEEP = 3  # snapshots kept (the newest ones)
# The columns of ``cs``: client fields of the latest row, then the derived ones.
CLIENT_FIELDS = (
    "branch_code VARCHAR, open_date DATE, introducer_staff_id VARCHAR, broker_staff_id VARCHAR, "
    "adviser_staff_id VARCHAR, last_trade_date DATE, status VARCHAR, close_date DATE, "
    "risk_level VARCHAR, birth_date DATE, has_margin_account BOOLEAN, credit_open_date DATE, "
    "advisory_contract BOOLEAN, row_date DATE, source_line BIGINT"
)
SCHEMA = (
    f"client_id VARCHAR, {CLIENT_FIELDS}, archive_last_trade DATE, "
    "total_assets DECIMAL(18, 2), assets_date DATE"
)
FIELD_NAMES = [part.split()[0] for part in CLIENT_FIELDS.split(", ")]
LAYOUT = hashlib.sha256(SCHEMA.encode()).hexdigest()[
    :16
]  # a snapshot of another layout is not used


def _partitions(root: Path, name: str) -> dict[str, Path]:
    """Every archived partition of ``name``: {"YYYY-MM-DD": file}."""
    return {day.isoformat(): path for day, path in duck.archived(root, name)}


def _signature(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _usable(state_dir: Path, root: Path, day: dt.date) -> tuple[Path, dt.date] | None:
    """The newest snapshot dated on or before ``day`` whose partitions are all unchanged."""
    if not state_dir.is_dir():
        return None
    dated = sorted(
        (p for p in state_dir.glob("date=*.parquet") if p.stem[5:] <= day.isoformat()),
        reverse=True,
    )
    current = {name: _partitions(root, name) for name in SOURCES}
    for path in dated:
        manifest = path.with_suffix(".json")
        if not manifest.is_file():
            continue
        made = dt.date.fromisoformat(path.stem[5:])
        try:
            found = json.loads(manifest.read_text())
            covered = found["partitions"] if found.get("layout") == LAYOUT else None
        except (ValueError, KeyError):
            continue
        if covered is None:
            continue
        same = all(
            covered.get(name, {})
            == {d: _signature(p) for d, p in current[name].items() if d <= made.isoformat()}
            for name in SOURCES
        )
        if same:
            return path, made
    return None


def build(con: duckdb.DuckDBPyConnection, root: Path, day: dt.date, state_dir: Path | None) -> None:
    """``cs``: one row per client archived up to ``day`` (latest row, last trade, assets).

    With ``state_dir``, starts from the last usable snapshot and leaves one for ``day``.
    """
    prior = _usable(state_dir, root, day) if state_dir is not None else None
    since = prior[1].isoformat() if prior else ""
    current = {name: _partitions(root, name) for name in SOURCES}
    new = {
        name: [p for d, p in sorted(found.items()) if since < d <= day.isoformat()]
        for name, found in current.items()
    }
    old = f"read_parquet({duck.lit(str(prior[0]))})" if prior else "(SELECT * FROM _cs_empty)"
    duck.run(con, f"CREATE OR REPLACE TEMP TABLE _cs_empty ({SCHEMA})")
    parts = [f"old AS (SELECT * FROM {old})"]
    if new["clients"]:
        scan = duck.read_parquet(new["clients"])
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
        columns = []
        for part in CLIENT_FIELDS.split(", "):
            name, kind = part.split()
            source = {"row_date": '"date"'}.get(name, name)
            if name == "row_date" or name in present:
                columns.append(f"CAST({source} AS {kind}) AS {name}")
            else:  # a partition layout without the column (optional in §1)
                columns.append(f"NULL::{kind} AS {name}")
        parts.append(f"""c AS (
            SELECT client_id, {", ".join(columns)} FROM {scan}
            QUALIFY row_number() OVER (PARTITION BY client_id ORDER BY "date" DESC, source_line DESC) = 1)""")  # fmt: skip
    else:
        parts.append(f"c AS (SELECT client_id, {', '.join(FIELD_NAMES)} FROM _cs_empty)")
    if new["trades"]:
        parts.append(
            f't AS (SELECT client_id, max("date") AS last FROM {duck.read_parquet(new["trades"])} GROUP BY client_id)'
        )
    else:
        parts.append("t AS (SELECT NULL::VARCHAR AS client_id, NULL::DATE AS last WHERE false)")
    if new["assets"]:
        parts.append(
            'a AS (SELECT client_id, arg_max(CAST(total_assets AS DECIMAL(18, 2)), "date") AS total, '
            f'max("date") AS day FROM {duck.read_parquet(new["assets"])} GROUP BY client_id)'
        )
    else:
        parts.append(
            "a AS (SELECT NULL::VARCHAR AS client_id, NULL::DECIMAL(18, 2) AS total, "
            "NULL::DATE AS day WHERE false)"
        )
    fields = ", ".join(
        f"CASE WHEN c.client_id IS NULL THEN old.{f} ELSE c.{f} END AS {f}" for f in FIELD_NAMES
    )
    duck.run(con, f"""
        CREATE OR REPLACE TEMP TABLE cs AS WITH {", ".join(parts)}
        SELECT coalesce(c.client_id, old.client_id) AS client_id, {fields},
               greatest(old.archive_last_trade, t.last) AS archive_last_trade,
               CASE WHEN a.client_id IS NULL THEN old.total_assets ELSE a.total END AS total_assets,
               CASE WHEN a.client_id IS NULL THEN old.assets_date ELSE a.day END AS assets_date
        FROM old FULL JOIN c ON c.client_id = old.client_id
        LEFT JOIN t ON t.client_id = coalesce(c.client_id, old.client_id)
        LEFT JOIN a ON a.client_id = coalesce(c.client_id, old.client_id)""")  # fmt: skip
    if state_dir is not None and (prior is None or any(new.values())):
        _save(con, state_dir, day, current)


def _save(
    con: duckdb.DuckDBPyConnection,
    state_dir: Path,
    day: dt.date,
    current: dict[str, dict[str, Path]],
) -> None:
    """Write ``date=day.parquet`` and its manifest (each renamed into place), keep the newest few."""
    target = state_dir / f"date={day.isoformat()}.parquet"
    manifest: dict[str, Any] = {
        "day": day.isoformat(),
        "layout": LAYOUT,
        "partitions": {
            name: {d: _signature(p) for d, p in found.items() if d <= day.isoformat()}
            for name, found in current.items()
        },
    }
    target.with_suffix(".json").unlink(missing_ok=True)  # never an old manifest beside a new file
    duck.write_parquet(con, "cs", target)
    staged_manifest = target.with_suffix(".json.partial")
    staged_manifest.write_text(json.dumps(manifest, sort_keys=True))
    os.replace(staged_manifest, target.with_suffix(".json"))
    snapshots = sorted(state_dir.glob("date=*.parquet"), reverse=True)
    for stale in snapshots[KEEP:]:
        stale.unlink(missing_ok=True)
        stale.with_suffix(".json").unlink(missing_ok=True)
