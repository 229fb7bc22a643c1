"""Reading feed files into DuckDB as all-text tables with their line numbers (SPEC §1).

Each file becomes table ``raw_<name>``: one VARCHAR column per spec column (absent
optional columns are NULL; unknown columns are ignored), empty cells NULL, and
``_line`` — the line of the row in the file (header = line 1; for XLSX the sheet
row; for Parquet the row number + 1). Files are recognised by their content
(magic bytes), never by their name alone; archives are checked for zip bombs.
"""

from __future__ import annotations

import codecs
import datetime as dt
import decimal
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from huifang.core import duck
from huifang.feeds.schema import FEEDS, FORMATS, FileSpec

MAX_XLSX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_ZIP_RATIO = 200
PROBE_BYTES = 1 << 20


class FeedError(Exception):
    """A problem with one file as a whole, reported as ``file:line:column: reason``."""

    def __init__(self, file: str, reason: str, line: int = 0, column: str = "") -> None:
        super().__init__(f"{file}:{line}:{column}: {reason}")
        self.file, self.line, self.column, self.reason = file, line, column, reason


@dataclass
class FeedFile:
    """One file found in a feed directory."""

    name: str
    path: Path
    fmt: str
    rows: int = 0
    structural_errors: list[FeedError] = field(default_factory=list)
    present: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.path.name


def discover(directory: Path) -> list[FeedFile]:
    """The feed files of a directory, one per known name; a name in two formats is refused."""
    if not directory.is_dir():
        raise FeedError(str(directory), "not a directory")
    found: dict[str, FeedFile] = {}
    for path in sorted(directory.iterdir()):
        stem, _, ext = path.name.partition(".")
        if stem not in FEEDS or ext.lower() not in FORMATS or not path.is_file():
            continue
        if stem in found:
            raise FeedError(
                path.name, f"{stem} is given twice ({found[stem].path.name} and {path.name})"
            )
        found[stem] = FeedFile(stem, path, ext.lower())
    return list(found.values())


def check_magic(feed: FeedFile) -> None:
    """Refuse a file whose content does not match its extension."""
    with feed.path.open("rb") as handle:
        head = handle.read(8)
        size = feed.path.stat().st_size
        handle.seek(max(size - 4, 0))
        tail = handle.read(4)
    if feed.fmt == "xlsx" and not head.startswith(b"PK\x03\x04"):
        raise FeedError(feed.label, "not an XLSX file (wrong magic bytes)")
    if feed.fmt == "parquet" and (head[:4] != b"PAR1" or tail != b"PAR1"):
        raise FeedError(feed.label, "not a Parquet file (wrong magic bytes)")
    if feed.fmt == "csv" and (
        head.startswith((b"PK\x03\x04", b"PAR1", b"\x1f\x8b")) or b"\x00" in head
    ):
        raise FeedError(feed.label, "not a CSV text file (binary content)")


def decode_csv(feed: FeedFile, encoding: str | None, workdir: Path) -> Path:
    """A UTF-8 path for DuckDB; undeclared non-UTF-8 bytes are refused naming the likely encoding."""
    if encoding and codecs.lookup(encoding).name not in {"utf-8", "utf-8-sig"}:
        target = workdir / f"{feed.name}.utf8.csv"
        with (
            feed.path.open("r", encoding=encoding, errors="strict", newline="") as src,
            target.open("w", encoding="utf-8", newline="") as dst,
        ):
            while chunk := src.read(1 << 22):
                dst.write(chunk)
        return target
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    with feed.path.open("rb") as handle:
        while block := handle.read(1 << 22):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                line = _line_at(feed.path, offset + exc.start)
                raise FeedError(
                    feed.label,
                    f"not UTF-8; the bytes look like {_guess(block[exc.start :])}: "
                    f"declare it with --encoding {_guess_code(block[exc.start :])}",
                    line,
                ) from exc
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise FeedError(
                feed.label, "not UTF-8: truncated multi-byte character at the end"
            ) from exc
    return feed.path


def _guess(sample: bytes) -> str:
    return "GB18030/GBK" if _guess_code(sample) == "gb18030" else "a non-UTF-8 encoding"


def _guess_code(sample: bytes) -> str:
    try:
        sample[:4096].decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        try:
            sample[:4095].decode("gb18030")
            return "gb18030"
        except UnicodeDecodeError:
            return "ENCODING"


def _line_at(path: Path, offset: int) -> int:
    with path.open("rb") as handle:
        return handle.read(offset).count(b"\n") + 1


def load(
    con: duckdb.DuckDBPyConnection, feed: FeedFile, *, encoding: str | None, workdir: Path
) -> None:
    """Load one file into ``raw_<name>`` (all VARCHAR, ``_line``)."""
    check_magic(feed)
    spec = FEEDS[feed.name]
    if feed.fmt == "csv":
        _load_csv(con, feed, spec, decode_csv(feed, encoding, workdir))
    elif feed.fmt == "xlsx":
        _register(con, feed, spec, _read_xlsx(feed))
    else:
        _load_parquet(con, feed, spec)
    feed.rows = con.execute(f"SELECT count(*) FROM raw_{feed.name}").fetchall()[0][0]


def _select_spec(
    spec: FileSpec, present: list[str], feed: FeedFile, source: str, line_sql: str, extra: str = ""
) -> str:
    missing = [c for c in spec.required if c not in present]
    if missing:
        raise FeedError(feed.label, f"missing required column(s): {', '.join(missing)}", 1)
    feed.present = [c.name for c in spec.columns if c.name in present]
    parts = [f"{line_sql} AS _line"]
    for col in spec.columns:
        if col.name in present:
            parts.append(
                f"NULLIF(trim(CAST({_ident(col.name)} AS VARCHAR)), '') AS {_ident(col.name)}"
            )
        else:
            parts.append(f"CAST(NULL AS VARCHAR) AS {_ident(col.name)}")
    if extra:
        parts.append(extra)
    return f"CREATE OR REPLACE TABLE raw_{spec.name} AS SELECT {', '.join(parts)} FROM {source}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _load_csv(con: duckdb.DuckDBPyConnection, feed: FeedFile, spec: FileSpec, path: Path) -> None:
    first = _csv_header(path)
    present = [c for c in first if c]
    if len(set(present)) != len(present):
        raise FeedError(feed.label, "duplicate column names in the header", 1)
    columns = (
        "{" + ", ".join(f"'{c.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for c in first) + "}"
    )
    duck.run(con, "DROP TABLE IF EXISTS reject_errors; DROP TABLE IF EXISTS reject_scans")
    source = (
        f"(SELECT *, row_number() OVER () AS _n FROM read_csv('{_sql_str(path)}', header=true, "
        f"auto_detect=false, delim=',', quote='\"', escape='\"', columns={columns}, "
        f"store_rejects=true, strict_mode=true))"
    )
    # Line of row n = n + 1 (header) + line breaks inside quoted fields of earlier rows.
    newline_sql = (
        " + ".join(
            f"coalesce(length({_ident(c)}) - length(replace({_ident(c)}, chr(10), '')), 0)"
            for c in present
        )
        or "0"
    )
    source = f"(SELECT *, _n + 1 AS _ln, {newline_sql} AS _nl FROM {source})"
    duck.run(con, _select_spec(spec, present, feed, source, "CAST(_ln AS BIGINT)", extra="_nl"))
    table = f"raw_{spec.name}"
    if con.execute(f"SELECT coalesce(max(_nl), 0) FROM {table}").fetchall()[0][0]:
        # Rare: quoted fields with line breaks shift the lines of every later row.
        duck.run(
            con,
            f"CREATE OR REPLACE TABLE {table} AS SELECT * REPLACE (_line + coalesce(sum(_nl) OVER "
            f"(ORDER BY _line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS _line) "
            f"FROM {table}",
        )
    duck.run(con, f"ALTER TABLE {table} DROP COLUMN _nl")
    rejects = con.execute(
        "SELECT line, column_name, error_type FROM reject_errors ORDER BY line"
    ).fetchall()
    for line, column, kind in rejects:
        feed.structural_errors.append(
            FeedError(
                feed.label,
                f"malformed row ({str(kind).lower().replace('_', ' ')})",
                int(line),
                column or "",
            )
        )


def _csv_header(path: Path) -> list[str]:
    import csv

    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        row = next(csv.reader(handle), [])
    return [c.strip() for c in row]


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


def _load_parquet(con: duckdb.DuckDBPyConnection, feed: FeedFile, spec: FileSpec) -> None:
    try:
        present = [
            r[0]
            for r in con.execute(
                "DESCRIBE SELECT * FROM read_parquet(?)", [str(feed.path)]
            ).fetchall()
        ]
    except duckdb.Error as exc:
        raise FeedError(feed.label, f"unreadable Parquet file: {type(exc).__name__}") from exc
    source = f"(SELECT *, file_row_number FROM read_parquet('{_sql_str(feed.path)}', file_row_number=true))"
    duck.run(con, _select_spec(spec, present, feed, source, "file_row_number + 2"))


def _read_xlsx(feed: FeedFile) -> pa.Table:
    """The first sheet as text columns, after refusing zip bombs and non-workbooks."""
    _check_zip(feed)
    import openpyxl

    try:
        book = openpyxl.load_workbook(feed.path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise FeedError(feed.label, f"unreadable XLSX file: {type(exc).__name__}") from exc
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
    columns: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    for number, row in enumerate(rows, start=2):
        if row is None or all(v is None for v in row):
            continue
        lines.append(number)
        for i in range(len(header)):
            columns[i].append(_cell(row[i]) if i < len(row) else None)
    book.close()
    data = {"_xlsx_line": pa.array(lines, pa.int64())}
    data.update(
        {h: pa.array(col, pa.string()) for h, col in zip(header, columns, strict=True) if h}
    )
    return pa.table(data)


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return format(decimal.Decimal(repr(value)).normalize(), "f")
    return str(value)


def _register(
    con: duckdb.DuckDBPyConnection, feed: FeedFile, spec: FileSpec, table: pa.Table
) -> None:
    present = [c for c in table.column_names if c != "_xlsx_line"]
    con.register("_xlsx", table)
    try:
        duck.run(con, _select_spec(spec, present, feed, "_xlsx", "_xlsx_line"))
    finally:
        con.unregister("_xlsx")


def _check_zip(feed: FeedFile) -> None:
    try:
        with zipfile.ZipFile(feed.path) as archive:
            infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise FeedError(feed.label, "not an XLSX file (broken zip container)") from exc
    check_zip_members(feed.label, infos, limit=MAX_XLSX_UNCOMPRESSED)
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise FeedError(feed.label, "not an XLSX workbook (no xl/workbook.xml)")


def check_zip_members(label: str, infos: list[zipfile.ZipInfo], *, limit: int) -> None:
    """Refuse zip bombs: total uncompressed size and per-member compression ratio."""
    total = 0
    for info in infos:
        total += info.file_size
        if (
            info.compress_size
            and info.file_size / info.compress_size > MAX_ZIP_RATIO
            and info.file_size > 1 << 20
        ):
            raise FeedError(
                label,
                f"refused: {info.filename} expands {info.file_size // info.compress_size}× (zip bomb?)",
            )
        if ".." in Path(info.filename).parts or info.filename.startswith("/"):
            raise FeedError(label, f"refused: unsafe path {info.filename}")
    if total > limit:
        raise FeedError(label, f"refused: {total} bytes uncompressed exceeds the limit of {limit}")


def workdir(base: Path) -> Path:
    """A private scratch directory under the data dir (same filesystem as the archive)."""
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="import-", dir=base))


def remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
