"""The synthetic brokerage of the nightly-run benchmark: archive, database, prior state.

Everything is vectorised (numpy/pyarrow) and written straight in the importer's
archive layout and through the bulk writer, not through ``huifang import`` (the
import has its own benchmark). The arrays stay in memory so that the benchmark
can count independently what the run must find.

Timeline (2026): base clients opened before 2026-09-01, archived at 2026-09-30;
``new`` accounts opened on each run date (QUARTER_DAY, DAY); assets snapshots on
2026-09-30 and every trading day up to DAY; flows on DAY's ISO week up to DAY;
purchases and margin events on each run date; a few brokers leave on LEAVE_DAY.
The database holds the state as of 2026-09-30: CLS-1 classes, the 2026 KEY-1
purposes (tasks reviewed), September's CORE-1 tasks still open, the 2026-H2
SMALL-1 plans with their entries and sampled tasks.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

PRIOR = dt.date(2026, 9, 30)  # the state in the database is as of this date
QUARTER_DAY = dt.date(2026, 10, 8)  # first working day of Q4 (National Day 10-01..07)
LEAVE_DAY = dt.date(2026, 10, 13)
DAY = dt.date(2026, 10, 14)  # Wednesday; the week's last trading day is Friday 10-16
ASSET_DAYS = [PRIOR, QUARTER_DAY, dt.date(2026, 10, 9), dt.date(2026, 10, 12), LEAVE_DAY, DAY]
FLOW_DAYS = [dt.date(2026, 10, 12), LEAVE_DAY, DAY]  # Monday .. DAY of ISO week 2026-W42
EPOCH = dt.date(1970, 1, 1)
MONEY = pa.decimal128(18, 2)
# staff of each branch, in this order: offsets into the branch's block
ROLES = [("marketing", 4), ("broker", 8), ("adviser", 2), ("service", 1), ("agent", 1), ("manager", 1)]  # fmt: skip
PER_BRANCH = sum(n for _, n in ROLES)
OFFSET = {name: sum(n for _, n in ROLES[:i]) for i, (name, _) in enumerate(ROLES)}
MARGIN_TYPES = ["credit_application", "margin_call", "margin_call_resolved", "risk_disclosure",
                "abnormal_trade", "credit_change", "forced_liquidation", "underlying_major_event"]  # fmt: skip
FLOW_KINDS = ["deposit", "withdraw", "custody_in", "custody_out", "designate_in", "designate_out"]


def epoch(day: dt.date) -> int:
    return (day - EPOCH).days


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """IDs like ``C00000001`` built from an ASCII matrix (no Python strings)."""
    n = len(numbers)
    out = np.empty((n, len(prefix) + width), dtype=np.uint8)
    out[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    rest = numbers.astype(np.int64).copy()
    for pos in range(len(prefix) + width - 1, len(prefix) - 1, -1):
        out[:, pos] = rest % 10 + 48
        rest //= 10
    offsets = np.arange(0, out.size + 1, out.shape[1], dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out)])


def nullable(values: pa.Array, valid: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(valid), values, pa.scalar(None, values.type))


def money(cents: np.ndarray) -> pa.Array:
    words = np.zeros(2 * len(cents), dtype=np.int64)
    words[0::2] = cents
    return pa.Array.from_buffers(MONEY, len(cents), [None, pa.py_buffer(words)])


def dates(days: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    out = pa.array(days.astype(np.int32), pa.int32()).cast(pa.date32())
    return out if valid is None else nullable(out, valid)


def archive_shape(name: str, table: pa.Table) -> pa.Table:
    """Every column the importer archives for ``name`` (absent ones null, PII hashed or dropped)."""
    from huifang.feeds.schema import FEEDS, Pii, T

    types = {T.DATE: pa.date32(), T.MONEY: MONEY, T.BOOL: pa.bool_(), T.INT: pa.int64(),
             T.DATETIME: pa.timestamp("us", tz="UTC")}  # fmt: skip
    for col in FEEDS[name].columns:
        column = col.name + "_hash" if col.pii == Pii.HASH else col.name
        if col.pii == Pii.DROP or column in table.column_names:
            continue
        kind = pa.string() if col.pii == Pii.HASH else types.get(col.type, pa.string())
        table = table.append_column(column, pa.nulls(table.num_rows, kind))
    return table


def write(root: Path, name: str, day: dt.date, table: pa.Table) -> None:
    folder = root / name / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    table = archive_shape(name, table)
    table = table.append_column("source_line", pa.array(np.arange(1, table.num_rows + 1)))
    pq.write_table(table, folder / "part-0.parquet", compression="snappy", row_group_size=1_000_000)


@dataclass
class Brokerage:
    """The generated population, as arrays indexed by client number − 1."""

    clients: int
    branches: int
    new: int  # accounts opened on each run date
    flows: int
    purchases: int
    margin_events: int
    seed: int = 1
    branch: np.ndarray = field(init=False)
    opened: np.ndarray = field(init=False)  # epoch days
    broker: np.ndarray = field(init=False)  # staff number or -1
    introducer: np.ndarray = field(init=False)
    adviser: np.ndarray = field(init=False)
    assets: np.ndarray = field(init=False)  # cents, constant over the days except ``bumped``
    bumped: np.ndarray = field(init=False)  # client numbers that cross 10 M CNY on 2026-10-12
    last_trade: np.ndarray = field(init=False)
    klass: np.ndarray = field(init=False)  # CLS-1 of the base clients ("" for new accounts)
    leavers: np.ndarray = field(init=False)  # staff numbers leaving on LEAVE_DAY
    abnormal: dict[dt.date, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.clients + 2 * self.new

    @property
    def call_center_agents(self) -> int:
        return max(4, self.branches // 15)

    @property
    def staff(self) -> int:
        return self.branches * PER_BRANCH + self.call_center_agents

    def batch(self, day: dt.date) -> slice:
        """Client numbers − 1 of the accounts opened on a run date (or the base population)."""
        if day == QUARTER_DAY:
            return slice(self.clients, self.clients + self.new)
        if day == DAY:
            return slice(self.clients + self.new, self.total)
        return slice(0, self.clients)

    def generate(self) -> None:
        rng = np.random.default_rng(self.seed)
        n, b = self.total, self.branches
        self.branch = rng.integers(0, b, n)
        self.opened = rng.integers(epoch(dt.date(2005, 1, 1)), epoch(dt.date(2026, 9, 1)), n)
        self.opened[self.batch(QUARTER_DAY)] = epoch(QUARTER_DAY)
        self.opened[self.batch(DAY)] = epoch(DAY)
        base = self.branch * PER_BRANCH
        self.broker = np.where(
            rng.random(n) < 0.25, base + OFFSET["broker"] + rng.integers(0, 8, n), -1
        )
        intro = rng.integers(0, 12, n)  # marketing 0..3 or broker 4..11
        self.introducer = np.where(rng.random(n) < 0.4, base + intro, -1)
        self.adviser = np.where(
            rng.random(n) < 0.1, base + OFFSET["adviser"] + rng.integers(0, 2, n), -1
        )
        self.assets = np.round(np.exp(rng.normal(11.0, 1.9, n)) * 100).astype(np.int64)
        self.assets[self.clients :] = rng.integers(0, 5_000_000, 2 * self.new)  # ≤ 50,000 CNY
        below = np.flatnonzero(self.assets[: self.clients] < 100_000_000)  # < 1 M CNY
        self.bumped = rng.choice(below, size=max(2, self.clients // 10_000), replace=False)
        cny = self.assets // 100
        klass = np.where(cny >= 10_000_000, "vip", np.where(cny >= 250_000, "core",
                         np.where(cny >= 100_000, "potential", "ordinary")))  # fmt: skip
        klass[self.clients :] = ""
        self.klass = klass
        recent = rng.integers(epoch(dt.date(2026, 9, 1)), epoch(PRIOR) + 1, n)
        old = rng.integers(epoch(dt.date(2024, 1, 1)), epoch(dt.date(2026, 3, 1)), n)
        dormant = (klass == "ordinary") & (rng.random(n) < 0.3)
        self.last_trade = np.where(dormant, old, recent)
        self.last_trade[self.clients :] = -1
        brokers = np.arange(b) * PER_BRANCH + OFFSET["broker"]
        self.leavers = rng.choice(brokers, size=min(3, b), replace=False)
        # no new account is brought by a leaver
        for rel in (self.broker, self.introducer):
            rel[self.clients :] = np.where(
                np.isin(rel[self.clients :], self.leavers), -1, rel[self.clients :]
            )

    # ---------------------------------------------------------------- independent counts

    def broker_introduced(self, day: dt.date) -> int:
        """NEW-1 on a run date: that day's accounts introduced or brokered by a broker."""
        s = self.batch(day)
        intro = self.introducer[s]
        by_broker = (
            (intro >= 0)
            & (intro % PER_BRANCH >= OFFSET["broker"])
            & (intro % PER_BRANCH < OFFSET["broker"] + 8)
        )
        return int(((self.broker[s] >= 0) | by_broker).sum())

    def departed_pairs(self) -> int:
        """DEP-1 on DAY: clients (opened by then) related to a leaver, once per leaver."""
        known = slice(0, self.total)
        pairs = 0
        for staff in self.leavers:
            related = (
                (self.introducer[known] == staff)
                | (self.broker[known] == staff)
                | (self.adviser[known] == staff)
            )
            pairs += int(related.sum())
        return pairs

    # ---------------------------------------------------------------- archive

    def write_archive(self, root: Path) -> None:
        self._archive_org(root)
        for day in (PRIOR, QUARTER_DAY, DAY):
            self._archive_clients(root, day)
        for day in ASSET_DAYS:
            upto = (
                self.clients
                if day == PRIOR
                else (self.clients + self.new if day < DAY else self.total)
            )
            cents = self.assets[:upto].copy()
            if day >= dt.date(2026, 10, 12):
                cents[self.bumped] = 1_200_000_000  # 12 M CNY
            numbers = np.arange(1, upto + 1)
            write(
                root,
                "assets",
                day,
                pa.table({"client_id": ids("C", numbers, 8), "total_assets": money(cents)}),
            )
        rng = np.random.default_rng(self.seed + 1)
        for i, day in enumerate(FLOW_DAYS):
            rows = self.flows // len(FLOW_DAYS) + (1 if i < self.flows % len(FLOW_DAYS) else 0)
            who = rng.integers(
                1, self.total + 1 if day == DAY else self.clients + self.new + 1, rows
            )
            write(root, "flows", day, pa.table({
                "client_id": ids("C", who, 8),
                "kind": pa.array(np.array(FLOW_KINDS)[rng.integers(0, 6, rows)]).dictionary_encode(),
                "amount": money(rng.integers(100, 100_000_000, rows)),
                "flow_time": pa.array(rng.integers(0, 86_400, rows) * 1_000_000, pa.int64()).cast(
                    pa.time64("us")).cast(pa.string()),
            }))  # fmt: skip
        for day in (QUARTER_DAY, DAY):
            self._archive_events(root, day, rng)

    def _archive_org(self, root: Path) -> None:
        units, staff = self.units(), self.staff_table()
        write(
            root,
            "branches",
            PRIOR,
            units.rename_columns(["branch_code", "name", "region_code", "unit_kind"]),
        )
        archived = staff.select(["staff_id", "name", "unit_id", "position", "hire_date"]).rename_columns(
            ["staff_id", "name", "branch_code", "position", "hire_date"])  # fmt: skip
        write(
            root,
            "staff",
            PRIOR,
            archived.append_column("leave_date", pa.nulls(staff.num_rows, pa.date32())),
        )
        left = archived.filter(pa.array(np.isin(np.arange(self.staff), self.leavers)))
        write(root, "staff", LEAVE_DAY, left.append_column(
            "leave_date", pa.array([LEAVE_DAY] * left.num_rows, pa.date32())))  # fmt: skip

    def _archive_clients(self, root: Path, day: dt.date) -> None:
        write(root, "clients", day, self.client_table(self.batch(day), archive=True))

    def _archive_events(self, root: Path, day: dt.date, rng: np.random.Generator) -> None:
        upto = self.clients + self.new if day == QUARTER_DAY else self.total
        m = self.margin_events
        kinds = np.array(MARGIN_TYPES)[rng.integers(0, len(MARGIN_TYPES), m)]
        self.abnormal[day] = int((kinds == "abnormal_trade").sum())
        stamp = day.strftime("%Y%m%d")
        write(root, "margin_events", day, pa.table({
            "event_id": ids(f"M{stamp}", np.arange(1, m + 1), 7),
            "client_id": ids("C", rng.integers(1, upto + 1, m), 8),
            "event_type": pa.array(kinds), "security_code": pa.array(["600000"] * m),
            "detail": pa.array([""] * m), "event_time": pa.array([f"{day}T10:00:00+08:00"] * m),
        }))  # fmt: skip
        p = self.purchases
        write(root, "product_purchases", day, pa.table({
            "purchase_id": ids(f"P{stamp}", np.arange(1, p + 1), 7),
            "client_id": ids("C", rng.integers(1, upto + 1, p), 8),
            "product_code": pa.array(["SF0001"] * p), "product_name": pa.array(["稳健1号"] * p),
            "product_type": pa.array(np.array(["trust", "public_fund", "private_fund"])[rng.integers(0, 3, p)]),
            "product_risk_level": pa.array(np.array(["R2", "R3", "R4", "R5"])[rng.integers(0, 4, p)]),
            "amount": money(rng.integers(1_000_000, 1_000_000_000, p)),
            "sales_staff_id": pa.nulls(p, pa.string()),
            "purchase_time": pa.array([f"{day}T10:00:00+08:00"] * p),
            "has_third_party_adviser": pa.array(np.zeros(p, bool)), "amac_registered": pa.array(np.ones(p, bool)),
        }))  # fmt: skip

    # ---------------------------------------------------------------- tables

    def branch_codes(self) -> pa.Array:
        return ids("B", np.arange(1, self.branches + 1), 3)

    def units(self) -> pa.Table:
        codes = self.branch_codes()
        regions = ids("R", np.arange(self.branches) % 10 + 1, 2)
        return pa.table({
            "code": pa.concat_arrays([codes, pa.array(["CC01"])]),
            "name": pa.concat_arrays([pc.binary_join_element_wise(codes, "营业部", ""), pa.array(["客户服务中心"])]),
            "region_id": pa.concat_arrays([regions, pa.array(["R01"])]),
            "unit_kind": pa.array(["branch"] * self.branches + ["call_center"]),
        })  # fmt: skip

    def staff_units(self) -> pa.Array:
        """The unit of each staff number."""
        codes = self.branch_codes()
        per = pc.take(codes, pa.array(np.repeat(np.arange(self.branches), PER_BRANCH)))
        return pa.concat_arrays([per, pa.array(["CC01"] * self.call_center_agents)])

    def staff_table(self) -> pa.Table:
        positions = [name for name, k in ROLES for _ in range(k)] * self.branches
        positions += ["agent"] * self.call_center_agents
        numbers = np.arange(self.staff)
        return pa.table({
            "staff_id": ids("S", numbers, 6), "name": pc.binary_join_element_wise(
                pa.array(["员工"] * self.staff), ids("", numbers, 6), ""),
            "unit_id": self.staff_units(), "position": pa.array(positions),
            "hire_date": pa.array([dt.date(2015, 3, 1)] * self.staff, pa.date32()),
        })  # fmt: skip

    def client_table(self, s: slice, *, archive: bool) -> pa.Table:
        numbers = np.arange(s.start, s.stop) + 1
        n = len(numbers)
        codes = pc.take(self.branch_codes(), pa.array(self.branch[s]))

        def staff_ids(rel: np.ndarray) -> pa.Array:
            return nullable(ids("S", np.maximum(rel[s], 0), 6), rel[s] >= 0)

        lt = self.last_trade[s]
        columns = {
            "client_id": ids("C", numbers, 8),
            "name": pc.binary_join_element_wise(pa.array(["客户"] * n), ids("", numbers, 8), ""),
            "client_type": pa.array(["individual"] * n),
            ("branch_code" if archive else "branch_id"): codes,
            "open_date": dates(self.opened[s]),
            "status": pa.array(["normal"] * n),
            ("introducer_staff_id" if archive else "introducer_id"): staff_ids(self.introducer),
            ("broker_staff_id" if archive else "broker_id"): staff_ids(self.broker),
            ("adviser_staff_id" if archive else "adviser_id"): staff_ids(self.adviser),
            "last_trade_date": dates(np.maximum(lt, 0), lt >= 0),
        }
        if archive:
            columns["close_date"] = pa.nulls(n, pa.date32())
        return pa.table(columns)


def required(share: float, population: int) -> int:
    return math.ceil(round(share * population, 9))


def complete(model: Any, table: pa.Table) -> pa.Table:
    """``table`` with every NOT NULL column of ``model`` it lacks, at the field's default."""
    from django.db.models import AutoField, BigAutoField

    n = table.num_rows
    for f in model._meta.concrete_fields:
        if f.column in table.column_names or f.null or isinstance(f, AutoField | BigAutoField):
            continue
        default = f.get_default()
        if default is None:
            raise ValueError(f"{model.__name__}.{f.name} needs a value")
        table = table.append_column(f.column, pa.repeat(pa.scalar(default), n))
    return table


# ---------------------------------------------------------------- database


def _chunks(table_of: Any, total: int, size: int = 1_000_000) -> Any:
    for start in range(0, total, size):
        yield table_of(slice(start, min(start + size, total)))


def fill_database(b: Brokerage) -> None:
    """Org, staff, clients and their CLS-1 classes, as an import and the annual rating leave them."""
    from huifang.classification.models import ClassificationRun, ClientClass
    from huifang.clients.models import Client
    from huifang.core import bulk
    from huifang.org.models import Region, Staff, Unit
    from huifang.policy.selectors import version_in_force

    units = b.units()
    regions = pc.unique(units.column("region_id").combine_chunks())
    bulk.insert("org_region", complete(Region, pa.table({"code": regions, "name": regions})))
    bulk.insert("org_unit", complete(Unit, units))
    staff = b.staff_table()
    leave = np.isin(np.arange(b.staff), b.leavers)
    staff = staff.append_column("leave_date", dates(np.full(b.staff, epoch(LEAVE_DAY)), leave))
    bulk.insert("org_staff", complete(Staff, staff))
    bulk.insert("clients_client", _chunks(lambda s: complete(Client, b.client_table(s, archive=False)),
                                          b.total), total=b.total)  # fmt: skip
    version = version_in_force(on=PRIOR)
    run = ClassificationRun.objects.create(
        kind="annual", rating_date=dt.date(2026, 1, 5), statistical_date=dt.date(2025, 12, 31),
        commission_year=2025, period="2026", policy_version=version, actor="system:bench",
        started_at=dt.datetime(2026, 1, 5, 20, tzinfo=dt.UTC), finished_at=dt.datetime(2026, 1, 5, 21, tzinfo=dt.UTC),
        rated=b.clients,
    )  # fmt: skip

    def classes(s: slice) -> pa.Table:
        n = s.stop - s.start
        return complete(ClientClass, pa.table({
            "client_id": ids("C", np.arange(s.start, s.stop) + 1, 8), "scheme": pa.repeat(pa.scalar("CLS-1"), n),
            "class_code": pa.array(b.klass[s]), "since": pa.repeat(pa.scalar(dt.date(2026, 1, 5)), n),
            "policy_version_id": pa.repeat(pa.scalar(version.pk, pa.int64()), n),
            "reason": pa.repeat(pa.scalar("annual"), n), "run_id": pa.repeat(pa.scalar(run.pk, pa.int64()), n),
        }))  # fmt: skip

    bulk.insert("classification_clientclass", _chunks(classes, b.clients), total=b.clients)


def seed_prior_state(b: Brokerage) -> dict[str, int]:
    """The callback state as of PRIOR: what runs of earlier dates would have left."""
    from huifang.callbacks.models import Plan, PlanEntry, Purpose, Task, TaskEvent
    from huifang.callbacks.rules import sample_seed
    from huifang.core import bulk
    from huifang.policy.selectors import version_in_force

    version = version_in_force(on=PRIOR)
    n = b.clients
    rng = np.random.default_rng(b.seed + 2)
    klass = b.klass[:n]
    # SMALL-1 2026-H2: one plan per branch over its ordinary (and dormant) clients, 20 % sampled
    small = np.flatnonzero(klass == "ordinary")
    order = np.lexsort((rng.random(len(small)), b.branch[small]))
    small = small[order]
    branch = b.branch[small]
    counts = np.bincount(branch, minlength=b.branches)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(small)) - starts[branch]
    need = np.array([required(0.2, int(c)) for c in counts])
    sampled = rank < need[branch]
    first_plan = bulk.reserve_ids(Plan._meta.db_table, b.branches)
    codes = b.branch_codes()
    h2 = dt.date(2026, 7, 1)
    nb = b.branches

    def rep(value: Any, k: int, kind: pa.DataType | None = None) -> pa.Array:
        return pa.repeat(pa.scalar(value, kind), k)

    bulk.insert(Plan._meta.db_table, complete(Plan, pa.table({
        "id": pa.array(first_plan + np.arange(nb)), "rule_code": rep("SMALL-1", nb), "rule_id": rep("SMALL-1", nb),
        "period": rep("2026-H2", nb), "period_start": rep(h2, nb), "period_end": rep(dt.date(2026, 12, 31), nb),
        "stratum": codes, "branch_id": codes, "level": rep("branch", nb), "share": rep(Decimal("0.2"), nb, pa.decimal128(5, 4)),
        "population": pa.array(counts.astype(np.int64)), "required": pa.array(need.astype(np.int64)),
        "sampled": pa.array(need.astype(np.int64)), "skipped_at_cap": rep(0, nb, pa.int64()),
        "seed": rep(sample_seed(version.number, "SMALL-1", "2026-H2"), nb),
        "policy_version_id": rep(version.pk, nb, pa.int64()), "as_of": rep(PRIOR, nb),
    })))  # fmt: skip
    k = len(small)
    bulk.insert(PlanEntry._meta.db_table, complete(PlanEntry, pa.table({
        "plan_id": pa.array(first_plan + branch), "client_id": ids("C", small + 1, 8), "added_on": rep(h2, k),
        "sampled": pa.array(sampled), "sampled_on": nullable(rep(h2, k), sampled),
        "skipped_at_cap": pa.array(np.zeros(k, bool)),
    })))  # fmt: skip
    # open service tasks (branch level): September's CORE-1 (vip, core) and the H2 SMALL-1 sample
    core = np.flatnonzero(np.isin(klass, ["vip", "core"]))
    chosen = small[sampled]
    service = np.concatenate([core, chosen])
    is_core = np.arange(len(service)) < len(core)
    key1 = np.flatnonzero(b.assets[:n] >= 1_000_000_000)
    total = len(service) + len(key1)
    first_task = bulk.reserve_ids(Task._meta.db_table, total)
    who = np.concatenate([service, key1])
    m = len(service)
    assignee = np.concatenate([b.branch[service] * PER_BRANCH + OFFSET["service"],
                               nb * PER_BRANCH + np.arange(len(key1)) % b.call_center_agents])  # fmt: skip
    client_ids = ids("C", who + 1, 8)
    due = np.concatenate([np.where(is_core, epoch(PRIOR), epoch(dt.date(2026, 12, 31))),
                          np.full(len(key1), epoch(dt.date(2026, 12, 31)))])  # fmt: skip
    created = np.concatenate([np.where(is_core, epoch(dt.date(2026, 9, 1)), epoch(h2)),
                              np.full(len(key1), epoch(dt.date(2026, 1, 5)))])  # fmt: skip
    company = np.arange(total) >= m
    task_ids = pa.array(first_task + np.arange(total))
    bulk.insert(Task._meta.db_table, complete(Task, pa.table({
        "id": task_ids, "client_id": client_ids, "branch_id": pc.take(codes, pa.array(b.branch[who])),
        "level": pa.array(np.where(company, "company", "branch")),
        "kind": pa.array(np.where(company, "compliance", "service")),
        "status": pa.array(np.where(company, "reviewed", "assigned")),
        "due_date": dates(due), "created_on": dates(created),
        "quarter": pa.array(np.where(company, "2026-Q1", "2026-Q3")),
        # KEY-1, CORE-1 and SMALL-1 are capped rules (CON-3): their contacts count
        "counts_to_cap": pa.array(np.ones(total, dtype=bool)), "assignee_id": ids("S", assignee, 6),
    })))  # fmt: skip
    rule = np.where(company, "KEY-1", np.where(np.arange(total) < len(core), "CORE-1", "SMALL-1"))
    period = np.where(
        company, "KEY-1:2026:", np.where(rule == "CORE-1", "CORE-1:2026-09:", "SMALL-1:2026-H2:")
    )
    plan = np.where(rule == "SMALL-1", first_plan + b.branch[who], 0)
    bulk.insert(Purpose._meta.db_table, complete(Purpose, pa.table({
        "task_id": task_ids, "key": pc.binary_join_element_wise(pa.array(period), client_ids, ""),
        "rule_code": pa.array(rule), "rule_id": pa.array(rule),
        "plan_id": nullable(pa.array(plan), rule == "SMALL-1"),
        "policy_version_id": rep(version.pk, total, pa.int64()), "business_date": dates(created),
        "due_date": dates(due), "cap_exempt": pa.array(~company), "facts": rep("{}", total),
    })))  # fmt: skip
    # their "created" events (also keeps bulk.insert from rebuilding the indexes of an empty
    # callbacks_taskevent inside the run's transaction, which PostgreSQL refuses: see the report)
    at = dt.datetime(2026, 9, 1, 12, tzinfo=dt.UTC)
    bulk.insert(TaskEvent._meta.db_table, complete(TaskEvent, pa.table({
        "task_id": task_ids, "event": rep("created", total), "detail": rep("{}", total),
        "business_date": dates(created), "at": rep(at, total, pa.timestamp("us", tz="UTC")),
        "actor": rep("system:run", total),
    })))  # fmt: skip
    return {"seed_plan_entries": k, "seed_tasks": total, "seed_open_tasks": m}
