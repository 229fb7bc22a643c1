"""The bulk writer's reading counterpart: ``export_strings`` (whole tables as Arrow text)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction

from huifang.classification.models import ClientClass
from huifang.classification.tests.factories import ClientClassFactory
from huifang.core import bulk

COLUMNS = ["client_id", "scheme", "class_code", "policy_version_id"]


def stored() -> list[tuple[str, ...]]:
    rows = ClientClass.objects.values_list(*COLUMNS)
    return sorted(tuple(str(v) for v in row) for row in rows)


def exported() -> list[tuple[str, ...]]:
    table = bulk.export_strings(ClientClass._meta.db_table, COLUMNS)
    assert table.schema.names == COLUMNS
    return sorted(zip(*(c.to_pylist() for c in table.columns), strict=True))


def some_classes(n: int) -> None:
    codes = ["vip", "core", "potential", 'ordinary "quoted", with comma']
    for i in range(n):
        ClientClassFactory(class_code=codes[i % 4] if i % 7 else "", scheme="CLS-1")


@pytest.mark.django_db
def test_every_row_is_exported_as_text(monkeypatch: Any) -> None:
    monkeypatch.setattr(bulk, "EXPORT_GROUP", 3)  # several blocks
    some_classes(11)
    assert exported() == stored()


@pytest.mark.django_db
def test_an_empty_table_exports_no_rows() -> None:
    assert exported() == []


@pytest.mark.django_db(transaction=True)
def test_parallel_workers_read_the_callers_snapshot(monkeypatch: Any) -> None:
    """On PostgreSQL, workers on other connections read what the caller's transaction sees;
    SQLite has one connection, which reads everything."""
    monkeypatch.setattr(bulk, "EXPORT_GROUP", 2)
    some_classes(9)
    expected = stored()
    seen: list[bool] = []
    real = connection.get_connection_params

    def params() -> dict[str, Any]:
        seen.append(True)
        return real()

    monkeypatch.setattr(connection, "get_connection_params", params)
    with transaction.atomic():
        with connection.cursor() as cursor:  # the caller's snapshot is taken here
            cursor.execute("SELECT count(*) FROM classification_clientclass")
        assert exported() == expected
    assert bool(seen) == (connection.vendor == "postgresql"), (
        "worker connections on PostgreSQL only"
    )


@pytest.mark.django_db
def test_a_transaction_that_wrote_reads_its_own_rows(monkeypatch: Any) -> None:
    """Its uncommitted rows are invisible to other connections: one connection exports all."""
    monkeypatch.setattr(bulk, "EXPORT_GROUP", 2)
    with transaction.atomic():
        some_classes(7)  # uncommitted (the test's own transaction)
        assert exported() == stored()


@pytest.mark.django_db
def test_a_large_load_into_an_empty_table_with_deferred_foreign_keys(monkeypatch: Any) -> None:
    """The index rebuild after a large load works although the rows' FK checks are pending."""
    import datetime as dt

    import pyarrow as pa
    from django.utils import timezone

    from huifang.callbacks.models import NightlyRun, TaskEvent
    from huifang.policy.services import policy_default_ensure

    monkeypatch.setattr(bulk, "REBUILD_FROM", 3)
    day = dt.date(2026, 10, 14)
    run = NightlyRun.objects.create(
        business_date=day, status="done", policy_version=policy_default_ensure(),
        started_at=timezone.now(),
    )  # fmt: skip
    n = 5
    at = timezone.now()
    rows = pa.table({
        "run_id": pa.array([run.pk] * n, pa.int64()),
        "task_id": pa.array(range(1, n + 1), pa.int64()),
        "event": pa.array(["created"] * n),
        "staff_id": pa.array([None] * n, pa.string()),
        "detail": pa.array(["{}"] * n),
        "business_date": pa.array([day] * n, pa.date32()),
        "at": pa.array([at] * n, pa.timestamp("us", tz="UTC")),
        "actor": pa.array(["system:test"] * n),
    })  # fmt: skip
    indexes = {name for name, _sql in bulk.secondary_indexes(TaskEvent._meta.db_table)}
    assert bulk.insert(TaskEvent._meta.db_table, rows) == n
    assert TaskEvent.objects.filter(run=run).count() == n
    assert {e.at for e in TaskEvent.objects.filter(run=run)} == {at}  # the instant, to the µs
    assert {name for name, _sql in bulk.secondary_indexes(TaskEvent._meta.db_table)} == indexes


@pytest.mark.django_db
def test_fetch_typed_keeps_types_nulls_and_empty_text() -> None:
    """``fetch_typed`` gives the schema's types; NULL and "" stay apart (CSV on PostgreSQL)."""
    import datetime as dt

    import pyarrow as pa

    ClientClassFactory(class_code="", client__client_id="K1")
    ClientClassFactory(class_code='core, "q"', client__client_id="K2")
    schema = pa.schema([("client_id", pa.string()), ("class_code", pa.string()),
                        ("since", pa.date32()), ("empty", pa.bool_()), ("none", pa.string()),
                        ("n", pa.int64())])  # fmt: skip
    table = bulk.fetch_typed(
        "SELECT client_id, class_code, since, class_code = %s, NULL, 7 FROM classification_clientclass "
        "WHERE client_id IN (%s, %s) ORDER BY client_id",
        ["", "K1", "K2"],
        schema=schema,
    )
    assert table.schema == schema
    assert table.to_pylist() == [
        {"client_id": "K1", "class_code": "", "since": dt.date(2026, 1, 5), "empty": True,
         "none": None, "n": 7},
        {"client_id": "K2", "class_code": 'core, "q"', "since": dt.date(2026, 1, 5),
         "empty": False, "none": None, "n": 7},
    ]  # fmt: skip


@pytest.mark.django_db
def test_update_sets_the_other_columns_of_the_rows_whose_key_matches() -> None:
    import pyarrow as pa

    some_classes(3)
    before = {c.client_id: c for c in ClientClass.objects.all()}
    first, second = sorted(before)[:2]
    rows = pa.table({
        "client_id": [first, second, "NOBODY"],
        "scheme": ["CLS-1", "CLS-8.important", "CLS-1"],  # the second key does not match
        "class_code": ["vip", "vip", "vip"],
    })  # fmt: skip
    assert bulk.update(ClientClass._meta.db_table, rows, key=["client_id", "scheme"]) == 3
    after = {c.client_id: c.class_code for c in ClientClass.objects.all()}
    assert after[first] == "vip"
    assert after[second] == before[second].class_code
    assert len(after) == len(before)


@pytest.mark.postgres  # PostgreSQL's planner statistics
@pytest.mark.django_db
def test_staged_keys_are_analyzed_so_the_planner_knows_how_few_they_are() -> None:
    import pyarrow as pa

    keys = pa.array(["C0001", "C0002", "C0003"], pa.string())
    with transaction.atomic(), bulk.staged_keys(keys), connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = '_bulk_keys'")
        # a new table's reltuples is -1 (never analyzed): the planner then guesses ~1,360 rows
        assert cursor.fetchone()[0] == 3
        cursor.execute("SELECT k FROM _bulk_keys ORDER BY k")
        assert [row[0] for row in cursor.fetchall()] == ["C0001", "C0002", "C0003"]
