"""The ordering department's progress (SPC-1): tasks, overdue, records back by ``records_due``,
checked against a count made independently from the tasks and records themselves."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from huifang.callbacks.choices import OPEN_STATUSES
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.orders import selectors, services
from huifang.orders.models import Order
from huifang.orders.tests.factories import branch_user, clients, dept_user, draft, upload
from huifang.org.tests.factories import StaffFactory, UnitFactory
from huifang.workbench.models import Record

pytestmark = pytest.mark.django_db
LATER = dt.datetime(2026, 11, 10, 10, 0, tzinfo=clock.SHANGHAI)  # after the end and records_due


def signed_record(task: Task, on: dt.date, status: str = "signed") -> Record:
    agent = StaffFactory(unit=task.branch)
    at = dt.datetime.combine(on, dt.time(15), tzinfo=clock.SHANGHAI)
    return Record.objects.create(
        task=task, number=f"HF-T-{task.pk}", branch_id=task.branch_id, client=task.client,
        level=task.level, kind=task.kind, method="phone", callback_date=on, agent=agent,
        status=status, leader_signed_at=at if status != "draft" else None, created_at=at,
    )  # fmt: skip


@pytest.fixture
def issued() -> tuple[Any, Order, list[Any]]:
    user = dept_user()
    order = draft(user)
    a, b = UnitFactory(code="PA01"), UnitFactory(code="PB01")
    people = clients(a, 4) + clients(b, 3)
    upload(user, order, [c.client_id for c in people])
    services.order_issue(user=user, order=order)
    order.refresh_from_db()
    tasks = [order.targets.get(client=c).task for c in people]
    due = order.records_due  # 2026-11-06: 30 Oct + 5 working days
    work = [
        ("signed", due, "signed"), ("reviewed", due + dt.timedelta(days=3), "signed"),
        ("unreachable", None, None), ("in_progress", None, None),
        ("signed", due - dt.timedelta(days=6), "archived"), ("assigned", None, None),
        ("in_progress", dt.date(2026, 10, 20), "draft"),
    ]  # fmt: skip
    for task, (status, on, record_status) in zip(tasks, work, strict=True):
        Task.objects.filter(pk=task.pk).update(status=status)
        if on is not None:
            signed_record(task, on, record_status)
    return user, order, people


def independent_counts(order: Order, branches: set[str] | None = None) -> Counter[str]:
    """Counted from the tasks and records (not from the progress code)."""
    tasks = Task.objects.filter(purposes__key__startswith=f"SPC-1:order{order.pk}:")
    if branches is not None:
        tasks = tasks.filter(branch_id__in=branches)
    today = clock.today()
    counts: Counter[str] = Counter()
    for task in tasks:
        counts["targets"] += 1
        if task.status in OPEN_STATUSES:
            counts["open"] += 1
            counts["overdue"] += today > order.ends_on
        else:
            counts[task.status] += 1
        record = Record.objects.filter(task=task, status__in=["signed", "archived"]).first()
        if record is not None:
            back = record.leader_signed_at.astimezone(clock.SHANGHAI).date()
            counts["records_back" if back <= order.records_due else "records_late"] += 1
    return counts


def as_counter(counts: selectors.Counts) -> Counter[str]:
    names = ("targets", "open", "overdue", "signed", "reviewed", "unreachable", "cancelled",
             "records_back", "records_late")  # fmt: skip
    return Counter({name: getattr(counts, name) for name in names if getattr(counts, name)})


def test_progress_counts_equal_an_independent_count(issued: tuple[Any, Order, list[Any]]) -> None:
    user, order, _people = issued
    with clock.frozen(LATER):
        progress = selectors.order_progress(user=user, order=order)
        expected = independent_counts(order)
        assert as_counter(progress.total) == expected
        assert progress.total.issued == progress.total.targets == 7
        for row in progress.branches:
            assert as_counter(row.counts) == independent_counts(order, {row.code})
        assert progress.records_overdue
    # the numbers the test data was built for, so that the comparison above is not empty
    assert (expected["records_back"], expected["records_late"], expected["overdue"]) == (2, 1, 3)


def test_nothing_is_overdue_before_the_end(issued: tuple[Any, Order, list[Any]]) -> None:
    user, order, _people = issued
    progress = selectors.order_progress(user=user, order=order)
    assert progress.total.overdue == 0 and progress.total.open == 3
    assert not progress.records_overdue


def test_a_branch_leader_sees_only_his_branchs_part(issued: tuple[Any, Order, list[Any]]) -> None:
    _user, order, people = issued
    ops = branch_user(people[0].branch)
    progress = selectors.order_progress(user=ops, order=order)
    assert [row.code for row in progress.branches] == ["PA01"]
    assert as_counter(progress.total) == independent_counts(order, {"PA01"})
    shown = selectors.order_targets(user=ops, order=order)
    assert {t.branch_id for t in shown} == {"PA01"} and shown.count() == 4
