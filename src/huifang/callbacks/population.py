"""Populations of the callback rules, evaluated in DuckDB over the Parquet archive (SPEC §4).

Each family writes the temp table ``cand`` (client_id, branch_code, level, stratum,
start, facts, key): one row per obligation found on the business date. ``facts`` is
the JSON of what triggered it (opening, ranking and amount, event, departed staff);
``key`` makes a purpose unique, so a re-run of the date finds nothing new. Values a
rule supplies go in as ``?`` parameters; only archive file names are literals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from huifang.callbacks import clientstate
from huifang.callbacks.rules import Period
from huifang.core import duck
from huifang.policy import kinds

DEPARTURE_LOOKBACK_DAYS = 62  # a leave date reported up to two months late still counts
RELATION = (
    "CASE WHEN {row}.introducer_staff_id = {staff}.staff_id THEN 'introducer' "
    "WHEN {row}.broker_staff_id = {staff}.staff_id THEN 'broker' ELSE 'adviser' END AS relation"
)
# The first seven columns every family fills (``_cand`` inserts them by name); later
# columns are optional and NULL unless a family sets them (``extra`` of ``_cand``).
BASE = ("client_id", "branch_code", "level", "stratum", "start", "facts", "key")
# Optional: ``opens_at`` (TIMESTAMP WITH TIME ZONE) when the contact may start — the end of a
# cooling-off (PROD-*); ``cap_exempt`` overriding the rule's CON-3 exemption for a row (MRG-6).
CAND = (
    "client_id VARCHAR, branch_code VARCHAR, level VARCHAR, stratum VARCHAR, start DATE, "
    "facts VARCHAR, key VARCHAR, opens_at TIMESTAMPTZ, cap_exempt BOOLEAN"
)


def partitions(root: Path, name: str, start: dt.date | None, end: dt.date) -> list[Path]:
    """The archived files of ``name`` dated within [start, end], oldest first."""
    return [
        path
        for day, path in duck.archived(root, name)
        if (start is None or day >= start) and day <= end
    ]


scan = duck.read_parquet


def load_state(
    con: duckdb.DuckDBPyConnection, root: Path, day: dt.date, state_dir: Path | None = None
) -> None:
    """``cl``: each client's latest archived row up to ``day`` (open accounts only); ``st``: staff.

    ``cs`` (``clientstate``) holds every client's latest row, last archived trade and
    latest assets; with ``state_dir`` it is carried from the previous run's snapshot.
    ``cl.last_trade_date`` is the later of the feed's date and the archive's last
    trade (§1 dormancy).
    """
    clientstate.build(con, root, day, state_dir)
    duck.run(con, """
        CREATE OR REPLACE TEMP TABLE cl AS
        SELECT client_id, branch_code, open_date, introducer_staff_id, broker_staff_id,
               adviser_staff_id, greatest(last_trade_date, archive_last_trade) AS last_trade_date
        FROM cs
        WHERE coalesce(status, 'normal') <> 'closed' AND (close_date IS NULL OR close_date > ?)""",
        [day])  # fmt: skip
    clients = partitions(root, "clients", None, day)
    staff = partitions(root, "staff", None, day)
    if staff:
        duck.run(con, f"""
            CREATE OR REPLACE TEMP TABLE st AS
            SELECT staff_id, branch_code, position, CAST(leave_date AS DATE) AS leave_date,
                   CAST(client_id AS VARCHAR) AS client_id
            FROM {scan(staff)}
            QUALIFY row_number() OVER (PARTITION BY staff_id ORDER BY "date" DESC, source_line DESC) = 1""")  # fmt: skip
    else:
        duck.run(con, "CREATE OR REPLACE TEMP TABLE st (staff_id VARCHAR, branch_code VARCHAR, "
                 "position VARCHAR, leave_date DATE, client_id VARCHAR)")  # fmt: skip
    _departed_links(con, clients, day)


def _departed_links(con: duckdb.DuckDBPyConnection, clients: list[Path], day: dt.date) -> None:
    """``dep_links``: who each recent leaver introduced, brokered or served the day before he left.

    DEP-1 must not miss the clients handed over to a successor in the same or a
    later feed: their latest row no longer names the leaver, the row in force the
    day before his ``leave_date`` does. Only the history of clients ever linked to a
    recent leaver is ordered.
    """
    duck.run(con, "CREATE OR REPLACE TEMP TABLE dep_links (staff_id VARCHAR, leave_date DATE, "
             "client_id VARCHAR, relation VARCHAR)")  # fmt: skip
    since = day - dt.timedelta(days=DEPARTURE_LOOKBACK_DAYS)
    leavers = con.execute(
        "SELECT count(*) FROM st WHERE leave_date BETWEEN ? AND ?", [since, day]
    ).fetchall()[0][0]
    if not clients or not leavers:
        return
    duck.run(con, f"""
        INSERT INTO dep_links
        WITH leavers AS (SELECT staff_id, leave_date FROM st WHERE leave_date BETWEEN ? AND ?),
        h AS (SELECT client_id, "date" AS d, source_line,
                     CAST(introducer_staff_id AS VARCHAR) AS introducer_staff_id,
                     CAST(broker_staff_id AS VARCHAR) AS broker_staff_id,
                     CAST(adviser_staff_id AS VARCHAR) AS adviser_staff_id
              FROM {scan(clients)}),
        touched AS (SELECT DISTINCT h.client_id FROM h JOIN leavers l
                    ON l.staff_id IN (h.introducer_staff_id, h.broker_staff_id, h.adviser_staff_id)),
        ranged AS (SELECT *, lead(d) OVER (PARTITION BY client_id ORDER BY d, source_line) AS until
                   FROM h WHERE client_id IN (SELECT client_id FROM touched))
        SELECT l.staff_id, l.leave_date, r.client_id, {RELATION.format(row="r", staff="l")}
        FROM ranged r JOIN leavers l
          ON l.staff_id IN (r.introducer_staff_id, r.broker_staff_id, r.adviser_staff_id)
        WHERE r.d < l.leave_date AND (r.until IS NULL OR r.until >= l.leave_date)""", [since, day])  # fmt: skip


def _cand(
    con: duckdb.DuckDBPyConnection,
    select: str,
    params: Sequence[Any] = (),
    extra: Sequence[str] = (),
) -> None:
    """``cand`` := the rows of ``select``: the ``BASE`` columns, then ``extra`` ones, in order."""
    empty(con)
    columns = ", ".join((*BASE, *extra))
    duck.run(con, f"INSERT INTO cand ({columns}) {select}", list(params))


def empty(con: duckdb.DuckDBPyConnection) -> None:
    duck.run(con, f"CREATE OR REPLACE TEMP TABLE cand ({CAND})")


def new_accounts(
    con: duckdb.DuckDBPyConnection,
    code: str,
    p: kinds.NewAccountCallback,
    period: Period,
    day: dt.date,
) -> None:
    """NEW-1..3: accounts opened in the period up to ``day`` (NEW-1: the last 31 days), by introducer."""
    start = day - dt.timedelta(days=31) if period.kind == "day" else period.start
    broker = (
        "(cl.broker_staff_id IS NOT NULL OR coalesce(cl.introducer_staff_id IN "
        "(SELECT staff_id FROM st WHERE position = 'broker'), FALSE))"
    )
    who = {"broker": broker, "not_broker": f"NOT {broker}", "any": "TRUE"}[p.introduced_by]
    company = p.level == "company"
    week_end = p.deadline.start == "week_end"
    params: list[Any] = ["company" if company else "branch"]
    start_sql = "open_date"
    if week_end:
        start_sql = "CAST(? AS DATE)"
        params.append(period.end)
    _cand(con, f"""
        SELECT client_id, branch_code, ? AS level, {"''" if company else "branch_code"} AS stratum,
               {start_sql} AS start,
               json_object('open_date', open_date, 'introducer', introducer_staff_id,
                           'broker', broker_staff_id)::VARCHAR AS facts,
               ? || ':' || client_id AS key
        FROM cl WHERE open_date BETWEEN ? AND ? AND {who}""",
        [params[0], *params[1:], _key(code, period), start, day])  # fmt: skip


def _key(code: str, period: Period) -> str:
    """Sampled and periodic rules key by period; event rules by the event alone."""
    return code if period.kind == "day" else f"{code}:{period.label}"


def asset_threshold(
    con: duckdb.DuckDBPyConnection, root: Path, code: str, p: kinds.AssetThresholdCallback,
    period: Period, day: dt.date,
) -> None:  # fmt: skip
    """KEY-1: clients whose latest assets snapshot up to ``day`` is at or above the threshold.

    Unless ``include_brokers``, a client who is himself a broker still in office is
    left out: head office calls him back once a year as a broker (BRK-4, 004 §11
    "每个客户（经纪人）每年一次").
    """
    brokers, params = "TRUE", list[Any]()
    if not p.include_brokers:
        brokers = (
            "cl.client_id NOT IN (SELECT client_id FROM st WHERE position = 'broker' "
            "AND client_id IS NOT NULL AND (leave_date IS NULL OR leave_date > ?))"
        )
        params = [day]
    _cand(con, f"""
        WITH a AS (SELECT client_id, total_assets, assets_date FROM cs WHERE total_assets IS NOT NULL)
        SELECT cl.client_id, cl.branch_code, ? AS level, {"''" if p.level == "company" else "cl.branch_code"},
               CAST(? AS DATE), json_object('assets', a.total_assets, 'assets_date', a.assets_date)::VARCHAR,
               ? || ':' || cl.client_id
        FROM cl JOIN a USING (client_id) WHERE a.total_assets >= ? AND {brokers}""",
        [_level(p.level), day, f"{code}:{period.label}", p.min_assets, *params])  # fmt: skip


def _level(level: str) -> str:
    return "company" if level == "company" else "branch"


def by_class(
    con: duckdb.DuckDBPyConnection, code: str, classes: Sequence[str], dormant_days: int | None,
    level: str, period: Period, day: dt.date, standard: str = "CLS-1",
) -> None:  # fmt: skip
    """SMALL-1 (classes or dormant) over ``klass``: the classes stored under ``standard``."""
    dormant = "FALSE"
    params: list[Any] = [_level(level), day]
    if dormant_days is not None:
        cutoff = day - dt.timedelta(days=dormant_days)
        # §1: no trade for at least N days; with no known trade, opened over N days ago
        dormant = "coalesce(cl.last_trade_date <= ?, cl.open_date < ?)"
        params += [cutoff, cutoff]
    _cand(con, f"""
        SELECT cl.client_id, cl.branch_code, ? AS level, {"''" if level == "company" else "cl.branch_code"},
               CAST(? AS DATE),
               json_object('class', k.class_code, 'last_trade_date', cl.last_trade_date)::VARCHAR,
               ? || ':' || cl.client_id
        FROM cl LEFT JOIN klass k ON k.client_id = cl.client_id AND k.scheme = ?
        WHERE list_contains(?, k.class_code) OR {dormant}""",
        [params[0], params[1], f"{code}:{period.label}", standard, list(classes), *params[2:]])  # fmt: skip


def top_n(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    code: str,
    p: kinds.TopNCallback,
    period: Period,
    day: dt.date,
) -> None:
    """ABN-1..3: the week's top N company-wide and per branch by inflow, outflow or trading."""
    measures: list[tuple[str, str, str]] = []  # (name, file, expression)
    if p.ranking in ("inflow", "outflow"):
        kinds_in = ("deposit", "custody_in", "designate_in")
        kinds_out = ("withdraw", "custody_out", "designate_out")
        chosen = kinds_in if p.ranking == "inflow" else kinds_out
        measures.append(
            (p.ranking, "flows", f"CASE WHEN kind IN {chosen!r} THEN amount ELSE 0 END")
        )
    elif p.ranking == "warrant":
        measures.append(("warrant", "trades", "coalesce(warrant_amount, 0)"))
    elif p.rank_warrants_separately:
        # §1: trade_amount includes warrant_amount; stocks rank without it, warrants alone
        measures.append(("traded", "trades", "trade_amount - coalesce(warrant_amount, 0)"))
        measures.append(("warrant", "trades", "coalesce(warrant_amount, 0)"))
    else:
        measures.append(("traded", "trades", "trade_amount"))
    parts = []
    params: list[Any] = []
    for name, file, expression in measures:
        files = partitions(root, file, period.start, day)
        if not files:
            continue
        sums = (
            f"SELECT client_id, sum({expression}) AS amount FROM {scan(files)} GROUP BY client_id"
        )
        for level, top, stratum in (
            ("company", p.top_company, "''"),
            ("branch", p.top_branch, "cl.branch_code"),
        ):
            if top <= 0:
                continue
            parts.append(f"""
                SELECT * FROM (
                  WITH ranked AS (
                    SELECT cl.client_id, cl.branch_code, {stratum} AS stratum, s.amount,
                           row_number() OVER (PARTITION BY {stratum} ORDER BY s.amount DESC, cl.client_id) AS rank
                    FROM ({sums}) s JOIN cl USING (client_id) WHERE s.amount > 0)
                  SELECT client_id, branch_code, '{level}' AS level, stratum, CAST(? AS DATE) AS start,
                         json_object('ranking', '{name}', 'rank', rank, 'amount', amount,
                                     'stratum', CASE WHEN stratum = '' THEN 'company' ELSE stratum END)::VARCHAR
                           AS facts,
                         ? || ':{name}:{level}:' || client_id AS key
                  FROM ranked WHERE rank <= ?)""")
            params += [day, f"{code}:{period.label}", top]
    if not parts:
        return empty(con)
    _cand(con, " UNION ALL ".join(f"({part})" for part in parts), params)


def events(
    con: duckdb.DuckDBPyConnection, root: Path, code: str, p: kinds.EventCallback, day: dt.date
) -> None:
    """ABN-4: the business date's events of the listed types (``abnormal_trade``)."""
    parts, params = [], []
    for source in ("margin_events", "account_events"):
        files = partitions(root, source, day, day) if source in p.sources else []
        if files:
            parts.append(f"""
                SELECT cl.client_id, cl.branch_code, ? AS level,
                       {"''" if p.level == "company" else "cl.branch_code"} AS stratum, CAST(? AS DATE) AS start,
                       json_object('event_id', e.event_id, 'event_type', e.event_type, 'source', ?)::VARCHAR,
                       ? || ':' || e.event_id
                FROM {scan(files)} e JOIN cl USING (client_id) WHERE list_contains(?, e.event_type)""")
            params += [_level(p.level), day, source, code, list(p.event_types)]
    if not parts:
        return empty(con)
    _cand(con, " UNION ALL ".join(parts), params)


def departures(
    con: duckdb.DuckDBPyConnection, code: str, p: kinds.DepartureCallback, day: dt.date
) -> None:
    """DEP-1: clients introduced, brokered or served by staff who left on or before ``day``.

    A client counts when his current row names the leaver, or when the row in force
    the day before the leave date did (handed over since: ``dep_links``); the facts
    name the relation and the adviser now in charge. One purpose per (leaver, client).
    """
    since = day - dt.timedelta(days=DEPARTURE_LOOKBACK_DAYS)
    _cand(con, f"""
        WITH links AS (
            SELECT st.staff_id, st.leave_date, cl.client_id, 0 AS pref, {RELATION.format(row="cl", staff="st")}
            FROM st JOIN cl ON st.staff_id IN (cl.introducer_staff_id, cl.broker_staff_id, cl.adviser_staff_id)
            WHERE st.leave_date BETWEEN ? AND ?
            UNION ALL
            SELECT staff_id, leave_date, client_id, 1 AS pref, relation FROM dep_links)
        SELECT cl.client_id, cl.branch_code, ? AS level, {"''" if p.level == "company" else "cl.branch_code"},
               links.leave_date,
               json_object('staff_id', links.staff_id, 'leave_date', links.leave_date,
                           'relation', links.relation, 'adviser_now', cl.adviser_staff_id)::VARCHAR,
               ? || ':' || links.staff_id || ':' || cl.client_id
        FROM links JOIN cl USING (client_id)
        QUALIFY row_number() OVER (PARTITION BY links.staff_id, cl.client_id ORDER BY links.pref) = 1""",
        [since, day, _level(p.level), code])  # fmt: skip
