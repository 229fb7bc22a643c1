"""Class standards compiled to DuckDB: every CLS-1 boundary, the order of matching, CLS-8 schemes.

The compiled ``CASE`` runs over a ``measured`` table of plain values, as in the engine.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from huifang.classification.compile import rank_sql
from huifang.policy import kinds
from huifang.policy.defaults import (
    ACTIVITY_CLASSES,
    CONTRIBUTION_CLASSES,
    IMPORTANT_CLASSES,
    VALUE_CLASSES,
)

COLUMNS = {
    "assets": "DECIMAL(18, 2)",
    "commission_year": "DECIMAL(18, 2)",
    "trading_month_max": "DECIMAL(38, 2)",
    "days_since_trade": "BIGINT",
}


def classify(params: dict[str, Any], **measures: Any) -> str | None:
    """The class code the standard gives one client with these measures (None: no class)."""
    standard = kinds.parse("class_standard", params)
    assert isinstance(standard, kinds.ClassStandard)
    con = duckdb.connect()
    con.execute("CREATE TABLE measured (" + ", ".join(f"{c} {t}" for c, t in COLUMNS.items()) + ")")
    values = [
        Decimal(str(measures.get(c, 0))) if t != "BIGINT" else measures.get(c, 0)
        for c, t in COLUMNS.items()
    ]
    con.execute("INSERT INTO measured VALUES (?, ?, ?, ?)", values)
    case, params_ = rank_sql(standard)
    rank = con.execute(f"SELECT {case} FROM measured", params_).fetchone()[0]  # type: ignore[index]
    return None if rank is None else standard.classes[rank].code


CLS1_CASES = [
    # (assets, commission, class): every boundary of CLS-1, both sides
    (10_000_000, 0, "vip"),  # the deliberate deviation: exactly 10 M is vip
    ("9999999.99", 0, "core"),
    (250_000, 0, "core"),
    ("249999.99", 5_000, "core"),  # 100 k ≤ A < 250 k with C ≥ 5,000
    ("249999.99", "4999.99", "potential"),
    (100_000, 5_000, "core"),
    (100_000, 0, "potential"),
    ("99999.99", 5_000, "ordinary"),  # as written: C ≥ 5,000 but A < 100 k is ordinary
    (99_999, 5_000, "ordinary"),
    ("99999.99", "4999.99", "potential"),
    (10_000, 3_000, "potential"),
    ("9999.99", 3_000, "ordinary"),
    (10_000, "2999.99", "ordinary"),
    (0, 0, "ordinary"),
    (0, 1_000_000, "ordinary"),
]


@pytest.mark.parametrize(("assets", "commission", "expected"), CLS1_CASES)
def test_every_cls1_boundary(assets: Any, commission: Any, expected: str) -> None:
    assert classify(CONTRIBUTION_CLASSES, assets=assets, commission_year=commission) == expected


def test_the_first_class_that_matches_wins() -> None:
    # 150 k with 6,000 commission matches core (group 2) and potential (group 1): core is first.
    assert classify(CONTRIBUTION_CLASSES, assets=150_000, commission_year=6_000) == "core"
    reordered = copy.deepcopy(CONTRIBUTION_CLASSES)
    reordered["classes"][1], reordered["classes"][2] = (
        reordered["classes"][2],
        reordered["classes"][1],
    )
    assert classify(reordered, assets=150_000, commission_year=6_000) == "potential"


def test_each_bounds_inclusiveness_is_a_parameter() -> None:
    as_written = copy.deepcopy(CONTRIBUTION_CLASSES)
    as_written["classes"][0]["any_of"][0][0]["min_inclusive"] = False  # 2009 text: "大于 1000万元"
    assert classify(as_written, assets=10_000_000) == "ordinary"  # neither 一类 nor 二类: 四类
    assert classify(as_written, assets="10000000.01") == "vip"


@pytest.mark.parametrize(
    ("measures", "expected"),
    [
        ({"commission_year": 200_000}, "important"),
        ({"commission_year": "199999.99"}, None),
        ({"assets": 3_000_000}, "important"),
        ({"assets": "2999999.99"}, None),
        ({"trading_month_max": 10_000_000}, "important"),
        ({"trading_month_max": "9999999.99"}, None),
    ],
)
def test_the_company_important_client_is_data(
    measures: dict[str, Any], expected: str | None
) -> None:
    assert classify(IMPORTANT_CLASSES, **measures) == expected


@pytest.mark.parametrize(("days", "expected"), [(0, "active"), (30, "active"), (31, "less_active"),
                                                 (180, "less_active"), (181, "inactive")])  # fmt: skip
def test_activity_levels_are_data(days: int, expected: str) -> None:
    assert classify(ACTIVITY_CLASSES, days_since_trade=days) == expected


@pytest.mark.parametrize(("assets", "expected"), [(1_000_000, "gold"), ("999999.99", "silver"),
                                                   (200_000, "silver"), (199_999, "ordinary")])  # fmt: skip
def test_gold_silver_ordinary_is_data(assets: Any, expected: str) -> None:
    assert classify(VALUE_CLASSES, assets=assets) == expected


def test_thresholds_travel_as_parameters_never_as_sql_text() -> None:
    standard = kinds.parse("class_standard", CONTRIBUTION_CLASSES)
    assert isinstance(standard, kinds.ClassStandard)
    sql, params = rank_sql(standard)
    assert "10000000" not in sql and "250000" not in sql
    assert Decimal("10000000") in params and sql.count("?") == len(params)


@pytest.mark.parametrize(
    "condition",
    [
        {"measure": "assets; DROP TABLE clients", "min": 1},
        {"measure": "assets", "min": "1); DROP TABLE x; --"},
        {"measure": "assets"},
        {"measure": "assets", "min": 10, "max": 5},
        {"measure": "assets", "min": -1},
        {"measure": "assets", "min": 1, "operator": ">="},
    ],
)
def test_a_condition_outside_the_whitelist_is_refused(condition: dict[str, Any]) -> None:
    params = {"classes": [{"code": "x", "label": "X", "any_of": [[condition]]}]}
    with pytest.raises(kinds.ParamsInvalid):
        kinds.parse("class_standard", params)


def test_a_class_for_all_others_must_come_last() -> None:
    params = {"classes": [{"code": "all", "label": "全部", "any_of": []},
                          {"code": "vip", "label": "VIP", "any_of": [[{"measure": "assets", "min": 1}]]}]}  # fmt: skip
    with pytest.raises(kinds.ParamsInvalid, match="must be the last"):
        kinds.parse("class_standard", params)


def test_class_codes_are_plain_identifiers() -> None:
    params = {"classes": [{"code": "vip'--", "label": "VIP", "any_of": []}]}
    with pytest.raises(kinds.ParamsInvalid, match="classes.0.code"):
        kinds.parse("class_standard", params)
