"""An audit trail of several interleaved chains (PostgreSQL, ``AuditEvent.chain``) in the pack:
the segment holds every chain's rows between its ends, the manifest anchors each chain, and
``verify.py`` links each chain on its own (NFR-2).

SQLite writes everything to chain 0, so ``interleaved`` appends the second chain's rows
directly, chained as ``audit_record`` would on another connection. The PostgreSQL test
writes them from a second connection. The forgeries rewrite the manifest's file entry and
seal as well: only the chain checks are left to catch them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, connections

from huifang.audit import chain
from huifang.audit.context import audit_context
from huifang.audit.models import AuditEvent
from huifang.audit.services import audit_record, chains
from huifang.audit.verify import verify as audit_verify
from huifang.core import clock
from huifang.evidencepack.pack import PackSummary, build
from huifang.evidencepack.tests.kit import (
    BEFORE_AT,
    END,
    OTHER_ID,
    OURS_ID,
    START,
    Scenario,
    extract,
    make_scenario,
    verify,
)

SEGMENT = "audit/segment.jsonl"
INSIDE = dt.datetime(2026, 10, 20, 9, 0, tzinfo=clock.SHANGHAI)


def chained(number: int, *, object_id: str, note: str, at: dt.datetime = INSIDE) -> AuditEvent:
    """A PII reveal appended to chain ``number`` directly, linked as ``audit_record`` links."""
    last = AuditEvent.objects.filter(chain=number).order_by("-id").values_list("hash", flat=True)
    fields: dict[str, Any] = {
        "at": at.astimezone(dt.UTC), "actor": "另一连接", "actor_user_id": None,
        "request_id": "", "action": "clients.pii_reveal", "object_type": "clients.Client",
        "object_id": object_id, "branch_code": "A01", "before": None,
        "after": chain.plain({"reason": note, "fields": ["mobile"]}), "changeset_table": "",
        "changeset_key": None, "changeset_rows": 0, "changeset_sha256": "",
        "prev_hash": last.first() or chain.GENESIS,
    }  # fmt: skip
    return AuditEvent.objects.create(**fields, chain=number, hash=chain.row_hash(fields))


def reveal(object_id: str, note: str) -> AuditEvent:
    """A PII reveal on this connection's chain."""
    return audit_record(action="clients.pii_reveal", object_type="clients.Client",
                        object_id=object_id, branch_code="A01",
                        after={"reason": note, "fields": ["mobile"]}, at=INSIDE)  # fmt: skip


@dataclass
class Interleaved:
    scenario: Scenario
    own: int  # the chain of this connection
    second: int  # the chain written directly
    early: AuditEvent  # the second chain's row before the segment
    reduced: AuditEvent  # a row of the second chain about the other client
    full: AuditEvent  # a row of the second chain about our client


@pytest.fixture
def interleaved(db: None) -> Interleaved:
    own = audit_record(action="test.start", object_type="test", at=BEFORE_AT).chain
    second = 1 if own != 1 else 2
    early = chained(second, object_id=OTHER_ID, note="段前", at=BEFORE_AT)
    scenario = make_scenario()
    reduced = chained(second, object_id=OTHER_ID, note="他人核实")
    reveal(OURS_ID, "本连接核实一")
    full = chained(second, object_id=OURS_ID, note="另一连接核实")
    reveal(OTHER_ID, "他人核实二")
    chained(second, object_id=OTHER_ID, note="他人核实三")
    reveal(OURS_ID, "本连接核实二")
    return Interleaved(scenario, own, second, early, reduced, full)


def built(scenario: Scenario, tmp_path: Path) -> tuple[PackSummary, Path]:
    summary = build(client=scenario.ours, start=START, end=END, out=tmp_path / "pack.zip",
                    actor="tester")  # fmt: skip
    return summary, extract(summary.path, tmp_path / "pack")


def rows_of(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / SEGMENT).read_text("utf-8").splitlines()]


def manifest_of(folder: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((folder / "manifest.json").read_text("utf-8"))
    return loaded


def forge(folder: Path, rows: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    """Write ``rows`` and ``manifest`` back, with the segment's file entry and the seal to match."""
    segment = b"".join(
        (json.dumps(r, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n").encode()
        for r in rows
    )
    (folder / SEGMENT).write_bytes(segment)
    for entry in manifest["files"]:
        if entry["path"] == SEGMENT:
            entry.update(sha256=hashlib.sha256(segment).hexdigest(), size=len(segment))
    data = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()
    (folder / "manifest.json").write_bytes(data)
    (folder / "manifest.json.sha256").write_text(
        f"{hashlib.sha256(data).hexdigest()}  manifest.json\n"
    )


# ---------------------------------------------------------------- what the pack holds


@pytest.mark.django_db
def test_a_segment_of_two_interleaved_chains_is_anchored_per_chain_and_verifies(
    interleaved: Interleaved, tmp_path: Path
) -> None:
    own, second = interleaved.own, interleaved.second
    assert audit_verify().ok
    summary, folder = built(interleaved.scenario, tmp_path)
    rows = rows_of(folder)
    ids = [row["id"] for row in rows]
    live = AuditEvent.objects.filter(pk__gte=ids[0], pk__lte=ids[-1]).order_by("pk")
    assert [(row["id"], row["chain"]) for row in rows] == list(live.values_list("pk", "chain"))
    numbers = [row["chain"] for row in rows]
    assert {own, second} == set(numbers)
    assert sum(1 for a, b in zip(numbers, numbers[1:], strict=False) if a != b) >= 4, "interleaved"
    by_id = {row["id"]: row for row in rows}
    assert set(by_id[interleaved.reduced.pk]) == {"id", "chain", "prev_hash", "hash"}
    assert by_id[interleaved.full.pk]["after"]["reason"] == "另一连接核实"
    assert by_id[interleaved.full.pk]["chain"] == second

    audit = manifest_of(folder)["audit"]
    assert set(audit["chains"]) == {str(own), str(second)}
    anchor = audit["chains"][str(second)]
    assert anchor["first_id"] == interleaved.reduced.pk
    assert anchor["first_prev_hash"] == interleaved.early.hash != chain.GENESIS
    second_rows = [row for row in rows if row["chain"] == second]
    assert anchor["rows"] == len(second_rows) == 3
    assert (anchor["last_id"], anchor["last_hash"]) == (second_rows[-1]["id"], second_rows[-1]["hash"])  # fmt: skip
    assert audit["rows"] == len(rows) == summary.audit_rows
    assert (audit["first_id"], audit["last_id"]) == (ids[0], ids[-1])

    assert verify(folder) == (0, "OK\n")
    result = audit_verify()  # the trail with both chains and the pack's own row
    assert result.ok, result.reason
    assert result.checked == AuditEvent.objects.count()


# ---------------------------------------------------------------- forgeries the chains catch


def _moved(it: Interleaved, rows: list[dict[str, Any]], manifest: dict[str, Any]) -> str:
    row = next(r for r in rows if r["id"] == it.reduced.pk)
    row["chain"] = it.own
    return f"audit row {it.reduced.pk}, chain {it.own}): prev_hash does not match the hash of the previous row of chain {it.own}"  # fmt: skip


def _anchor(it: Interleaved, rows: list[dict[str, Any]], manifest: dict[str, Any]) -> str:
    manifest["audit"]["chains"][str(it.second)]["first_prev_hash"] = chain.GENESIS
    return f"prev_hash differs from the manifest's first_prev_hash of chain {it.second}"


def _unlisted(it: Interleaved, rows: list[dict[str, Any]], manifest: dict[str, Any]) -> str:
    del manifest["audit"]["chains"][str(it.second)]
    return f"chain {it.second} is not listed in the manifest"


def _phantom(it: Interleaved, rows: list[dict[str, Any]], manifest: dict[str, Any]) -> str:
    phantom = str(it.own + it.second + 1)
    manifest["audit"]["chains"][phantom] = dict(manifest["audit"]["chains"][str(it.own)])
    return f"chain {phantom} is listed in the manifest but has no row here"


def _swapped(it: Interleaved, rows: list[dict[str, Any]], manifest: dict[str, Any]) -> str:
    """Two neighbours of different chains swapped: each chain still links, the order does not."""
    at = next(i for i in range(len(rows) - 1) if rows[i]["chain"] != rows[i + 1]["chain"])
    rows[at], rows[at + 1] = rows[at + 1], rows[at]
    return "ids are not increasing (a row was moved)"


def _dropped(it: Interleaved, rows: list[dict[str, Any]], manifest: dict[str, Any]) -> str:
    """The second chain's last row removed, its count, last id and the totals adjusted."""
    removed = [r for r in rows if r["chain"] == it.second][-1]
    rows.remove(removed)
    kept = [r for r in rows if r["chain"] == it.second][-1]
    ends = manifest["audit"]["chains"][str(it.second)]
    ends.update(last_id=kept["id"], rows=ends["rows"] - 1)
    manifest["audit"]["rows"] -= 1
    return f"chain {it.second}: last_hash is {kept['hash']}, the manifest says {removed['hash']}"


FORGERIES: dict[str, Callable[[Interleaved, list[dict[str, Any]], dict[str, Any]], str]] = {
    "moved_to_another_chain": _moved,
    "first_prev_hash": _anchor,
    "chain_not_listed": _unlisted,
    "chain_listed_without_rows": _phantom,
    "rows_swapped": _swapped,
    "last_row_dropped": _dropped,
}


@pytest.mark.django_db
def test_the_forger_helper_alone_leaves_a_pack_that_verifies(
    interleaved: Interleaved, tmp_path: Path
) -> None:
    _, folder = built(interleaved.scenario, tmp_path)
    forge(folder, rows_of(folder), manifest_of(folder))
    assert verify(folder) == (0, "OK\n")


@pytest.mark.django_db
@pytest.mark.parametrize("kind", FORGERIES)
def test_a_segment_forged_across_chains_fails_even_with_the_manifest_resealed(
    interleaved: Interleaved, tmp_path: Path, kind: str
) -> None:
    _, folder = built(interleaved.scenario, tmp_path)
    rows, manifest = rows_of(folder), manifest_of(folder)
    expected = FORGERIES[kind](interleaved, rows, manifest)
    forge(folder, rows, manifest)
    code, output = verify(folder)
    assert code == 1, output
    assert output.startswith("FAILED\n") and expected in output, output
    assert "SHA-256 differs" not in output, output  # the files and the seal still hold


@pytest.mark.django_db
def test_a_row_moved_to_another_chain_in_the_segment_alone_fails(
    interleaved: Interleaved, tmp_path: Path
) -> None:
    """The brief's plain tamper: the segment edited, nothing else."""
    _, folder = built(interleaved.scenario, tmp_path)
    lines = (folder / SEGMENT).read_text("utf-8").splitlines(keepends=True)
    moved = f'"chain":{interleaved.second},"hash"'
    index = next(i for i, line in enumerate(lines) if f'"id":{interleaved.reduced.pk},' in line)
    assert moved in lines[index]
    lines[index] = lines[index].replace(moved, f'"chain":{interleaved.own},"hash"')
    (folder / SEGMENT).write_text("".join(lines), "utf-8")
    code, output = verify(folder)
    assert code == 1 and f"previous row of chain {interleaved.own}" in output, output


# ---------------------------------------------------------------- two real connections


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_rows_written_by_two_connections_make_a_pack_that_verifies(tmp_path: Path) -> None:
    assert chains() > 1
    scenario = make_scenario()
    with ThreadPoolExecutor(max_workers=1) as worker:  # one thread: one connection, one chain

        def there(object_id: str, note: str) -> AuditEvent:
            with audit_context("worker"):
                return reveal(object_id, note)

        try:
            theirs = worker.submit(there, OTHER_ID, "另一连接·他人").result()
            _leave_chain(theirs.chain)
            ours = [reveal(OURS_ID, "本连接一"), worker.submit(there, OURS_ID, "另一连接").result()]
            ours += [reveal(OTHER_ID, "本连接·他人"), reveal(OURS_ID, "本连接二")]
        finally:
            worker.submit(connections.close_all).result()
    assert ours[0].chain != theirs.chain == ours[1].chain
    summary, folder = built(scenario, tmp_path)
    rows = rows_of(folder)
    numbers = {row["id"]: row["chain"] for row in rows}
    assert numbers[theirs.pk] == theirs.chain and numbers[ours[0].pk] == ours[0].chain
    assert "after" in rows[[r["id"] for r in rows].index(ours[1].pk)]
    assert len(manifest_of(folder)["audit"]["chains"]) >= 2
    assert verify(folder) == (0, "OK\n")
    assert audit_verify().ok


def _leave_chain(taken: int) -> None:
    """Reconnect until this connection's chain (backend pid modulo chains) is not ``taken``."""
    for _ in range(200):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            if int(cursor.fetchone()[0]) % chains() != taken:
                return
        connection.close()
    raise AssertionError("no connection on another chain")
