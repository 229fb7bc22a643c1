"""DuckDB helpers shared by the importer and the batch engine."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

# (connection, sql, params, started, ended): perf_counter seconds; see ``recording``.
Recorder = Callable[[duckdb.DuckDBPyConnection, str, Sequence[Any] | None, float, float], None]
_recorder: Recorder | None = None


@contextlib.contextmanager
def recording(recorder: Recorder) -> Iterator[None]:
    """Call ``recorder`` after every statement run through ``run`` and ``table`` (benchmarks).

    One recorder per process at a time; nothing is recorded outside the block.
    """
    global _recorder
    previous, _recorder = _recorder, recorder
    try:
        yield
    finally:
        _recorder = previous


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
    began = time.perf_counter() if _recorder is not None else 0.0
    con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()
    if _recorder is not None:
        _recorder(con, sql, params, began, time.perf_counter())


def table(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> Any:
    """Run a query and return its whole result as a ``pyarrow.Table``."""
    began = time.perf_counter() if _recorder is not None else 0.0
    relation = con.sql(sql, params=params) if params is not None else con.sql(sql)
    fetch = getattr(relation, "to_arrow_table", None) or relation.arrow
    result = fetch()
    if _recorder is not None:
        _recorder(con, sql, params, began, time.perf_counter())
    return result


PART = "part-0.parquet"  # the one file of an archive partition (``archive/<name>/date=D/``)


def lit(text: str) -> str:
    """``text`` as a SQL string literal (file names only; values go in as parameters)."""
    return "'" + text.replace("'", "''") + "'"


def archived(root: Path, name: str) -> list[tuple[dt.date, Path]]:
    """Every archived partition of ``name`` under ``root`` as (date, file), oldest first."""
    folder = root / name
    if not folder.is_dir():
        return []
    found = []
    for child in folder.iterdir():
        if not child.name.startswith("date=") or not (child / PART).is_file():
            continue
        try:
            day = dt.date.fromisoformat(child.name[5:])
        except ValueError:
            continue
        found.append((day, child / PART))
    return sorted(found)


def read_parquet(paths: Sequence[Path]) -> str:
    """``read_parquet`` over archive files, the partition date as column ``date``."""
    files = ", ".join(lit(str(p)) for p in paths)
    return (
        f"read_parquet([{files}], hive_partitioning = true, union_by_name = true, "
        "hive_types = {'date': DATE})"
    )


def write_parquet(con: duckdb.DuckDBPyConnection, table: str, target: Path) -> None:
    """``table`` to ``target`` (zstd), written beside it and renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(target.name + ".partial")
    run(con, f"COPY {table} TO {lit(str(staged))} (FORMAT parquet, COMPRESSION zstd)")
    os.replace(staged, target)
