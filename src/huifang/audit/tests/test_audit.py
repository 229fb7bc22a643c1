"""The audit trail is append-only and tamper-evident (NFR-2), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from huifang.audit import chain, triggers
from huifang.audit.context import AuditContextMissing, _current, audit_context
from huifang.audit.models import AuditEvent
from huifang.audit.services import ADVISORY_LOCK, audit_record
from huifang.audit.verify import verify

pytestmark = pytest.mark.django_db


def _write(n: int, prefix: str = "t") -> list[AuditEvent]:
    return [
        audit_record(
            action="test.event", object_type="test", object_id=f"{prefix}{i}", after={"i": i}
        )
        for i in range(n)
    ]


def test_each_row_holds_the_hash_of_the_previous_one() -> None:
    first, second, third = _write(3)
    assert first.prev_hash == chain.GENESIS or AuditEvent.objects.filter(id__lt=first.id).exists()
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    assert verify().ok


def test_update_of_an_audit_row_is_refused_by_the_database() -> None:
    (event,) = _write(1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor="mallory")
    assert AuditEvent.objects.get(pk=event.pk).actor == "test"


def test_delete_of_an_audit_row_is_refused_by_the_database() -> None:
    (event,) = _write(1)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_history_rows_are_append_only_too() -> None:
    from huifang.clients.tests.factories import ClientChangeFactory

    change = ClientChangeFactory()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE clients_clientchange SET new_value = 'x' WHERE id = %s", [change.pk])


def _drop_update_trigger() -> None:
    with connection.cursor() as cursor:
        for sql in triggers.drop_sql(connection.vendor, "audit_auditevent"):
            cursor.execute(sql)


def test_verify_names_a_row_altered_behind_the_apps_back() -> None:
    events = _write(5)
    _drop_update_trigger()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET actor = 'mallory' WHERE id = %s", [events[2].pk]
        )
    result = verify()
    assert not result.ok
    assert result.broken_id == events[2].pk
    assert "altered" in result.reason


def test_verify_names_the_row_after_a_removed_one() -> None:
    events = _write(4)
    _drop_update_trigger()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    result = verify()
    assert result.broken_id == events[2].pk
    assert "prev_hash" in result.reason


def test_audit_verify_command_exits_1_naming_the_broken_row(
    capsys: pytest.CaptureFixture[str],
) -> None:
    events = _write(3)
    call_command("audit", "verify")
    assert "verified" in capsys.readouterr().out
    _drop_update_trigger()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET after = NULL WHERE id = %s", [events[0].pk])
    with pytest.raises(SystemExit) as exit_info:
        call_command("audit", "verify")
    assert exit_info.value.code == 1
    assert f"audit row {events[0].pk}" in capsys.readouterr().err


def test_an_audited_change_without_a_context_is_refused() -> None:
    token = _current.set(None)
    try:
        with pytest.raises(AuditContextMissing):
            audit_record(action="test.event", object_type="test")
    finally:
        _current.reset(token)


def test_the_row_names_the_actor_of_the_context() -> None:
    with audit_context("system:nightly", request_id="job-42"):
        event = audit_record(action="test.event", object_type="test")
    assert (event.actor, event.request_id) == ("system:nightly", "job-42")


def test_a_changed_change_set_is_named_by_verify() -> None:
    from huifang.clients.tests.factories import ClientChangeFactory

    change = ClientChangeFactory(batch_id=77)
    event = audit_record(
        action="test.bulk", object_type="test", changeset=("clients.ClientChange", {"batch_id": 77})
    )
    assert event.changeset_rows == 1
    assert verify().ok
    with connection.cursor() as cursor:
        for sql in triggers.drop_sql(connection.vendor, "clients_clientchange"):
            cursor.execute(sql)
        cursor.execute(
            "UPDATE clients_clientchange SET new_value = 'forged' WHERE id = %s", [change.pk]
        )
    result = verify()
    assert result.broken_id == event.pk
    assert "change set" in result.reason


def test_a_second_row_of_a_transaction_chains_to_the_first_without_reading_the_chain() -> None:
    with transaction.atomic():
        (first,) = _write(1, "a")
        with CaptureQueriesContext(connection) as second_queries:
            (second,) = _write(1, "b")
    assert second.prev_hash == first.hash and second.chain == first.chain
    assert [q["sql"].split()[0] for q in second_queries.captured_queries] == ["INSERT"]
    assert verify().ok


def test_a_row_rolled_back_with_its_savepoint_is_not_chained_to() -> None:
    with transaction.atomic():
        (first,) = _write(1, "a")
        try:
            with transaction.atomic():
                _write(1, "gone")
                raise RuntimeError("the change is refused")
        except RuntimeError:
            pass
        with CaptureQueriesContext(connection) as third_queries:
            (third,) = _write(1, "c")
    assert not AuditEvent.objects.filter(object_id="gone0").exists()
    assert third.prev_hash == first.hash  # read from the chain again, not the rolled-back row
    assert len(third_queries.captured_queries) > 1
    assert verify().ok


def _concurrently(writers: int, write: Callable[[int], None]) -> None:
    """``write(n)`` in ``writers`` threads, each as its own actor and connection; re-raises none."""
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with audit_context(f"writer-{n}"):
                write(n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]


@pytest.mark.django_db(transaction=True)
def test_concurrent_transactions_of_several_rows_and_rolled_back_savepoints_verify() -> None:
    def write(n: int) -> None:
        for i in range(40):
            with transaction.atomic():
                _write(2, f"{n}-{i}-a")
                try:
                    with transaction.atomic():
                        _write(1, f"{n}-{i}-gone")
                        raise RuntimeError
                except RuntimeError:
                    pass
                _write(2, f"{n}-{i}-b")

    _concurrently(6, write)
    assert AuditEvent.objects.filter(action="test.event").count() == 6 * 40 * 4
    assert not AuditEvent.objects.filter(object_id__contains="gone").exists()
    result = verify()
    assert result.ok, result.reason


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_leave_a_chain_that_verifies() -> None:
    def write(n: int) -> None:
        for i in range(200):
            audit_record(action="test.concurrent", object_type="test", object_id=f"{n}-{i}")

    _concurrently(8, write)
    assert AuditEvent.objects.filter(action="test.concurrent").count() == 1600
    result = verify()
    assert result.ok, result.reason
    assert result.checked >= 1600
    # each chain links on its own, in id order, from the genesis hash
    rows = list(AuditEvent.objects.order_by("id").values_list("chain", "prev_hash", "hash"))
    last: dict[int, str] = {}
    for number, prev, digest in rows:
        assert prev == last.get(number, chain.GENESIS)
        last[number] = digest
    if connection.vendor == "postgresql":
        assert len(last) > 1  # eight connections spread over several chains


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_transaction_holding_its_chain_does_not_block_another_connection() -> None:
    """Issue 7 load: an open audited transaction no longer stops every other audited write."""
    from huifang.audit.services import chains

    assert chains() > 1
    holding = threading.Event()
    release = threading.Event()
    held_chain: list[int] = []

    def holder() -> None:
        try:
            with audit_context("holder"), transaction.atomic():
                held_chain.append(audit_record(action="test.hold", object_type="test").chain)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert holding.wait(10)
        # new connections until one lands on another chain (pid modulo the number of chains)
        for _ in range(64):
            connection.close()
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '2s'")
            with transaction.atomic():
                event = audit_record(action="test.free", object_type="test")
            if event.chain != held_chain[0]:
                break
        assert event.chain != held_chain[0]
    finally:
        release.set()
        thread.join()
    assert verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_writer_that_waited_for_the_chain_chains_to_the_row_committed_meanwhile(
    settings: Any,
) -> None:
    """The lock and the last-hash read are one call (migration 0004); the read must see the
    row the holder committed while the writer waited, or the chain would fork."""
    settings.HUIFANG_AUDIT_CHAINS = 1  # both connections on chain 0
    holding = threading.Event()
    held: list[AuditEvent] = []
    waited: list[AuditEvent] = []
    saw_waiter: list[bool] = []

    def holder() -> None:
        try:
            with audit_context("holder"), transaction.atomic():
                held.append(audit_record(action="test.hold", object_type="test"))
                holding.set()
                with connection.cursor() as cursor:
                    for _ in range(200):  # until the writer waits for the chain's lock
                        cursor.execute(  # this database's chain 0 lock, not anyone else's
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                            " AND NOT granted AND classid = %s AND objid = 0 AND database ="
                            " (SELECT oid FROM pg_database WHERE datname = current_database())",
                            [ADVISORY_LOCK],
                        )
                        if cursor.fetchone()[0]:
                            saw_waiter.append(True)
                            break
                        time.sleep(0.02)
        finally:
            connections.close_all()

    def writer() -> None:
        try:
            assert holding.wait(10)
            with audit_context("writer"), transaction.atomic():
                waited.append(audit_record(action="test.wait", object_type="test"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=holder), threading.Thread(target=writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert saw_waiter == [True] and len(held) == len(waited) == 1
    assert waited[0].prev_hash == held[0].hash
    assert verify().ok


def test_a_row_moved_to_another_chain_is_named_by_verify() -> None:
    events = _write(3)
    _drop_update_trigger()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET chain = chain + 1 WHERE id = %s", [events[1].pk]
        )
    result = verify()
    assert not result.ok
    assert result.broken_id in {events[1].pk, events[2].pk}
    assert "chain" in result.reason


def test_maintenance_mode_lets_an_update_through_with_the_new_values() -> None:
    (event,) = _write(1)
    with triggers.maintenance():
        AuditEvent.objects.filter(pk=event.pk).update(actor="maintenance")
    assert AuditEvent.objects.get(pk=event.pk).actor == "maintenance"
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor="again")


def test_a_nul_character_in_audited_text_is_stored_and_verifies_on_both_databases() -> None:
    """PostgreSQL's jsonb refuses ``\\u0000`` (schemathesis sent one in an API body): NUL becomes
    U+FFFD before hashing, so the row is written and the chain still verifies."""
    from huifang.audit.services import audit_record
    from huifang.audit.verify import verify

    event = audit_record(action="test.nul", object_type="x", after={"note": "a\x00b", "\x00": 1})
    event.refresh_from_db()
    assert event.after == {"note": "a\ufffdb", "\ufffd": 1}
    assert verify(check_files=False).ok
