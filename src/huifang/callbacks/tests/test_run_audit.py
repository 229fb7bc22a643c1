"""One audited change set per nightly run (SPEC §12, NFR-2): ``huifang audit verify`` holds after
runs and names the run whose task events were altered, removed or forged behind the app's back.

Task events are append-only (database triggers); the tampering below goes through
the documented maintenance flag, as an intruder with database rights could.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from huifang.audit import triggers
from huifang.audit.models import AuditEvent
from huifang.callbacks.models import NightlyRun, TaskEvent
from huifang.callbacks.tests import runkit
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db


def two_runs(tmp_path: Path) -> list[NightlyRun]:
    feed = {
        "branches": runkit.branches("A01"),
        "staff": [runkit.staff("SA1", "A01", "agent"), runkit.staff("SA2", "A01", "agent"),
                  runkit.staff("BR1", "A01", "broker")],
        "clients": [runkit.client(f"N{i}", "A01", "2026-10-12", broker_staff_id="BR1") for i in range(1, 4)],
    }  # fmt: skip
    later = {"clients": [runkit.client("N4", "A01", "2026-10-13", broker_staff_id="BR1")]}
    for day, f in (("2026-10-12", feed), ("2026-10-13", later)):
        code, _out, err = runkit.run(tmp_path, day, f)
        assert code == 0, err
    return list(NightlyRun.objects.order_by("business_date"))


def audit_verify() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def run_row(run: NightlyRun) -> AuditEvent:
    return AuditEvent.objects.get(action="callbacks.nightly_run", object_id=str(run.pk))


def test_each_run_is_one_audited_change_set_of_its_task_events(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    runs = two_runs(tmp_path)
    for run, expected in zip(runs, [6, 2], strict=True):  # created + assigned per new task
        row = run_row(run)
        assert (row.changeset_table, row.changeset_key) == (
            "callbacks.TaskEvent",
            {"run_id": run.pk},
        )
        assert row.changeset_rows == TaskEvent.objects.filter(run=run).count() == expected
        assert row.actor == "system:run"
    code, out, err = audit_verify()
    assert code == 0, err
    assert "verified" in out


def test_task_events_cannot_be_updated_without_the_maintenance_flag(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    two_runs(tmp_path)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE callbacks_taskevent SET staff_id = 'SA9'")


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE callbacks_taskevent SET staff_id = 'SA9' WHERE event = 'assigned' AND run_id = %s",
        "UPDATE callbacks_taskevent SET detail = '{}' WHERE event = 'assigned' AND run_id = %s",
        "DELETE FROM callbacks_taskevent WHERE event = 'created' AND run_id = %s",
    ],
    ids=["reassigned-by-hand", "recusal-proof-erased", "event-removed"],
)
def test_audit_verify_names_the_run_whose_task_events_were_tampered_with(
    policy: PolicyVersion, tmp_path: Path, tamper: str
) -> None:
    first, _second = two_runs(tmp_path)
    with triggers.maintenance(), connection.cursor() as cursor:
        cursor.execute(tamper, [first.pk])
        assert cursor.rowcount >= 1
    code, _out, err = audit_verify()
    assert code == 1
    assert f"audit row {run_row(first).pk}: change set callbacks.TaskEvent" in err


def test_a_forged_task_event_in_a_run_is_named_by_audit_verify(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    _first, second = two_runs(tmp_path)
    event = TaskEvent.objects.filter(run=second).first()
    assert event is not None
    TaskEvent.objects.create(
        run=second, task=event.task, event="reassigned", staff_id="SA9", detail="{}",
        business_date=second.business_date, at=event.at, actor="system:run",
    )  # fmt: skip
    code, _out, err = audit_verify()
    assert code == 1
    assert (
        f"audit row {run_row(second).pk}: change set callbacks.TaskEvent {{'run_id': {second.pk}}} has 3 rows"
        in err
    )
