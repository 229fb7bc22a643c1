"""System checks of the platform huifang runs on (``huifang check``)."""

from __future__ import annotations

import sqlite3
from typing import Any

from django.core.checks import Error, Tags, register
from django.db import connections

# ``RETURNING`` (the claim's insert and release in ``workbench.queue``, the audit row's id)
SQLITE_MIN = (3, 35, 0)


@register(Tags.compatibility)
def check_sqlite_version(app_configs: Any, **kwargs: Any) -> list[Error]:
    """The embedded SQLite must know ``RETURNING`` (3.35, 2021); Django alone accepts 3.31."""
    if not any(connections[alias].vendor == "sqlite" for alias in connections):
        return []
    return sqlite_errors(sqlite3.sqlite_version_info)


def sqlite_errors(version: tuple[int, ...]) -> list[Error]:
    if tuple(version) >= SQLITE_MIN:
        return []
    have, need = ".".join(map(str, version)), ".".join(map(str, SQLITE_MIN))
    return [
        Error(
            f"SQLite {have} is too old: huifang needs {need} or newer (RETURNING)",
            hint="Use a Python built with a newer SQLite, or PostgreSQL.",
            id="huifang.E010",
        )
    ]
