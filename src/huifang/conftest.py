"""Fixtures every app's tests share.

- Every test runs inside an audit context (actor ``test``), as commands and requests do.
- Transactional tests flush the database at teardown; append-only tables refuse
  DELETE/TRUNCATE by trigger, so the flush runs in the documented maintenance
  mode (``huifang.audit.triggers.maintenance``) — the only way the suite resets them.
- The calendar cache is cleared around each test (tables may be loaded in a test).
- Tests marked ``postgres`` (SKIP LOCKED races, PostgreSQL query plans) belong to the
  PostgreSQL run only: on SQLite they are deselected, not skipped, and the PostgreSQL
  run (required in CI) runs them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from huifang.audit.context import audit_context


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import os

    if os.environ.get("HUIFANG_TEST_DATABASE") == "postgres":
        return
    postgres_only = [item for item in items if item.get_closest_marker("postgres")]
    if postgres_only:
        config.hook.pytest_deselected(items=postgres_only)
        items[:] = [item for item in items if not item.get_closest_marker("postgres")]


@pytest.fixture(autouse=True)
def _audit_actor() -> Iterator[None]:
    with audit_context("test"):
        yield


@pytest.fixture(autouse=True)
def _calendar_cache() -> Iterator[None]:
    from huifang.calendars import service

    service.invalidate()
    yield
    service.invalidate()


@pytest.fixture(autouse=True)
def _flush_append_only(request: pytest.FixtureRequest) -> Iterator[None]:
    """Before a transactional test's flush, allow deleting append-only rows on this connection."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
    yield
    if transactional:
        from django.db import connections

        from huifang.audit.triggers import set_maintenance

        for conn in connections.all():
            set_maintenance(True, conn)


@pytest.fixture(autouse=True)
def _questionnaires_after_flush(request: pytest.FixtureRequest) -> None:
    """The questionnaires (EXE-4) come from a data migration; a transactional test's flush
    empties them, so a database test finds them installed again, as the migration left them
    (no audit rows: the migration writes none either)."""
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    if marker is None and not names & {"db", "transactional_db"}:
        return
    transactional = "transactional_db" in names or bool(marker and marker.kwargs.get("transaction"))
    request.getfixturevalue("transactional_db" if transactional else "db")
    from django.apps import apps

    from huifang.workbench.models import Questionnaire
    from huifang.workbench.questionnaires import install_defaults

    if not Questionnaire.objects.exists():
        install_defaults(apps)
