"""``huifang synth``: feeds of a synthetic brokerage, one directory per trading day (SPEC §1).

Deterministic for a seed (byte-identical output), vectorised with numpy/pyarrow,
and streamed in chunks of clients so that 10 million clients fit in a few GB.

Day 1 carries every branch, staff member and client; later days carry the new
accounts of the day and the changed client rows (full rows), and the staff
member who leaves on a middle day. Assets cover every open client every day.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from huifang.synth import daily, events
from huifang.synth.arrays import Keyed, epoch_day
from huifang.synth.org import Org, build_org, staff_table, units_table
from huifang.synth.population import NONE, NORMAL, Pools, Population, pools
from huifang.synth.writer import FILES, FeedDirectory

Progress = Callable[[str], None]
TradingCalendar = Callable[[dt.date], bool]
CHUNK = 500_000
MAX_CALENDAR_GAP = 30


@dataclass
class Result:
    """What a run wrote: the feed directories in date order and the rows per file."""

    directories: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FILES, 0))
    seconds: float = 0.0

    def summary(self) -> str:
        width = max(len(name) for name in self.rows)
        lines = [f"  {name:<{width}}  {count:>12,}" for name, count in self.rows.items()]
        total = sum(self.rows.values())
        head = f"{len(self.directories)} feed directories, {total:,} rows in {self.seconds:.1f} s"
        return "\n".join([head, *lines])


def generate(
    out: Path,
    *,
    clients: int,
    branches: int,
    days: int,
    start: dt.date,
    seed: int,
    fmt: str = "csv",
    progress: Progress | None = None,
    chunk_size: int = CHUNK,
    calendar: TradingCalendar | None = None,
    snapshots: Sequence[dt.date] = (),
) -> list[Path]:
    """Write ``days`` feed directories under ``out`` and return them in date order."""
    return run(
        out,
        clients=clients,
        branches=branches,
        days=days,
        start=start,
        seed=seed,
        fmt=fmt,
        progress=progress,
        chunk_size=chunk_size,
        calendar=calendar,
        snapshots=snapshots,
    ).directories


def run(
    out: Path,
    *,
    clients: int,
    branches: int,
    days: int,
    start: dt.date,
    seed: int,
    fmt: str = "csv",
    progress: Progress | None = None,
    chunk_size: int = CHUNK,
    calendar: TradingCalendar | None = None,
    snapshots: Sequence[dt.date] = (),
) -> Result:
    """Like ``generate`` and also report the rows per file.

    ``snapshots``: earlier period ends (e.g. 2025-12-31, 2026-09-30) that get a
    directory ``snapshot-YYYY-MM-DD`` holding only the ``assets`` of the clients open
    by then — the statistical dates of the annual and quarterly ratings (CLS-2, CLS-3).
    They reference day 1's clients, so they are imported after day 1.
    """
    if clients < 1 or branches < 1 or days < 1 or chunk_size < 1:
        raise ValueError("clients, branches, days and chunk_size must be at least 1")
    if fmt not in {"csv", "parquet"}:
        raise ValueError(f"unknown format {fmt!r} (csv or parquet)")
    began = time.perf_counter()
    dates = trading_days(start, days, calendar or trading_calendar())
    late = [d for d in snapshots if d >= dates[0]]
    if late:
        raise ValueError(f"a snapshot date must be before the first day {dates[0]}: {late[0]}")
    synth = _Synth(
        out, clients, branches, dates, seed, fmt, progress or (lambda _m: None), chunk_size
    )
    synth.snapshots = sorted(set(snapshots))
    result = synth.run()
    result.seconds = time.perf_counter() - began
    return result


# --- calendar ---------------------------------------------------------------------------


def _weekday_workday(d: dt.date) -> bool:
    """Trading day by the PRC working-day calendar: Monday–Friday and not a holiday."""
    import chinese_calendar

    return d.weekday() < 5 and bool(chinese_calendar.is_workday(d))


def trading_calendar(probe: dt.date | None = None) -> TradingCalendar:
    """huifang's calendar service, or chinesecalendar when it is missing or has no database."""
    try:
        from huifang.calendars.service import CalendarYearMissing, is_trading_day
    except ImportError:
        return _weekday_workday
    try:
        is_trading_day(probe or dt.date(2026, 1, 5))
    except CalendarYearMissing:
        return is_trading_day
    except Exception:  # no database: not migrated, or not allowed (tests); the packages suffice
        return _weekday_workday
    return is_trading_day


def trading_days(start: dt.date, count: int, is_trading: TradingCalendar) -> list[dt.date]:
    """``count`` consecutive trading days from ``start`` (or the first one after it)."""
    found: list[dt.date] = []
    day, gap = start, 0
    while len(found) < count:
        if is_trading(day):
            found.append(day)
            gap = 0
        else:
            gap += 1
            if gap > MAX_CALENDAR_GAP:
                raise ValueError(
                    f"no trading day for {MAX_CALENDAR_GAP} days after {day - dt.timedelta(gap)}"
                )
        day += dt.timedelta(days=1)
    return found


# --- the run ------------------------------------------------------------------------------


class _Synth:
    """One generation run: organisation, population and the day loop."""

    def __init__(
        self,
        out: Path,
        clients: int,
        branches: int,
        dates: list[dt.date],
        seed: int,
        fmt: str,
        progress: Progress,
        chunk: int,
    ) -> None:
        self.out, self.clients, self.dates, self.seed, self.fmt = out, clients, dates, seed, fmt
        self.say, self.chunk = progress, chunk
        self.keyed = Keyed(seed)
        self.first = epoch_day(dates[0])
        self.org: Org = build_org(branches=branches, seed=seed, start=dates[0])
        self.new_counts = [0] + [self._new_accounts(d) for d in dates[1:]]
        self.pop = Population(
            self.keyed,
            self.org,
            start=self.first,
            base=clients,
            capacity=clients + sum(self.new_counts),
        )
        self.products = events.catalogue(seed)
        self.state = events.EventState()
        self.leave_day = _leave_day(len(dates))
        self.leaver: int | None = None
        self.snapshots: list[dt.date] = []
        self.result = Result()

    def _new_accounts(self, date: dt.date) -> int:
        rng = self.keyed.generator(f"new:{date.isoformat()}")
        return max(3, round(self.clients * 0.001 * rng.uniform(0.8, 1.2)))

    def run(self) -> Result:
        self.out.mkdir(parents=True, exist_ok=True)
        self._populate()
        for date in self.snapshots:
            self._snapshot(date)
        for number, date in enumerate(self.dates):
            self._day(number, date)
        return self.result

    def _snapshot(self, date: dt.date) -> None:
        """``snapshot-DATE/assets``: day 1's assets moved back by a random factor per client."""
        day, pop = epoch_day(date), self.pop
        feed = FeedDirectory(self.out / f"snapshot-{date.isoformat()}", self.fmt)
        saved = pop.assets.copy()
        try:
            for lo in range(0, pop.size, self.chunk):
                hi = min(pop.size, lo + self.chunk)
                idx = np.arange(lo, hi, dtype=np.int64)
                factor = np.exp(0.25 * self.keyed.normal(f"snapshot:{date.isoformat()}", idx))
                pop.assets[lo:hi] = np.round(saved[lo:hi] * factor, 2)
                feed.write("assets", daily.assets_table(pop, lo, hi, day))
            path = feed.close()
        except BaseException:
            feed.abort()
            raise
        finally:
            pop.assets[:] = saved
        self.result.directories.append(path)
        self.result.rows["assets"] += feed.rows.get("assets", 0)
        self.say(f"snapshot {date}: assets {feed.rows.get('assets', 0):,}")

    def _populate(self) -> None:
        """Day-1 clients, a broker who is also a client, and the staff member who will leave."""
        staff = pools(self.org)
        for lo in range(0, self.clients, self.chunk):
            self.pop.add(min(self.chunk, self.clients - lo), staff)
        self._link_broker_client()
        self.leaver = self._choose_leaver() if self.leave_day is not None else None
        self.say(
            f"population: {self.clients:,} clients, {len(self.org.staff):,} staff, {len(self.org.units)} units"
        )

    def _link_broker_client(self) -> None:
        pop = self.pop
        broker = next(i for i, s in enumerate(self.org.staff) if s.position == "broker")
        branch = next(
            b
            for b, u in enumerate(self.org.branches)
            if u.code == self.org.staff[broker].branch_code
        )
        n = pop.size
        fits = (pop.branch[:n] == branch) & ~pop.inst[:n] & (pop.status[:n] == NORMAL)
        client = int(np.flatnonzero(fits)[0]) if fits.any() else 0
        pop.branch[client], pop.inst[client], pop.status[client] = branch, False, NORMAL
        pop.close_day[client] = NONE
        pop.introducer[client] = pop.broker[client] = -1
        member = self.org.staff[broker]
        member.client_id = f"C{client + 1:08d}"
        member.name = pop.client_table(np.array([client], dtype=np.int64)).column("name")[0].as_py()
        self.state.protected = frozenset({client})

    def _choose_leaver(self) -> int:
        counts = np.bincount(
            self.pop.introducer[self.pop.introducer >= 0], minlength=len(self.org.staff)
        )
        taken = {i for i, s in enumerate(self.org.staff) if s.client_id}
        candidates = [
            i
            for i, s in enumerate(self.org.staff)
            if s.position == "marketing" and counts[i] > 0 and i not in taken
        ]
        if not candidates:  # a tiny population: any marketing-sequence member will do
            candidates = [
                i
                for i, s in enumerate(self.org.staff)
                if s.position in {"marketing", "broker", "adviser"} and i not in taken
            ]
        return int(self.keyed.generator("leaver").choice(candidates))

    def _pools_on(self, number: int) -> Pools:
        if self.leaver is not None and self.leave_day is not None and number >= self.leave_day:
            return pools(self.org, frozenset({self.leaver}))
        return pools(self.org)

    # --- one day ------------------------------------------------------------------------

    def _day(self, number: int, date: dt.date) -> None:
        began = time.perf_counter()
        day, pop = epoch_day(date), self.pop
        staff = self._pools_on(number)
        feed = FeedDirectory(self.out / f"feed-{date.isoformat()}", self.fmt)
        try:
            new = (
                pop.add(self.new_counts[number], staff, opened=day)
                if number
                else np.zeros(0, np.int64)
            )
            if number:
                market = daily.market_move(self.keyed, date)
                for lo in range(0, pop.size, self.chunk):
                    daily.drift(pop, lo, min(pop.size, lo + self.chunk), day, market)
            ctx = events.DayContext(pop, date, day, staff, self.clients)
            tables, changed = self._events(ctx)
            self._organisation(feed, number, date)
            if number:
                rows = np.unique(np.concatenate([new, np.array(sorted(changed), dtype=np.int64)]))
                feed.write("clients", pop.client_table(rows))
            self._volumes(feed, number, date, day)
            for name, table in tables.items():
                feed.write(name, table)
            path = feed.close()
        except BaseException:
            feed.abort()
            raise
        self.result.directories.append(path)
        for name, count in feed.rows.items():
            self.result.rows[name] += count
        counts = ", ".join(f"{name} {count:,}" for name, count in feed.rows.items())
        self.say(
            f"day {number + 1}/{len(self.dates)} {date}: {counts} ({time.perf_counter() - began:.1f} s)"
        )

    def _events(self, ctx: events.DayContext) -> tuple[dict[str, pa.Table], set[int]]:
        accounts = events.account_events(ctx, self.state)
        margin = events.margin_events(ctx, self.state)
        changed = accounts.changed | margin.changed | events.client_changes(ctx, self.state)
        tables = {
            "product_purchases": events.purchases(ctx, self.products),
            **margin.tables,
            **accounts.tables,
        }
        return tables, changed

    def _organisation(self, feed: FeedDirectory, number: int, date: dt.date) -> None:
        if number == 0:
            feed.write("branches", units_table(self.org))
            feed.write("staff", staff_table(self.org.staff))
        elif number == self.leave_day and self.leaver is not None:
            member = self.org.staff[self.leaver]
            member.leave_date = date
            feed.write("staff", staff_table([member]))

    def _volumes(self, feed: FeedDirectory, number: int, date: dt.date, day: int) -> None:
        """The per-client files, streamed chunk by chunk in client order."""
        pop = self.pop
        periods = self._periods(number, date)
        chunks = range(0, pop.size, self.chunk)
        for part, lo in enumerate(chunks):
            hi = min(pop.size, lo + self.chunk)
            if number == 0:
                feed.write("clients", pop.client_table(np.arange(lo, hi, dtype=np.int64)))
            feed.write("assets", daily.assets_table(pop, lo, hi, day))
            if periods:
                feed.write("commissions", daily.commissions_table(pop, lo, hi, periods))
            feed.write("flows", daily.flows_table(pop, lo, hi, day, date))
            feed.write("trades", daily.trades_table(pop, lo, hi, day, date))
            if len(chunks) > 1:
                self.say(f"  {date} chunk {part + 1}/{len(chunks)}: clients {lo + 1:,}–{hi:,}")

    def _periods(self, number: int, date: dt.date) -> list[daily.Period]:
        """Day 1: last year and this year's months so far; a new month: the month before."""
        if number == 0:
            months = [daily.month_period(date.year, m) for m in range(1, date.month)]
            return [daily.year_period(date.year - 1), *months]
        previous = self.dates[number - 1]
        if (previous.year, previous.month) != (date.year, date.month):
            return [daily.month_period(previous.year, previous.month)]
        return []


def _leave_day(days: int) -> int | None:
    """0-based day on which one marketing staff member leaves: a middle day, never day 1."""
    if days < 2:
        return None
    if days < 4:
        return days - 1
    return max(2, days // 2)
