"""The feed contract of SPEC §1 as data: files, columns, types, codes, keys and references.

The validator compiles these specs to DuckDB SQL; the archive uses ``pii`` to drop
or hash personal columns; the writers use ``key``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from huifang.clients.choices import (
    AccountEventType,
    ClientStatus,
    ClientType,
    FlowKind,
    Gender,
    IdType,
    MarginEventType,
    ProductRiskLevel,
    ProductType,
    RiskLevel,
)
from huifang.org.choices import Position, UnitKind


class T(StrEnum):
    """Column types of the feed contract."""

    TEXT = "text"
    CODE = "code"  # one of ``choices``
    DATE = "date"  # YYYY-MM-DD
    DATETIME = "datetime"  # ISO 8601, with or without offset (+08:00 assumed)
    BOOL = "bool"  # true/false/1/0, empty = false
    MONEY = "money"  # CNY, ≥ 0, at most 2 decimals
    INT = "int"  # ≥ 0
    PERIOD = "period"  # YYYY or YYYY-MM
    ID_NUMBER = "id_number"  # checked against id_type


class Pii(StrEnum):
    """What the archive keeps of a personal column (SPEC §1: no plain PII)."""

    DROP = "drop"
    HASH = "hash"
    SCRUB = "scrub"  # free text: ID numbers and mobiles inside it are masked


@dataclass(frozen=True)
class Col:
    name: str
    type: T = T.TEXT
    required: bool = False
    choices: tuple[str, ...] = ()
    ref: str | None = None  # "unit", "staff" or "client"
    pii: Pii | None = None
    max_length: int = 200


@dataclass(frozen=True)
class FileSpec:
    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...] = ()
    checks: tuple[tuple[str, str, str], ...] = field(
        default_factory=tuple
    )  # (column, bad-SQL, reason)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)


def codes(choices: type) -> tuple[str, ...]:
    return tuple(str(v) for v in choices.values)  # type: ignore[attr-defined]


FEEDS: dict[str, FileSpec] = {
    spec.name: spec
    for spec in (
        FileSpec(
            "branches",
            (
                Col("branch_code", required=True, max_length=32),
                Col("name", required=True),
                Col("region_code", max_length=32),
                Col("region_name"),
                Col("unit_kind", T.CODE, choices=codes(UnitKind)),
            ),
            key=("branch_code",),
            checks=(
                (
                    "region_name",
                    "region_name IS NOT NULL AND region_code IS NULL",
                    "region_name without region_code",
                ),
            ),
        ),
        FileSpec(
            "staff",
            (
                Col("staff_id", required=True, max_length=32),
                Col("name", required=True, pii=Pii.DROP, max_length=100),
                Col("branch_code", required=True, ref="unit"),
                Col("position", T.CODE, required=True, choices=codes(Position)),
                Col("hire_date", T.DATE),
                Col("leave_date", T.DATE),
                Col("broker_cert_no", max_length=64),
                Col("qualification", max_length=64),
                Col("phone", pii=Pii.HASH, max_length=32),
                Col("client_id", ref="client", max_length=32),
            ),
            key=("staff_id",),
            checks=(("leave_date", "leave_date < hire_date", "leave_date before hire_date"),),
        ),
        FileSpec(
            "clients",
            (
                Col("client_id", required=True, max_length=32),
                Col("name", required=True, pii=Pii.DROP),
                Col("client_type", T.CODE, required=True, choices=codes(ClientType)),
                Col("branch_code", required=True, ref="branch"),
                Col("open_date", T.DATE, required=True),
                Col("fund_account", max_length=32),
                Col("id_type", T.CODE, choices=codes(IdType)),
                Col("id_number", T.ID_NUMBER, pii=Pii.HASH, max_length=64),
                Col("birth_date", T.DATE),
                Col("gender", T.CODE, choices=codes(Gender)),
                Col("mobile", pii=Pii.HASH, max_length=32),
                Col("phone", pii=Pii.HASH, max_length=32),
                Col("email", pii=Pii.DROP),
                Col("address", pii=Pii.DROP, max_length=400),
                Col("postcode", max_length=16),
                Col("status", T.CODE, choices=codes(ClientStatus)),
                Col("introducer_staff_id", ref="staff", max_length=32),
                Col("broker_staff_id", ref="staff", max_length=32),
                Col("adviser_staff_id", ref="staff", max_length=32),
                Col("risk_level", T.CODE, choices=codes(RiskLevel)),
                Col("risk_assessed_on", T.DATE),
                Col("has_margin_account", T.BOOL),
                Col("credit_open_date", T.DATE),
                Col("online_trading", T.BOOL),
                Col("bank_transfer", T.BOOL),
                Col("agent_name", pii=Pii.DROP, max_length=100),
                Col("agent_scope"),
                Col("agent_until", T.DATE),
                Col("close_date", T.DATE),
                Col("last_trade_date", T.DATE),
                Col("advisory_contract", T.BOOL),
            ),
            key=("client_id",),
            checks=(
                (
                    "mobile",
                    "NOT regexp_full_match(mobile, '\\+?[0-9][0-9 \\-]{4,19}')",
                    "not a phone number",
                ),
                (
                    "phone",
                    "NOT regexp_full_match(phone, '\\+?[0-9][0-9 \\-()]{4,24}')",
                    "not a phone number",
                ),
                (
                    "id_number",
                    "id_number IS NOT NULL AND id_type IS NULL",
                    "id_number without id_type",
                ),
                ("close_date", "close_date < open_date", "close_date before open_date"),
            ),
        ),
        FileSpec(
            "assets",
            (
                Col("client_id", required=True, ref="client", max_length=32),
                Col("total_assets", T.MONEY, required=True),
                Col("cash", T.MONEY),
                Col("market_value", T.MONEY),
                Col("margin_debt", T.MONEY),
            ),
            key=("client_id",),
        ),
        FileSpec(
            "commissions",
            (
                Col("client_id", required=True, ref="client", max_length=32),
                Col("period", T.PERIOD, required=True),
                Col("net_commission", T.MONEY, required=True),
            ),
            key=("client_id", "period"),
        ),
        FileSpec(
            "flows",
            (
                Col("client_id", required=True, ref="client", max_length=32),
                Col("kind", T.CODE, required=True, choices=codes(FlowKind)),
                Col("amount", T.MONEY, required=True),
                Col("flow_time", T.DATETIME),
            ),
        ),
        FileSpec(
            "trades",
            (
                Col("client_id", required=True, ref="client", max_length=32),
                Col("trade_amount", T.MONEY, required=True),
                Col("trade_count", T.INT, required=True),
                Col("warrant_amount", T.MONEY),
            ),
            key=("client_id",),
            checks=(
                (
                    "warrant_amount",
                    "TRY_CAST(warrant_amount AS DECIMAL(18,2)) > TRY_CAST(trade_amount AS DECIMAL(18,2))",
                    "warrant_amount exceeds trade_amount, which includes it",
                ),
            ),
        ),
        FileSpec(
            "product_purchases",
            (
                Col("purchase_id", required=True, max_length=64),
                Col("client_id", required=True, ref="client", max_length=32),
                Col("product_code", required=True, max_length=32),
                Col("product_name", required=True),
                Col("product_type", T.CODE, required=True, choices=codes(ProductType)),
                Col("product_risk_level", T.CODE, required=True, choices=codes(ProductRiskLevel)),
                Col("amount", T.MONEY, required=True),
                Col("sales_staff_id", ref="staff", max_length=32),
                Col("purchase_time", T.DATETIME),
                Col("has_third_party_adviser", T.BOOL),
                Col("amac_registered", T.BOOL),
            ),
            key=("purchase_id",),
        ),
        FileSpec(
            "margin_events",
            (
                Col("event_id", required=True, max_length=64),
                Col("client_id", required=True, ref="client", max_length=32),
                Col("event_type", T.CODE, required=True, choices=codes(MarginEventType)),
                Col("security_code", max_length=16),
                Col("detail", pii=Pii.SCRUB, max_length=1000),
                Col("event_time", T.DATETIME),
            ),
            key=("event_id",),
        ),
        FileSpec(
            "account_events",
            (
                Col("event_id", required=True, max_length=64),
                Col("client_id", required=True, ref="client", max_length=32),
                Col("event_type", T.CODE, required=True, choices=codes(AccountEventType)),
                Col("amount", T.MONEY),
                Col("detail", pii=Pii.SCRUB, max_length=1000),
                Col("event_time", T.DATETIME),
                Col("staff_id", ref="staff", max_length=32),
            ),
            key=("event_id",),
        ),
    )
}

# Files are validated and written in this order: later files refer to earlier ones.
ORDER = (
    "branches",
    "staff",
    "clients",
    "assets",
    "commissions",
    "flows",
    "trades",
    "product_purchases",
    "margin_events",
    "account_events",
)
FORMATS = ("csv", "xlsx", "parquet")
