"""Rule kinds: what a rule of the policy may say, with typed and validated parameters.

A *rule* of a policy version is an instance of a *kind* defined here: the kind
fixes the shape of the parameters (a pydantic model, ``extra="forbid"``), the
policy fixes the values. A brokerage changes its numbers by drafting a new
version, never by changing code (SPEC preamble, CLS-5, CLS-8).

Families:
- classification (SPEC §3): ``class_standard`` (CLS-1, CLS-8), ``rating_window``
  (CLS-2..4), ``standard_change_limit`` (CLS-5), ``service_packages`` (CLS-6),
  ``adviser_coverage`` (CLS-7);
- callback obligations (SPEC §4 table): one kind per trigger family, all sharing
  coverage, deadline, level, kind, forms, methods and the quarterly-cap flag;
- constraints on every callback (CON-1..8).

Parameters are stored as ``normalise(kind, params)``: validated, defaults filled,
money as JSON numbers — so a diff of two versions compares like with like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

CODE_RE = r"^[a-z][a-z0-9_]{0,31}$"


def _number(value: Decimal) -> int | float:
    """Money and shares as JSON numbers: integers stay integers (10000000, not "1E+7")."""
    return int(value) if value == value.to_integral_value() else float(value)


Money = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("9999999999999999.99"), decimal_places=2),
    PlainSerializer(_number, when_used="json"),
]
Share = Annotated[Decimal, Field(gt=0, le=1), PlainSerializer(_number, when_used="json")]
Code = Annotated[str, Field(pattern=CODE_RE)]
Label = Annotated[str, Field(min_length=1, max_length=60)]


class Params(BaseModel):
    """Base of every kind's parameters: unknown keys are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- classification (SPEC §3) -------------------------------------------------------------

# The client measures a class condition may use (whitelist; see classification.measures).
Measure = Literal[
    "assets",  # total assets of the latest snapshot on or before the statistical date
    "commission_year",  # net commission of the last full calendar year (SPEC §1)
    "trading_month",  # traded amount in the month that ends on the statistical date
    "trading_month_max",  # the largest monthly traded amount in the 12 months to it
    "trading_12m",  # traded amount in the 12 months to the statistical date
    "days_since_trade",  # days from the last trade (else the opening) to the statistical date
    "days_since_open",  # days from the opening to the statistical date
]
MEASURE_LABELS: dict[str, str] = {
    "assets": "资产",
    "commission_year": "上年净佣金",
    "trading_month": "月交易额",
    "trading_month_max": "最高月交易额",
    "trading_12m": "近12个月交易额",
    "days_since_trade": "距最近交易天数",
    "days_since_open": "开户天数",
}
CallbackCycle = Literal["week", "two_weeks", "month", "quarter", "half_year", "year"]


class Condition(Params):
    """One measure between bounds; each bound's inclusiveness is a parameter (CLS-1)."""

    measure: Measure
    min: Money | None = None
    min_inclusive: bool = True
    max: Money | None = None
    max_inclusive: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> Condition:
        if self.min is None and self.max is None:
            raise ValueError("a condition needs a min or a max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is above max")
        return self


class ClassDefinition(Params):
    """One class: it matches when any group matches; a group when all its conditions do.

    No groups = every client not matched by an earlier class ("其他所有客户").
    """

    code: Code
    label: Label
    any_of: list[Annotated[list[Condition], Field(min_length=1, max_length=8)]] = Field(
        default_factory=list, max_length=8
    )
    callback_every: CallbackCycle | None = None  # CLS-8: gold 2 weeks, silver a month …


class ClassStandard(Params):
    """An ordered list of classes; the first that matches wins (CLS-1, CLS-8)."""

    classes: list[ClassDefinition] = Field(min_length=1, max_length=12)

    @field_validator("classes")
    @classmethod
    def _classes(cls, classes: list[ClassDefinition]) -> list[ClassDefinition]:
        codes = [c.code for c in classes]
        if len(set(codes)) != len(codes):
            raise ValueError("class codes must be unique")
        for position, definition in enumerate(classes[:-1]):
            if not definition.any_of:
                raise ValueError(
                    f"class {definition.code!r} matches all others: it must be the last "
                    f"({len(classes) - position - 1} class(es) after it could never match)"
                )
        return classes

    def codes(self) -> list[str]:
        return [c.code for c in self.classes]

    def measures(self) -> set[str]:
        return {cond.measure for c in self.classes for group in c.any_of for cond in group}


RatingKind = Literal["annual", "quarterly", "new_accounts"]


class RatingWindow(Params):
    """When a rating runs: the first N working days of its year, quarter or month (CLS-2..4)."""

    rating: RatingKind
    first_working_days: int = Field(ge=1, le=20)
    upgrade_only: bool  # 就高不就低: never downgrade against the current class
    keep_months: int = Field(0, ge=0, le=36)  # CLS-2: the class is kept at least this long


class StandardChangeLimit(Params):
    """The class standard changes at most this often a calendar year (CLS-5)."""

    max_changes_per_year: int = Field(1, ge=1, le=12)


class ServicePackage(Params):
    """One service package (服务产品) and its entitlements; it includes the lower one (CLS-6)."""

    code: Code
    name: Label
    motto: str = Field("", max_length=60)
    classes: list[Code] = Field(default_factory=list)
    new_accounts_of_year: bool = False  # 财路通 also serves the year's new accounts
    includes: Code | None = None
    entitlements: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        min_length=1, max_length=30
    )


class ServicePackages(Params):
    """The service packages, lowest first (CLS-6)."""

    packages: list[ServicePackage] = Field(min_length=1, max_length=10)

    @field_validator("packages")
    @classmethod
    def _packages(cls, packages: list[ServicePackage]) -> list[ServicePackage]:
        seen: set[str] = set()
        for package in packages:
            if package.includes is not None and package.includes not in seen:
                raise ValueError(
                    f"{package.code}: includes {package.includes!r}, not listed before it"
                )
            if package.code in seen:
                raise ValueError(f"package code {package.code!r} repeated")
            seen.add(package.code)
        return packages


class VisitObligation(Params):
    """Clients of these classes of a standard are visited at least ``visits_per_year`` (CLS-7)."""

    standard: str = Field(min_length=1, max_length=40)  # the rule code, e.g. "CLS-1"
    classes: list[Code] = Field(min_length=1)
    visits_per_year: int = Field(1, ge=1, le=52)


class AdviserCoverage(Params):
    """Named advisers of the client's branch and yearly home visits (CLS-7, SVC-4)."""

    standard: str = Field("CLS-1", min_length=1, max_length=40)
    adviser_classes: list[Code] = Field(min_length=1)
    visits: list[VisitObligation] = Field(default_factory=list)


# --- callback obligations (SPEC §4) ----------------------------------------------------------

Level = Literal["branch", "company", "company_and_branch"]
CallbackKind = Literal["compliance", "service"]
Unit = Literal[
    "working_days", "trading_days", "calendar_days", "hours", "period_end", "per_plan", "on_receipt"
]
Period = Literal["day", "week", "month", "quarter", "half_year", "year"]
Start = Literal[
    "opening",
    "event",
    "purchase_cooling_off",
    "leave_date",
    "closure",
    "ranking",
    "order",
    "listing",
    "receipt",
    "week_end",
]
Form = Literal[
    "F1",
    "F2",
    "F3",
    "F4",
    "F5",
    "F-PROD",
    "F-BRK",
    "F-MRG",
    "F-IB",
    "scorecard",
    "archive",
    "retention",
    "adviser_items",
    "operation_check",
    "complaint",
    "chosen",
]
Method = Literal["phone", "visit", "meeting", "letter", "email", "sms", "questionnaire", "wechat"]
Handler = Literal[
    "branch",
    "branch_marketing",
    "branch_ops",
    "branch_service",
    "branch_supervisor",
    "call_center",
    "credit",
    "market",
    "ib_qc",
    "ordering_department",
]


class Coverage(Params):
    """100 % (share 1) or a sampled share; sampled shares are met per ``period`` (CON-8)."""

    share: Share = Decimal(1)
    min_share: Share | None = None  # a range the regulation allows (NEW-3: 5–25 %)
    max_share: Share | None = None
    period: Period | None = None  # the stratum's period for cumulative sampling (CON-8)
    per_plan: bool = False

    @model_validator(mode="after")
    def _range(self) -> Coverage:
        if self.min_share is not None and self.share < self.min_share:
            raise ValueError("share below min_share")
        if self.max_share is not None and self.share > self.max_share:
            raise ValueError("share above max_share")
        if self.share < 1 and self.period is None:
            raise ValueError("a sampled share needs the period it is met over (CON-8)")
        return self

    @property
    def sampled(self) -> bool:
        return self.share < 1


class Deadline(Params):
    """``count`` units after ``start``, or by the end of ``period`` (unit ``period_end``)."""

    unit: Unit
    count: int = Field(0, ge=0, le=400)
    start: Start | None = None
    period: Period | None = None

    @model_validator(mode="after")
    def _shape(self) -> Deadline:
        if self.unit == "period_end" and self.period is None:
            raise ValueError("a period_end deadline needs its period")
        if self.unit in {"working_days", "trading_days", "calendar_days", "hours"} and (
            self.count < 1 or self.start is None
        ):
            raise ValueError(f"a deadline in {self.unit} needs a count ≥ 1 and a start")
        return self


class Obligation(Params):
    """What every callback obligation says (SPEC §4): coverage, deadline, level, form …"""

    coverage: Coverage
    deadline: Deadline
    level: Level
    handled_by: Handler = "branch"
    kind: CallbackKind = "compliance"
    forms: list[Form] = Field(min_length=1)
    methods: list[Method] = Field(default_factory=list)  # empty: any method of EXE-1
    recorded_phone: bool = False
    cap_exempt: bool = False  # not counted toward the quarterly cap (CON-3)


class NewAccountCallback(Obligation):
    """NEW-1..3: new accounts by who introduced them."""

    introduced_by: Literal["broker", "not_broker", "any"]


class AssetThresholdCallback(Obligation):
    """KEY-1: clients with assets at or above a threshold (brokers: BRK-4)."""

    min_assets: Money
    include_brokers: bool = False


class ClassCallback(Obligation):
    """CORE-1, IMP-1: the clients of some classes of a class standard."""

    standard: str = Field(min_length=1, max_length=40)
    classes: list[Code] = Field(min_length=1)
    include_designated: bool = False  # IMP-1: designated strategic clients


class SmallDormantCallback(Obligation):
    """SMALL-1: small clients (these classes) and dormant ones."""

    standard: str = Field("CLS-1", min_length=1, max_length=40)
    small_classes: list[Code] = Field(min_length=1)
    dormant_days: int = Field(180, ge=1, le=3650)


class DataVerificationCallback(Obligation):
    """STOCK-1: existing clients whose data must be verified, completed or corrected."""


Ranking = Literal["inflow", "outflow", "traded", "warrant"]


class TopNCallback(Obligation):
    """ABN-1..3: the week's top N clients by a movement, company-wide and per branch."""

    ranking: Ranking
    top_company: int = Field(50, ge=0, le=10000)
    top_branch: int = Field(5, ge=0, le=1000)
    rank_warrants_separately: bool = False


EventSource = Literal["margin_events", "account_events", "complaints", "manual", "applications"]


class EventCallback(Obligation):
    """ABN-4, MRG-1..6, CMP-1, SPC-2: an event of a given type calls for a callback."""

    sources: list[EventSource] = Field(min_length=1)
    event_types: list[str] = Field(default_factory=list)
    follow_until: str = Field("", max_length=40)  # MRG-3: until margin_call_resolved


class DepartureCallback(Obligation):
    """DEP-1: clients introduced or served by a staff member who left."""

    handover_recorded: bool = True
    send_to_branch_manager: bool = True


ProductCriterion = Literal[
    "special_product",
    "risk_mismatch",
    "high_risk_product",
    "elderly_client",
    "large_amount",
    "named_by_committee",
    "other_non_public",
]


class ProductCallback(Obligation):
    """PROD-1..7: a purchase of a sold product that meets a criterion."""

    criterion: ProductCriterion
    product_types: list[str] = Field(default_factory=list)
    high_risk_levels: list[Literal["R1", "R2", "R3", "R4", "R5"]] = Field(default_factory=list)
    min_age: int | None = Field(None, ge=0, le=150)
    min_amount: Money | None = None
    cooling_off_hours: int = Field(24, ge=0, le=240)


PopulationName = Literal["margin_clients", "advisory_contract", "ib_clients", "brokers"]


class PopulationCallback(Obligation):
    """MRG-7, ADV-1, BRK-4: a standing population called back each period."""

    population: PopulationName

    @model_validator(mode="after")
    def _brokers_in_full(self) -> PopulationCallback:
        # BRK-4 targets staff: a sample's plan entries name clients, so brokers are never sampled
        if self.population == "brokers" and self.coverage.sampled:
            raise ValueError(
                "brokers are called back 100 % (BRK-4): a share below 1 is not allowed"
            )
        return self


class PlanCallback(Obligation):
    """MRG-8, SPC-1, IB-1, PLAN-1: a plan with its own targets, questions and schedule."""

    records_back_within_working_days: int | None = Field(None, ge=1, le=60)


class TradeCallback(Obligation):
    """TX-1: trade callbacks within hours; lost clients after months without trades."""

    trade_within_hours: int = Field(24, ge=1, le=240)
    lost_after_months: int = Field(6, ge=1, le=60)
    lost_within_working_days: int = Field(7, ge=1, le=60)


# --- constraints (CON-1..8) --------------------------------------------------------------------


class Recusal(Params):
    """CON-1: an agent never handles his own clients; a reviewer never his own record."""

    relations: list[Literal["introducer", "broker", "adviser"]] = Field(min_length=1)
    reviewer_own_record: bool = True


class Independence(Params):
    """CON-2: positions barred from compliance callbacks, and for broker clients."""

    barred_positions: list[Literal["marketing", "broker", "adviser", "service"]]
    barred_for_broker_clients: list[Literal["marketing", "broker", "adviser", "service"]]
    exempt_rules: list[str] = Field(default_factory=list)


class QuarterlyCap(Params):
    """CON-3: at most N callbacks per client per quarter, except the listed rules."""

    max_per_quarter: int = Field(2, ge=1, le=20)
    exempt_rules: list[str] = Field(default_factory=list)


class OneContact(Params):
    """CON-4: open obligations for the same client, level and kind share one task."""

    group_by: list[Literal["client", "level", "kind"]] = Field(min_length=1)


class CallHours(Params):
    """CON-5: calls only between these hours (local time)."""

    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")

    @model_validator(mode="after")
    def _order(self) -> CallHours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class CallbackLevels(Params):
    """CON-6: company and branch levels; the company level spot-checks branches."""

    company_spot_check_share: Share = Decimal("0.1")


class SamplingSeed(Params):
    """CON-7: the seed of a sample and the order within a stratum."""

    seed_from: list[Literal["policy_version", "rule", "period"]] = Field(min_length=1)
    order: Literal["sha256(seed, client_id)"] = "sha256(seed, client_id)"


class CumulativeSampling(Params):
    """CON-8: shares met cumulatively per stratum; 100 % rules before sampled ones."""

    strata: list[Literal["branch", "company"]] = Field(min_length=1)
    full_coverage_first: bool = True


# --- the registry -------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleKind:
    """A kind of rule defined in code: its parameters' schema and where it belongs."""

    code: str
    title: str
    family: Literal["classification", "obligation", "constraint"]
    params: type[Params]


KINDS: dict[str, RuleKind] = {
    kind.code: kind
    for kind in (
        RuleKind("class_standard", "客户分类标准", "classification", ClassStandard),
        RuleKind("rating_window", "分类评级时间", "classification", RatingWindow),
        RuleKind(
            "standard_change_limit", "分类标准调整频率", "classification", StandardChangeLimit
        ),
        RuleKind("service_packages", "服务产品", "classification", ServicePackages),
        RuleKind("adviser_coverage", "理财服务人员与上门拜访", "classification", AdviserCoverage),
        RuleKind("new_account_callback", "新开户回访", "obligation", NewAccountCallback),
        RuleKind(
            "asset_threshold_callback", "大额资产客户回访", "obligation", AssetThresholdCallback
        ),
        RuleKind("class_callback", "分类客户回访", "obligation", ClassCallback),
        RuleKind(
            "small_dormant_callback", "小额及休眠客户回访", "obligation", SmallDormantCallback
        ),
        RuleKind(
            "data_verification_callback", "存量客户资料核实", "obligation", DataVerificationCallback
        ),
        RuleKind("top_n_callback", "异常排名回访", "obligation", TopNCallback),
        RuleKind("event_callback", "事件回访", "obligation", EventCallback),
        RuleKind("departure_callback", "离职人员客户回访", "obligation", DepartureCallback),
        RuleKind("product_callback", "代销产品回访", "obligation", ProductCallback),
        RuleKind("population_callback", "定期客群回访", "obligation", PopulationCallback),
        RuleKind("plan_callback", "计划回访", "obligation", PlanCallback),
        RuleKind("trade_callback", "交易及流失客户回访", "obligation", TradeCallback),
        RuleKind("recusal", "回避", "constraint", Recusal),
        RuleKind("independence", "独立性", "constraint", Independence),
        RuleKind("quarterly_cap", "季度回访次数上限", "constraint", QuarterlyCap),
        RuleKind("one_contact", "一次联系多项目的", "constraint", OneContact),
        RuleKind("call_hours", "允许呼叫时段", "constraint", CallHours),
        RuleKind("callback_levels", "两级回访", "constraint", CallbackLevels),
        RuleKind("sampling_seed", "可复现抽样", "constraint", SamplingSeed),
        RuleKind("cumulative_sampling", "累计抽样", "constraint", CumulativeSampling),
    )
}


class ParamsInvalid(ValueError):
    """Parameters that the rule kind refuses; ``problems`` are ``"path: message"`` lines."""

    def __init__(self, kind: str, problems: list[str]) -> None:
        self.kind = kind
        self.problems = problems
        super().__init__(f"{kind}: " + "; ".join(problems))


def rule_kind(code: str) -> RuleKind:
    """The kind named ``code``; ParamsInvalid for an unknown kind."""
    try:
        return KINDS[code]
    except KeyError:
        raise ParamsInvalid(code, [f"unknown rule kind {code!r}"]) from None


def parse(kind: str, params: Any) -> Params:
    """The typed parameters of a rule, or ParamsInvalid naming every problem."""
    model = rule_kind(kind).params
    try:
        return model.model_validate(params)
    except ValidationError as error:
        raise ParamsInvalid(kind, [_problem(e) for e in error.errors()]) from None


def normalise(kind: str, params: Any) -> dict[str, Any]:
    """Validated parameters as stored: defaults filled, numbers as JSON numbers."""
    return parse(kind, params).model_dump(mode="json")


def _problem(error: Any) -> str:
    path = ".".join(str(part) for part in error.get("loc", ())) or "(params)"
    message = re.sub(r"^Value error, ", "", str(error.get("msg", "invalid")))
    return f"{path}: {message}"
