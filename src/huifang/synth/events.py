"""Low-volume daily facts: product purchases, margin and account events, client changes.

A few to a few thousand rows a day, drawn over the whole population with one
sequential generator per (date, file). Events change client state where a real
core system would (a closed account, a new credit account, a new agent …); the
changed clients are returned so that the day's ``clients`` file carries them.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from huifang.synth import data
from huifang.synth.arrays import (
    IntArray,
    add_years,
    clock_times,
    coded_ids,
    money,
    pick,
    session_seconds,
)
from huifang.synth.population import CLOSED, NORMAL, Pools, Population

PRODUCT_TYPES = (
    "trust",
    "fund_special_account",
    "private_fund",
    "asset_management",
    "public_fund",
    "other",
)
MARGIN_TYPES = (
    "credit_application",
    "credit_account_opened",
    "margin_call",
    "margin_call_resolved",
    "forced_liquidation",
    "underlying_major_event",
    "risk_disclosure",
    "abnormal_trade",
    "credit_change",
    "complaint",
)
MARGIN_WEIGHTS = (10, 6, 30, 11, 4, 10, 10, 7, 8, 4)
# Openings and resolutions first, so they only follow applications and calls of earlier days.
MARGIN_ORDER = (1, 0, 3, 2, 4, 5, 6, 7, 8, 9)
ACCOUNT_TYPES = (
    "large_asset_change",
    "account_closed",
    "password_reset",
    "new_business_opened",
    "agent_changed",
    "agreement_signed",
)


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    type: str
    risk: int
    third_party: bool
    amac: bool

    @property
    def minimum(self) -> int:
        return (
            1_000_000 if self.type in {"trust", "private_fund", "fund_special_account"} else 100_000
        )


def catalogue(seed: int, size: int = 48) -> list[Product]:
    """Products on sale: every type, risk levels fitting the type."""
    rng = random.Random(f"{seed}:products")
    risks = {
        "trust": (3, 4, 4, 5),
        "fund_special_account": (3, 4, 4),
        "private_fund": (3, 4, 5, 5),
        "asset_management": (2, 3, 4),
        "public_fund": (1, 2, 3, 3, 4, 5),
        "other": (2, 3),
    }
    products: list[Product] = []
    for i in range(size):
        kind = PRODUCT_TYPES[i % len(PRODUCT_TYPES)]
        brand, theme, n = (
            rng.choice(data.PRODUCT_BRANDS),
            rng.choice(data.PRODUCT_THEMES),
            rng.randrange(1, 30),
        )
        code, name = _product_label(kind, brand, theme, n, i, rng)
        third = (
            kind == "fund_special_account"
            and rng.random() < 0.6
            or kind == "private_fund"
            and rng.random() < 0.2
        )
        amac = kind == "private_fund" and rng.random() < 0.9
        products.append(Product(code, name, kind, rng.choice(risks[kind]), third, amac))
    return products


def _product_label(
    kind: str, brand: str, theme: str, n: int, i: int, rng: random.Random
) -> tuple[str, str]:
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    if kind == "trust":
        return f"XT{i:04d}", f"{brand}信托·{theme}{n}号集合资金信托计划"
    if kind == "fund_special_account":
        return f"ZH{i:04d}", f"{brand}基金{theme}{n}号单一资产管理计划"
    if kind == "private_fund":
        return (
            f"S{rng.choice(letters)}{rng.choice(letters)}{100 + i:03d}",
            f"{brand}{theme}{n}号私募证券投资基金",
        )
    if kind == "asset_management":
        return f"AM{i:04d}", f"{brand}证券{theme}{n}号集合资产管理计划"
    if kind == "public_fund":
        style = rng.choice(("混合型", "债券型", "股票型", "货币市场"))
        return f"{rng.randrange(10**5):05d}{i % 10}", f"{brand}{theme}{style}证券投资基金"
    return f"SP{i:04d}", f"{brand}证券收益凭证{n}期"


@dataclass
class EventState:
    """What events carry from one day to the next."""

    applications: list[int] = field(default_factory=list)
    open_calls: list[int] = field(default_factory=list)
    protected: frozenset[int] = (
        frozenset()
    )  # clients that must stay open (a staff member's account)


@dataclass
class DayEvents:
    """The event tables of one day and the clients whose rows changed."""

    tables: dict[str, pa.Table]
    changed: set[int]


def _ids(prefix: str, date: dt.date, count: int) -> pa.Array:
    return coded_ids(f"{prefix}{date:%Y%m%d}", np.arange(1, count + 1, dtype=np.int64), 6)


def _client_ids(rows: IntArray) -> pa.Array:
    return coded_ids("C", np.asarray(rows, dtype=np.int64) + 1, 8)


def _staff_ids(staff: IntArray) -> pa.Array:
    return coded_ids("S", staff + 1, 6, staff >= 0)


def _draw(
    rng: np.random.Generator, mask: np.ndarray, count: int, fallback: np.ndarray | None = None
) -> IntArray:
    """Up to ``count`` distinct indices where ``mask`` holds (falling back to ``fallback``)."""
    pool = np.flatnonzero(mask)
    if len(pool) == 0 and fallback is not None:
        pool = np.flatnonzero(fallback)
    if len(pool) == 0:
        return np.zeros(0, np.int64)
    return np.sort(rng.choice(pool, size=min(count, len(pool)), replace=False)).astype(np.int64)


class DayContext:
    """Population masks of one business date, computed once."""

    def __init__(
        self, pop: Population, date: dt.date, day: int, staff: Pools, clients: int
    ) -> None:
        self.pop, self.date, self.day, self.staff, self.clients = pop, date, day, staff, clients
        self.keyed = pop.keyed
        n = pop.size
        self.existing = (pop.open_day[:n] < day) & (pop.status[:n] == NORMAL)
        self.assets = pop.assets[:n]

    def rng(self, name: str) -> np.random.Generator:
        return self.keyed.generator(f"{name}:{self.date.isoformat()}")

    def live(self) -> np.ndarray:
        n = self.pop.size
        return (self.pop.open_day[:n] <= self.day) & (self.pop.status[:n] == NORMAL)

    def scaled(self, per_client: float, minimum: int, rng: np.random.Generator) -> int:
        return max(minimum, round(self.clients * per_client * rng.uniform(0.7, 1.3)))


# --- account events -----------------------------------------------------------------


def account_events(ctx: DayContext, state: EventState) -> DayEvents:
    """A few of every type; closures, agent changes and advisory agreements change the client."""
    rng, pop = ctx.rng("account"), ctx.pop
    per_type = ctx.scaled(1 / 10_000, 2, rng)
    base = ctx.existing.copy()
    base[list(state.protected)] = False
    small = base & (ctx.assets < 20_000) & ~pop.margin[: pop.size]
    rows: list[tuple[int, int, int, str]] = []  # (client, type, amount cents, detail)
    changed: set[int] = set()
    for code, kind in enumerate(ACCOUNT_TYPES):
        if kind == "account_closed":
            chosen = _draw(rng, small, per_type, base)
        elif kind == "large_asset_change":
            chosen = _draw(rng, base & (ctx.assets >= 500_000), per_type, base)
        else:
            chosen = _draw(rng, base, per_type)
        for client in chosen.tolist():
            amount, detail = _account_detail(kind, ctx, client, rng)
            rows.append((client, code, amount, detail))
            if _apply_account_event(kind, detail, ctx, client):
                changed.add(client)
            base[client] = small[client] = False
    return DayEvents({"account_events": _account_table(ctx, rows, rng)}, changed)


def _account_detail(
    kind: str, ctx: DayContext, client: int, rng: np.random.Generator
) -> tuple[int, str]:
    if kind == "large_asset_change":
        amount = int(
            round(
                max(1_000_000, ctx.assets[client] * rng.uniform(0.3, 0.9)) * rng.uniform(1, 3), -4
            )
        )
        return amount * 100, f"单日资产变动 {amount // 10_000} 万元"
    if kind == "account_closed":
        return -1, rng.choice(["客户申请销户", "转户至他司", "长期不使用申请销户"])
    if kind == "password_reset":
        return -1, rng.choice(["柜台清密", "远程视频清密"])
    if kind == "new_business_opened":
        return -1, str(rng.choice(data.NEW_BUSINESS))
    if kind == "agent_changed":
        return -1, rng.choice(["变更代理人", "新增代理人"])
    return -1, str(rng.choice(data.AGREEMENTS))


def _apply_account_event(kind: str, detail: str, ctx: DayContext, client: int) -> bool:
    """Client state a core system changes with the event; True when the row changed."""
    pop = ctx.pop
    if kind == "account_closed":
        pop.status[client] = CLOSED
        pop.close_day[client] = ctx.day
        pop.adviser[client] = -1
        return True
    if kind == "agent_changed":
        pop.agent[client] = True
        pop.agent_version[client] += 1
        return True
    if kind == "agreement_signed" and "投资顾问" in detail and not pop.advisory[client]:
        pop.advisory[client] = True
        return True
    return False


def _account_table(
    ctx: DayContext, rows: list[tuple[int, int, int, str]], rng: np.random.Generator
) -> pa.Table:
    rows.sort(key=lambda r: (r[1], r[0]))
    client = np.array([r[0] for r in rows], dtype=np.int64)
    amount = np.array([max(r[2], 0) for r in rows], dtype=np.int64)
    branch = ctx.pop.branch[client].astype(np.int64)
    staff = ctx.staff.ops.pick(branch, rng.random(len(rows)))
    seconds = rng.integers(9 * 3600, 16 * 3600 + 30 * 60, size=len(rows))
    order = np.argsort(seconds, kind="stable")
    return pa.table(
        {
            "event_id": _ids("AE", ctx.date, len(rows)),
            "client_id": _client_ids(client[order]),
            "event_type": pick(
                ACCOUNT_TYPES, np.array([r[1] for r in rows], dtype=np.int64)[order]
            ),
            "amount": money(
                amount[order], np.array([r[2] >= 0 for r in rows], dtype=np.bool_)[order]
            ),
            "detail": pa.array([rows[i][3] for i in order], pa.string()),
            "event_time": clock_times(ctx.date, seconds[order]),
            "staff_id": _staff_ids(staff[order]),
        }
    )


# --- margin events ---------------------------------------------------------------------


def margin_events(ctx: DayContext, state: EventState) -> DayEvents:
    """Events of credit clients, every type each day (resolutions once calls are open)."""
    rng, pop, n = ctx.rng("margin"), ctx.pop, ctx.pop.size
    live = ctx.live()
    margin = live & pop.margin[:n]
    total = max(len(MARGIN_TYPES), round(int(margin.sum()) * 0.003 * rng.uniform(0.7, 1.3)))
    counts = _margin_counts(rng, total, bool(state.open_calls))
    applicants = (
        live & ~pop.margin[:n] & (ctx.assets >= 500_000) & (pop.open_day[:n] <= ctx.day - 180)
    )
    rows: list[tuple[int, int, str, str | None]] = []
    changed: set[int] = set()
    for code in MARGIN_ORDER:
        kind = MARGIN_TYPES[code]
        for client in _margin_clients(
            kind, counts[code], ctx, state, rng, margin, applicants
        ).tolist():
            security = (
                _security(rng)
                if kind in {"forced_liquidation", "underlying_major_event", "abnormal_trade"}
                else None
            )
            rows.append((client, code, _margin_detail(kind, security, rng), security))
            if kind == "credit_account_opened":
                pop.margin[client] = True
                pop.credit_day[client] = ctx.day
                margin[client] = True
                applicants[client] = False
                changed.add(client)
    return DayEvents({"margin_events": _margin_table(ctx, rows, rng)}, changed)


def _margin_counts(rng: np.random.Generator, total: int, can_resolve: bool) -> list[int]:
    weights = np.array(MARGIN_WEIGHTS, dtype=np.float64)
    resolved = MARGIN_TYPES.index("margin_call_resolved")
    if not can_resolve:
        weights[resolved] = 0
    counts = np.where(weights > 0, 1, 0)
    extra = max(total - int(counts.sum()), 0)
    counts = counts + rng.multinomial(extra, weights / weights.sum())
    return [int(c) for c in counts]


def _margin_clients(
    kind: str,
    count: int,
    ctx: DayContext,
    state: EventState,
    rng: np.random.Generator,
    margin: np.ndarray,
    applicants: np.ndarray,
) -> IntArray:
    if count == 0:
        return np.zeros(0, np.int64)
    if kind == "credit_application":
        chosen = _draw(rng, applicants, count)
        state.applications.extend(chosen.tolist())
        return chosen
    if kind == "credit_account_opened":
        waiting = [
            c for c in state.applications if not ctx.pop.margin[c] and ctx.pop.status[c] == NORMAL
        ]
        chosen = np.array(sorted(waiting[:count]), dtype=np.int64)
        opened = set(chosen.tolist())
        state.applications = [c for c in state.applications if c not in opened]
        missing = count - len(chosen)
        if missing > 0:
            fresh = applicants.copy()
            fresh[chosen] = False
            chosen = np.concatenate([chosen, _draw(rng, fresh, missing)])
        return chosen
    if kind == "margin_call_resolved":
        calls = sorted(set(state.open_calls))
        chosen = np.array(
            sorted(rng.choice(calls, size=min(count, len(calls)), replace=False)), dtype=np.int64
        )
        done = set(chosen.tolist())
        state.open_calls = [c for c in state.open_calls if c not in done]
        return chosen
    chosen = _draw(rng, margin, count)
    if kind == "margin_call":
        state.open_calls.extend(chosen.tolist())
    return chosen


def _security(rng: np.random.Generator) -> str:
    return f"{rng.choice(data.STOCK_PREFIXES)}{rng.integers(0, 1000):03d}"


def _margin_detail(kind: str, security: str | None, rng: np.random.Generator) -> str:
    ratio = int(rng.integers(115, 130))
    line = int(rng.integers(2, 100)) * 10
    texts = {
        "credit_application": f"申请融资融券授信 {line} 万元",
        "credit_account_opened": f"信用账户开立，授信额度 {line} 万元",
        "margin_call": f"维持担保比例 {ratio}%，低于警戒线，需追加担保物",
        "margin_call_resolved": f"已追加担保物，维持担保比例恢复至 {int(rng.integers(150, 200))}%",
        "forced_liquidation": f"维持担保比例低于 {ratio - 10}%，强制平仓 {security}",
        "underlying_major_event": f"标的证券 {security} {rng.choice(['停牌', '被实施风险警示', '重大资产重组'])}",
        "risk_disclosure": "签署融资融券交易风险揭示书",
        "abnormal_trade": f"{security} {rng.choice(['盘中频繁申报撤单', '大额对倒嫌疑', '尾盘拉抬股价'])}",
        "credit_change": f"授信额度调整为 {line} 万元",
        "complaint": rng.choice(
            ["客户对追保通知时效提出投诉", "客户对平仓处理有异议", "客户对利率调整有异议"]
        ),
    }
    return str(texts[kind])


def _margin_table(
    ctx: DayContext, rows: list[tuple[int, int, str, str | None]], rng: np.random.Generator
) -> pa.Table:
    seconds = np.where(
        np.array([MARGIN_TYPES[r[1]] == "margin_call" for r in rows], dtype=np.bool_),
        rng.integers(15 * 3600 + 10 * 60, 16 * 3600 + 30 * 60, size=len(rows)),
        rng.integers(9 * 3600, 18 * 3600, size=len(rows)),
    )
    order = np.lexsort((np.arange(len(rows)), seconds))
    picked = [rows[i] for i in order]
    return pa.table(
        {
            "event_id": _ids("ME", ctx.date, len(rows)),
            "client_id": _client_ids(np.array([r[0] for r in picked], dtype=np.int64)),
            "event_type": pick(MARGIN_TYPES, np.array([r[1] for r in picked], dtype=np.int64)),
            "security_code": pa.array([r[3] for r in picked], pa.string()),
            "detail": pa.array([r[2] for r in picked], pa.string()),
            "event_time": clock_times(ctx.date, seconds[order]),
        }
    )


# --- product purchases ------------------------------------------------------------------


def purchases(ctx: DayContext, products: list[Product]) -> pa.Table:
    """A handful a day (≈ N/4000): an elderly buyer, a risk mismatch and a large one every day."""
    rng, pop, n = ctx.rng("purchases"), ctx.pop, ctx.pop.size
    count = ctx.scaled(1 / 4000, 3, rng)
    live = ctx.live()
    rich = live & (ctx.assets >= 100_000)
    old = add_years(np.full(1, ctx.day, np.int64), -70)[0]
    elderly = rich & ~pop.inst[:n] & (pop.birth[:n] <= old)
    buyers = np.concatenate(
        [
            _draw(rng, elderly, 1, rich),
            _draw(rng, rich & (pop.risk[:n] <= 4), 1, live),
            _draw(rng, rich, count - 2, live),
        ]
    )
    risks = np.array([p.risk for p in products])
    rows = []
    for slot, client in enumerate(buyers.tolist()):
        level = int(pop.risk[client])
        mismatch = slot == 1 or (slot > 2 and rng.random() < 0.1)
        fits = np.flatnonzero(risks > level) if mismatch else np.flatnonzero(risks <= level)
        product = products[int(rng.choice(fits if len(fits) else np.arange(len(products))))]
        rows.append((client, product, _purchase_amount(rng, product, large=slot == 2)))
    return _purchase_table(ctx, rows, rng)


def _purchase_amount(rng: np.random.Generator, product: Product, *, large: bool) -> int:
    if large:
        return int(round(rng.uniform(5_000_000, 10_000_000), -4))
    value = np.exp(np.log(1_000_000) + 1.0 * rng.standard_normal())
    return int(round(float(np.clip(value, product.minimum, 10_000_000)), -4))


def _purchase_table(
    ctx: DayContext, rows: list[tuple[int, Product, int]], rng: np.random.Generator
) -> pa.Table:
    client = np.array([r[0] for r in rows], dtype=np.int64)
    branch = ctx.pop.branch[client].astype(np.int64)
    staff = ctx.staff.sales.pick(branch, rng.random(len(rows)))
    staff = np.where(rng.random(len(rows)) < 0.85, staff, -1)
    seconds = np.sort(session_seconds(rng.random(len(rows))))
    order = rng.permutation(len(rows))
    prods = [rows[i][1] for i in order]
    return pa.table(
        {
            "purchase_id": _ids("PU", ctx.date, len(rows)),
            "client_id": _client_ids(client[order]),
            "product_code": pa.array([p.code for p in prods], pa.string()),
            "product_name": pa.array([p.name for p in prods], pa.string()),
            "product_type": pa.array([p.type for p in prods], pa.string()),
            "product_risk_level": pa.array([f"R{p.risk}" for p in prods], pa.string()),
            "amount": money(np.array([rows[i][2] * 100 for i in order], dtype=np.int64)),
            "sales_staff_id": _staff_ids(staff[order]),
            "purchase_time": clock_times(ctx.date, seconds),
            "has_third_party_adviser": pa.array([p.third_party for p in prods], pa.bool_()),
            "amac_registered": pa.array([p.amac for p in prods], pa.bool_()),
        }
    )


# --- client changes ------------------------------------------------------------------------


def client_changes(ctx: DayContext, state: EventState) -> set[int]:
    """Risk re-assessments, adviser changes and new mobiles (~0.03 % of clients a day)."""
    rng, pop = ctx.rng("changes"), ctx.pop
    count = ctx.scaled(0.0003, 3, rng)
    chosen = _draw(rng, ctx.existing & (pop.status[: pop.size] == NORMAL), count)
    kinds = rng.integers(0, 3, size=len(chosen))
    for client, kind in zip(chosen.tolist(), kinds.tolist(), strict=True):
        if kind == 0:
            step = rng.choice([-1, 1])
            pop.risk[client] = int(np.clip(pop.risk[client] + step, 1, 5))
            pop.risk_day[client] = ctx.day
        elif kind == 1:
            branch = np.array([pop.branch[client]], dtype=np.int64)
            pop.adviser[client] = int(ctx.staff.advisers.pick(branch, rng.random(1))[0])
        else:
            pop.mobile_version[client] += 1
    return set(chosen.tolist())
