"""A class standard compiled to a DuckDB ``CASE`` with ``?`` parameters (CLS-1, CLS-8).

Measure names map to columns through a whitelist and comparison operators come from
the bound's inclusiveness, so nothing a user typed is ever pasted into SQL: the
thresholds travel as parameters. The ``CASE`` yields the class's *rank* (its
position in the standard, 0 = highest); the first class that matches wins.
"""

from __future__ import annotations

from decimal import Decimal

from huifang.classification.measures import MEASURE_COLUMNS
from huifang.policy.kinds import ClassStandard, Condition


def condition_sql(condition: Condition) -> tuple[str, list[Decimal]]:
    """``column >= ? AND column < ?`` for one condition, with its parameters."""
    column = MEASURE_COLUMNS[condition.measure]
    parts: list[str] = []
    params: list[Decimal] = []
    if condition.min is not None:
        parts.append(f"{column} {'>=' if condition.min_inclusive else '>'} ?")
        params.append(condition.min)
    if condition.max is not None:
        parts.append(f"{column} {'<=' if condition.max_inclusive else '<'} ?")
        params.append(condition.max)
    return " AND ".join(parts), params


def rank_sql(standard: ClassStandard) -> tuple[str, list[Decimal]]:
    """``CASE WHEN … THEN 0 … ELSE n END``: the rank of the first matching class.

    A class without conditions ends the ``CASE`` as its ``ELSE``; without one, a client
    matching no class gets NULL (not a member of any class of this standard).
    """
    whens: list[str] = []
    params: list[Decimal] = []
    otherwise = "NULL"
    for rank, definition in enumerate(standard.classes):
        if not definition.any_of:
            otherwise = str(rank)
            break
        groups = []
        for group in definition.any_of:
            parts = []
            for condition in group:
                sql, values = condition_sql(condition)
                parts.append(sql)
                params += values
            groups.append("(" + " AND ".join(parts) + ")")
        whens.append(f"WHEN {' OR '.join(groups)} THEN {rank}")
    if not whens:
        return otherwise, params
    return f"CASE {' '.join(whens)} ELSE {otherwise} END", params
