"""The indexes the nightly run writes (issue 6): each query is still served, none twice.

Every index on tasks, purposes and events costs the nightly run's write phase; a
column filtered on alone keeps one index leading with it (a composite's prefix
serves it), and the purpose key stays unique (CON-4: a re-run finds its purposes).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from huifang.callbacks.models import Purpose
from huifang.workbench.tests import factories as f

pytestmark = pytest.mark.django_db


# The one index that exists for an order, not a filter: the agent's working tasks in urgency
# order for "next task" (issue 7; partial: assigned and in-progress tasks only, so it cannot
# serve the filters below, which include open and closed tasks). Its write cost is the
# nightly's: one more entry per assigned task.
ORDER_INDEXES = {"task_queue_order"}


def indexes(table: str) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return [
        {**c, "name": name}
        for name, c in found.items()
        if c["index"] or c["unique"] or c["primary_key"]
    ]


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("callbacks_task", "client_id"),  # a client's tasks, the cap count (client, quarter)
        ("callbacks_task", "assignee_id"),  # an agent's queue (assignee, status)
        ("callbacks_task", "branch_id"),  # every scoped list
        ("callbacks_purpose", "task_id"),  # a task's purposes
        ("callbacks_purpose", "rule_code"),  # a period's done keys (rule_code, business_date)
        ("callbacks_taskevent", "task_id"),  # a task's history
        ("callbacks_taskevent", "run_id"),  # a run's change set (audit verify)
    ],
)
def test_a_filtered_column_leads_exactly_one_index(table: str, column: str) -> None:
    # unique indexes are integrity (the CON-4 ones cover open tasks only): not counted
    leading = [
        c
        for c in indexes(table)
        if c["columns"][0] == column and not c["unique"] and c["name"] not in ORDER_INDEXES
    ]
    assert len(leading) == 1, leading


def test_the_queue_order_index_is_the_only_order_index() -> None:
    """Nothing else slips in under the exception: one index, on the task table, leading with
    the assignee (its expression column has no name)."""
    ordered = [
        (table, c["columns"])
        for table in ("callbacks_task", "callbacks_purpose", "callbacks_taskevent")
        for c in indexes(table)
        if c["name"] in ORDER_INDEXES
    ]
    assert len(ordered) == 1
    table, columns = ordered[0]
    assert table == "callbacks_task" and columns[0] == "assignee_id"
    assert columns[-2:] == ["due_date", "id"]


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("callbacks_task", "run_id"),
        ("callbacks_purpose", "policy_version_id"),
        ("callbacks_taskevent", "staff_id"),
    ],
)
def test_a_column_nothing_filters_on_has_no_index(table: str, column: str) -> None:
    assert not [c for c in indexes(table) if column in c["columns"]]


def test_the_purpose_key_has_one_index_and_it_is_unique() -> None:
    on_key = [c for c in indexes("callbacks_purpose") if c["columns"] == ["key"]]
    assert [c["unique"] for c in on_key] == [True]


def test_a_second_purpose_with_the_same_key_is_refused() -> None:
    task = f.open_task(purposes=("NEW-1",))
    first = task.purposes.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Purpose.objects.create(
            task=task, key=first.key, rule_code="NEW-1", rule_id="NEW-1",
            policy_version=first.policy_version, business_date=first.business_date,
            due_date=first.due_date,
        )  # fmt: skip
    assert list(Purpose.objects.filter(key=first.key)) == [first]
