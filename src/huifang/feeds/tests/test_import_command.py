"""``huifang import DIR --date D [--encoding E] [--replace]``: all or nothing, idempotent (SPEC §1, §12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from huifang.accounts.models import User
from huifang.audit.models import AuditEvent
from huifang.clients.models import Client, ClientChange, ProductPurchase
from huifang.core import pii
from huifang.feeds.choices import BatchStatus
from huifang.feeds.models import ImportBatch
from huifang.feeds.services import feed_import
from huifang.feeds.tests import feedkit
from huifang.feeds.tests.feedkit import DAY1, DAY2
from huifang.org.models import Staff, Unit

ERROR_LINE = re.compile(r"^[a-z_]+\.(csv|xlsx|parquet):\d+:[a-z_]*: ")


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ERROR_LINE.match(line)]


@pytest.mark.django_db
def test_a_10000_row_feed_with_two_bad_rows_keeps_nothing_and_reports_both(tmp_path):
    clients = [
        feedkit.client(i, adviser_staff_id="S002" if i % 2 else "S005") for i in range(1, 10_001)
    ]
    clients[17 - 2]["open_date"] = "2026-02-30"
    clients[9_999 - 2]["client_type"] = "person"
    feed = {"branches": feedkit.branches(), "staff": feedkit.staff(), "clients": clients}
    directory = feedkit.write_feed(tmp_path / "big", feed)

    code, out, err = feedkit.run_command(str(directory), "--date", str(DAY1), "--quiet")

    assert code == 1
    assert out == ""
    assert error_lines(err) == [
        "clients.csv:17:open_date: not a date YYYY-MM-DD '2026-02-30'",
        "clients.csv:9999:client_type: unknown code 'person'; expected one of individual, institution",
    ]
    assert "rejected: 2 error(s); nothing was imported" in err
    assert not any(value in err for value in feedkit.pii_values(feed))
    assert (Client.objects.count(), Staff.objects.count(), Unit.objects.count()) == (0, 0, 0)
    batch = ImportBatch.objects.get()
    assert (batch.status, batch.error_count) == (BatchStatus.REJECTED, 2)
    archive = Path(settings.ARCHIVE_DIR)
    assert not list(archive.glob("*/date=*")), "a rejected feed must leave no archive partition"
    assert feedkit.staging_leftovers() == []


@pytest.mark.django_db
def test_importing_the_same_date_twice_changes_nothing(tmp_path, day1):
    directory = feedkit.write_feed(tmp_path / "again", feedkit.standard_feed())
    db_before, files_before = feedkit.db_state(), feedkit.archive_files()
    counts_before = (Client.objects.count(), ClientChange.objects.count())

    again = feed_import(directory=directory, business_date=DAY1, actor="test")
    code, out, err = feedkit.run_command(str(directory), "--date", str(DAY1), "--quiet")

    assert again.status == "unchanged"
    assert again.batch_id == ImportBatch.objects.get(status=BatchStatus.COMMITTED).pk
    assert (code, err) == (0, "")
    assert "already imported" in out
    assert (Client.objects.count(), ClientChange.objects.count()) == counts_before == (8, 0)
    assert feedkit.db_state() == db_before
    assert feedkit.archive_files() == files_before
    assert ImportBatch.objects.filter(status=BatchStatus.COMMITTED).count() == 1


def _changed_day1(day1: feedkit.Feed) -> feedkit.Feed:
    """DAY1 again, corrected: a risk level, a mobile, one purchase fewer, no trades file."""
    feed = feedkit.clone(day1)
    feed["clients"][0]["risk_level"] = "C4"
    feed["clients"][1]["mobile"] = "13711112222"
    feed["product_purchases"] = feed["product_purchases"][:1]
    del feed["trades"]
    return feed


@pytest.mark.django_db
def test_different_content_for_an_imported_date_is_refused_without_replace(tmp_path, day1):
    directory = feedkit.write_feed(tmp_path / "fix", _changed_day1(day1))
    db_before, files_before = feedkit.db_state(), feedkit.archive_files()

    code, out, err = feedkit.run_command(str(directory), "--date", str(DAY1), "--quiet")

    assert code == 1
    assert "--replace" in err
    assert str(DAY1) in err
    assert feedkit.db_state() == db_before
    assert feedkit.archive_files() == files_before


@pytest.mark.django_db
def test_replace_writes_history_with_masked_personal_values_and_keeps_the_old_archive(
    tmp_path, day1
):
    old = ImportBatch.objects.get(status=BatchStatus.COMMITTED)
    old_files = feedkit.archive_files()
    directory = feedkit.write_feed(tmp_path / "fix", _changed_day1(day1))

    code, _out, err = feedkit.run_command(
        str(directory), "--date", str(DAY1), "--replace", "--quiet"
    )

    assert (code, err) == (0, "")
    new = ImportBatch.objects.get(status=BatchStatus.COMMITTED)
    old.refresh_from_db()
    assert old.status == BatchStatus.REPLACED
    assert new.replaces_id == old.pk
    replaced = AuditEvent.objects.get(action="feed.replace")
    assert (replaced.object_id, replaced.before) == (str(new.pk), {"replaced_batch": old.pk})
    changes = {
        (c.client_id, c.field): (c.old_value, c.new_value, c.batch_id, c.effective_date)
        for c in ClientChange.objects.all()
    }
    assert changes == {
        ("K0001", "risk_level"): ("C2", "C4", new.pk, DAY1),
        ("K0002", "mobile"): ("139****0002", "137****2222", new.pk, DAY1),
    }
    every_value = " ".join(f"{c.old_value} {c.new_value}" for c in ClientChange.objects.all())
    assert "13900000002" not in every_value and "13711112222" not in every_value
    assert pii.decrypt(Client.objects.get(pk="K0002").pii).split(pii.RECORD_SEP)[1] == "13711112222"
    assert set(ProductPurchase.objects.values_list("purchase_id", flat=True)) == {"P001"}
    # The replaced partitions moved, bytes intact, under .replaced/<old batch>/.
    root = Path(settings.ARCHIVE_DIR)
    for rel, data in old_files.items():
        assert (root / ".replaced" / str(old.pk) / rel).read_bytes() == data
    assert not (root / "trades").exists() or not list((root / "trades").iterdir())
    manifest = (root / "clients" / f"date={DAY1}" / "manifest.json").read_text()
    assert f'"batch": {new.pk}' in manifest
    assert feedkit.staging_leftovers() == []


@pytest.mark.django_db
def test_a_leaving_staff_member_has_his_user_deactivated(tmp_path, day1):
    leaver = User.objects.create_user("dongfang", staff=Staff.objects.get(pk="S005"))
    stayer = User.objects.create_user("sima", staff=Staff.objects.get(pk="S002"))
    feed = {"staff": [dict(day1["staff"][4], leave_date=str(DAY2))]}
    directory = feedkit.write_feed(tmp_path / "leave", feed)

    code, out, err = feedkit.run_command(str(directory), "--date", str(DAY2), "--quiet")

    assert (code, err) == (0, "")
    leaver.refresh_from_db()
    stayer.refresh_from_db()
    assert (leaver.is_active, stayer.is_active) == (False, True)
    assert Staff.objects.get(pk="S005").leave_date == DAY2
    assert "written_users_deactivated: 1" in out


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], "--date: not a date YYYY-MM-DD"),
        (["--date", str(DAY1), "--encoding", "klingon"], "--encoding: unknown encoding"),
        (["--date", str(DAY1), "--directory-missing"], None),
    ],
    ids=["bad-date", "unknown-encoding", "missing-directory"],
)
def test_usage_errors_exit_2_before_anything_is_read(tmp_path, args, message):
    directory = feedkit.write_feed(tmp_path / "feed", {"branches": feedkit.branches()})
    if args[-1] == "--directory-missing":
        directory, args, message = tmp_path / "nowhere", args[:-1], "not a directory"

    code, out, err = feedkit.run_command(str(directory), *args)

    assert (code, out) == (2, "")
    assert message in err
    assert not ImportBatch.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_console_command_exits_1_and_reports_each_error_on_stderr(tmp_path):
    feed = {"branches": feedkit.branches(), "staff": feedkit.staff()}
    feed["staff"][1]["position"] = "boss"
    feed["branches"][2]["unit_kind"] = "shop"
    directory = feedkit.write_feed(tmp_path / "bad", feed)

    process = feedkit.run_subprocess("import", str(directory), "--date", str(DAY1), "--quiet")

    assert process.returncode == 1, process.stderr
    assert process.stdout == ""
    assert process.stderr.splitlines() == [
        "branches.csv:4:unit_kind: unknown code 'shop'; expected one of branch, call_center, "
        "credit, market, ib_qc, department, compliance",
        "staff.csv:3:position: unknown code 'boss'; expected one of marketing, broker, adviser, "
        "service, agent, ops, manager, other",
        "staff.csv:4:client_id: unknown client 'K0003'",
        "rejected: 3 error(s); nothing was imported",
    ]
    assert not Unit.objects.exists()


@pytest.mark.django_db
def test_a_later_feed_without_personal_columns_keeps_the_stored_personal_data(tmp_path, day1):
    k1 = Client.objects.get(pk="K0001")
    required = ("client_id", "name", "client_type", "branch_code", "open_date")
    row = {c: day1["clients"][0][c] for c in required} | {"risk_level": "C5"}
    directory = feedkit.write_feed(tmp_path / "day2", {"clients": [row]})

    code, _out, err = feedkit.run_command(str(directory), "--date", str(DAY2), "--quiet")

    assert (code, err) == (0, "")
    after = Client.objects.get(pk="K0001")
    assert pii.decrypt(after.pii) == pii.decrypt(k1.pii)
    assert (after.id_number_hash, after.mobile_masked) == (k1.id_number_hash, k1.mobile_masked)
    assert list(ClientChange.objects.values_list("field", flat=True)) == ["risk_level"]
