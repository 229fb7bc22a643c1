"""The nightly run's rule step: populations in DuckDB, plans, sampling, merging, the cap.

For one business date, every effective rule of the families this app knows
(``FAMILIES``) is evaluated in order — 100 % rules before sampled ones (CON-8) —
against DuckDB tables that carry the state between rules: ``open_t`` (open tasks,
CON-4), ``capc`` (capped callbacks per client this quarter, CON-3), ``done_keys``
(purposes already written: a re-run finds nothing new). The results are Arrow
tables the caller writes in bulk, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from huifang.callbacks import listed, plancache, population, population_people, population_sales
from huifang.callbacks.rules import (
    ORDER_SQL,
    Period,
    due_date,
    fires_on,
    period_of,
    required_count,
    sample_seed,
)
from huifang.core import bulk, duck
from huifang.policy import kinds
from huifang.policy.models import PolicyVersion

# SPEC IDs this issue implements (the product, margin and event families come next).
FAMILIES = {
    "NEW-1", "NEW-2", "NEW-3", "KEY-1", "CORE-1", "SMALL-1", "STOCK-1",
    "ABN-1", "ABN-2", "ABN-3", "ABN-4", "DEP-1",
    "IMP-1", "ADV-1", "BRK-4", "TX-1",  # issue 6: population_people
    "PROD-1", "PROD-2", "PROD-3", "PROD-4", "PROD-5", "PROD-6", "PROD-7",  # issue 6: population_sales
    "MRG-1", "MRG-2", "MRG-3", "MRG-4", "MRG-5", "MRG-6", "MRG-7", "SPC-2",
}  # fmt: skip


@dataclass(frozen=True)
class RuleSpec:
    """An effective obligation rule with its typed parameters and when it fires."""

    code: str
    spec_id: str
    params: kinds.Obligation
    cap_exempt: bool
    part: str = ""  # TX-1: "trade" or "lost", each with its own deadline (``_parts``)

    @property
    def share(self) -> Decimal:
        return Decimal(self.params.coverage.share)

    @property
    def sampled(self) -> bool:
        return self.share < 1

    @property
    def firing(self) -> str:
        """Weekly rankings and week samples fire on the week's last trading day (§12)."""
        if isinstance(self.params, kinds.TopNCallback) or self.params.deadline.start == "week_end":
            return "week_end"
        return "daily"

    @property
    def period_kind(self) -> str:
        if self.firing == "week_end":
            return "week"
        if self.params.deadline.unit == "period_end":
            return self.params.deadline.period or "day"
        return self.params.coverage.period or "day"


@dataclass
class RuleSummary:
    """One rule's line of the run summary."""

    population: int = 0
    required: int = 0
    created: int = 0
    merged: int = 0
    cap_exceptions: int = 0
    skipped_at_cap: int = 0
    unassigned: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Batch:
    """What a date's rules produced, ready for the bulk writer."""

    purposes: list[pa.Table] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)
    entries: list[pa.Table] = field(default_factory=list)
    summary: dict[str, RuleSummary] = field(default_factory=dict)


def rule_specs(version: PolicyVersion, cap_exempt: set[str]) -> list[RuleSpec]:
    """The enabled rules of these families, 100 % rules first (CON-8), in policy order."""
    specs = []
    for rule in version.rules.filter(enabled=True).order_by("position"):
        if rule.spec_id not in FAMILIES:
            continue
        params = kinds.parse(rule.kind, rule.params)
        assert isinstance(params, kinds.Obligation)
        # CON-3 caps callbacks per client: a callback of a staff member (BRK-4) never counts
        exempt = (
            params.cap_exempt or rule.code in cap_exempt or population_people.targets_staff(params)
        )
        specs += _parts(RuleSpec(rule.code, rule.spec_id, params, exempt))
    return sorted(specs, key=lambda s: s.sampled)


def _parts(spec: RuleSpec) -> list[RuleSpec]:
    """TX-1 has two deadlines: a trade within ``trade_within_hours``, a lost client within
    ``lost_within_working_days`` of the day he became lost — one spec each, same rule and plans."""
    p = spec.params
    if not isinstance(p, kinds.TradeCallback):
        return [spec]
    trade = kinds.Deadline(unit="hours", count=p.trade_within_hours, start="event")
    lost = kinds.Deadline(unit="working_days", count=p.lost_within_working_days, start="event")
    return [
        replace(spec, params=p.model_copy(update={"deadline": trade}), part="trade"),
        replace(spec, params=p.model_copy(update={"deadline": lost}), part="lost"),
    ]


# more unloaded drawn clients than this: ``_ensure_open`` reads every open task instead (one
# index probe per client costs up to ~0.4 ms on a cold task table; all 3.9M open tasks ~4.6 s)
OPEN_WHOLE_AT = 20_000


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    rows = con.execute(sql, params or []).fetchall()
    return int(rows[0][0]) if rows else 0


class Evaluator:
    """Evaluates the rules of one date in one DuckDB connection."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        root: Path,
        day: dt.date,
        version: PolicyVersion,
        max_per_quarter: int,
        next_task_id: Callable[[int], int],
        plans: dict[tuple[str, str, str], dict[str, Any]],
        open_tasks: Callable[[pa.Array | None], pa.Table] | None = None,
        state_dir: Path | None = None,
    ) -> None:
        self.con, self.root, self.day, self.version = con, root, day, version
        self.max = max_per_quarter
        self.next_task_id = next_task_id
        self.known_plans = plans
        # the plans as stored before this run: the guard of the sampled members' files
        self.stored_plans = {key: dict(plan) for key, plan in plans.items()}
        self.state_dir = state_dir  # ``plancache``'s folder; ``None``: members read from the table
        self.plan_files: list[tuple[RuleSpec, Period, dict[str, Any]]] = []
        self.uncached: set[tuple[str, str]] = set()  # (rule, period) of rules run in two parts
        self.batch = Batch()
        # ``open_t`` is filled on demand (``_ensure_open``); without a loader it is already whole
        self.open_tasks = open_tasks
        self.open_whole = open_tasks is None

    # ---------------------------------------------------------------- one rule

    def evaluate(self, spec: RuleSpec, progress: Callable[[str], None]) -> RuleSummary:
        summary = self.batch.summary.setdefault(spec.code, RuleSummary())
        if not fires_on(spec.firing, self.day):
            progress(f"{spec.code}: does not fire on {self.day}")
            return summary
        period = period_of(spec.period_kind, self.day)
        self._population(spec, period)
        if spec.sampled:
            self._draw(spec, period, summary)
        else:
            self._full(spec, period, summary)
        self._merge_parts(spec, period, summary)
        progress(
            f"{spec.code} {period.label}: population {summary.population:,}, required {summary.required:,}, "
            f"created {summary.created:,}, merged {summary.merged:,}"
        )
        return summary

    def _population(self, spec: RuleSpec, period: Period) -> None:
        p, con, day = spec.params, self.con, self.day
        if isinstance(p, kinds.NewAccountCallback):
            population.new_accounts(con, spec.code, p, period, day)
        elif isinstance(p, kinds.AssetThresholdCallback):
            population.asset_threshold(con, self.root, spec.code, p, period, day)
        elif isinstance(p, kinds.ClassCallback):
            population_people.load_classes(con, p.standard)
            population_people.class_members(con, spec.code, p, period, day)
        elif isinstance(p, kinds.SmallDormantCallback):
            population_people.load_classes(con, p.standard)
            population.by_class(
                con, spec.code, p.small_classes, p.dormant_days, p.level, period, day, p.standard
            )
        elif isinstance(p, kinds.TopNCallback):
            population.top_n(con, self.root, spec.code, p, period, day)
        elif isinstance(p, kinds.ProductCallback):
            population_sales.products(con, self.root, spec.code, p, period, day, self.version)
        elif isinstance(p, kinds.EventCallback) and spec.spec_id in population_sales.EVENT_RULES:
            population_sales.events(con, self.root, spec.code, spec.spec_id, p, day)
        elif isinstance(p, kinds.EventCallback):
            population.events(con, self.root, spec.code, p, day)
        elif isinstance(p, kinds.DepartureCallback):
            population.departures(con, spec.code, p, day)
        elif isinstance(p, kinds.DataVerificationCallback):
            listed.verification_list(con, spec.code, p, day)
        elif isinstance(p, kinds.PopulationCallback) and p.population == "margin_clients":
            population_sales.margin_clients(con, self.root, spec.code, p, period, day)
        elif isinstance(p, kinds.PopulationCallback):
            population_people.standing(con, self.root, spec.code, p, period, day)
        elif isinstance(p, kinds.TradeCallback):
            population_people.trades(con, self.root, spec.code, p, spec.part, day)
        else:
            population.empty(con)

    # ---------------------------------------------------------------- plans

    def _plan(self, spec: RuleSpec, period: Period, stratum: str, level: str) -> dict[str, Any]:
        key = (spec.code, period.label, stratum)
        plan = self.known_plans.get(key)
        if plan is None:
            plan = {
                "id": None, "rule_code": spec.code, "rule_id": spec.spec_id, "period": period.label,
                "period_start": period.start, "period_end": period.end, "stratum": stratum,
                "branch_id": stratum or None, "level": level, "share": spec.share, "population": 0,
                "required": 0, "sampled": 0, "skipped_at_cap": 0,
                "seed": sample_seed(self.version.number, spec.code, period.label),
                "policy_version_id": self.version.pk, "as_of": self.day,
            }  # fmt: skip
            self.known_plans[key] = plan
        plan["as_of"] = self.day
        if plan not in self.batch.plans:
            self.batch.plans.append(plan)
        return plan

    def _full(self, spec: RuleSpec, period: Period, summary: RuleSummary) -> None:
        """100 % rules: every new member is a purpose."""
        self._done_keys(spec, period)
        duck.run(self.con, "DELETE FROM cand WHERE key IN (SELECT key FROM done_keys)")
        rows = self.con.execute(
            "SELECT stratum, any_value(level), count(*) FROM cand GROUP BY stratum ORDER BY stratum"
        ).fetchall()
        for stratum, level, n in rows:
            plan = self._plan(spec, period, stratum, level)
            plan["population"] += n
            plan["required"] += n
            plan["sampled"] += n
            summary.population += n
            summary.required += n
        duck.run(self.con, "CREATE OR REPLACE TEMP TABLE drawn AS SELECT * FROM cand")

    def _done_keys(self, spec: RuleSpec, period: Period) -> None:
        """``done_keys`` += the candidates' purposes already written (a re-run finds nothing new).

        The purposes table grows every night, so it is never read whole. A rule whose
        candidates are all keyed by its period (``CODE:PERIOD:…``, e.g. CORE-1's month)
        reads the rule's purposes of the period so far — only a business date of the
        period can have made such a key; other candidates are looked up key by key.
        """
        from huifang.callbacks.models import Purpose

        con, schema = self.con, pa.schema([("key", pa.string())])
        if not _count(con, "SELECT count(*) FROM cand"):
            return
        prefix = f"{spec.code}:{period.label}:"
        if period.kind != "day" and not _count(
            con, "SELECT count(*) FROM cand WHERE NOT starts_with(key, ?)", [prefix]
        ):
            found = bulk.fetch_typed(
                f'SELECT key FROM "{Purpose._meta.db_table}" '
                "WHERE rule_code = %s AND business_date BETWEEN %s AND %s",
                [spec.code, period.start, self.day], schema=schema,
            )  # fmt: skip
        else:
            keys = duck.table(
                con, "SELECT DISTINCT key FROM cand WHERE key NOT IN (SELECT key FROM done_keys)"
            ).column("key")
            if len(keys) == 0:
                return
            found = bulk.fetch_by_keys(Purpose._meta.db_table, "key", keys, ["key"], schema=schema)
        if found.num_rows:
            con.register("found_keys_arrow", found)
            duck.run(con, "INSERT INTO done_keys SELECT key FROM found_keys_arrow")
            con.unregister("found_keys_arrow")

    def _draw(self, spec: RuleSpec, period: Period, summary: RuleSummary) -> None:
        """CON-7, CON-8: per stratum, draw just enough to keep sampled ≥ ceil(share × population so far).

        The population so far is every member the plan has had in its period (a member
        who left — traded again, closed the account — still counts, and so does his
        sample); the draw picks among today's members, in the order of the plan's
        stored seed and share (a new policy version mid-period keeps the plan's draw). A member
        left out of a draw before he was sampled — at the cap (CON-3) or no longer in
        the population that day — is marked ``skipped_at_cap`` for good, so that ``plan
        redraw`` replays the draw exactly (``rules.Entry``).
        """
        con = self.con
        strata = con.execute("SELECT DISTINCT stratum, level FROM cand ORDER BY stratum").fetchall()
        plans = {stratum: self._plan(spec, period, stratum, level) for stratum, level in strata}
        plan_key = f"{spec.code}|{period.label}|"
        cached = self._entries(spec, period)
        # every stratum at once: today's members with what the plan knows of them
        duck.run(con, "CREATE OR REPLACE TEMP TABLE pool AS "
                 "SELECT c.*, k.client_id IS NOT NULL AS known, coalesce(k.sampled, FALSE) AS was_sampled, "
                 "coalesce(k.skipped, FALSE) AS was_skipped, coalesce(capc.n, 0) >= ? AS at_cap "
                 "FROM cand c LEFT JOIN known_entries k USING (stratum, client_id) LEFT JOIN capc USING (client_id)",
                 [self.max])  # fmt: skip
        counts = {
            stratum: (known, sampled, fresh, skipped)
            for stratum, known, sampled, fresh, skipped in con.execute(
                "SELECT s.stratum, coalesce(k.known, 0), coalesce(k.sampled, 0), coalesce(p.fresh, 0), "
                "coalesce(p.skipped, 0) FROM (SELECT DISTINCT stratum FROM cand) s "
                "LEFT JOIN (SELECT stratum, count(*) AS known, count(*) FILTER (WHERE sampled) AS sampled "
                "           FROM known_entries GROUP BY stratum) k USING (stratum) "
                "LEFT JOIN (SELECT stratum, count(*) FILTER (WHERE NOT known) AS fresh, "
                "           count(*) FILTER (WHERE NOT was_sampled AND at_cap) AS skipped "
                "           FROM pool GROUP BY stratum) p USING (stratum)"
            ).fetchall()
        }  # fmt: skip
        needs: dict[str, int] = {}
        for stratum, plan in plans.items():
            known, already, fresh, skipped = counts[stratum]
            plan["population"] = known + fresh
            plan["required"] = required_count(Decimal(plan["share"]), plan["population"])
            needs[stratum] = max(plan["required"] - already, 0)
            plan["sampled"] = already
            plan["skipped_at_cap"] = skipped
            summary.population += plan["population"]
            summary.required += plan["required"]
            summary.skipped_at_cap += skipped
        # the order (CON-7) is computed only where a stratum still needs members: on most
        # days of a half-year plan no stratum does, and its millions of members are not hashed
        wanted = {stratum: need for stratum, need in needs.items() if need > 0}
        con.register("needs_arrow", pa.table({
            "stratum": pa.array(list(wanted), pa.string()),
            "need": pa.array(list(wanted.values()), pa.int64()),
            "seed": pa.array([plans[s]["seed"] for s in wanted], pa.string()),
        }))  # fmt: skip
        duck.run(con, "CREATE OR REPLACE TEMP TABLE drawn AS "
                 "SELECT * EXCLUDE (known, was_sampled, was_skipped, at_cap, rn, need, seed) FROM ("
                 f"  SELECT p.*, n.need, n.seed, row_number() OVER (PARTITION BY p.stratum ORDER BY "
                 f"    {ORDER_SQL.format(seed='n.seed', client='p.client_id')}) AS rn "
                 "  FROM pool p JOIN needs_arrow n USING (stratum) WHERE NOT p.was_sampled AND NOT p.at_cap) "
                 "WHERE rn <= need")  # fmt: skip
        con.unregister("needs_arrow")
        for stratum, got in con.execute(
            "SELECT stratum, count(*) FROM drawn GROUP BY stratum"
        ).fetchall():
            plans[stratum]["sampled"] += got
        # only the members the write changes: new ones, the drawn, and the first skip of each
        self.batch.entries.append(
            duck.table(
                con,
                "SELECT * FROM ("
                "SELECT ? || p.stratum AS plan_key, p.client_id, "
                "p.was_skipped OR (p.at_cap AND NOT p.was_sampled) AS skipped_at_cap, "
                "p.at_cap AND NOT p.was_sampled AND NOT p.was_skipped AS skipped_first, "
                "p.was_sampled OR d.client_id IS NOT NULL AS sampled, NOT p.known AS new, "
                "CASE WHEN NOT p.was_sampled AND d.client_id IS NOT NULL THEN CAST(? AS DATE) END "
                "AS sampled_on FROM pool p LEFT JOIN drawn d USING (client_id)) "
                "WHERE new OR sampled_on IS NOT NULL OR skipped_first "
                "UNION ALL "  # members who left the population, not sampled: out of today's draw
                "SELECT ? || k.stratum, k.client_id, TRUE, TRUE, FALSE, FALSE, CAST(NULL AS DATE) "
                "FROM known_entries k ANTI JOIN pool USING (stratum, client_id) "
                "WHERE NOT k.sampled AND NOT k.skipped AND k.stratum IN (SELECT stratum FROM cand)",
                [plan_key, self.day, plan_key],
            )  # fmt: skip
        )
        # the sampled key is the plan's period, whatever the member's own key
        duck.run(
            con, "UPDATE drawn SET key = ? || ':' || client_id", [f"{spec.code}:{period.label}"]
        )
        if self.state_dir is not None and plans:  # no stratum today: the plans and members stay
            self._keep_members(spec, period, plan_key, cached)

    def _keep_members(self, spec: RuleSpec, period: Period, plan_key: str, cached: bool) -> None:
        """This night's ``plancache`` files of the rule (its guard follows the write).

        Two parts of one rule (TX-1) write one plan: then nothing is kept for it and the
        next run reads the table.
        """
        assert self.state_dir is not None
        key = (spec.code, period.label)
        if key in self.uncached:
            return
        if key in {(s.code, p.label) for s, p, _meta in self.plan_files}:
            self.plan_files = [(s, p, m) for s, p, m in self.plan_files if (s.code, p.label) != key]
            self.uncached.add(key)
            plancache.forget(self.state_dir, spec.code)
            return
        con = self.con
        con.register("plan_written_arrow", self.batch.entries[-1])
        meta = plancache.save_files(
            con, self.state_dir, spec.code, period.label, self.day.isoformat(), rebase=not cached,
            delta=f"SELECT substr(plan_key, {len(plan_key) + 1}) AS stratum, client_id, sampled, "
            "skipped_at_cap AS skipped FROM plan_written_arrow",
        )  # fmt: skip
        con.unregister("plan_written_arrow")
        self.plan_files.append((spec, period, meta))

    def save_plan_guards(self) -> None:
        """After the write (the new plans have their ids): each sampled rule's ``plancache`` guard."""
        if self.state_dir is None:
            return
        for spec, period, meta in self.plan_files:
            after = plancache.counts(self._period_plans(self.known_plans, spec, period))
            plancache.save_guard(self.state_dir, meta, after)
        self.plan_files.clear()

    @staticmethod
    def _period_plans(
        plans: dict[tuple[str, str, str], dict[str, Any]], spec: RuleSpec, period: Period
    ) -> list[dict[str, Any]]:
        return [
            p
            for (code, label, _s), p in plans.items()
            if (code, label) == (spec.code, period.label)
        ]

    def _entries(self, spec: RuleSpec, period: Period) -> bool:
        """``known_entries``: the stored members of the rule's plans of ``period``, every stratum.

        From ``plancache``'s files when they match the plans as stored (returns ``True``),
        else from the table.
        """
        from huifang.callbacks.models import Plan, PlanEntry

        stored = plancache.counts(self._period_plans(self.stored_plans, spec, period))
        if self.state_dir is not None and plancache.load(
            self.con, self.state_dir, spec.code, period.label, stored
        ):
            return True
        schema = pa.schema([("stratum", pa.string()), ("client_id", pa.string()),
                            ("sampled", pa.bool_()), ("skipped", pa.bool_())])  # fmt: skip
        table = bulk.fetch_typed(
            f'SELECT p.stratum, e.client_id, e.sampled, e.skipped_at_cap FROM "{PlanEntry._meta.db_table}" e '
            f'JOIN "{Plan._meta.db_table}" p ON p.id = e.plan_id WHERE p.rule_code = %s AND p.period = %s',
            [spec.code, period.label], schema=schema,
        )  # fmt: skip
        self.con.register("known_entries_arrow", table)
        duck.run(
            self.con,
            "CREATE OR REPLACE TEMP TABLE known_entries AS SELECT * FROM known_entries_arrow",
        )
        self.con.unregister("known_entries_arrow")
        return False

    # ---------------------------------------------------------------- tasks

    def _ensure_open(self) -> None:
        """``open_t`` += the stored open tasks of the clients of ``drawn`` not loaded yet (CON-4).

        Only a drawn client's open tasks can take a merge, so an ordinary date reads the
        open tasks of its few thousand drawn clients, not the millions open overall. A
        client is loaded once (``open_seen``): a later rule sees the rows as the earlier
        rules left them. A draw of more than ``OPEN_WHOLE_AT`` unloaded clients (a
        period start) reads every open task at once instead, keeping the rows loaded.
        """
        if self.open_whole:
            return
        assert self.open_tasks is not None
        con = self.con
        missing = duck.table(
            con,
            "SELECT DISTINCT client_id FROM drawn WHERE client_id NOT IN (SELECT client_id FROM open_seen)",
        ).column("client_id")
        if len(missing) == 0:
            return
        whole = len(missing) > OPEN_WHOLE_AT
        rows = self.open_tasks(None if whole else missing.combine_chunks())
        con.register("open_rows_arrow", rows)
        duck.run(con, """
            INSERT INTO open_t (task_id, client_id, level, kind, branch_code, due, counts, cap_exception,
                                cap_reason, new, changed, orig_due, orig_counts)
            SELECT task_id, client_id, level, kind, branch_code, due, counts, FALSE, '', FALSE, FALSE, due, counts
            FROM open_rows_arrow WHERE client_id NOT IN (SELECT client_id FROM open_seen)""")  # fmt: skip
        con.unregister("open_rows_arrow")
        if whole:
            self.open_whole = True
            return
        con.register("open_missing_arrow", pa.table({"client_id": missing}))
        duck.run(con, "INSERT INTO open_seen SELECT client_id FROM open_missing_arrow")
        con.unregister("open_missing_arrow")

    def _groups(self, kind: str) -> None:
        """``grp``: one row per (client, level) of ``purp``, with its open task and its cap position.

        CON-3 counts contacts, so one rule that reaches a client at the company and at
        the branch level spends two of his callbacks: within a client, merged contacts
        that start counting come first, then new ones (by level); ``over_cap`` marks a
        new contact that finds the cap already spent, ``starts_counting`` a merged
        uncounted contact that still finds room. Both hold only for capped rules.
        """
        duck.run(
            self.con,
            """
            CREATE OR REPLACE TEMP TABLE grp AS
            WITH g AS (
                SELECT g.client_id, g.level, g.branch_code, g.due, g.opens_at, o.task_id, o.counts,
                       coalesce(capc.n, 0) AS n, o.task_id IS NOT NULL AND NOT o.counts AS uncounted
                FROM (SELECT client_id, level, any_value(branch_code) AS branch_code, min(due) AS due,
                             max(opens_at) AS opens_at
                      FROM purp GROUP BY client_id, level) g
                LEFT JOIN open_t o ON o.client_id = g.client_id AND o.level = g.level AND o.kind = ?
                LEFT JOIN capc ON capc.client_id = g.client_id),
            r AS (
                SELECT *,
                       row_number() OVER (PARTITION BY client_id, task_id IS NULL, uncounted ORDER BY level) AS i,
                       count(*) FILTER (WHERE uncounted) OVER (PARTITION BY client_id) AS m
                FROM g)
            SELECT client_id, level, branch_code, due, opens_at, task_id, counts, n,
                   uncounted AND n + i - 1 < ? AS starts_counting,
                   task_id IS NULL AND n + least(m, greatest(? - n, 0)) + i - 1 >= ? AS over_cap
            FROM r""",
            [kind, self.max, self.max, self.max],
        )

    def _merge_parts(self, spec: RuleSpec, period: Period, summary: RuleSummary) -> None:
        """``_merge``, separately for the rows whose ``cap_exempt`` overrides the rule's (CON-3).

        A population marks rows the cap exemption does not cover (the credit-change
        part of MRG-6, ``population_sales.CAP_EXEMPT_PART``); NULL keeps the rule's.
        """
        con = self.con
        if not _count(con, "SELECT count(*) FROM drawn WHERE cap_exempt IS DISTINCT FROM ? "
                      "AND cap_exempt IS NOT NULL", [spec.cap_exempt]):  # fmt: skip
            self._merge(spec, period, summary)
            return
        duck.run(con, "CREATE OR REPLACE TEMP TABLE drawn_all AS SELECT * FROM drawn")
        for exempt in (True, False):
            duck.run(con, "CREATE OR REPLACE TEMP TABLE drawn AS SELECT * FROM drawn_all "
                     "WHERE coalesce(cap_exempt, ?) = ?", [spec.cap_exempt, exempt])  # fmt: skip
            self._merge(replace(spec, cap_exempt=exempt), period, summary)

    def _merge(self, spec: RuleSpec, period: Period, summary: RuleSummary) -> None:
        """CON-4 one open task per (client, level, kind); CON-3 the cap for new capped tasks."""
        con, p = self.con, spec.params
        starts = [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT start FROM drawn WHERE start IS NOT NULL"
            ).fetchall()
        ]
        dues = {s: due_date(unit=p.deadline.unit, count=p.deadline.count, start=s, period_end=period.end)
                for s in starts}  # fmt: skip
        con.register("dues_arrow", pa.table({"start": pa.array(list(dues), pa.date32()),
                                             "due": pa.array(list(dues.values()), pa.date32())}))  # fmt: skip
        duck.run(con, "CREATE OR REPLACE TEMP TABLE purp AS SELECT d.*, coalesce(u.due, CAST(? AS DATE)) AS due "
                 "FROM drawn d LEFT JOIN dues_arrow u USING (start)", [period.end])  # fmt: skip
        con.unregister("dues_arrow")
        kind = p.kind
        capped = not spec.cap_exempt
        self._ensure_open()
        self._groups(kind)
        fresh = _count(con, "SELECT count(*) FROM grp WHERE task_id IS NULL")
        first = self.next_task_id(fresh)
        reason = f"{spec.spec_id}: 季度回访已达 {self.max} 次上限且无可合并的未完成任务 (CON-3)"
        duck.run(con, """
            INSERT INTO open_t BY NAME
            SELECT ? + row_number() OVER (ORDER BY client_id, level) - 1 AS task_id, client_id, level, ? AS kind,
                   branch_code, due, ? AS counts, ? AND over_cap AS cap_exception,
                   CASE WHEN ? AND over_cap THEN ? ELSE '' END AS cap_reason, TRUE AS new, TRUE AS changed,
                   opens_at
            FROM grp WHERE task_id IS NULL""",
            [first, kind, capped, capped, capped, reason])  # fmt: skip
        summary.created += fresh
        summary.merged += _count(con, "SELECT count(*) FROM grp WHERE task_id IS NOT NULL")
        summary.cap_exceptions += _count(
            con,
            "SELECT count(*) FROM open_t o JOIN grp g ON o.client_id = g.client_id AND o.level = g.level "
            "AND o.kind = ? WHERE g.task_id IS NULL AND o.cap_exception",
            [kind],
        )
        # merged: the earlier due date wins; a capped purpose makes an uncapped contact count (below the cap);
        # the task opens when the last cooling-off of its purposes ends (PROD-*, AMAC Art. 29–31)
        duck.run(
            con,
            """
            UPDATE open_t SET due = least(open_t.due, g.due), opens_at = greatest(open_t.opens_at, g.opens_at),
                   counts = open_t.counts OR (? AND g.starts_counting), changed = TRUE
            FROM grp g WHERE g.task_id = open_t.task_id""",
            [capped],
        )
        duck.run(
            con,
            """
            INSERT INTO capc SELECT DISTINCT client_id, 0 FROM grp
            WHERE client_id NOT IN (SELECT client_id FROM capc)""",
        )
        if (
            capped
        ):  # CON-3: every new capped contact counts, and every merged one that starts counting
            duck.run(con, """
                UPDATE capc SET n = capc.n + g.added
                FROM (SELECT client_id, count(*) AS added FROM grp WHERE task_id IS NULL OR starts_counting
                      GROUP BY client_id) g
                WHERE g.client_id = capc.client_id""")  # fmt: skip
        purposes = duck.table(con, """
            SELECT o.task_id, p.key, ? AS rule_code, ? AS rule_id, p.stratum, ? AS period,
                   CAST(? AS DATE) AS business_date, p.due AS due_date, ? AS cap_exempt, p.facts
            FROM purp p JOIN open_t o ON o.client_id = p.client_id AND o.level = p.level AND o.kind = ?""",
            [spec.code, spec.spec_id, period.label, self.day, spec.cap_exempt, kind])  # fmt: skip
        self.batch.purposes.append(purposes)
        duck.run(con, "INSERT INTO done_keys SELECT key FROM purp")
