"""Classification benchmark (issue: policy engine and client classification, CLS-*).

Writes a synthetic archive of ``--clients`` clients (default 10,000,000; ``--smoke``
20,000) straight as Parquet in the importer's layout — clients, the 2025 year-end
assets, the 2025 commissions, a day of trades — then, in a fresh SQLite or
PostgreSQL database:

1. the annual rating on 2026-01-05 (every client classified: the first write);
2. the floor: the same CASE over the same Parquet in a bare DuckDB (no Django, no
   state, no write), which must give the same class counts;
3. the quarterly re-rating on 2026-04-01 over a 2026-03-31 snapshot in which 5 % of
   the clients moved up to ``core`` (upgrade only: those rows are written back).

Printed from the same run: the SQL step (DuckDB: measures, CASE, diff against the
stored classes), the state export, the write-back (the changed rows with their CLS-9
inputs as JSON — ``payload`` — then the bulk writer and the audited change set) and
the floor. Targets on 2 cores: SQL step ≤ 3× the floor; the quarterly write-back
≤ 10 s on PostgreSQL.

    python bench/classify_bench.py [--smoke] [--clients N] [--database sqlite|postgres]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _setup import bench_parser, fresh_environment

MONEY = pa.decimal128(18, 2)
YEAR_END = dt.date(2025, 12, 31)
QUARTER_END = dt.date(2026, 3, 31)
ANNUAL_DAY = dt.date(2026, 1, 5)
QUARTER_DAY = dt.date(2026, 4, 1)
MOVED_SHARE = 0.05


def money(cents: np.ndarray) -> pa.Array:
    """Non-negative cents as DECIMAL(18, 2) (the importer's money type), built from buffers."""
    words = np.zeros(2 * len(cents), dtype=np.int64)
    words[0::2] = cents  # little-endian 128-bit unscaled values; the high word stays 0
    return pa.Array.from_buffers(MONEY, len(cents), [None, pa.py_buffer(words)])


def write(archive: Path, name: str, day: dt.date, table: pa.Table) -> Path:
    folder = archive / name / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-0.parquet"
    pq.write_table(table, path, compression="snappy", row_group_size=1_000_000)
    return path


def synthesize(archive: Path, n: int, branches: int, seed: int = 1) -> dict[str, Any]:
    """The archive partitions a rating reads; returns the ids moved up at the quarter."""
    rng = np.random.default_rng(seed)
    ids = pa.array(np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 8)))
    opened = (np.datetime64("2025-12-31") - rng.integers(0, 365 * 15, n)).astype("datetime64[D]")
    write(archive, "clients", dt.date(2025, 12, 31), pa.table({
        "client_id": ids,
        "client_type": pa.array(np.where(rng.random(n) < 0.02, "institution", "individual")),
        "branch_code": pa.array(np.char.add("B", np.char.zfill(rng.integers(1, branches + 1, n).astype(str), 3))),
        "open_date": pa.array(opened, pa.date32()),
        "status": pa.array(np.full(n, "normal")),
        "close_date": pa.nulls(n, pa.date32()),
        "last_trade_date": pa.nulls(n, pa.date32()),
    }))  # fmt: skip
    # Assets: log-normal around 60,000 CNY (≈ 0.1 % ≥ 10 M, ≈ 10 % ≥ 250 k).
    assets = np.round(np.exp(rng.normal(11.0, 1.9, n)) * 100).astype(np.int64)
    write(archive, "assets", YEAR_END, pa.table({"client_id": ids, "total_assets": money(assets)}))
    paid = rng.random(n) < 0.85
    commission = np.round(np.exp(rng.normal(7.2, 1.6, n)) * 100).astype(np.int64)
    write(archive, "commissions", dt.date(2026, 1, 5), pa.table({
        "client_id": ids.filter(pa.array(paid)),
        "period": pa.array(np.full(int(paid.sum()), "2025")),
        "net_commission": money(commission[paid]),
    }))  # fmt: skip
    traded = rng.random(n) < 0.10
    amount = np.round(assets[traded] * np.exp(rng.normal(-1.5, 1.2, int(traded.sum())))).astype(
        np.int64
    )
    write(archive, "trades", YEAR_END, pa.table({
        "client_id": ids.filter(pa.array(traded)),
        "trade_amount": money(amount),
        "trade_count": pa.array(rng.integers(1, 50, int(traded.sum())), pa.int64()),
    }))  # fmt: skip
    # The quarter: 5 % of all clients, among those below 250 k at year-end, move to 300 k (core).
    below = np.flatnonzero(assets < 10_000_000)  # cents: < 100,000 CNY → potential or ordinary
    moved = rng.choice(below, size=min(len(below), int(n * MOVED_SHARE)), replace=False)
    quarter = assets.copy()
    quarter[moved] = 30_000_000
    write(
        archive, "assets", QUARTER_END, pa.table({"client_id": ids, "total_assets": money(quarter)})
    )
    return {"moved": len(moved)}


FLOOR_SQL = """
WITH a AS (SELECT client_id, total_assets AS assets FROM read_parquet('{assets}')),
     c AS (SELECT client_id, net_commission AS commission FROM read_parquet('{commissions}') WHERE period = '2025'),
     t AS (SELECT client_id, sum(trade_amount) AS trading FROM read_parquet('{trades}') GROUP BY client_id),
     k AS (SELECT client_id FROM read_parquet('{clients}') WHERE open_date <= DATE '{stat}' AND status <> 'closed')
SELECT
  CASE WHEN assets >= 10000000 THEN 'vip'
       WHEN (assets >= 250000 AND assets < 10000000) OR (commission >= 5000 AND assets >= 100000 AND assets < 250000) THEN 'core'
       WHEN (assets >= 100000 AND assets < 250000) OR (commission >= 3000 AND commission < 5000 AND assets >= 10000 AND assets < 100000) THEN 'potential'
       ELSE 'ordinary' END AS cls1,
  CASE WHEN commission >= 200000 OR assets >= 3000000 OR trading >= 10000000 THEN 'important' END AS important,
  count(*) AS n
FROM k LEFT JOIN a USING (client_id) LEFT JOIN c USING (client_id) LEFT JOIN t USING (client_id)
GROUP BY ALL
"""


def floor(
    archive: Path, stat: dt.date, assets_day: dt.date
) -> tuple[float, dict[str, dict[str, int]]]:
    """The same CASE over the same Parquet in a bare DuckDB: seconds and class counts."""
    import duckdb

    def part(name: str, day: dt.date) -> str:
        return str(archive / name / f"date={day.isoformat()}" / "part-0.parquet")

    sql = FLOOR_SQL.format(
        assets=part("assets", assets_day),
        commissions=part("commissions", dt.date(2026, 1, 5)),
        trades=part("trades", YEAR_END),
        clients=part("clients", YEAR_END),
        stat=stat.isoformat(),
    )
    con = duckdb.connect()
    began = time.perf_counter()
    rows = con.execute(sql).fetchall()
    seconds = time.perf_counter() - began
    con.close()
    counts: dict[str, dict[str, int]] = {"CLS-1": {}, "CLS-8.important": {}}
    for cls1, important, n in rows:
        counts["CLS-1"][cls1] = counts["CLS-1"].get(cls1, 0) + n
        key = important or "-"
        counts["CLS-8.important"][key] = counts["CLS-8.important"].get(key, 0) + n
    return seconds, counts


def main() -> None:
    parser = bench_parser(__doc__, default_clients=10_000_000)
    args = parser.parse_args()
    clients = 20_000 if args.smoke else args.clients
    data_dir = fresh_environment(args.database, "classify")

    from django.conf import settings

    from huifang.audit.context import system_context
    from huifang.classification.services import classification_run

    archive = Path(settings.ARCHIVE_DIR)
    began = time.perf_counter()
    moved = synthesize(archive, clients, 12 if args.smoke else args.branches)["moved"]
    generated = time.perf_counter() - began

    figures: dict[str, Any] = {
        "database": args.database,
        "clients": clients,
        "generate_s": round(generated, 2),
    }
    with system_context("bench"):
        annual = classification_run(kind="annual", day=ANNUAL_DAY, actor="system:bench")
        annual_floor, annual_counts = floor(archive, YEAR_END, YEAR_END)
        quarterly = classification_run(kind="quarterly", day=QUARTER_DAY, actor="system:bench")
        quarter_floor, _ = floor(archive, QUARTER_END, QUARTER_END)
    computed = annual.counts["computed"]
    if computed != annual_counts:
        raise SystemExit(f"the engine and the floor disagree:\n{computed}\n{annual_counts}")
    if quarterly.changed != moved:
        raise SystemExit(
            f"the quarterly re-rating changed {quarterly.changed:,} rows, expected {moved:,}"
        )
    for name, outcome, floor_s in (
        ("annual", annual, annual_floor),
        ("quarterly", quarterly, quarter_floor),
    ):
        t = outcome.timings
        sql_step = t["sql"] + t["diff"]
        figures.update({
            f"{name}_rated": outcome.rated,
            f"{name}_changed": outcome.changed,
            f"{name}_sql_step_s": round(sql_step, 3),
            f"{name}_measures_s": round(t["sql"], 3),
            f"{name}_diff_s": round(t["diff"], 3),
            f"{name}_floor_s": round(floor_s, 3),
            f"{name}_sql_over_floor": round(sql_step / floor_s, 2),
            f"{name}_state_export_s": round(t["state"], 3),
            f"{name}_write_back_s": round(t["write"], 3),
            **{f"{name}_{k}_s": round(t[k], 3) for k in ("payload", "write_history", "write_state", "audit", "commit")},
        })  # fmt: skip
    figures["cpus"] = os.cpu_count()
    print(
        f"classify_bench ({args.database}, {clients:,} clients, {moved:,} moved up at the quarter)"
    )
    for key, value in figures.items():
        shown = f"{value:>14,}" if isinstance(value, int | float) else f"{value:>14}"
        print(f"  {key:30s} {shown}")
    out = Path("artifacts")
    out.mkdir(exist_ok=True)
    suffix = "-smoke" if args.smoke else ""
    (out / f"bench-classify-{args.database}{suffix}.json").write_text(json.dumps(figures, indent=1))
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
