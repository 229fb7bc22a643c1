"""``feed_import``: one feed directory for one business date, all or nothing (SPEC §1, §12).

Order: recover what a crash left → find and fingerprint the files → same content
already imported? done → load each file into DuckDB → validate every row → on any
error reject with ``file:line:column: reason`` lines and keep nothing → protect
personal data → one database transaction (organisation, clients with history,
events, batch row) during which the archive is staged → commit → publish the
archive by rename. ``recover`` makes a crash at any point leave the database and
the archive as they were before or as they are after.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
from django.conf import settings
from django.db import transaction

from huifang.audit.services import audit_record
from huifang.core import clock, duck, pii
from huifang.core.crashpoints import crashpoint
from huifang.feeds import archive, readers, validate, writers
from huifang.feeds.choices import ArchiveState, BatchStatus
from huifang.feeds.models import ImportBatch
from huifang.feeds.readers import FeedError, FeedFile
from huifang.feeds.schema import FEEDS, ORDER, Pii
from huifang.org.models import Staff, Unit

log = logging.getLogger(__name__)
Progress = Callable[..., None]  # (percent, text, **extra)
MAX_STORED_ERRORS = 1000


@dataclass
class ImportResult:
    """What happened: ``imported``, ``unchanged`` or ``rejected``."""

    status: str
    business_date: dt.date
    batch_id: int | None = None
    errors: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)


class ProgressFile:
    """Progress for the web page: a small JSON file the page polls (outside any transaction)."""

    def __init__(self, token: str, echo: Progress | None = None) -> None:
        self.path = Path(settings.DATA_DIR) / "progress" / f"{token}.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.echo = echo

    def __call__(self, percent: int, text: str, **extra: object) -> None:
        data = {"percent": percent, "text": text, **extra}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)
        if self.echo:
            self.echo(percent, text)


def read_progress(token: str) -> dict[str, object] | None:
    path = Path(settings.DATA_DIR) / "progress" / f"{token}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def content_sha256(files: list[FeedFile], encoding: str | None) -> tuple[str, dict[str, str]]:
    """Fingerprint of a feed directory: its file names, bytes and declared encoding."""
    total = hashlib.sha256(f"encoding={encoding or 'utf-8'}\n".encode())
    per_file: dict[str, str] = {}
    for feed in sorted(files, key=lambda f: f.name):
        digest = archive.file_sha256(feed.path)
        per_file[feed.name] = digest
        total.update(f"{feed.path.name}:{digest}\n".encode())
    return total.hexdigest(), per_file


def recover() -> list[str]:
    """Finish publishing committed batches, discard staging areas of uncommitted ones."""
    with import_lock():
        return _recover()


def _recover() -> list[str]:
    done = []
    committed = {
        b.token: b
        for b in ImportBatch.objects.filter(token__in=archive.staged_tokens())
        if b.status in (BatchStatus.COMMITTED, BatchStatus.REPLACED)
    }
    for token in archive.staged_tokens():
        batch = committed.get(token)
        if batch is None:
            archive.discard(token)
            done.append(f"discarded staging {token}")
        else:
            archive.publish(
                batch_id=batch.pk,
                token=token,
                day=batch.business_date,
                replacing=batch.replaces_id is not None,
            )
            done.append(f"published batch {batch.pk}")
    ImportBatch.objects.filter(
        status=BatchStatus.COMMITTED, archive_state=ArchiveState.STAGED
    ).exclude(token__in=archive.staged_tokens()).update(archive_state=ArchiveState.PUBLISHED)
    return done


@contextlib.contextmanager
def import_lock(report: Progress | None = None) -> Iterator[None]:
    """One import (or recovery) at a time per data dir: recovery must never discard the
    staging area of an import that is still running."""
    path = Path(settings.DATA_DIR) / "import.lock"
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if report:
                report(0, "waiting for another import to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(max_age_days: int = 2) -> None:
    """Scratch directories of killed imports and old progress files (caller holds the lock)."""
    for scratch in (Path(settings.DATA_DIR) / "tmp").glob("import-*"):
        readers.remove_tree(scratch)
    cutoff = time.time() - max_age_days * 86400
    for stale in (Path(settings.DATA_DIR) / "progress").glob("*.json"):
        if stale.stat().st_mtime < cutoff:
            stale.unlink(missing_ok=True)


def feed_import(
    *,
    directory: Path,
    business_date: dt.date,
    actor: str,
    encoding: str | None = None,
    replace: bool = False,
    source: str = "cli",
    token: str | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import one feed directory (SPEC §1 import rules). Never raises for bad input."""
    token = token or uuid.uuid4().hex
    report = ProgressFile(token, progress)
    with import_lock(report):
        report(0, "recovering interrupted imports")
        _recover()
        return _import_locked(
            directory=Path(directory),
            business_date=business_date,
            actor=actor,
            encoding=encoding,
            replace=replace,
            source=source,
            token=token,
            report=report,
        )


def _import_locked(
    *,
    directory: Path,
    business_date: dt.date,
    actor: str,
    encoding: str | None,
    replace: bool,
    source: str,
    token: str,
    report: Progress,
) -> ImportResult:
    result = ImportResult("rejected", business_date)
    try:
        files = readers.discover(Path(directory))
        if not files:
            raise FeedError(str(directory), "no feed files found (expected e.g. clients.csv)")
        sha, per_file = content_sha256(files, encoding)
    except (FeedError, OSError) as exc:
        result.errors = [str(exc)]
        return _reject(
            result,
            token=token,
            sha="",
            actor=actor,
            source=source,
            encoding=encoding,
            report=report,
        )
    current = ImportBatch.objects.filter(
        business_date=business_date, status=BatchStatus.COMMITTED
    ).first()
    if current and current.content_sha256 == sha:
        report(100, "already imported with the same content", done=True, status="unchanged")
        return ImportResult(
            "unchanged",
            business_date,
            current.pk,
            message=f"{business_date} already imported (batch {current.pk}); nothing to do",
        )
    if current and not replace:
        result.errors = [
            f"{directory}:0:: {business_date} was already imported with different content "
            f"(batch {current.pk}); pass --replace to replace it"
        ]
        return _reject(
            result,
            token=token,
            sha=sha,
            actor=actor,
            source=source,
            encoding=encoding,
            report=report,
        )
    work = readers.workdir(Path(settings.DATA_DIR) / "tmp")
    con = duck.connect(work)
    try:
        duck.run(con, validate.MACROS)
        pii.install_duckdb(con)
        started = time.perf_counter()
        errors = _load_and_validate(con, files, encoding, work, report)
        validated = time.perf_counter()
        if errors:
            result.errors = errors
            return _reject(
                result,
                token=token,
                sha=sha,
                actor=actor,
                source=source,
                encoding=encoding,
                report=report,
            )
        names = [f.name for f in files]
        validate.build_typed(con, names)
        report(45, "protecting personal data")
        _hash_columns(con, names)
        typed = time.perf_counter()
        outcome = _commit(
            con,
            files=files,
            day=business_date,
            sha=sha,
            per_file=per_file,
            actor=actor,
            source=source,
            encoding=encoding,
            token=token,
            replacing=current,
            report=report,
        )
        outcome.timings = {
            "read_validate": validated - started,
            "typed_hash": typed - validated,
            **outcome.timings,
        }
        return outcome
    finally:
        con.close()
        readers.remove_tree(work)


def _load_and_validate(
    con: duckdb.DuckDBPyConnection,
    files: list[FeedFile],
    encoding: str | None,
    work: Path,
    report: Progress,
) -> list[str]:
    by_name = {f.name: f for f in files}
    structural: list[str] = []
    for i, name in enumerate(n for n in ORDER if n in by_name):
        feed = by_name[name]
        report(5 + 25 * i // len(files), f"reading {feed.label}")
        try:
            readers.load(con, feed, encoding=encoding, workdir=work)
        except FeedError as exc:
            structural.append(str(exc))
            continue
        except (UnicodeDecodeError, LookupError) as exc:
            structural.append(
                f"{feed.label}:0:: cannot decode with --encoding {encoding}: {exc.__class__.__name__}"
            )
            continue
        except duckdb.Error as exc:
            structural.append(
                f"{feed.label}:0:: unreadable file ({str(exc).splitlines()[0][:160]})"
            )
            continue
        structural.extend(str(e) for e in feed.structural_errors)
    if structural:
        return structural
    report(32, "checking references")
    _known_keys(con, by_name)
    found: list[validate.RowError] = []
    for i, name in enumerate(n for n in ORDER if n in by_name):
        report(
            33 + 10 * i // len(files),
            f"validating {by_name[name].label} ({by_name[name].rows:,} rows)",
        )
        found.extend(validate.row_errors(con, by_name[name], ORDER.index(name)))
    return [str(e) for e in sorted(found)]


def _known_keys(con: duckdb.DuckDBPyConnection, by_name: dict[str, FeedFile]) -> None:
    """Tables of every unit, staff member and referenced client the feed may point to."""
    from huifang.core import bulk

    units = pa.table(
        {
            "code": pa.array(list(Unit.objects.values_list("code", flat=True)), pa.string()),
            "unit_kind": pa.array(
                list(Unit.objects.values_list("unit_kind", flat=True)), pa.string()
            ),
        }
    )
    con.register("db_units", units)
    feed_units = (
        "UNION ALL SELECT branch_code, coalesce(unit_kind, 'branch') FROM raw_branches"
        if "branches" in by_name
        else ""
    )
    duck.run(
        con,
        f"CREATE OR REPLACE TABLE known_units AS SELECT code, unit_kind FROM db_units {feed_units}",
    )
    staff = pa.table(
        {"staff_id": pa.array(list(Staff.objects.values_list("staff_id", flat=True)), pa.string())}
    )
    con.register("db_staff", staff)
    feed_staff = "UNION ALL SELECT staff_id FROM raw_staff" if "staff" in by_name else ""
    duck.run(
        con, f"CREATE OR REPLACE TABLE known_staff AS SELECT staff_id FROM db_staff {feed_staff}"
    )
    referring = [
        f"SELECT {col.name} AS client_id FROM raw_{name}"
        for name in by_name
        for col in FEEDS[name].columns
        if col.ref == "client"
    ]
    feed_clients = (
        "SELECT client_id FROM raw_clients"
        if "clients" in by_name
        else "SELECT NULL::VARCHAR AS client_id WHERE false"
    )
    duck.run(con, f"CREATE OR REPLACE TABLE known_clients AS {feed_clients}")
    if referring:
        outside = duck.table(
            con,
            f"SELECT DISTINCT client_id FROM ({' UNION ALL '.join(referring)}) WHERE client_id IS NOT NULL "
            "AND client_id NOT IN (SELECT client_id FROM known_clients)",
        ).column(0)
        if len(outside):
            # fetch_by_keys uses an ON COMMIT DROP temp table on PostgreSQL: outside a
            # transaction (autocommit, as the command runs) it vanishes after CREATE.
            with transaction.atomic():
                found = bulk.fetch_by_keys("clients_client", "client_id", outside, ["client_id"])
            con.register("db_clients", found)
            duck.run(
                con, "INSERT INTO known_clients SELECT CAST(client_id AS VARCHAR) FROM db_clients"
            )


def _hash_columns(con: duckdb.DuckDBPyConnection, names: list[str]) -> None:
    """``h_<name>``: keyed hashes of personal columns, for the archive (clients: see writers)."""
    for name in names:
        hashed = [c.name for c in FEEDS[name].columns if c.pii == Pii.HASH]
        if not hashed or name == "clients":
            continue
        columns = ", ".join(f"hf_hash({c}) AS {c}_hash" for c in hashed)
        duck.run(con, f"CREATE OR REPLACE TABLE h_{name} AS SELECT _line, {columns} FROM t_{name}")


def _commit(
    con: duckdb.DuckDBPyConnection,
    *,
    files: list[FeedFile],
    day: dt.date,
    sha: str,
    per_file: dict[str, str],
    actor: str,
    source: str,
    encoding: str | None,
    token: str,
    replacing: ImportBatch | None,
    report: Progress,
) -> ImportResult:
    names = [n for n in ORDER if n in {f.name for f in files}]
    present = {f.name: set(f.present) for f in files}
    with transaction.atomic():
        if replacing is not None:
            ImportBatch.objects.filter(pk=replacing.pk).update(status=BatchStatus.REPLACED)
        batch = ImportBatch.objects.create(
            business_date=day,
            status=BatchStatus.COMMITTED,
            archive_state=ArchiveState.STAGED,
            content_sha256=sha,
            token=token,
            replaces=replacing,
            source=source,
            encoding=encoding or "utf-8",
            actor=actor,
            files=per_file,
            row_counts={f.name: f.rows for f in files},
            started_at=clock.now(),
        )
        ctx = writers.WriteContext(con, batch.pk, day, actor, clock.now(), present)
        steps: dict[str, Callable[[], None]] = {
            "branches": lambda: writers.write_units(ctx),
            "staff": lambda: writers.write_staff(ctx),
            "clients": lambda: writers.write_clients(ctx),
            "product_purchases": lambda: writers.write_events(ctx, "product_purchases"),
            "margin_events": lambda: writers.write_events(ctx, "margin_events"),
            "account_events": lambda: writers.write_events(ctx, "account_events"),
        }
        timings: dict[str, float] = {}
        for i, name in enumerate(names):
            if name in steps:
                report(50 + 30 * i // len(names), f"writing {name}")
                began = time.perf_counter()
                steps[name]()
                timings[f"write_{name}"] = time.perf_counter() - began
                crashpoint("db_write")
        if replacing is not None:
            writers.drop_replaced_events(ctx, replacing.pk)
        report(82, "archiving")
        began = time.perf_counter()
        manifests = archive.stage(
            con, batch_id=batch.pk, token=token, day=day, names=names, source_sha256=per_file
        )
        timings["archive_stage"] = time.perf_counter() - began
        began = time.perf_counter()
        ImportBatch.objects.filter(pk=batch.pk).update(
            row_counts={**batch.row_counts, **{f"written_{k}": v for k, v in ctx.counts.items()}},
            finished_at=clock.now(),
        )
        audit_record(
            action="feed.replace" if replacing is not None else "feed.import",
            object_type="feeds.ImportBatch",
            object_id=str(batch.pk),
            before={"replaced_batch": replacing.pk} if replacing is not None else None,
            after={
                "business_date": day,
                "content_sha256": sha,
                "counts": ctx.counts,
                "rows": {f.name: f.rows for f in files},
                "files": {archive.relative_part(n, day): m["sha256"] for n, m in manifests.items()},
                "replaced_root": f"archive/{archive.REPLACED}/{batch.pk}",
            },
            changeset=("clients.ClientChange", {"batch_id": batch.pk}),
        )
        crashpoint("before_commit")
    timings["commit"] = time.perf_counter() - began
    crashpoint("after_commit")
    report(95, "publishing the archive")
    began = time.perf_counter()
    archive.publish(batch_id=batch.pk, token=token, day=day, replacing=replacing is not None)
    timings["archive_publish"] = time.perf_counter() - began
    ImportBatch.objects.filter(pk=batch.pk).update(archive_state=ArchiveState.PUBLISHED)
    report(100, "imported", done=True, status="imported", batch=batch.pk)
    counts = {f.name: f.rows for f in files} | {f"written_{k}": v for k, v in ctx.counts.items()}
    return ImportResult(
        "imported",
        day,
        batch.pk,
        counts=counts,
        message=f"{day} imported as batch {batch.pk}",
        timings={**timings, **{f"  {k}": v for k, v in ctx.timings.items()}},
    )


def _reject(
    result: ImportResult,
    *,
    token: str,
    sha: str,
    actor: str,
    source: str,
    encoding: str | None,
    report: Progress,
) -> ImportResult:
    """Log the rejected attempt (its own transaction: nothing of the feed is kept)."""
    archive.discard(token)
    now = clock.now()
    with transaction.atomic():
        batch = _log_rejected(
            result, token=token, sha=sha, actor=actor, source=source, encoding=encoding, now=now
        )
    result.batch_id = batch.pk
    report(
        100,
        f"rejected: {len(result.errors)} error(s)",
        done=True,
        status="rejected",
        batch=batch.pk,
    )
    return result


def _log_rejected(
    result: ImportResult,
    *,
    token: str,
    sha: str,
    actor: str,
    source: str,
    encoding: str | None,
    now: dt.datetime,
) -> ImportBatch:
    batch = ImportBatch.objects.create(
        business_date=result.business_date,
        status=BatchStatus.REJECTED,
        content_sha256=sha,
        token=token,
        source=source,
        encoding=encoding or "utf-8",
        actor=actor,
        error_count=len(result.errors),
        errors="\n".join(result.errors[:MAX_STORED_ERRORS]),
        started_at=now,
        finished_at=now,
    )
    audit_record(
        action="feed.reject",
        object_type="feeds.ImportBatch",
        object_id=str(batch.pk),
        after={
            "business_date": result.business_date,
            "errors": len(result.errors),
            "content_sha256": sha,
        },
    )
    return batch
