"""Test data of evaluation: signed records, branch leaders, HQ users, decided reviews.

Rows are written directly (the workbench's services are tested in the workbench):
these tests read records, tasks and reviews, they do not make them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from typing import Any

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.accounts.tests.factories import user_with_role
from huifang.callbacks.models import Purpose, Task
from huifang.core import clock
from huifang.org.choices import Position
from huifang.org.models import Staff, Unit
from huifang.org.tests.factories import StaffFactory
from huifang.workbench.models import Record, Review
from huifang.workbench.tests.factories import branch, leader_user, open_task

_seq = itertools.count(1)

__all__ = ["branch", "leader_user"]


def staff_of(unit: Unit, position: str = Position.AGENT) -> Staff:
    return StaffFactory(unit=unit, position=position)  # type: ignore[no-any-return]


def hq_user(role: str = Role.COMPLIANCE, **kwargs: Any) -> User:
    """A head-office user (compliance by default) with the whole company in scope."""
    return user_with_role(role, **kwargs)


def task_due(
    unit: Unit, due: dt.date, *, status: str = "open", assignee: Staff | None = None,
    level: str = "branch", also_due: tuple[dt.date, ...] = (),
) -> Task:  # fmt: skip
    """A task of ``unit`` in ``status`` with a purpose due on ``due`` (and one per ``also_due``:
    a task serving several purposes, CON-4)."""
    task = open_task(branch=unit, due=due, level=level, assignee=assignee,
                     created_on=due - dt.timedelta(days=7))  # fmt: skip
    first = task.purposes.get()
    for n, day in enumerate(also_due, 1):
        Purpose.objects.create(
            task=task, key=f"{first.key}:{n}", rule_code="NEW-1", rule_id="NEW-1",
            policy_version_id=first.policy_version_id, business_date=first.business_date,
            due_date=day,
        )  # fmt: skip
    Task.objects.filter(pk=task.pk).update(status=status)
    task.refresh_from_db()
    return task


def signed_record(
    unit: Unit, day: dt.date, *, agent: Staff | None = None, level: str = "branch",
    status: str = "signed", task: Task | None = None, sha: str | None = None,
) -> Record:  # fmt: skip
    """A record of ``unit`` dated ``day``, leader-signed unless ``status`` says otherwise;
    the agent signed it on ``day`` at 15:00 (not at all for a draft)."""
    n = next(_seq)
    task = task or open_task(branch=unit, level=level, created_on=day)
    agent = agent or staff_of(unit)
    signed = status != "draft"
    at = dt.datetime.combine(day, dt.time(15, 0), tzinfo=clock.SHANGHAI)
    return Record.objects.create(  # type: ignore[no-any-return]
        task=task, number=f"HF{day:%Y%m%d}{task.pk:08d}", branch=unit, client=task.client,
        level=level, kind=task.kind, method="phone", status=status, callback_date=day,
        agent=agent, agent_signed_at=at if signed else None,
        leader_signed_at=at if status in ("signed", "archived") else None,
        content_sha256=sha or hashlib.sha256(f"record-{n}".encode()).hexdigest(),
        created_at=clock.now(),
    )  # fmt: skip


def decided_review(record: Record, status: str, decided: dt.date, reason: str = "sample") -> Review:
    """A review of ``record`` decided on ``decided`` (passed or findings)."""
    at = dt.datetime.combine(decided, dt.time(11, 0), tzinfo=clock.SHANGHAI)
    return Review.objects.create(  # type: ignore[no-any-return]
        task=record.task, record=record, branch=record.branch, level=record.level, reason=reason,
        drawn_on=record.callback_date, status=status, decided_at=at,
    )  # fmt: skip


def issue(
    unit: Unit, raised_on: dt.date, *, owner: Staff | None = None, agent: Staff | None = None,
    breached_answer: bool = False, breached_loop: bool = False,
) -> Any:  # fmt: skip
    """An issue of ``unit`` raised on ``raised_on`` with its breach flags (ISS-2, ISS-4, ISS-5)."""
    from huifang.issues.models import Issue

    n = next(_seq)
    return Issue.objects.create(
        number=f"WT{raised_on:%Y%m%d}-{n:06d}", source="complaint", channel="phone",
        branch=unit, kind="complaint", category="service", summary="测试", owner=owner,
        agent=agent, raised_on=raised_on, loop_due=raised_on + dt.timedelta(days=21),
        breached_answer=breached_answer, breached_loop=breached_loop, created_at=clock.now(),
    )  # fmt: skip


def closing_row(unit: Unit, month: str = "2026-09") -> Any:
    """A monthly closing of ``unit`` written directly (for the project's scope matrix)."""
    from huifang.evaluation.models import MonthlyClosing

    return MonthlyClosing.objects.create(
        branch=unit, month=month, window_end=dt.date(2026, 10, 20), submitted_at=clock.now(),
        submitted_by="matrix", record_count=0, records_sha256=hashlib.sha256(b"").hexdigest(),
        late=False,
    )  # fmt: skip


def evaluation_row(unit: Unit, period: str = "2026-Q3", *, published: bool = True) -> Any:
    """A published evaluation of ``unit`` written directly (for the project's scope matrix)."""
    from huifang.evaluation.models import Evaluation

    return Evaluation.objects.create(
        period=period, period_start=dt.date(2026, 7, 1), period_end=dt.date(2026, 9, 30),
        branch=unit, as_of=dt.date(2026, 10, 14), computed_at=clock.now(),
        computed_by="matrix", published_at=clock.now() if published else None,
    )  # fmt: skip
