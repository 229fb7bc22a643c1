"""Model instances from one hand-written join, for the few hot paths that run on every request.

The ORM compiles each queryset's SQL on every call; on the call-center API that compiling
was about a third of a request's time (issue 7). A ``Joined`` names the models of a join
and their table aliases once; its SELECT list is built once per database vendor, and
each row is cut into one instance per model with the same converters the ORM applies
(dates and booleans on SQLite, JSON, time zones), or ``None`` where an outer join
found nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model


@dataclass(frozen=True)
class Joined:
    """The models of a join, each with its alias in the SQL, in SELECT order."""

    parts: tuple[tuple[type[Model], str], ...]

    def columns(self) -> str:
        """The SELECT list: every concrete column of every part, aliased."""
        return _columns(self, connection.vendor)

    def instances(self, row: Sequence[Any], parts: slice = slice(None)) -> list[Model | None]:
        """One instance per part (of ``parts``) from ``row`` (a cursor row of ``columns()``)."""
        found: list[Model | None] = []
        for model, start, pk_index, converters in _layout(self, connection.vendor)[parts]:
            fields = model._meta.concrete_fields
            values = list(row[start : start + len(fields)])
            if values[pk_index] is None:
                found.append(None)
                continue
            for index, (functions, expression) in converters.items():
                for convert in functions:
                    values[index] = convert(values[index], expression, connection)
            found.append(model.from_db(connection.alias, [f.attname for f in fields], values))
        return found


def relate(obj: Model, **related: Model | None) -> None:
    """Cache each related instance on ``obj`` under its foreign key's name, as
    ``select_related`` leaves it (``None``: the outer join found nothing)."""
    for name, value in related.items():
        obj._meta.get_field(name).set_cached_value(obj, value)  # type: ignore[union-attr]


def table(model: type[Model]) -> str:
    """The model's table, quoted for the connection's database."""
    return connection.ops.quote_name(model._meta.db_table)


def column(model: Any, name: str) -> str:
    """The column of the model's field ``name``, quoted."""
    return connection.ops.quote_name(model._meta.get_field(name).column)


@functools.cache
def _columns(joined: Joined, vendor: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(
        f"{alias}.{quote(field.column)}"
        for model, alias in joined.parts
        for field in model._meta.concrete_fields
    )


@functools.cache
def _layout(joined: Joined, vendor: str) -> list[tuple[type[Model], int, int, dict[int, Any]]]:
    """Per part: its model, its first column in the row, its primary key's index and, by field
    index, the (converters, expression) to apply, as ``SQLCompiler.get_converters`` makes them."""
    out = []
    start = 0
    for model, alias in joined.parts:
        fields = model._meta.concrete_fields
        converters: dict[int, tuple[list[Any], Any]] = {}
        for index, field in enumerate(fields):
            col = field.get_col(alias)
            functions = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if functions:
                converters[index] = (functions, col)
        out.append((model, start, list(fields).index(model._meta.pk), converters))
        start += len(fields)
    return out
