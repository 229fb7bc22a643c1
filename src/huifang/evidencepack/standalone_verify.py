#!/usr/bin/env python3
"""Check a huifang evidence pack (证据包) with nothing but Python's standard library.

Copied into every pack as ``verify.py``. Run it inside the extracted pack
(``python verify.py``), or name the folder or the zip (``python verify.py PACK.zip``).
It prints ``OK`` and exits 0 when everything holds; otherwise it prints ``FAILED``
and one line per problem, each naming the file (and the audit row) concerned, and
exits 1. Exit 2: the pack could not be found.

What it checks (SPEC NFR-2, EXE-2, EXE-5):

1. ``manifest.json`` against its seal ``manifest.json.sha256``.
2. Every file the manifest lists: present, its size, its SHA-256; no file that the
   manifest does not list.
3. ``audit/segment.jsonl``, the slice of the audit trail that covers the pack. The
   trail may be several interleaved hash chains: each row names its ``chain``, and
   links to the previous row *of that chain* (the one with the next lower id).
   Checked: ids strictly increasing; every full row re-hashed with the canonical
   form of the audit trail (the JSON of the chained fields, keys sorted, no spaces,
   UTF-8 as is — the same bytes as ``huifang.audit.chain.row_hash``; ``chain`` is
   not hashed); for each chain, its first row's ``prev_hash`` equal to the
   manifest's ``audit.chains[<n>].first_prev_hash`` and every later row's
   ``prev_hash`` equal to the ``hash`` of the chain's previous row in the segment;
   each chain's first and last id, last hash and row count as the manifest says; a
   chain in the segment that the manifest does not list, or the reverse, fails;
   the totals (rows, rows in full, first and last id) as the manifest says.
   Rows of other clients carry only ``id``, ``chain``, ``prev_hash`` and ``hash``:
   they link their chain without showing anything.
4. Each signed record: its signed content re-hashed equals its ``content_sha256``,
   and the agent's signature row in the segment vouches for that hash; each
   evidence file's SHA-256 equals the one the record lists and, where the segment
   holds its upload row, the one that row vouches for.

This file must never import anything outside the standard library.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

FORMAT = "huifang-evidence-pack"
MANIFEST = "manifest.json"
SEAL = "manifest.json.sha256"
GENESIS = "0" * 64
REDUCED_KEYS = frozenset({"id", "chain", "prev_hash", "hash"})
# The chained fields of an audit row, as huifang.audit.chain.CHAINED_FIELDS names them.
CHAINED_FIELDS = (
    "at",
    "actor",
    "actor_user_id",
    "request_id",
    "action",
    "object_type",
    "object_id",
    "branch_code",
    "before",
    "after",
    "changeset_table",
    "changeset_key",
    "changeset_rows",
    "changeset_sha256",
    "prev_hash",
)
SIGN_ACTION = "workbench.record_sign_agent"
ATTACH_ACTION = "workbench.evidence_attach"
CHUNK = 1024 * 1024


def row_hash(row: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of an audit row's chained fields (``at`` already text)."""
    canonical = {name: row.get(name) for name in CHAINED_FIELDS}
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def content_hash(content: Any) -> str:
    """SHA-256 of a record's signed content in the workbench's canonical JSON."""
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- where the files are


class Pack:
    """The pack's files, from an extracted folder or straight from the zip."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self.zip = zipfile.ZipFile(location) if location.is_file() else None
        self._names = self._list()

    def _list(self) -> frozenset[str]:
        if self.zip is not None:
            return frozenset(n for n in self.zip.namelist() if not n.endswith("/"))
        names = set()
        for path in self.location.rglob("*"):
            relative = path.relative_to(self.location)
            if path.is_file() and "__pycache__" not in relative.parts:
                names.add(relative.as_posix())
        return frozenset(names)

    def names(self) -> frozenset[str]:
        return self._names

    def exists(self, name: str) -> bool:
        return name in self._names

    def chunks(self, name: str) -> Iterator[bytes]:
        handle = self.zip.open(name) if self.zip is not None else (self.location / name).open("rb")
        with handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def lines(self, name: str) -> Iterator[bytes]:
        """The file's lines, split at ``\\n`` only (JSON text may hold U+2028 and the like)."""
        handle = self.zip.open(name) if self.zip is not None else (self.location / name).open("rb")
        with handle:
            for line in handle:
                yield line.rstrip(b"\n")

    def read(self, name: str) -> bytes:
        return b"".join(self.chunks(name))

    def digest(self, name: str) -> tuple[str, int]:
        sha, size = hashlib.sha256(), 0
        for chunk in self.chunks(name):
            sha.update(chunk)
            size += len(chunk)
        return sha.hexdigest(), size


# ---------------------------------------------------------------- the checks


@dataclass
class Chain:
    """One chain of the audit trail as the segment has shown it so far."""

    first_id: int
    line: int = 0  # the segment line of its last row so far
    last_id: int | None = None
    last_hash: Any = None
    rows: int = 0


class Checker:
    """Runs every check and collects one line per problem."""

    def __init__(self, pack: Pack) -> None:
        self.pack = pack
        self.failures: list[str] = []
        self.file_hashes: dict[str, str] = {}
        self.rows: list[dict[str, Any]] = []

    def fail(self, where: str, problem: str) -> None:
        self.failures.append(f"{where}: {problem}")

    def run(self) -> list[str]:
        manifest = self.manifest()
        if manifest is None:
            return self.failures
        self.files(manifest)
        self.segment(manifest)
        self.records(manifest)
        return self.failures

    def manifest(self) -> dict[str, Any] | None:
        names = self.pack.names()
        if MANIFEST not in names:
            self.fail(MANIFEST, "missing")
            return None
        raw = self.pack.read(MANIFEST)
        if SEAL not in names:
            self.fail(SEAL, "missing")
        else:
            sealed = self.pack.read(SEAL).decode("ascii", "replace").split()
            if not sealed or sealed[0] != hashlib.sha256(raw).hexdigest():
                self.fail(
                    MANIFEST, f"SHA-256 differs from the one in {SEAL} (the file was altered)"
                )
        try:
            manifest = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            self.fail(MANIFEST, f"not readable JSON ({error})")
            return None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            self.fail(MANIFEST, f"not a {FORMAT} manifest")
            return None
        return manifest

    def files(self, manifest: dict[str, Any]) -> None:
        listed = set()
        for entry in manifest.get("files") or []:
            name = str(entry.get("path", ""))
            listed.add(name)
            if not _safe(name):
                self.fail(name or "?", "unsafe path in the manifest")
                continue
            if not self.pack.exists(name):
                self.fail(name, "missing")
                continue
            sha, size = self.pack.digest(name)
            self.file_hashes[name] = sha
            if size != entry.get("size"):
                self.fail(name, f"size {size} differs from the manifest's {entry.get('size')}")
            if sha != entry.get("sha256"):
                self.fail(name, "SHA-256 differs from the manifest (the file was altered)")
        for name in sorted(self.pack.names() - listed - {MANIFEST, SEAL}):
            self.fail(name, "not listed in the manifest")

    def segment(self, manifest: dict[str, Any]) -> None:
        audit = manifest.get("audit") or {}
        name = str(audit.get("segment", "audit/segment.jsonl"))
        if not self.pack.exists(name):
            self.fail(name, "missing")
            return
        listed = audit.get("chains")
        if not isinstance(listed, dict):
            self.fail(MANIFEST, "the audit entry does not list the segment's chains")
            listed = {}
        chains: dict[str, Chain] = {}
        first_id: int | None = None
        last_id: int | None = None
        unreadable = 0  # the last line that could not be read: links across it are unknown
        count = full = 0
        for count, raw in enumerate(self.pack.lines(name), 1):
            row = self.segment_row(name, count, raw)
            if row is None:
                unreadable = count
                continue
            where = f"{name} line {count} (audit row {row['id']}, chain {row['chain']})"
            if last_id is not None and row["id"] <= last_id:
                self.fail(where, "ids are not increasing (a row was moved)")
            else:
                last_id = row["id"]
            first_id = row["id"] if first_id is None else first_id
            key = str(row["chain"])
            if key not in chains:
                chains[key] = Chain(first_id=row["id"])
                if key not in listed:
                    self.fail(where, f"chain {key} is not listed in the manifest")
            chain = chains[key]
            if chain.line >= unreadable:
                self.link(where, row, chain, listed.get(key))
            chain.line, chain.last_id, chain.last_hash = count, row["id"], row["hash"]
            chain.rows += 1
            if set(row) != REDUCED_KEYS:
                full += 1
                self.full_row(where, row)
        self.chain_ends(name, listed, chains)
        seen = {"rows": count, "full_rows": full, "first_id": first_id, "last_id": last_id}
        for field, value in seen.items():
            if audit.get(field) != value:
                self.fail(name, f"{field} is {value}, the manifest says {audit.get(field)}")

    def segment_row(self, name: str, number: int, raw: bytes) -> dict[str, Any] | None:
        """One line as a row with at least ``id``, ``chain``, ``prev_hash``, ``hash``; else reported."""
        where = f"{name} line {number}"
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self.fail(where, "not a JSON row")
            return None
        if not isinstance(row, dict) or not set(row) >= REDUCED_KEYS:
            self.fail(where, "a row needs id, chain, prev_hash and hash")
            return None
        if not (_whole(row["id"]) and _whole(row["chain"])):
            self.fail(where, "id and chain must be whole numbers")
            return None
        return row

    def link(self, where: str, row: dict[str, Any], chain: Chain, ends: Any) -> None:
        """The row's ``prev_hash``: its chain's previous row's hash, or the manifest's anchor."""
        number = row["chain"]
        if chain.rows == 0:
            if isinstance(ends, dict) and row["prev_hash"] != ends.get("first_prev_hash"):
                self.fail(where, f"prev_hash differs from the manifest's first_prev_hash "
                          f"of chain {number}")  # fmt: skip
        elif row["prev_hash"] != chain.last_hash:
            self.fail(where, f"prev_hash does not match the hash of the previous row of chain "
                      f"{number} (a row was removed, inserted, reordered, moved to another "
                      "chain or its hash altered)")  # fmt: skip

    def full_row(self, where: str, row: dict[str, Any]) -> None:
        missing = [f for f in CHAINED_FIELDS if f not in row]
        if missing:
            self.fail(where, f"full row lacks {', '.join(missing)}")
        elif row_hash(row) != row["hash"]:
            self.fail(where, "hash does not match the row's content (the row was altered)")
        self.rows.append(row)

    def chain_ends(self, name: str, listed: dict[str, Any], chains: dict[str, Chain]) -> None:
        """Each chain the manifest lists: in the segment, with the ends and rows it says."""
        for key, ends in listed.items():
            chain = chains.get(key)
            if chain is None:
                self.fail(name, f"chain {key} is listed in the manifest but has no row here")
                continue
            expected = ends if isinstance(ends, dict) else {}
            seen = {"first_id": chain.first_id, "last_id": chain.last_id,
                    "last_hash": chain.last_hash, "rows": chain.rows}  # fmt: skip
            for field, value in seen.items():
                if expected.get(field) != value:
                    self.fail(name, f"chain {key}: {field} is {value}, "
                              f"the manifest says {expected.get(field)}")  # fmt: skip

    def records(self, manifest: dict[str, Any]) -> None:
        signed = {(r.get("object_id"), (r.get("after") or {}).get("content_sha256"))
                  for r in self.rows if r.get("action") == SIGN_ACTION and isinstance(r.get("after"), dict)}  # fmt: skip
        vouched: dict[str, str] = {}
        for row in self.rows:
            after = row.get("after")
            if row.get("action") == ATTACH_ACTION and isinstance(after, dict):
                vouched.update(after.get("evidence") or {})
        for name in manifest.get("records") or []:
            if name not in self.file_hashes:
                continue  # already reported by files()
            try:
                record = json.loads(self.pack.read(name).decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                self.fail(name, "not readable JSON")
                continue
            self.record(name, record, signed, vouched)

    def record(self, name: str, record: dict[str, Any], signed: set[tuple[Any, Any]],
               vouched: dict[str, str]) -> None:  # fmt: skip
        head = record.get("record") or {}
        stated = head.get("content_sha256")
        if stated:
            if content_hash(record.get("content")) != stated:
                self.fail(name, "the signed content does not hash to content_sha256")
            if (str(head.get("id")), stated) not in signed:
                self.fail(
                    name, "no agent signature row in the audit segment vouches for content_sha256"
                )
        for item in record.get("evidence") or []:
            path = item.get("path")
            if not path:
                continue
            if path in self.file_hashes and self.file_hashes[path] != item.get("sha256"):
                self.fail(path, f"SHA-256 differs from the one {name} lists")
            stored = item.get("stored_name")
            if stored in vouched and vouched[stored] != item.get("sha256"):
                self.fail(path, "SHA-256 differs from the one its upload audit row vouches for")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts


def main(argv: list[str]) -> int:
    where = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent
    if not where.exists():
        print(f"no such pack: {where}", file=sys.stderr)
        return 2
    try:
        failures = Checker(Pack(where)).run()
    except Exception as error:  # a pack damaged beyond the checks' expectations
        failures = [f"{where}: cannot be checked ({type(error).__name__}: {error})"]
    if failures:
        print("FAILED")
        for line in failures:
            print(line)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
