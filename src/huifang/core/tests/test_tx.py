"""Units of work (``core.tx``): no savepoints inside a unit, and a failure still rolls back whole."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from huifang.core import tx
from huifang.org.models import Region

pytestmark = pytest.mark.django_db(transaction=True)  # the units are real transactions


def savepoints(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "SAVEPOINT" in q["sql"].upper()]


def test_a_unit_s_blocks_take_no_savepoint() -> None:
    with CaptureQueriesContext(connection) as queries, tx.unit_of_work(), tx.atomic():
        Region.objects.create(code="R1", name="一区")
        with tx.atomic():  # nested: still none
            Region.objects.create(code="R2", name="二区")
    assert savepoints(queries) == []
    assert set(Region.objects.values_list("code", flat=True)) == {"R1", "R2"}


def test_outside_a_unit_atomic_is_django_s_atomic() -> None:
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), tx.atomic():
        Region.objects.create(code="R1", name="一区")
    assert len(savepoints(queries)) == 2  # SAVEPOINT and RELEASE SAVEPOINT


def test_inside_a_block_with_its_own_savepoint_atomic_takes_one_too() -> None:
    """Whoever took a savepoint may catch the failure there and go on: below it, savepoints
    are kept, so a failure caught inside that block leaves the transaction usable."""
    with (
        CaptureQueriesContext(connection) as queries,
        tx.unit_of_work(),
        transaction.atomic(),  # a caller's own savepoint
    ):
        try:
            with tx.atomic():
                Region.objects.create(code="R1", name="一区")
                raise ValueError("refused")
        except ValueError:
            pass
        Region.objects.create(code="R2", name="二区")  # usable: rolled back to our savepoint
    # the caller's taken and released; ours taken and rolled back to (and released)
    assert len(savepoints(queries)) >= 4
    assert list(Region.objects.values_list("code", flat=True)) == ["R2"]


def test_a_failure_in_a_unit_rolls_back_all_of_it() -> None:
    with pytest.raises(ValueError), tx.unit_of_work():
        Region.objects.create(code="R1", name="一区")
        with tx.atomic():
            Region.objects.create(code="R2", name="二区")
            raise ValueError("refused")
    assert not Region.objects.exists()


def test_a_failure_caught_short_of_the_unit_cannot_commit_half_a_change() -> None:
    """The contract: nobody catches a failure inside a unit without a savepoint of his own.
    Breaking it is loud: the next statement raises, and nothing of the unit commits."""
    with pytest.raises(TransactionManagementError), tx.unit_of_work():
        Region.objects.create(code="R1", name="一区")
        try:
            with tx.atomic():
                Region.objects.create(code="R2", name="二区")
                raise ValueError("refused")
        except ValueError:
            pass
        Region.objects.create(code="R3", name="三区")
    assert not Region.objects.exists()


def test_the_unit_ends_with_its_block() -> None:
    with tx.unit_of_work():
        assert tx._unit.get() is not None
    assert tx._unit.get() is None
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), tx.atomic():
        Region.objects.create(code="R1", name="一区")
    assert len(savepoints(queries)) == 2


def test_a_unit_inside_a_transaction_is_a_savepoint_whose_blocks_take_none() -> None:
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        with pytest.raises(ValueError), tx.unit_of_work():
            Region.objects.create(code="R1", name="一区")
            with tx.atomic():
                raise ValueError("refused")
        Region.objects.create(code="R2", name="二区")  # the outer transaction goes on
    assert len(savepoints(queries)) == 3  # the unit's own: taken, rolled back to, released
    assert list(Region.objects.values_list("code", flat=True)) == ["R2"]


def test_the_unit_ends_when_its_body_raises() -> None:
    with pytest.raises(ValueError), tx.unit_of_work():
        raise ValueError("refused")
    assert tx._unit.get() is None
    with CaptureQueriesContext(connection) as queries, transaction.atomic(), tx.atomic():
        Region.objects.create(code="R1", name="一区")
    assert len(savepoints(queries)) == 2


def test_a_sqlite_without_returning_is_refused_by_the_system_check() -> None:
    from huifang.core.checks import sqlite_errors

    assert [e.id for e in sqlite_errors((3, 34, 1))] == ["huifang.E010"]
    assert "3.34.1" in sqlite_errors((3, 34, 1))[0].msg
    assert sqlite_errors((3, 35, 0)) == [] and sqlite_errors((3, 46, 1)) == []
