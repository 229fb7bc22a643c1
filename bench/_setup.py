"""Shared set-up for benchmarks: a fresh data dir and a fresh database, then Django."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

PG_ADMIN_URL = os.environ.get(
    "HUIFANG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def fresh_environment(database: str, name: str) -> Path:
    """Point huifang at a new data dir and an empty database; returns the data dir."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    data_dir = Path(tempfile.mkdtemp(prefix=f"huifang-bench-{name}-"))
    os.environ["HUIFANG_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "huifang.settings.embedded"
    if database == "postgres":
        import psycopg

        db = f"huifang_bench_{name}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db}"')
        os.environ["HUIFANG_DATABASE_URL"] = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{db}"
    else:
        os.environ["HUIFANG_DATABASE_URL"] = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return data_dir


def bench_parser(doc: str | None, *, default_clients: int) -> argparse.ArgumentParser:
    """The options every benchmark shares: --smoke, --clients, --branches, --database."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="20,000 clients: a quick check for make test"
    )
    parser.add_argument("--clients", type=int, default=default_clients)
    parser.add_argument("--branches", type=int, default=300)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    return parser
