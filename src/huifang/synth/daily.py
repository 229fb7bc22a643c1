"""The per-client daily files: assets, flows, trades and commissions, one chunk at a time.

Each function takes a contiguous range ``[lo, hi)`` of client indices, so the
generator can stream 10 million clients through a few hundred MB of memory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from huifang.synth.arrays import (
    IntArray,
    Keyed,
    clock_times,
    coded_ids,
    epoch_day,
    money,
    pick,
    session_seconds,
)
from huifang.synth.population import CLOSED, DORMANT, NONE, NORMAL, Population

FLOW_KINDS = ("deposit", "withdraw", "custody_in", "custody_out", "designate_in", "designate_out")
FLOW_WEIGHTS = (0.45, 0.40, 0.05, 0.04, 0.035, 0.025)
OUTFLOWS = np.array([False, True, False, True, False, True])
SECURITIES = np.array([False, False, True, True, True, True])


@dataclass(frozen=True)
class Period:
    """A commission period: ``YYYY`` or ``YYYY-MM`` with its first and last day."""

    label: str
    first: int
    last: int
    yearly: bool


def year_period(year: int) -> Period:
    return Period(str(year), epoch_day(dt.date(year, 1, 1)), epoch_day(dt.date(year, 12, 31)), True)


def month_period(year: int, month: int) -> Period:
    first = dt.date(year, month, 1)
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return Period(f"{year}-{month:02d}", epoch_day(first), epoch_day(following) - 1, False)


def _client_ids(rows: IntArray) -> pa.Array:
    return coded_ids("C", rows + 1, 8)


def _cents(values: np.ndarray) -> IntArray:
    return np.round(np.asarray(values, dtype=np.float64) * 100).astype(np.int64)


def drift(pop: Population, lo: int, hi: int, day: int, market: float) -> None:
    """Move the assets of clients opened before ``day`` by a small random step."""
    idx = np.arange(lo, hi, dtype=np.int64)
    alive = (pop.open_day[lo:hi] < day) & (pop.status[lo:hi] != CLOSED)
    step = np.exp(0.012 * pop.keyed.normal(f"drift:{day}", idx) + market)
    pop.assets[lo:hi] = np.where(alive, np.round(pop.assets[lo:hi] * step, 2), pop.assets[lo:hi])


def assets_table(pop: Population, lo: int, hi: int, day: int) -> pa.Table:
    """``assets``: every open client; cash + market value = total, margin debt for credit accounts."""
    idx = np.arange(lo, hi, dtype=np.int64)
    rows = idx[(pop.open_day[lo:hi] <= day) & (pop.status[lo:hi] != CLOSED)]
    k = pop.keyed
    total = _cents(pop.assets[rows])
    margin = pop.margin[rows]
    share = k.uniform("cash", rows) ** 1.5 * np.where(margin, 0.3, 1.0)
    cash = (total * share).astype(np.int64)
    market_value = total - cash
    ratio = np.where(k.uniform("debt.has", rows) < 0.3, 0.0, k.uniform("debt", rows) * 0.5)
    debt = np.where(margin, np.round(market_value * ratio), 0).astype(np.int64)
    return pa.table(
        {
            "client_id": _client_ids(rows),
            "total_assets": money(total),
            "cash": money(cash),
            "market_value": money(market_value),
            "margin_debt": money(debt),
        }
    )


def flows_table(pop: Population, lo: int, hi: int, day: int, date: dt.date) -> pa.Table:
    """``flows``: ~3 % of clients move money or securities 1–3 times; new accounts fund."""
    k, tag = pop.keyed, date.isoformat()
    idx = np.arange(lo, hi, dtype=np.int64)
    status = pop.status[lo:hi]
    live = (pop.open_day[lo:hi] <= day) & ((status == NORMAL) | (status == DORMANT))
    cand = idx[live]
    assets = pop.assets[cand]
    new = pop.open_day[cand] == day
    chance = np.where(
        new, np.where(assets > 0, 1.0, 0.0), np.where(pop.status[cand] == DORMANT, 0.004, 0.03)
    )
    chosen = cand[k.uniform(f"flow:{tag}", cand) < chance]
    fresh = pop.open_day[chosen] == day
    u = k.uniform(f"flow.n:{tag}", chosen)
    count = np.where(fresh, 1, 1 + (u < 0.3) + (u < 0.1)).astype(np.int64)
    client = np.repeat(chosen, count)
    first = np.repeat(np.cumsum(count) - count, count)
    key = client * 4 + (np.arange(len(client)) - first)
    held = pop.assets[client]
    kind = k.choice(f"flow.kind:{tag}", key, FLOW_WEIGHTS)
    kind = np.where((pop.open_day[client] == day) | (OUTFLOWS[kind] & (held < 1)), 0, kind)
    scale = 0.8 * np.maximum(held, 5000) ** 0.835 * np.where(SECURITIES[kind], 2.0, 1.0)
    amount = scale * np.exp(1.3 * k.normal(f"flow.amt:{tag}", key))
    amount = np.where(OUTFLOWS[kind], np.minimum(amount, held), amount)
    amount = np.where(pop.open_day[client] == day, held, amount)
    cents = np.maximum(_cents(amount), 100)
    seconds = session_seconds(k.uniform(f"flow.t:{tag}", key))
    order = np.lexsort((seconds, client))
    return pa.table(
        {
            "client_id": _client_ids(client[order]),
            "kind": pick(FLOW_KINDS, kind[order]),
            "amount": money(cents[order]),
            "flow_time": clock_times(date, seconds[order]),
        }
    )


def trades_table(pop: Population, lo: int, hi: int, day: int, date: dt.date) -> pa.Table:
    """``trades``: ~10 % of clients a day; updates their last trade date."""
    k, tag = pop.keyed, date.isoformat()
    idx = np.arange(lo, hi, dtype=np.int64)
    live = (
        (pop.open_day[lo:hi] <= day) & (pop.status[lo:hi] == NORMAL) & (pop.assets[lo:hi] >= 1000)
    )
    cand = idx[live]
    activity = np.exp(0.8 * k.normal("activity", cand) - 0.32)
    chosen = cand[k.uniform(f"trade:{tag}", cand) < np.minimum(0.125 * activity, 0.7)]
    held = pop.assets[chosen]
    turnover = np.exp(np.log(0.15) + 1.1 * k.normal(f"trade.amt:{tag}", chosen))
    amount = _cents(np.clip(held * turnover, 500, held * 20))
    size = np.log1p(amount / 5_000_000)
    count = np.exp(0.6 + 0.5 * size + 0.5 * k.normal(f"trade.n:{tag}", chosen))
    count = np.clip(np.round(count), 1, 999).astype(np.int64)
    has_warrant = k.uniform(f"trade.w:{tag}", chosen) < 0.003
    warrant = np.where(
        has_warrant, (amount * (0.05 + 0.95 * k.uniform(f"trade.wa:{tag}", chosen))), 0
    )
    pop.last_trade[chosen] = day
    return pa.table(
        {
            "client_id": _client_ids(chosen),
            "trade_amount": money(amount),
            "trade_count": pa.array(count, pa.int64()),
            "warrant_amount": money(np.minimum(warrant.astype(np.int64), amount)),
        }
    )


def commissions_table(pop: Population, lo: int, hi: int, periods: list[Period]) -> pa.Table:
    """``commissions``: year rows for most clients, month rows for the active ones."""
    k = pop.keyed
    idx = np.arange(lo, hi, dtype=np.int64)
    level = (np.log(np.maximum(pop.assets[lo:hi], 100)) - 10.0) / 2.0
    yearly = np.exp(5.7 + 1.6 * (0.7 * level + 0.714 * k.normal("commission", idx)))
    clients: list[IntArray] = []
    values: list[IntArray] = []
    labels: list[IntArray] = []
    for number, period in enumerate(periods):
        closed = pop.close_day[lo:hi]
        alive = (pop.open_day[lo:hi] <= period.last) & ((closed == NONE) | (closed >= period.first))
        chance = 0.85 if period.yearly else 0.45
        take = alive & (k.uniform(f"comm:{period.label}", idx) < chance)
        value = yearly[take]
        if not period.yearly:
            value = value / 12 * np.exp(0.7 * k.normal(f"comm.m:{period.label}", idx[take]) - 0.245)
        cents = _cents(value)
        keep = cents > 0
        clients.append(idx[take][keep])
        values.append(cents[keep])
        labels.append(np.full(int(keep.sum()), number, dtype=np.int64))
    client = np.concatenate(clients) if clients else np.zeros(0, np.int64)
    label = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    value = np.concatenate(values) if values else np.zeros(0, np.int64)
    order = np.lexsort((label, client))
    return pa.table(
        {
            "client_id": _client_ids(client[order]),
            "period": pick([p.label for p in periods], label[order]),
            "net_commission": money(value[order]),
        }
    )


def market_move(keyed: Keyed, date: dt.date) -> float:
    """The day's common market factor."""
    return float(keyed.generator(f"market:{date.isoformat()}").normal(0.0, 0.008))
