"""Pure functions of the callback rules: periods, seeds, sample order, counts, recusal.

Nothing here touches the database; the calendar is read through
``huifang.calendars.service`` for working and trading days (NFR-1).
"""

from __future__ import annotations

import calendar as _stdlib_calendar
import datetime as dt
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from huifang.calendars.service import (
    add_trading_days,
    add_working_days,
    is_last_trading_day_of_iso_week,
    is_last_working_day_of_month,
)

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """A rule's period: its SPEC §12 label and its first and last day."""

    kind: str
    label: str
    start: dt.date
    end: dt.date


def period_of(kind: str | None, day: dt.date) -> Period:
    """The period of ``kind`` (day, week, month, quarter, half_year, year) holding ``day`` (§12)."""
    if kind in (None, "day"):
        return Period("day", day.isoformat(), day, day)
    if kind == "week":
        iso = day.isocalendar()
        monday = day - dt.timedelta(days=day.weekday())
        return Period("week", f"{iso.year}-W{iso.week:02d}", monday, monday + dt.timedelta(days=6))
    if kind == "month":
        return Period("month", f"{day:%Y-%m}", day.replace(day=1), _month_end(day.year, day.month))
    if kind == "quarter":
        q = (day.month - 1) // 3
        return Period("quarter", f"{day.year}-Q{q + 1}", dt.date(day.year, 3 * q + 1, 1),
                      _month_end(day.year, 3 * q + 3))  # fmt: skip
    if kind == "half_year":
        h = (day.month - 1) // 6
        return Period("half_year", f"{day.year}-H{h + 1}", dt.date(day.year, 6 * h + 1, 1),
                      _month_end(day.year, 6 * h + 6))  # fmt: skip
    if kind == "year":
        return Period("year", str(day.year), dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))
    raise ValueError(f"unknown period {kind!r}")


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, _stdlib_calendar.monthrange(year, month)[1])


def quarter_label(day: dt.date) -> str:
    """The calendar quarter of the cap (CON-3), e.g. ``2026-Q4``."""
    return period_of("quarter", day).label


def sample_seed(policy_version: int, rule_code: str, period: str) -> str:
    """CON-7: the seed of a plan, from the policy version, the rule and the period."""
    return hashlib.sha256(f"{policy_version}|{rule_code}|{period}".encode()).hexdigest()


def sample_order(seed: str, client_id: str) -> str:
    """CON-7: the order within a stratum = SHA-256 of (seed, client_id); DuckDB computes the same."""
    return hashlib.sha256(f"{seed}:{client_id}".encode()).hexdigest()


ORDER_SQL = "sha256({seed} || ':' || {client})"  # the same order in DuckDB


def required_count(share: Decimal, population: int) -> int:
    """CON-8: required = ceil(share × population), exactly (no float rounding)."""
    return math.ceil(Decimal(share) * population)


@dataclass(frozen=True)
class Entry:
    """A plan member for a redraw (CON-7, CON-8), as ``PlanEntry`` stores it.

    ``added_on``: the day it joined the population (it counts from then on, CON-8);
    ``at_cap``: it was left out of at least one draw before it was sampled — at the
    quarterly cap (CON-3) or no longer in the population that day (``PlanEntry``
    stores both as ``skipped_at_cap``); ``sampled_on``: the day it was drawn, if it was.
    """

    client_id: str
    added_on: dt.date
    at_cap: bool = False
    sampled_on: dt.date | None = None

    def drawable(self, day: dt.date) -> bool:
        """Whether the replay may draw it on ``day``.

        A member once left out is kept out of every draw before the day it was drawn:
        on the days it was left out the run skipped it too, and on the other days it
        was not drawn, so leaving it out changes nothing there (a member below the
        first ``need`` of the order does not move the ones above it). The cap can fall
        between two days of one period (SMALL-1 spans two quarters), and a member can
        come back to the population.
        """
        return not self.at_cap or (self.sampled_on is not None and day >= self.sampled_on)


def cumulative_draw(entries: Sequence[Entry], share: Decimal, seed: str) -> dict[str, dt.date]:
    """CON-8 replayed: each day draw just enough to keep sampled ≥ ceil(share × population so far).

    Within the stratum the order is ``sample_order`` (CON-7); a client at the cap is
    never drawn (CON-3). The draw days are the days members joined and the days
    members were drawn: on any other day of the period the run drew nothing. Returns
    each drawn client with the day it was drawn.
    """
    drawn: dict[str, dt.date] = {}
    days = sorted({e.added_on for e in entries} | {e.sampled_on for e in entries if e.sampled_on})
    ordered = sorted(entries, key=lambda e: sample_order(seed, e.client_id))
    for day in days:
        population = sum(1 for e in entries if e.added_on <= day)
        need = required_count(share, population) - len(drawn)
        pool = (e for e in ordered if e.added_on <= day and e.client_id not in drawn)
        for e in [e for e in pool if e.drawable(day)][: max(need, 0)]:
            drawn[e.client_id] = day
    return drawn


def fires_on(firing: str, day: dt.date) -> bool:
    """§12: weekly rules on the last trading day of the ISO week, monthly on the last working day."""
    if firing == "week_end":
        return is_last_trading_day_of_iso_week(day)
    if firing == "month_end":
        return is_last_working_day_of_month(day)
    return True


def due_date(*, unit: str, count: int, start: dt.date, period_end: dt.date) -> dt.date:
    """A deadline in working, trading or calendar days or hours after ``start``, or the period's end (§4).

    Hours count from the end of the business date ``start`` (trades and events come
    aggregated per date, after clearing): TX-1's 24 h after a trade is the next day.
    """
    if unit == "hours":
        return start + dt.timedelta(days=math.ceil(count / 24))
    if unit == "working_days":
        return add_working_days(start, count)
    if unit == "trading_days":
        return add_trading_days(start, count)
    if unit == "calendar_days":
        return start + dt.timedelta(days=count)
    return period_end


@dataclass(frozen=True)
class Relations:
    """Who brought in, brokers and serves a client (CON-1), and whether a broker introduced him."""

    client_id: str
    introducer: str | None
    broker: str | None
    adviser: str | None

    @property
    def broker_client(self) -> bool:
        return self.broker is not None


def recusal_conflicts(
    rel: Relations, *, staff_id: str, staff_client_id: str | None, relations: Iterable[str]
) -> list[str]:
    """CON-1: the relations that bar ``staff_id`` from the client; empty when none is found."""
    found = [name for name in relations if getattr(rel, name) == staff_id]
    if staff_client_id is not None and staff_client_id == rel.client_id:
        found.append("self")
    return found


def independence_conflicts(
    *,
    position: str,
    kind: str,
    broker_client: bool,
    barred: Iterable[str],
    barred_for_broker_clients: Iterable[str],
) -> list[str]:
    """CON-2: why a position may not hold this task; service callbacks are exempt."""
    if kind == "service":
        return []
    found = [f"position:{position}"] if position in set(barred) else []
    if broker_client and position in set(barred_for_broker_clients) and not found:
        found.append(f"broker_client:{position}")
    return found


def least_loaded(candidates: Iterable[str], loads: Mapping[str, int]) -> str | None:
    """Balanced assignment: the candidate with the fewest open tasks (ties by staff id)."""
    ranked = sorted(candidates, key=lambda s: (loads.get(s, 0), s))
    return ranked[0] if ranked else None
