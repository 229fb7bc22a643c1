"""The evidence pack (NFR-2, EXE-2, EXE-5): what it holds, that it verifies on its own, and that
one changed byte in any file makes the check fail."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.audit.models import AuditEvent
from huifang.audit.services import audit_record
from huifang.audit.verify import verify as audit_verify
from huifang.core import clock
from huifang.evidencepack import pack
from huifang.evidencepack.pack import PackRefused, build
from huifang.evidencepack.tests.kit import (
    END,
    OTHER_ID,
    OTHER_NAME,
    OURS_ID,
    OURS_NAME,
    START,
    Scenario,
    extract,
    verify,
)
from huifang.workbench.models import Evidence
from huifang.workbench.tests import factories as f

pytestmark = pytest.mark.django_db


def built(scenario: Scenario, tmp_path: Path, **kwargs: Any) -> pack.PackSummary:
    tmp_path.mkdir(exist_ok=True)
    return build(client=scenario.ours, start=kwargs.pop("start", START), end=kwargs.pop("end", END),
                 out=tmp_path / "pack.zip", actor="tester", **kwargs)  # fmt: skip


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def packs(folder: Path) -> list[str]:
    """Every pack or partial pack left in ``folder``."""
    return [p.name for p in folder.iterdir() if "pack.zip" in p.name]


def segment(files: dict[str, bytes]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in files["audit/segment.jsonl"].decode().splitlines()]


def is_full(row: dict[str, Any]) -> bool:
    return set(row) != {"id", "chain", "prev_hash", "hash"}


# ---------------------------------------------------------------- what the pack holds


def test_the_pack_holds_ledger_records_answers_evidence_and_the_chain_segment(
    scenario: Scenario, tmp_path: Path
) -> None:
    summary = built(scenario, tmp_path)
    files = members(summary.path)
    numbers = [r.number for r in scenario.records]
    manifest = json.loads(files["manifest.json"])
    assert manifest["period"] == {"from": "2026-10-01", "to": "2026-10-31"}
    assert manifest["client"]["id_masked"] == "K7****01"
    assert manifest["records"] == [f"records/{n}.json" for n in numbers]
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json", "manifest.json.sha256"}
    for name, entry in listed.items():
        assert entry["size"] == len(files[name])
        assert entry["sha256"] == hashlib.sha256(files[name]).hexdigest()

    # evidence: every stored file of our records, byte for byte, under its record's number
    for record in scenario.records:
        body = json.loads(files[f"records/{record.number}.json"])
        stored = Evidence.objects.filter(task_id=record.task_id).exclude(file="")
        assert len(body["evidence"]) == stored.count() >= 1
        for item, row in zip(body["evidence"], stored.order_by("id"), strict=True):
            assert item["path"].startswith(f"evidence/{record.number}/")
            assert files[item["path"]] == default_storage.open(row.file.name).read()
            assert item["sha256"] == row.sha256 == listed[item["path"]]["sha256"]
        assert body["record"]["content_sha256"] == record.content_sha256
        assert [a["item"] for s in body["sections"] for a in s["answers"]]
    first = json.loads(files[f"records/{numbers[0]}.json"])
    assert [f["text"] for f in first["findings"]] == ["希望收到研究报告", "地址未更新"]
    assert [a["reason"] for a in first["amendments"]] == ["补充客户说明"]
    assert first["attempts"][0]["outcome"] == "connected"

    # the ledger: one row per record, EXE-5 fields, the client masked
    ledger = list(csv.reader(io.StringIO(files["ledger.csv"].decode("utf-8-sig"))))
    assert [row[0] for row in ledger[1:]] == numbers
    assert ledger[1][3:5] == ["K7****01", "王**"] and "希望收到研究报告" in ledger[1]
    assert OURS_NAME not in files["ledger.csv"].decode("utf-8-sig")
    assert summary.records == 2 and summary.evidence_files == 3


def test_the_segment_shows_our_rows_in_full_and_reduces_the_rest(
    scenario: Scenario, tmp_path: Path
) -> None:
    summary = built(scenario, tmp_path)
    files = members(summary.path)
    rows = segment(files)
    ids = [row["id"] for row in rows]
    live = AuditEvent.objects.filter(pk__gte=ids[0], pk__lte=ids[-1]).order_by("pk")
    assert [(row["id"], row["chain"]) for row in rows] == list(live.values_list("pk", "chain"))
    full = {row["id"]: row for row in rows if is_full(row)}
    reduced = [row for row in rows if not is_full(row)]
    assert reduced, "the other client's rows lie inside the segment, reduced"
    assert is_full(rows[0]) and is_full(rows[-1])
    ours = [r.pk for r in scenario.records]
    signed = AuditEvent.objects.filter(object_type="workbench.Record", object_id__in=[str(p) for p in ours])  # fmt: skip
    assert set(signed.values_list("pk", flat=True)) <= set(full)
    assert scenario.reveal.pk in full  # a row about the client, inside the period
    assert scenario.before_period.pk not in ids  # before the period: not in the segment
    theirs = AuditEvent.objects.filter(object_type="workbench.Record", object_id=str(scenario.other_record.pk))  # fmt: skip
    assert not set(theirs.values_list("pk", flat=True)) & set(full)
    assert summary.full_rows == len(full) and summary.audit_rows == len(rows)
    audit = json.loads(files["manifest.json"])["audit"]
    assert (audit["rows"], audit["full_rows"]) == (len(rows), len(full))
    assert (audit["first_id"], audit["last_id"]) == (ids[0], ids[-1])
    # each chain links from its anchor, which is the hash of its row before the segment
    last: dict[str, str] = {}
    for row in rows:
        number = str(row["chain"])
        assert row["prev_hash"] == last.get(number, audit["chains"][number]["first_prev_hash"])
        last[number] = row["hash"]
    assert set(audit["chains"]) == set(last)
    for number, ends in audit["chains"].items():
        in_chain = [row for row in rows if str(row["chain"]) == number]
        before = AuditEvent.objects.filter(chain=int(number), pk__lt=ids[0]).order_by("-pk").first()
        assert before is not None and ends["first_prev_hash"] == before.hash
        assert ends == {"first_id": in_chain[0]["id"], "first_prev_hash": in_chain[0]["prev_hash"],
                        "last_id": in_chain[-1]["id"], "last_hash": in_chain[-1]["hash"],
                        "rows": len(in_chain)}  # fmt: skip


def test_rows_naming_the_client_inside_the_period_are_shown_in_full(
    scenario: Scenario, tmp_path: Path
) -> None:
    """An intraday event about the client (``after.client_id``) and its follow-up row count;
    the same about the other client, or about ours after the period, do not."""
    inside = pack.dt.datetime(2026, 10, 20, 9, 0, tzinfo=clock.SHANGHAI)

    def event(event_id: str, after: dict[str, Any], at: Any = inside, **kw: Any) -> AuditEvent:
        return audit_record(action=kw.get("action", "clients.margin_event_post"),
                            object_type="clients.MarginEvent", object_id=event_id,
                            branch_code="A01", after=after, at=at)  # fmt: skip

    posted = event("EV-1", {"client_id": OURS_ID, "event_type": "margin_call"})
    theirs = event("EV-2", {"client_id": OTHER_ID, "event_type": "margin_call"})
    follow_up = event("EV-1", {"tasks": [], "rules": ["MRG-1"]}, action="callbacks.intraday_event")
    later = event(
        "EV-3", {"client": OURS_ID}, at=pack.dt.datetime(2026, 11, 2, tzinfo=clock.SHANGHAI)
    )
    rows = segment(members(built(scenario, tmp_path).path))
    full = {row["id"] for row in rows if is_full(row)}
    assert {posted.pk, follow_up.pk} <= full
    assert theirs.pk in {row["id"] for row in rows} and theirs.pk not in full
    assert rows[-1]["id"] == follow_up.pk and later.pk not in {row["id"] for row in rows}


def test_a_user_gets_only_the_records_in_his_scope(scenario: Scenario, tmp_path: Path) -> None:
    inside = user_with_role(Role.BRANCH_OPS, unit=scenario.branch)
    outside = user_with_role(Role.BRANCH_OPS, unit=f.branch("B02"))
    assert built(scenario, tmp_path / "a", user=inside).records == 2
    summary = built(scenario, tmp_path / "b", user=outside)
    assert summary.records == 0 and summary.evidence_files == 0


def test_nothing_of_the_other_client_is_in_the_zip(scenario: Scenario, tmp_path: Path) -> None:
    summary = built(scenario, tmp_path)
    theirs = Evidence.objects.filter(task_id=scenario.other_record.task_id)
    secrets = [OTHER_ID, OTHER_NAME, scenario.other_record.number, *theirs.values_list("sha256", flat=True)]  # fmt: skip
    assert all(secrets)
    for name, content in members(summary.path).items():
        text = content.decode("utf-8", "replace")
        for secret in secrets:
            assert secret not in name and secret not in text, (secret[:2], name)
    raw = summary.path.read_bytes()
    assert OTHER_ID.encode() not in raw and OTHER_NAME.encode() not in raw


def test_the_build_is_audited_after_the_zip_with_its_sha256(
    scenario: Scenario, tmp_path: Path
) -> None:
    summary = built(scenario, tmp_path)
    event = AuditEvent.objects.get(pk=summary.audit_event_id)
    assert (event.action, event.object_type, event.object_id) == ("evidencepack.build", "clients.Client", OURS_ID)  # fmt: skip
    assert event.after["zip_sha256"] == hashlib.sha256(summary.path.read_bytes()).hexdigest()
    assert event.after["from"] == "2026-10-01" and event.after["to"] == "2026-10-31"
    assert event.after["manifest_sha256"] == summary.manifest_sha256
    rows = segment(members(summary.path))
    assert rows[-1]["id"] < event.pk  # the pack's own row cannot be inside it
    assert audit_verify().ok


def test_a_period_without_records_still_gives_a_verifiable_pack(
    scenario: Scenario, tmp_path: Path
) -> None:
    summary = built(
        scenario, tmp_path, start=pack.dt.date(2026, 8, 1), end=pack.dt.date(2026, 8, 31)
    )
    files = members(summary.path)
    assert summary.records == 0 and files["audit/segment.jsonl"] == b""
    assert verify(extract(summary.path, tmp_path / "x"))[0] == 0


# ---------------------------------------------------------------- the standalone check


def test_verify_py_passes_on_the_extracted_pack_and_on_the_zip(
    scenario: Scenario, tmp_path: Path
) -> None:
    summary = built(scenario, tmp_path)
    folder = extract(summary.path, tmp_path / "pack")
    code, output = verify(folder)
    assert (code, output.strip()) == (0, "OK")
    assert verify(folder, str(summary.path))[0] == 0


def test_rows_with_line_separators_inside_their_text_still_verify(
    scenario: Scenario, tmp_path: Path
) -> None:
    """JSON keeps U+2028, U+0085 and U+001C as they are: the segment splits at newlines only."""
    audit_record(
        action="clients.pii_reveal", object_type="clients.Client", object_id=OURS_ID,
        branch_code="A01", after={"reason": "核实\u2028第二行\x85第三行\x1c", "fields": []},
        at=pack.dt.datetime(2026, 10, 30, 9, 0, tzinfo=clock.SHANGHAI),
    )  # fmt: skip
    summary = built(scenario, tmp_path)
    assert "\u2028".encode() in members(summary.path)["audit/segment.jsonl"]
    assert verify(extract(summary.path, tmp_path / "pack")) == (0, "OK\n")


def test_a_manifest_damaged_beyond_reading_fails_cleanly(
    scenario: Scenario, tmp_path: Path
) -> None:
    folder = extract(built(scenario, tmp_path).path, tmp_path / "pack")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"] = ["not an entry"]
    data = json.dumps(manifest).encode()
    (folder / "manifest.json").write_bytes(data)
    (folder / "manifest.json.sha256").write_text(
        f"{hashlib.sha256(data).hexdigest()}  manifest.json\n"
    )
    code, output = verify(folder)
    assert code == 1 and output.startswith("FAILED\n") and "cannot be checked" in output


def _flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def _line_offset(path: Path, pick: Any, field: str) -> tuple[int, dict[str, Any]]:
    """The byte offset of the first character of ``field``'s value in the first row ``pick`` takes."""
    data = path.read_bytes()
    start = 0
    for line in data.split(b"\n"):
        if line:
            row = json.loads(line)
            if pick(row):
                return start + line.index(f'"{field}":"'.encode()) + len(field) + 4, row
        start += len(line) + 1
    raise AssertionError("no such row")


TAMPERED = ["evidence", "record", "ledger", "manifest", "full_row", "reduced_hash"]


@pytest.mark.parametrize("kind", TAMPERED)
def test_one_changed_byte_in_any_file_fails_the_check_naming_it(
    scenario: Scenario, tmp_path: Path, kind: str
) -> None:
    summary = built(scenario, tmp_path)
    folder = extract(summary.path, tmp_path / "pack")
    segment_path = folder / "audit" / "segment.jsonl"
    expected: list[str] = []
    if kind == "evidence":
        name = next(p.relative_to(folder).as_posix() for p in (folder / "evidence").rglob("*.wav"))
        _flip(folder / name, 100)
    elif kind == "record":
        name = f"records/{scenario.records[0].number}.json"
        _flip(folder / name, (folder / name).read_bytes().index("地址未更新".encode()))
        expected.append("the signed content does not hash to content_sha256")
    elif kind == "ledger":
        name = "ledger.csv"
        _flip(folder / name, len((folder / name).read_bytes()) - 5)
    elif kind == "manifest":
        name = "manifest.json"
        _flip(folder / name, (folder / name).read_bytes().index(b'"generated_by": "tester"') + 18)
    elif kind == "full_row":
        name = "audit/segment.jsonl"
        offset, row = _line_offset(segment_path, is_full, "action")
        _flip(segment_path, offset)
        expected.append(
            f"audit row {row['id']}, chain {row['chain']}): hash does not match the row's content"
        )
    else:
        name = "audit/segment.jsonl"
        offset, row = _line_offset(segment_path, lambda r: not is_full(r), "hash")
        _flip(segment_path, offset)
        expected.append("prev_hash does not match the hash of the previous row of chain")
    code, output = verify(folder)
    assert code == 1, output
    lines = output.splitlines()
    assert lines[0] == "FAILED"
    assert any(line.startswith(f"{name}") for line in lines[1:]), output
    for message in expected:
        assert message in output, output


def test_a_missing_an_extra_and_a_renamed_file_fail_the_check(
    scenario: Scenario, tmp_path: Path
) -> None:
    summary = built(scenario, tmp_path)
    folder = extract(summary.path, tmp_path / "pack")
    (folder / "ledger.csv").unlink()
    (folder / "notes.txt").write_text("added later")
    code, output = verify(folder)
    assert code == 1
    assert "ledger.csv: missing" in output and "notes.txt: not listed in the manifest" in output


def test_a_row_removed_from_the_segment_breaks_the_links(
    scenario: Scenario, tmp_path: Path
) -> None:
    summary = built(scenario, tmp_path)
    folder = extract(summary.path, tmp_path / "pack")
    path = folder / "audit" / "segment.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3] + lines[4:]))
    code, output = verify(folder)
    assert code == 1 and "prev_hash does not match the hash of the previous row of chain" in output


# ---------------------------------------------------------------- refusals


def test_a_stored_evidence_file_that_changed_is_refused_and_nothing_is_written(
    scenario: Scenario, tmp_path: Path, media: Path
) -> None:
    item = Evidence.objects.filter(task_id=scenario.records[0].task_id).exclude(file="").first()
    assert item is not None
    _flip(media / item.file.name, 50)
    audits = AuditEvent.objects.count()
    with pytest.raises(PackRefused) as refused:
        built(scenario, tmp_path)
    assert refused.value.code == "evidence_altered" and str(item.pk) in str(refused.value)
    assert packs(tmp_path) == []
    assert AuditEvent.objects.count() == audits


def test_a_missing_evidence_file_is_refused(
    scenario: Scenario, tmp_path: Path, media: Path
) -> None:
    item = Evidence.objects.filter(task_id=scenario.records[1].task_id).exclude(file="").last()
    assert item is not None
    (media / item.file.name).unlink()
    with pytest.raises(PackRefused) as refused:
        built(scenario, tmp_path)
    assert refused.value.code == "evidence_unreadable"
    assert packs(tmp_path) == []


def test_a_backwards_period_is_refused(scenario: Scenario, tmp_path: Path) -> None:
    with pytest.raises(PackRefused) as refused:
        built(scenario, tmp_path, start=END, end=START)
    assert refused.value.code == "period" and not (tmp_path / "pack.zip").exists()


def test_the_zip_is_moved_into_place_only_with_its_audit_row(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(pack, "audit_record", broken)
    with pytest.raises(RuntimeError):
        built(scenario, tmp_path)
    assert packs(tmp_path) == []
