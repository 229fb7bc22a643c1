"""Model fields shared by the domain apps."""

from __future__ import annotations

from typing import Any

from django.db import models


class KeyField(models.CharField):  # type: ignore[type-arg]
    """A code or hash compared only for equality (client_id, staff_id, keyed hashes).

    On PostgreSQL Django adds a second ``varchar_pattern_ops`` index to every indexed
    ``varchar`` column for LIKE queries; codes and hashes are never searched by
    prefix, and each extra index costs the bulk import dearly. Spelling the type
    ``character varying`` (the same type) keeps Django from adding it. Foreign keys
    to a KeyField inherit the spelling.
    """

    def db_type(self, connection: Any) -> str | None:
        kind = super().db_type(connection)
        if connection.vendor == "postgresql" and kind and kind.startswith("varchar"):
            return "character varying" + kind[len("varchar") :]
        return kind

    def rel_db_type(self, connection: Any) -> str | None:
        return self.db_type(connection)
