"""Purposes outside the nightly run (CMP-1, SPC-1, PLAN-1, IB-1, MRG-8): CON-3, CON-4, idempotency."""

from __future__ import annotations

import datetime as dt

import pytest

from huifang.audit.context import audit_context
from huifang.audit.models import AuditEvent
from huifang.callbacks.adhoc import PurposeRefused, add_purpose
from huifang.callbacks.models import Purpose, Task, TaskEvent
from huifang.callbacks.tests.factories import task_for
from huifang.clients.models import Client
from huifang.clients.tests.factories import ClientFactory
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db


def _client() -> Client:
    return ClientFactory()  # type: ignore[return-value]


DAY = dt.date(2026, 10, 14)


@pytest.fixture(autouse=True)
def _audited(policy: PolicyVersion):  # type: ignore[no-untyped-def]
    with audit_context("test"):
        yield


def _add(client, rule: str = "CMP-1", key: str = "CMP-1:issue1", due: dt.date = DAY, **kw):  # type: ignore[no-untyped-def]
    return add_purpose(
        rule_code=rule, key=key, level=kw.pop("level", "branch"), kind=kw.pop("kind", "compliance"),
        business_date=DAY, due_date=due, facts={"issue": key}, actor="test", client=client, **kw,
    )  # fmt: skip


def test_a_new_purpose_makes_one_open_task_with_its_event_and_audit_row() -> None:
    client = _client()
    added = _add(client, due=dt.date(2026, 10, 16))
    assert added.created and added.new_task
    task = Task.objects.get(pk=added.task.pk)
    assert (task.client_id, task.branch_id, task.status, task.due_date, task.quarter) == (
        client.pk, client.branch_id, "open", dt.date(2026, 10, 16), "2026-Q4",
    )  # fmt: skip
    assert task.counts_to_cap and not task.cap_exception
    assert added.purpose.facts_dict == {"issue": "CMP-1:issue1"}
    assert list(TaskEvent.objects.filter(task=task).values_list("event", flat=True)) == ["created"]
    assert (
        AuditEvent.objects.filter(object_type="callbacks.Task", object_id=str(task.pk)).count() == 1
    )


def test_the_same_key_again_writes_nothing() -> None:
    client = _client()
    first = _add(client)
    again = _add(client)
    assert not again.created and again.purpose.pk == first.purpose.pk
    assert Purpose.objects.count() == 1 and Task.objects.count() == 1


def test_an_open_task_of_the_same_contact_takes_the_purpose_and_its_earlier_due_date() -> None:
    client = _client()
    open_task = task_for(client)  # due 2026-10-12 in the factory
    Task.objects.filter(pk=open_task.pk).update(due_date=dt.date(2026, 10, 30))
    added = _add(client, due=dt.date(2026, 10, 20))
    assert added.created and not added.new_task and added.task.pk == open_task.pk
    assert Task.objects.get(pk=open_task.pk).due_date == dt.date(2026, 10, 20)
    other_level = _add(client, key="CMP-1:issue2", level="company")
    assert other_level.new_task  # CON-4 groups by client, level and kind


def test_a_client_at_the_quarterly_cap_still_gets_a_full_coverage_task_marked_as_exception() -> (
    None
):
    client = _client()
    for kind in ("compliance", "service"):
        task = task_for(client, kind=kind)
        Task.objects.filter(pk=task.pk).update(status="signed", quarter="2026-Q4")
    added = _add(client)
    task = Task.objects.get(pk=added.task.pk)
    assert task.cap_exception and "CON-3" in task.cap_reason


def test_a_cap_exempt_rule_does_not_count_toward_the_quarter() -> None:
    added = _add(_client(), rule="SPC-1", key="SPC-1:order1:x")
    task = Task.objects.get(pk=added.task.pk)
    assert not task.counts_to_cap and added.purpose.cap_exempt


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rule": "NOPE-1"}, "NOPE-1"),
        ({"level": "galaxy"}, "级别"),
        ({"due": dt.date(2026, 10, 1)}, "早于"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_written(kwargs, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PurposeRefused, match=message):
        _add(_client(), **kwargs)
    assert Task.objects.count() == 0 and Purpose.objects.count() == 0
