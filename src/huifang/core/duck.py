"""DuckDB helpers shared by the importer and the batch engine."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb


def connect(
    workdir: Path | None = None, *, threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to ``workdir``; only built-in extensions (no downloads)."""
    config: dict[str, Any] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if workdir is not None:
        config["temp_directory"] = str(workdir / "duckdb")
    if threads:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    run(con, "SET TimeZone = 'Asia/Shanghai'")
    return con


def run(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> None:
    """Execute a statement to completion (DuckDB keeps a result open until it is fetched)."""
    con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()


def table(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """Run a query and return its whole result as a ``pyarrow.Table``."""
    relation = con.sql(sql, params=params) if params is not None else con.sql(sql)
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    return fetch()
