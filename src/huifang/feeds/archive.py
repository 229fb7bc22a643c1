"""The Parquet archive of every imported feed, without plain personal data (SPEC §1).

Layout: ``$HUIFANG_DATA_DIR/archive/<file>/date=YYYY-MM-DD/part-0.parquet`` with a
``manifest.json`` beside it (SHA-256 of the Parquet file, rows, batch). A batch is
written under ``archive/.staging/<batch>/`` and renamed into place only after its
database transaction has committed; ``recover`` finishes or undoes whatever a
crash left behind, so database and archive always agree. A replaced date's
partitions move to ``archive/.replaced/<old batch>/``. Timestamps are UTC.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import duckdb
from django.conf import settings

from huifang.core import duck
from huifang.core.crashpoints import crashpoint
from huifang.feeds.readers import _ident, _sql_str
from huifang.feeds.schema import FEEDS, Pii

STAGING = ".staging"
REPLACED = ".replaced"
PART = "part-0.parquet"
MANIFEST = "manifest.json"

# Free text: ID numbers and mobiles inside it are masked before archiving.
SCRUB_SQL = (
    "regexp_replace(regexp_replace({c}, '(\\d{{3}})\\d{{11}}([0-9]{{3}}[0-9Xx])', '\\1***********\\2', 'g'),"
    " '(1[3-9][0-9])[0-9]{{4}}([0-9]{{4}})', '\\1****\\2', 'g')"
)


def root() -> Path:
    path = Path(settings.ARCHIVE_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def partition(name: str, day: dt.date, base: Path | None = None) -> Path:
    return (base or root()) / name / f"date={day.isoformat()}"


def staging_dir(token: str) -> Path:
    return root() / STAGING / token


def archive_columns(name: str) -> str:
    """The archived ``SELECT`` list: personal columns dropped, hashed or scrubbed."""
    parts = ["t._line AS source_line"]
    for col in FEEDS[name].columns:
        c = _ident(col.name)
        if col.pii == Pii.DROP:
            continue
        if col.pii == Pii.HASH:
            parts.append(f"h.{_ident(col.name + '_hash')} AS {_ident(col.name + '_hash')}")
        elif col.pii == Pii.SCRUB:
            parts.append(f"{SCRUB_SQL.format(c='t.' + c)} AS {c}")
        else:
            parts.append(f"t.{c}")
    return ", ".join(parts)


def stage(
    con: duckdb.DuckDBPyConnection,
    *,
    batch_id: int,
    token: str,
    day: dt.date,
    names: Iterable[str],
    source_sha256: dict[str, str],
) -> dict[str, dict[str, object]]:
    """Write each typed file to the staging area; returns the manifest of each file."""
    manifests: dict[str, dict[str, object]] = {}
    for name in names:
        target = partition(name, day, staging_dir(token))
        target.mkdir(parents=True, exist_ok=True)
        hashed = any(c.pii == Pii.HASH for c in FEEDS[name].columns)
        source = f"t_{name} t" + (f" JOIN h_{name} h USING (_line)" if hashed else "")
        path = target / PART
        duck.run(
            con,
            f"COPY (SELECT {archive_columns(name)} FROM {source} ORDER BY t._line) "
            f"TO '{_sql_str(path)}' (FORMAT parquet, COMPRESSION snappy)",
        )
        crashpoint("archive_write")
        rows = con.execute(f"SELECT count(*) FROM t_{name}").fetchall()[0][0]
        manifest = {
            "batch": batch_id,
            "business_date": day.isoformat(),
            "file": name,
            "rows": rows,
            "parquet": PART,
            "sha256": file_sha256(path),
            "source_sha256": source_sha256.get(name, ""),
            "timestamps": "UTC",
        }
        manifests[name] = manifest
        (target / MANIFEST).write_text(
            json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8"
        )
    _fsync_tree(staging_dir(token))
    return manifests


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_tree(path: Path) -> None:
    for sub in path.rglob("*"):
        if sub.is_file():
            with sub.open("rb") as handle:
                os.fsync(handle.fileno())


def publish(*, batch_id: int, token: str, day: dt.date, replacing: bool) -> None:
    """Move a committed batch into place (idempotent: safe to repeat after a crash)."""
    base = root()
    staged = staging_dir(token)
    if replacing:
        for name in FEEDS:
            current = partition(name, day, base)
            if current.exists() and _manifest_batch(current) != batch_id:
                _move(
                    current, partition(name, day, base / REPLACED / str(_manifest_batch(current)))
                )
    for name in FEEDS:
        source = partition(name, day, staged)
        if not source.exists():
            continue
        target = partition(name, day, base)
        if target.exists() and _manifest_batch(target) == batch_id:
            shutil.rmtree(source)
            continue
        if target.exists():
            _move(target, partition(name, day, base / REPLACED / str(_manifest_batch(target))))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(source, target)
        crashpoint("archive_publish")
    shutil.rmtree(staged, ignore_errors=True)


def _move(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(source, target)


def _manifest_batch(path: Path) -> int | None:
    try:
        return int(json.loads((path / MANIFEST).read_text(encoding="utf-8"))["batch"])
    except (OSError, ValueError, KeyError):
        return None


def discard(token: str) -> None:
    """Remove a batch's staging area (rejected or rolled back)."""
    shutil.rmtree(staging_dir(token), ignore_errors=True)


def staged_tokens() -> list[str]:
    folder = root() / STAGING
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir())


def relative_part(name: str, day: dt.date) -> str:
    """The archived file of ``name`` for ``day``, relative to the data dir (for audit rows)."""
    return f"archive/{name}/date={day.isoformat()}/{PART}"


def glob(name: str) -> str:
    """The glob DuckDB reads one archived file kind from (the rules use it)."""
    return str(root() / name / "date=*" / PART)
