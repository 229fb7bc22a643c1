"""Units of work: one transaction that commits or rolls back whole, with no savepoints inside.

A service opens ``transaction.atomic()`` so that it is one transaction when called on
its own. Called inside a caller's transaction, Django makes that block a savepoint:
two more round trips (``SAVEPOINT``, ``RELEASE SAVEPOINT``) for a rollback that only
helps a caller that catches the failure and goes on. The call-center API never does:
a refused call rolls back everything and writes its audit row afterwards.

``unit_of_work()`` is such a caller's transaction; ``atomic()`` is the services' block,
without a savepoint when every block between it and the unit is without one, else
exactly ``transaction.atomic()``. The contract inside a unit: a failure is never
caught short of the unit, except by a block that takes its own savepoint
(``transaction.atomic()`` around the code that may fail, as ``queue._claim`` did).
Django enforces it: a failure leaving a block without a savepoint marks the
transaction for rollback, and any later query in it raises ``TransactionManagementError``
instead of committing half a change.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction

# the connection of the innermost unit of this thread (or task), and how many savepoint
# entries it had when the unit began
_unit: ContextVar[tuple[Any, int] | None] = ContextVar("huifang_unit_of_work", default=None)


@contextmanager
def unit_of_work(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """A transaction (or, inside one, a savepoint) in which ``atomic()`` blocks take none."""
    with transaction.atomic(using):
        connection = transaction.get_connection(using)
        token = _unit.set((connection, len(connection.savepoint_ids)))
        try:
            yield
        finally:
            _unit.reset(token)


def atomic(using: str = DEFAULT_DB_ALIAS) -> Any:
    """``transaction.atomic()``, without a savepoint directly inside a unit of work.

    A context manager only (``with tx.atomic():``): the choice is made when it is called, so
    as a decorator it would be made once, at import, outside any unit."""
    unit = _unit.get()
    if unit is not None:
        connection, depth = unit
        if (
            connection is transaction.get_connection(using)
            and connection.in_atomic_block
            and len(connection.savepoint_ids) >= depth
            and all(sid is None for sid in connection.savepoint_ids[depth:])
        ):
            return transaction.atomic(using, savepoint=False)
    return transaction.atomic(using)
