"""STOCK-1: existing clients listed for data verification (SPEC §4 row STOCK-1, 004 §12(2)).

No feed carries this list: branches and head office list clients in
``VerificationListEntry``. The nightly run loads the entries listed on or before the
business date that are not yet a purpose — a small table — from the database as
Arrow, into the ``cand`` shape of ``population.CAND``: one purpose per entry, keyed
``<rule code>:<entry id>``, starting on the day it was listed (the deadline counts
from the listing).
"""

from __future__ import annotations

import datetime as dt

import duckdb

from huifang.callbacks import population
from huifang.core import bulk, duck
from huifang.policy import kinds

COLUMNS = ["entry_id", "client_id", "branch_code", "listed_on", "reason", "listed_by"]


def verification_list(
    con: duckdb.DuckDBPyConnection, code: str, p: kinds.DataVerificationCallback, day: dt.date
) -> None:
    """``cand``: every entry listed on or before ``day`` not yet turned into a purpose (STOCK-1)."""
    from huifang.callbacks.models import Purpose, VerificationListEntry

    entries = bulk.fetch(
        f'SELECT e.id, e.client_id, e.branch_id, e.listed_on, e.reason, e.listed_by '
        f'FROM "{VerificationListEntry._meta.db_table}" e WHERE e.listed_on <= %s AND NOT EXISTS '
        f'(SELECT 1 FROM "{Purpose._meta.db_table}" p WHERE p.key = %s || CAST(e.id AS VARCHAR(20)))',
        [day, f"{code}:"], names=COLUMNS,
    )  # fmt: skip
    population.empty(con)
    if not entries.num_rows:
        return
    company = p.level == "company"
    con.register("listed_arrow", entries)
    duck.run(con, f"""
        INSERT INTO cand (client_id, branch_code, level, stratum, start, facts, key)
        SELECT client_id, branch_code, ? AS level, {"''" if company else "branch_code"} AS stratum,
               CAST(listed_on AS DATE) AS start,
               json_object('entry_id', entry_id, 'reason', reason, 'listed_on', CAST(listed_on AS DATE),
                           'listed_by', listed_by)::VARCHAR AS facts,
               ? || ':' || CAST(entry_id AS VARCHAR) AS key
        FROM listed_arrow ORDER BY entry_id""", ["company" if company else "branch", code])  # fmt: skip
    con.unregister("listed_arrow")
