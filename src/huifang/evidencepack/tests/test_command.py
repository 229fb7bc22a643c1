"""``huifang evidence-pack CLIENT --from D --to D OUT.zip``: exit 0 / 1 (error) / 2 (usage)."""

from __future__ import annotations

from pathlib import Path

import pytest

from huifang.audit.models import AuditEvent
from huifang.cli import main
from huifang.evidencepack.tests.kit import OURS_ID, Scenario, extract, verify
from huifang.workbench.models import Evidence

pytestmark = pytest.mark.django_db(transaction=True)  # the command closes the connection


def huifang(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_it_writes_the_pack_and_says_what_is_in_it(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pack.zip"
    code, stdout, stderr = huifang(capsys, "evidence-pack", OURS_ID, "--from", "2026-10-01",
                                   "--to", "2026-10-31", str(out))  # fmt: skip
    assert code == 0, stderr
    assert "2 record(s), 3 evidence file(s)" in stdout
    event = AuditEvent.objects.filter(action="evidencepack.build").get()
    assert event.actor == "system:evidence-pack" and event.after["zip_sha256"] in stdout
    assert verify(extract(out, tmp_path / "x"))[0] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("NOBODY", "--from", "2026-10-01", "--to", "2026-10-31"), "no client 'NOBODY'"),
        ((OURS_ID, "--from", "2026-10-31", "--to", "2026-10-01"), "is after --to"),
    ],
    ids=["unknown-client", "backwards-period"],
)
def test_errors_exit_1_with_a_message_and_write_nothing(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...], message: str,
) -> None:  # fmt: skip
    code, _out, stderr = huifang(capsys, "evidence-pack", *args, str(tmp_path / "pack.zip"))
    assert code == 1 and message in stderr
    assert not (tmp_path / "pack.zip").exists()
    assert not AuditEvent.objects.filter(action="evidencepack.build").exists()


def test_an_altered_evidence_file_exits_1_naming_it(
    scenario: Scenario, tmp_path: Path, media: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    item = Evidence.objects.filter(task_id=scenario.records[0].task_id).exclude(file="").get()
    stored = media / item.file.name
    stored.write_bytes(stored.read_bytes() + b"\x00")
    code, _out, stderr = huifang(capsys, "evidence-pack", OURS_ID, "--from", "2026-10-01",
                                 "--to", "2026-10-31", str(tmp_path / "pack.zip"))  # fmt: skip
    assert code == 1 and f"evidence {item.pk}" in stderr and "differs" in stderr
    assert [p.name for p in tmp_path.iterdir() if "pack" in p.name] == []


def test_an_existing_out_file_is_never_overwritten(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pack.zip"
    out.write_bytes(b"earlier")
    code, _out, stderr = huifang(capsys, "evidence-pack", OURS_ID, "--from", "2026-10-01",
                                 "--to", "2026-10-31", str(out))  # fmt: skip
    assert code == 1 and "already exists" in stderr and out.read_bytes() == b"earlier"


@pytest.mark.parametrize(
    "args",
    [
        (OURS_ID, "--from", "2026-10-01", "out.zip"),
        (OURS_ID, "--from", "2026-10-01", "--to", "31.10.2026", "out.zip"),
        (OURS_ID, "--from", "2026-10-01", "--to", "2026-10-31"),
    ],
    ids=["no-to", "bad-date", "no-out"],
)
def test_usage_errors_exit_2(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, _out, stderr = huifang(capsys, "evidence-pack", *args)
    assert code == 2 and "usage:" in stderr
    assert not AuditEvent.objects.filter(action="evidencepack.build").exists()
