"""Populations of the sold-product, margin and account-event families (SPEC §1, §4 PROD-*, MRG-*, SPC-2).

Like ``population``, each family writes the temp table ``cand`` from the business
date's archived feed rows joined to ``cl`` (open accounts, latest row up to the date):

- PROD-1..7: ``product_purchases`` of non-public products (§1: every type but
  ``public_fund``). The client's risk level and birth date are those of his latest
  archived row; the import derives a missing birth date from an 18-digit ID number
  (the archive keeps only its hash). A purpose opens when the cooling-off ends:
  ``opens_at`` (TIMESTAMP WITH TIME ZONE) = purchase time + ``cooling_off_hours``;
  the deadline counts from that moment's date in Asia/Shanghai (AMAC Art. 29–31: a
  callback inside the cooling-off is invalid).
- MRG-1..6: ``margin_events`` of the rule's event types; MRG-7: every client with a
  margin (credit) account.
- SPC-2: ``account_events`` of the rule's event types.

Timestamps in the archive are UTC without a zone (``feeds.validate.typed_expr``);
here they become TIMESTAMPTZ at once, and local dates are taken in Asia/Shanghai
explicitly, whatever the session's time zone.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from huifang.callbacks.population import _cand, empty, partitions, scan
from huifang.callbacks.rules import Period
from huifang.core import duck
from huifang.policy import kinds
from huifang.policy.models import PolicyVersion

TZ = "Asia/Shanghai"
NON_PUBLIC_EXCLUDED = ("public_fund",)  # §1: every product type but public_fund is non-public
# PROD-1 (000 代销细则 §4(1)): a fund special account counts with a third-party adviser,
# a private fund when registered with the AMAC; other listed types (trust) always.
SPECIAL_QUALIFIER = {
    "fund_special_account": "has_third_party_adviser",
    "private_fund": "amac_registered",
}
# MRG-1 "application received by HQ": §1 carries it as a ``credit_application`` margin event.
EVENT_FILES = {
    "margin_events": "margin_events",
    "applications": "margin_events",
    "account_events": "account_events",
}
# Event rules this module evaluates (ABN-4 stays with ``population.events``).
EVENT_RULES = frozenset({"MRG-1", "MRG-2", "MRG-3", "MRG-4", "MRG-5", "MRG-6", "SPC-2"})
# CON-3 exempts only "the abnormal-trade part of MRG-6": where the policy lists MRG-6 as
# exempt, its other events (credit change) still count toward the quarterly cap.
CAP_EXEMPT_PART = {"MRG-6": ("abnormal_trade",)}


def _levels(level: str) -> list[str]:
    return ["company", "branch"] if level == "company_and_branch" else [level]


LEVELS_SQL = "CROSS JOIN (SELECT unnest(?::VARCHAR[]) AS level) lv"
STRATUM_SQL = "CASE WHEN lv.level = 'company' THEN '' ELSE cl.branch_code END"


def _local(ts: str) -> str:
    """The Asia/Shanghai wall-clock text of a TIMESTAMPTZ expression (for facts)."""
    return f"strftime(timezone('{TZ}', {ts}), '%Y-%m-%dT%H:%M:%S+08:00')"


# ---------------------------------------------------------------- clients


def _client_rows(con: duckdb.DuckDBPyConnection, root: Path, day: dt.date, only: str) -> None:
    """``sales_cl``: risk level, birth date and margin flags of each client's latest row up to ``day``.

    Read from ``cs``, the carried client state (``clientstate``); ``only`` restricts the
    clients (a subquery of client ids), or is empty for all.
    """
    where = f"WHERE client_id IN ({only})" if only else ""
    duck.run(con, f"""
        CREATE OR REPLACE TEMP TABLE sales_cl AS
        SELECT client_id, risk_level, birth_date, coalesce(has_margin_account, FALSE) AS has_margin_account,
               credit_open_date
        FROM cs {where}""")  # fmt: skip


# ---------------------------------------------------------------- PROD-1..7


def _purchases(con: duckdb.DuckDBPyConnection, root: Path, day: dt.date) -> bool:
    """``purch``: the business date's non-public purchases with the client's facts; False if none.

    ``bought_at`` is the purchase time, or — when the feed lacks it — the end of the
    business date (the latest it can be, so the cooling-off is never cut short).
    """
    files = partitions(root, "product_purchases", day, day)
    if not files:
        return False
    if _built_for(con, "purch", day):  # the seven PROD rules of a date share one build
        return True
    duck.run(con, f"""
        CREATE OR REPLACE TEMP TABLE purch_raw AS
        SELECT CAST(purchase_id AS VARCHAR) AS purchase_id, CAST(client_id AS VARCHAR) AS client_id,
               CAST(product_code AS VARCHAR) AS product_code, CAST(product_name AS VARCHAR) AS product_name,
               CAST(product_type AS VARCHAR) AS product_type,
               CAST(product_risk_level AS VARCHAR) AS product_risk_level,
               CAST(amount AS DECIMAL(18, 2)) AS amount, CAST(sales_staff_id AS VARCHAR) AS sales_staff_id,
               CAST(purchase_time AS TIMESTAMP) AT TIME ZONE 'UTC' AS purchase_time,
               coalesce(CAST(has_third_party_adviser AS BOOLEAN), FALSE) AS has_third_party_adviser,
               coalesce(CAST(amac_registered AS BOOLEAN), FALSE) AS amac_registered
        FROM {scan(files)} WHERE product_type NOT IN (SELECT unnest(?::VARCHAR[]))""",
        [list(NON_PUBLIC_EXCLUDED)])  # fmt: skip
    _client_rows(con, root, day, "SELECT client_id FROM purch_raw")
    end_of_day = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    duck.run(con, f"""
        CREATE OR REPLACE TEMP TABLE purch AS
        SELECT p.*, cl.branch_code, c.risk_level AS client_risk_level, c.birth_date,
               coalesce(p.purchase_time, timezone('{TZ}', CAST(? AS TIMESTAMP))) AS bought_at,
               CASE WHEN c.birth_date IS NOT NULL THEN date_sub('year', c.birth_date,
                    CAST(timezone('{TZ}', coalesce(p.purchase_time, timezone('{TZ}', CAST(? AS TIMESTAMP))))
                         AS DATE)) END AS age
        FROM purch_raw p JOIN cl USING (client_id) LEFT JOIN sales_cl c USING (client_id)""",
        [end_of_day, end_of_day - dt.timedelta(microseconds=1)])  # fmt: skip
    duck.run(
        con, "CREATE OR REPLACE TEMP TABLE purch_built AS SELECT CAST(? AS DATE) AS day", [day]
    )
    return True


def _built_for(con: duckdb.DuckDBPyConnection, table: str, day: dt.date) -> bool:
    """Whether ``table`` was built on this connection for ``day`` (its ``<table>_built`` marker)."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?",
        [f"{table}_built"],
    ).fetchall()[0][0]
    if not found:
        return False
    return bool(
        con.execute(f"SELECT count(*) FROM {table}_built WHERE day = ?", [day]).fetchall()[0][0]
    )


def _criterion(p: kinds.ProductCallback) -> tuple[str, list[Any]]:
    """The SQL condition over ``purch`` that makes a purchase a member of a PROD rule, and its params."""
    if p.criterion == "special_product":
        qualified = " ".join(f"WHEN '{t}' THEN {column}" for t, column in SPECIAL_QUALIFIER.items())
        return (
            f"(list_contains(?, product_type) AND CASE product_type {qualified} ELSE TRUE END)",
            [list(p.product_types)],
        )
    if p.criterion == "risk_mismatch":
        # §1: a client of level Cn fits products up to Rn; with no assessed level nothing fits
        return (
            "(client_risk_level IS NULL OR "
            "CAST(substr(product_risk_level, 2) AS INTEGER) > CAST(substr(client_risk_level, 2) AS INTEGER))",
            [],
        )
    if p.criterion == "high_risk_product":
        return "list_contains(?, product_risk_level)", [list(p.high_risk_levels)]
    if p.criterion == "elderly_client":
        return (
            ("coalesce(age >= ?, FALSE)", [p.min_age]) if p.min_age is not None else ("FALSE", [])
        )
    if p.criterion == "large_amount":
        return ("amount >= ?", [p.min_amount]) if p.min_amount is not None else ("FALSE", [])
    if p.criterion == "named_by_committee":
        return "FALSE", []  # no feed of §1 carries the review committee's list (STATUS.md)
    return "list_contains(?, product_type)", [list(p.product_types)]


def product_rules(version: PolicyVersion) -> list[kinds.ProductCallback]:
    """The enabled PROD rules of ``version`` other than PROD-7 (what "every other" excludes)."""
    found = []
    for rule in version.rules.filter(enabled=True, kind="product_callback").order_by("position"):
        params = kinds.parse(rule.kind, rule.params)
        if isinstance(params, kinds.ProductCallback) and params.criterion != "other_non_public":
            found.append(params)
    return found


def products(
    con: duckdb.DuckDBPyConnection, root: Path, code: str, p: kinds.ProductCallback,
    period: Period, day: dt.date, version: PolicyVersion,
) -> None:  # fmt: skip
    """PROD-1..7: the business date's non-public purchases that meet the rule's criterion.

    PROD-7 ("every other purchase", 000 代销细则 §5) takes the purchases no other
    enabled PROD rule of the version selects; it is sampled by client (CON-7, CON-8),
    so a client with several such purchases on the date is one member, with the facts
    of his first purchase and the ids of all. One purpose per (rule, purchase)
    otherwise: all PROD purposes of a purchase merge into one task (CON-4).
    """
    if not _purchases(con, root, day):
        return empty(con)
    where, params = _criterion(p)
    if p.criterion == "other_non_public":
        for other in product_rules(version):
            sql, more = _criterion(other)
            where += f" AND NOT {sql}"
            params += more
    # PROD-7 samples clients: one member per client, opening after his last purchase's cooling-off
    one_per_client = p.coverage.sampled
    _cand(con, f"""
        WITH m AS (
            SELECT *, CASE WHEN ? THEN max(bought_at) OVER (PARTITION BY client_id) ELSE bought_at END
                          + to_hours(CAST(? AS BIGINT)) AS opens_at,
                   list(purchase_id) OVER (PARTITION BY client_id ORDER BY bought_at, purchase_id
                       ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS purchase_ids
            FROM purch WHERE {where}
            QUALIFY NOT ? OR row_number() OVER (PARTITION BY client_id ORDER BY bought_at, purchase_id) = 1)
        SELECT cl.client_id, cl.branch_code, lv.level, {STRATUM_SQL},
               CAST(timezone('{TZ}', m.opens_at) AS DATE),
               json_object('purchase_id', m.purchase_id, 'product_code', m.product_code,
                           'product_name', m.product_name, 'product_type', m.product_type,
                           'amount', m.amount, 'product_risk_level', m.product_risk_level,
                           'client_risk_level', m.client_risk_level, 'age', m.age, 'birth_date', m.birth_date,
                           'purchase_time', {_local("m.purchase_time")},
                           'has_third_party_adviser', m.has_third_party_adviser,
                           'amac_registered', m.amac_registered, 'sales_staff_id', m.sales_staff_id,
                           'cooling_off_hours', CAST(? AS INTEGER), 'opens_at', {_local("m.opens_at")},
                           'purchase_ids', CASE WHEN ? THEN m.purchase_ids END)::VARCHAR,
               ? || ':' || m.purchase_id, m.opens_at
        FROM m JOIN cl USING (client_id) {LEVELS_SQL}""",
        [one_per_client, p.cooling_off_hours, *params, one_per_client, p.cooling_off_hours,
         one_per_client, code, _levels(p.level)],
        extra=("opens_at",))  # fmt: skip


# ---------------------------------------------------------------- MRG-1..6, SPC-2


def events(
    con: duckdb.DuckDBPyConnection, root: Path, code: str, spec_id: str, p: kinds.EventCallback,
    day: dt.date,
) -> None:  # fmt: skip
    """MRG-1..6, SPC-2: the business date's margin or account events of the rule's types.

    The deadline counts from the event's date (Asia/Shanghai) when the feed gives its
    time, else from the business date. The facts keep the event and what the rule
    asks of the contact: a recorded phone (MRG-1, MRG-2) or a follow-up until an
    event (MRG-3: ``margin_call_resolved``; one in the same feed is noted at once, a
    later one by ``followups``). ``cap_exempt`` is FALSE for the part of a rule that
    CON-3 does not exempt (``CAP_EXEMPT_PART``), else NULL: the rule's own setting.
    """
    parts, params = [], []
    for name in sorted({EVENT_FILES[s] for s in p.sources if s in EVENT_FILES}):
        files = partitions(root, name, day, day)
        if not files:
            continue
        margin = name == "margin_events"
        parts.append(f"""
            SELECT CAST(event_id AS VARCHAR) AS event_id, CAST(client_id AS VARCHAR) AS client_id,
                   CAST(event_type AS VARCHAR) AS event_type, CAST(detail AS VARCHAR) AS detail,
                   CAST(event_time AS TIMESTAMP) AT TIME ZONE 'UTC' AS event_time, '{name}' AS source,
                   {"CAST(security_code AS VARCHAR)" if margin else "CAST(NULL AS VARCHAR)"} AS security_code,
                   {"CAST(NULL AS DECIMAL(18, 2))" if margin else "CAST(amount AS DECIMAL(18, 2))"} AS amount,
                   {"CAST(NULL AS VARCHAR)" if margin else "CAST(staff_id AS VARCHAR)"} AS staff_id
            FROM {scan(files)} WHERE list_contains(?, event_type)""")
        params.append(list(p.event_types))
    if not parts:
        return empty(con)
    exempt_part = CAP_EXEMPT_PART.get(spec_id)
    exempt = "CAST(NULL AS BOOLEAN)"
    if exempt_part is not None:
        exempt = "CASE WHEN list_contains(?, e.event_type) THEN NULL ELSE FALSE END"
    resolved = "NULL"
    if p.follow_until:
        _resolved_today(con, root, day, p.follow_until)
        resolved = (
            "(SELECT json_object('event_id', r.event_id, 'event_time', r.event_time_local) "
            "FROM resolved_today r WHERE r.client_id = e.client_id "
            "AND (r.event_time IS NULL OR e.event_time IS NULL OR r.event_time >= e.event_time) "
            "ORDER BY r.event_time NULLS LAST, r.event_id LIMIT 1)"
        )
    _cand(con, f"""
        WITH e AS ({" UNION ALL ".join(parts)})
        SELECT cl.client_id, cl.branch_code, lv.level, {STRATUM_SQL},
               least(coalesce(CAST(timezone('{TZ}', e.event_time) AS DATE), CAST(? AS DATE)), CAST(? AS DATE)),
               json_object('event_id', e.event_id, 'event_type', e.event_type, 'source', e.source,
                           'event_time', {_local("e.event_time")}, 'security_code', e.security_code,
                           'amount', e.amount, 'staff_id', e.staff_id, 'detail', e.detail,
                           'recorded_phone', CAST(? AS BOOLEAN), 'methods', CAST(? AS VARCHAR[]),
                           'handled_by', CAST(? AS VARCHAR), 'follow_until', nullif(CAST(? AS VARCHAR), ''),
                           'resolved', {resolved})::VARCHAR,
               ? || ':' || e.event_id, {exempt}
        FROM e JOIN cl USING (client_id) {LEVELS_SQL}""",
        [*params, day, day, p.recorded_phone, list(p.methods), p.handled_by, p.follow_until, code,
         *([list(exempt_part)] if exempt_part is not None else []), _levels(p.level)],
        extra=("cap_exempt",))  # fmt: skip


def _resolved_today(
    con: duckdb.DuckDBPyConnection, root: Path, day: dt.date, event_type: str
) -> None:
    """``resolved_today``: the business date's events that end a follow-up (MRG-3)."""
    files = partitions(root, "margin_events", day, day)
    if not files:
        duck.run(con, "CREATE OR REPLACE TEMP TABLE resolved_today (event_id VARCHAR, client_id VARCHAR, "
                 "event_time TIMESTAMPTZ, event_time_local VARCHAR)")  # fmt: skip
        return
    duck.run(con, f"""
        CREATE OR REPLACE TEMP TABLE resolved_today AS
        SELECT CAST(event_id AS VARCHAR) AS event_id, CAST(client_id AS VARCHAR) AS client_id,
               CAST(event_time AS TIMESTAMP) AT TIME ZONE 'UTC' AS event_time,
               {_local("CAST(event_time AS TIMESTAMP) AT TIME ZONE 'UTC'")} AS event_time_local
        FROM {scan(files)} WHERE event_type = ?""", [event_type])  # fmt: skip


def resolutions(
    con: duckdb.DuckDBPyConnection, root: Path, day: dt.date, event_type: str
) -> list[tuple[str, str, str | None]]:
    """The business date's events of ``event_type``: (event_id, client_id, local event time)."""
    _resolved_today(con, root, day, event_type)
    rows = con.execute(
        "SELECT event_id, client_id, event_time_local FROM resolved_today ORDER BY event_id"
    ).fetchall()
    return [(str(e), str(c), t) for e, c, t in rows]


# ---------------------------------------------------------------- MRG-7


def margin_clients(
    con: duckdb.DuckDBPyConnection, root: Path, code: str, p: kinds.PopulationCallback,
    period: Period, day: dt.date,
) -> None:  # fmt: skip
    """MRG-7: every client with a margin (credit) account — §1 ``has_margin_account``, or a
    ``credit_open_date`` on or before the date — once per period (002 §14)."""
    _client_rows(con, root, day, "")
    _cand(con, f"""
        SELECT cl.client_id, cl.branch_code, lv.level, {STRATUM_SQL}, CAST(? AS DATE),
               json_object('has_margin_account', c.has_margin_account,
                           'credit_open_date', c.credit_open_date)::VARCHAR,
               ? || ':' || cl.client_id
        FROM cl JOIN sales_cl c USING (client_id) {LEVELS_SQL}
        WHERE c.has_margin_account OR c.credit_open_date <= ?""",
        [day, f"{code}:{period.label}", _levels(p.level), day])  # fmt: skip
