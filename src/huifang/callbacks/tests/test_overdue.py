"""§12 ``huifang run`` overdue marks: an open task due before the business date is marked once.

K0001 and K0003 (broker-introduced, opened 2026-09-30) get NEW-1 due 2026-10-13;
in the first test K0003's tasks are done (signed) before they fall due, so they are
never marked.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from huifang.callbacks.models import NightlyRun, Task, TaskEvent
from huifang.callbacks.tests import runkit
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db


def first_day(tmp_path: Path) -> None:
    feed = {
        "branches": runkit.branches("A01"),
        "staff": [
            runkit.staff("S01", "A01", "broker"),
            runkit.staff("S02", "A01", "agent"),
            runkit.staff("C01", "HQCC", "agent"),
        ],
        "clients": [
            runkit.client("K0001", "A01", "2026-09-30", broker_staff_id="S01"),
            runkit.client("K0003", "A01", "2026-09-30", broker_staff_id="S01"),
        ],
    }
    code, _out, err = runkit.run(tmp_path, "2026-09-30", feed)
    assert code == 0, err


def overdue_events(task: Task) -> list[TaskEvent]:
    return list(TaskEvent.objects.filter(task=task, event="overdue"))


def test_a_task_past_its_due_date_is_marked_overdue_once(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    first_day(tmp_path)
    task = Task.objects.get(client_id="K0001", level="branch")
    assert task.due_date == dt.date(2026, 10, 13)
    Task.objects.filter(client_id="K0003").update(status="signed")

    code, _out, err = runkit.run(tmp_path, "2026-10-13")  # due today: not overdue yet
    assert code == 0, err
    task.refresh_from_db()
    assert task.overdue_since is None and not overdue_events(task)

    code, out, err = runkit.run(tmp_path, "2026-10-14")
    assert code == 0, err
    task.refresh_from_db()
    assert task.overdue_since == dt.date(2026, 10, 14)
    [event] = overdue_events(task)
    assert event.run_id == NightlyRun.objects.get(business_date=dt.date(2026, 10, 14)).pk
    assert event.detail_dict == {"due_date": "2026-10-13", "overdue_since": "2026-10-14"}
    assert "overdue: 1 task(s) marked" in out

    for day in ("2026-10-14", "2026-10-16"):  # the same date again, then a later one
        code, _out, err = runkit.run(tmp_path, day)
        assert code == 0, err
    task.refresh_from_db()
    assert task.overdue_since == dt.date(2026, 10, 14)
    assert len(overdue_events(task)) == 1
    for signed in Task.objects.filter(client_id="K0003"):
        assert signed.overdue_since is None and not overdue_events(signed)


def test_an_overdue_mark_is_part_of_the_runs_audited_change_set(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    from huifang.audit.models import AuditEvent

    first_day(tmp_path)
    late = set(Task.objects.filter(due_date__lt=dt.date(2026, 10, 20)).values_list("pk", flat=True))
    assert len(late) == 3  # NEW-1 of K0001 and K0003, NEW-3 (company) of K0003
    code, _out, err = runkit.run(tmp_path, "2026-10-20")
    assert code == 0, err
    run = NightlyRun.objects.get(business_date=dt.date(2026, 10, 20))
    marked = set(
        TaskEvent.objects.filter(run=run, event="overdue").values_list("task_id", flat=True)
    )
    assert marked == late
    assert (
        set(Task.objects.filter(overdue_since=run.business_date).values_list("pk", flat=True))
        == late
    )
    audit = AuditEvent.objects.get(action="callbacks.nightly_run", object_id=str(run.pk))
    assert audit.after["overdue_marked"] == 3
    assert audit.changeset_rows == TaskEvent.objects.filter(run=run).count()
