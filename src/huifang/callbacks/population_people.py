"""Populations of IMP-1, ADV-1, BRK-4 and TX-1 (SPEC §4, §9 BRK-4), in DuckDB like ``population``.

Each function writes ``cand`` (``population.BASE``): one row per obligation found on the
business date, with a ``key`` that makes the purpose unique (a re-run finds nothing new).
A rule at ``company_and_branch`` level (IMP-1) gives each member one row per level; its
keys then name the level, as ABN-1..3's do.

Staff targets (BRK-4): a callback whose target is a broker — a staff member, not a client —
carries ``'S:' || staff_id`` (``STAFF_PREFIX``) in ``cand.client_id``, so grouping, the
CON-4 merge into an open task and the keys work unchanged. Such a rule is exempt from the
quarterly cap (CON-3 counts callbacks per *client*; ``engine.rule_specs``), and
``services`` translates at the database boundary: an open task with ``target_staff`` is
loaded as ``'S:' || target_staff_id`` and a new one is written with ``client`` NULL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from django.conf import settings

from huifang.callbacks import classcache, population
from huifang.callbacks.rules import Period
from huifang.core import duck
from huifang.policy import kinds

STAFF_PREFIX = "S:"
LEVELS = {
    "company": ["company"],
    "branch": ["branch"],
    "company_and_branch": ["company", "branch"],
}
# TX-1 lost clients: a client who passed the threshold up to a month ago (a missed
# run) still gets his callback, created late; one lost longer than that is SMALL-1's
# dormant client — enabling TX-1 does not call back every long-lost client at once.
LOST_LOOKBACK_DAYS = 31


def targets_staff(p: kinds.Obligation) -> bool:
    """BRK-4: the callback's target is the broker himself (a staff member), not a client."""
    return isinstance(p, kinds.PopulationCallback) and p.population == "brokers"


def _emit(
    con: duckdb.DuckDBPyConnection,
    members: str,
    params: Sequence[Any],
    prefix: str,
    level: str,
) -> None:
    """``cand`` from ``members`` (client_id, branch_code, start, facts, target), one row per level.

    The key is ``prefix:target`` for one level, ``prefix:level:target`` for two. A staff
    target's row is cap-exempt whatever the rule says (CON-3 counts callbacks per client).
    """
    levels = LEVELS[level]
    tail = "lv.level || ':' || m.target" if len(levels) > 1 else "m.target"
    population._cand(con, f"""
        WITH m AS ({members}), lv AS (SELECT unnest(?::VARCHAR[]) AS level)
        SELECT m.client_id, m.branch_code, lv.level,
               CASE WHEN lv.level = 'company' THEN '' ELSE m.branch_code END,
               m.start, m.facts, ? || ':' || {tail},
               CASE WHEN starts_with(m.client_id, ?) THEN TRUE END
        FROM m CROSS JOIN lv""", [*params, levels, prefix, STAFF_PREFIX], extra=("cap_exempt",))  # fmt: skip


# ---------------------------------------------------------------- classes (CORE-1, IMP-1)


def load_classes(con: duckdb.DuckDBPyConnection, scheme: str) -> None:
    """``klass`` (scheme, client_id, class_code): the stored classes of ``scheme``, loaded once a run.

    Only the standards the effective rules name are read (CORE-1 and SMALL-1: CLS-1,
    IMP-1: CLS-8.important), each the first time a rule needs it.
    """
    duck.run(
        con,
        "CREATE TEMP TABLE IF NOT EXISTS klass (scheme VARCHAR, client_id VARCHAR, class_code VARCHAR)",
    )
    duck.run(con, "CREATE TEMP TABLE IF NOT EXISTS klass_schemes (scheme VARCHAR)")
    if con.execute("SELECT count(*) FROM klass_schemes WHERE scheme = ?", [scheme]).fetchall()[0][
        0
    ]:
        return
    rows = classcache.load(con, scheme, Path(settings.DATA_DIR) / "state" / "classes")
    if rows.num_rows:
        con.register(
            "klass_arrow",
            rows.cast(pa.schema([("client_id", pa.string()), ("class_code", pa.string())])),
        )
        duck.run(
            con, "INSERT INTO klass SELECT ?, client_id, class_code FROM klass_arrow", [scheme]
        )
        con.unregister("klass_arrow")
    duck.run(con, "INSERT INTO klass_schemes VALUES (?)", [scheme])


def class_members(
    con: duckdb.DuckDBPyConnection, code: str, p: kinds.ClassCallback, period: Period, day: dt.date
) -> None:
    """CORE-1, IMP-1: open accounts whose stored class under ``p.standard`` is one of ``p.classes``.

    IMP-1 reads the company standard CLS-8.important (commission, assets or monthly
    trading, 004 2019 rules §3) as the classification stored it. ``include_designated``
    ("其它有重大战略合作意义的客户") adds nobody yet: the §1 feeds carry no
    designated-strategic flag and no screen lists such clients (see STATUS.md).
    """
    members = """
        SELECT cl.client_id, cl.branch_code, CAST(? AS DATE) AS start,
               json_object('class', k.class_code, 'standard', k.scheme)::VARCHAR AS facts, cl.client_id AS target
        FROM cl JOIN klass k ON k.client_id = cl.client_id AND k.scheme = ?
        WHERE list_contains(?, k.class_code)"""
    _emit(con, members, [day, p.standard, list(p.classes)], f"{code}:{period.label}", p.level)


# ---------------------------------------------------------------- standing populations (ADV-1, BRK-4)


def standing(
    con: duckdb.DuckDBPyConnection, root: Path, code: str, p: kinds.PopulationCallback,
    period: Period, day: dt.date,
) -> None:  # fmt: skip
    """A standing population called back once a period: ADV-1 (advisory contract), BRK-4 (brokers)."""
    if p.population == "advisory_contract":
        advisory_clients(con, root, code, p, period, day)
    elif p.population == "brokers":
        brokers(con, code, p, period, day)
    else:  # MRG-7 margin clients, IB-1: other families
        population.empty(con)


def advisory_clients(
    con: duckdb.DuckDBPyConnection, root: Path, code: str, p: kinds.PopulationCallback,
    period: Period, day: dt.date,
) -> None:  # fmt: skip
    """ADV-1: open accounts whose latest client row up to ``day`` has ``advisory_contract`` (§1).

    Read from ``cs``, the carried client state: a contract ended (a later row with
    ``false``) leaves the population.
    """
    members = """
        SELECT cl.client_id, cl.branch_code, CAST(? AS DATE) AS start,
               json_object('advisory_contract', TRUE, 'adviser', cl.adviser_staff_id)::VARCHAR AS facts,
               cl.client_id AS target
        FROM cs JOIN cl USING (client_id) WHERE cs.advisory_contract"""
    _emit(con, members, [day], f"{code}:{period.label}", p.level)


def brokers(
    con: duckdb.DuckDBPyConnection,
    code: str,
    p: kinds.PopulationCallback,
    period: Period,
    day: dt.date,
) -> None:
    """BRK-4: every broker in office on ``day`` (position ``broker``, no leave date yet).

    The target is the broker (``'S:' || staff_id``); the task's branch is his branch.
    """
    members = """
        SELECT ? || staff_id AS client_id, branch_code, CAST(? AS DATE) AS start,
               json_object('staff_id', staff_id, 'position', position, 'client_id', client_id)::VARCHAR AS facts,
               ? || staff_id AS target
        FROM st WHERE position = 'broker' AND (leave_date IS NULL OR leave_date > ?)"""
    params = [STAFF_PREFIX, day, STAFF_PREFIX, day]
    _emit(con, members, params, f"{code}:{period.label}", p.level)


# ---------------------------------------------------------------- TX-1


def trades(
    con: duckdb.DuckDBPyConnection, root: Path, code: str, p: kinds.TradeCallback, part: str,
    day: dt.date,
) -> None:  # fmt: skip
    """TX-1 (004 template §2.2): ``part`` "trade" or "lost" (``engine.rule_specs`` splits the rule).

    - trade: every client who traded on ``day`` (the trades partition of the date); the
      callback is due ``trade_within_hours`` after it (24 h: the next day).
    - lost: a client whose last trade (else his opening, as §1 dormancy) is more than
      ``lost_after_months`` ago; the callback is due ``lost_within_working_days`` after
      the day he became lost, once per spell without trades.
    """
    if part == "trade":
        files = population.partitions(root, "trades", day, day)
        if not files:
            return population.empty(con)
        members = f"""
            SELECT cl.client_id, cl.branch_code, CAST(? AS DATE) AS start,
                   json_object('trade_date', CAST(? AS DATE), 'trade_amount', t.amount,
                               'trade_count', t.n)::VARCHAR AS facts, cl.client_id AS target
            FROM (SELECT client_id, sum(trade_amount) AS amount, sum(trade_count) AS n
                  FROM {population.scan(files)} GROUP BY client_id) t JOIN cl USING (client_id)
            WHERE t.amount > 0 OR t.n > 0"""
        return _emit(con, members, [day, day], f"{code}:trade:{day}", p.level)
    members = """
        WITH r AS (SELECT *, CAST(coalesce(last_trade_date, open_date) + to_months(CAST(? AS INTEGER))
                                  + INTERVAL 1 DAY AS DATE) AS lost_since
                   FROM cl)
        SELECT client_id, branch_code, lost_since AS start,
               json_object('last_trade_date', last_trade_date, 'open_date', open_date, 'lost_since', lost_since,
                           'months', CAST(? AS INTEGER))::VARCHAR AS facts,
               client_id || ':' || CAST(lost_since AS VARCHAR) AS target
        FROM r WHERE lost_since BETWEEN ? AND ?"""
    since = day - dt.timedelta(days=LOST_LOOKBACK_DAYS)
    params = [p.lost_after_months, p.lost_after_months, since, day]
    _emit(con, members, params, f"{code}:lost", p.level)
