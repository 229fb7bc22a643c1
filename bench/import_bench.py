"""Feed import benchmark (issue: Foundation I).

Imports one synthetic business date of ``--clients`` clients (default 1,000,000;
``--smoke`` 20,000) into a fresh SQLite or PostgreSQL database and prints rows/s
per phase. Targets on 2 cores: client upsert (encryption included) ≥ 100,000 rows/s
on PostgreSQL; archive write ≥ 2,000,000 rows/s. It also prints the database's own
floor for the same rows: copying them table to table (no parsing, no Python) plus
building the same secondary indexes.

    python bench/import_bench.py [--smoke] [--clients N] [--database sqlite|postgres]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from pathlib import Path

from _setup import bench_parser, fresh_environment


def main() -> None:
    parser = bench_parser(__doc__, default_clients=1_000_000)
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    parser.add_argument(
        "--cache", default="var/bench-cache", help="where generated feeds are kept between runs"
    )
    args = parser.parse_args()
    clients = 20_000 if args.smoke else args.clients
    branches = 12 if args.smoke else args.branches
    data_dir = fresh_environment(args.database, "import")

    from huifang.audit.context import system_context
    from huifang.feeds.services import feed_import
    from huifang.synth.generator import generate

    day = dt.date(2026, 10, 12)
    began = time.perf_counter()
    cache = Path(args.cache) / f"import-{clients}-{branches}-{args.format}"
    if not (cache / ".complete").exists():
        shutil.rmtree(cache, ignore_errors=True)
        generate(
            cache, clients=clients, branches=branches, days=1, start=day, seed=1, fmt=args.format
        )
        (cache / ".complete").touch()
    feed = next(cache.glob("feed-*"))
    generated = time.perf_counter() - began
    with system_context("bench"):
        result = feed_import(directory=feed, business_date=day, actor="bench")
    if result.status != "imported":
        raise SystemExit(f"import failed: {result.errors[:5]}")
    floor = database_floor()
    t = result.timings
    archived = sum(v for k, v in result.counts.items() if not k.startswith("written_"))
    total = sum(v for k, v in t.items() if not k.startswith(" "))
    figures = {
        "database": args.database,
        "clients": clients,
        "rows_in_feed": archived,
        "generate_s": round(generated, 2),
        **{f"{k}_s": round(v, 3) for k, v in t.items()},
        "client_upsert_rows_per_s": round(clients / t["write_clients"]),
        "archive_rows_per_s": round(archived / t["archive_stage"]),
        "whole_import_s": round(total, 2),
        "whole_import_client_rows_per_s": round(clients / total),
        "db_floor_copy_s": round(floor[0], 3),
        "db_floor_indexes_s": round(floor[1], 3),
        "db_floor_rows_per_s": round(clients / (floor[0] + floor[1])),
        "cpus": os.cpu_count(),
    }
    print(
        f"import_bench ({args.database}, {clients:,} clients, {archived:,} feed rows, {args.format})"
    )
    for key, value in figures.items():
        print(
            f"  {key:34s} {value:>14,}"
            if isinstance(value, int | float)
            else f"  {key:34s} {value:>14}"
        )
    out = Path("artifacts")
    out.mkdir(exist_ok=True)
    (out / f"bench-import-{args.database}{'-smoke' if args.smoke else ''}.json").write_text(
        json.dumps(figures, indent=1)
    )
    shutil.rmtree(data_dir, ignore_errors=True)


def database_floor() -> tuple[float, float]:
    """What the database alone needs for these rows: copy the loaded clients into an
    empty twin table (no parsing, no Python) and build the same secondary indexes."""
    from django.db import connection, transaction

    from huifang.core.bulk import secondary_indexes

    indexes = secondary_indexes("clients_client")
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("CREATE TABLE floor_twin (LIKE clients_client INCLUDING DEFAULTS)")
            cursor.execute("ALTER TABLE floor_twin ADD PRIMARY KEY (client_id)")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")  # as bulk.insert does
        else:
            cursor.execute("CREATE TABLE floor_twin AS SELECT * FROM clients_client WHERE 0")
            cursor.execute("CREATE UNIQUE INDEX floor_twin_pk ON floor_twin (client_id)")
        began = time.perf_counter()
        cursor.execute("INSERT INTO floor_twin SELECT * FROM clients_client ORDER BY client_id")
        copied = time.perf_counter() - began
        began = time.perf_counter()
        for name, sql in indexes:
            twin = sql.replace(name, f"floor_{name}").replace("public.clients_client", "floor_twin")
            cursor.execute(
                twin.replace('"clients_client"', "floor_twin").replace(
                    " clients_client ", " floor_twin "
                )
            )
        built = time.perf_counter() - began
        transaction.set_rollback(True)
    return copied, built


if __name__ == "__main__":
    main()
