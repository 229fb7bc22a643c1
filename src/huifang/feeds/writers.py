"""Writing a validated feed into the relational database through the bulk writer.

Organisation and events are upserted; clients are diffed against the database in
DuckDB so that only new and changed rows are written, each change of a field kept
in ``ClientChange`` (CLI-5) with personal values masked.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from huifang.clients.models import PII_FIELDS
from huifang.core import bulk, duck, pii
from huifang.feeds import protect
from huifang.feeds.readers import _ident

# Feed column -> database column of clients_client, in one place.
CLIENT_COLUMNS: dict[str, str] = {
    "client_id": "client_id",
    "name": "name",
    "client_type": "client_type",
    "branch_code": "branch_id",
    "open_date": "open_date",
    "fund_account": "fund_account",
    "id_type": "id_type",
    "birth_date": "birth_date",
    "gender": "gender",
    "postcode": "postcode",
    "status": "status",
    "introducer_staff_id": "introducer_id",
    "broker_staff_id": "broker_id",
    "adviser_staff_id": "adviser_id",
    "risk_level": "risk_level",
    "risk_assessed_on": "risk_assessed_on",
    "has_margin_account": "has_margin_account",
    "credit_open_date": "credit_open_date",
    "online_trading": "online_trading",
    "bank_transfer": "bank_transfer",
    "agent_name": "agent_name",
    "agent_scope": "agent_scope",
    "agent_until": "agent_until",
    "close_date": "close_date",
    "last_trade_date": "last_trade_date",
    "advisory_contract": "advisory_contract",
}
# CharFields are NOT NULL in Django's convention: empty text is "".
CLIENT_TEXT = {
    "name",
    "client_type",
    "fund_account",
    "id_type",
    "gender",
    "postcode",
    "status",
    "risk_level",
    "agent_name",
    "agent_scope",
}
CLIENT_TYPES = {
    "open_date": "DATE",
    "birth_date": "DATE",
    "risk_assessed_on": "DATE",
    "credit_open_date": "DATE",
    "agent_until": "DATE",
    "close_date": "DATE",
    "last_trade_date": "DATE",
    "has_margin_account": "BOOLEAN",
    "online_trading": "BOOLEAN",
    "bank_transfer": "BOOLEAN",
    "advisory_contract": "BOOLEAN",
}
PROTECTED = (
    "pii",
    "pii_digest",
    "id_number_hash",
    "mobile_hash",
    "id_number_masked",
    "mobile_masked",
)


@dataclass
class WriteContext:
    con: duckdb.DuckDBPyConnection
    batch_id: int
    day: dt.date
    actor: str
    now: dt.datetime
    present: dict[str, set[str]]
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def lap(self, name: str, began: float) -> float:
        """Record the time since ``began`` under ``name``; returns now."""
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - began
        return now


def write_units(ctx: WriteContext) -> None:
    """Regions and units from ``branches`` (absent optional columns keep their values)."""
    present = ctx.present["branches"]
    regions = duck.table(
        ctx.con,
        "SELECT region_code AS code, any_value(coalesce(region_name, region_code)) AS name "
        "FROM t_branches WHERE region_code IS NOT NULL GROUP BY region_code",
    )
    bulk.upsert(
        "org_region", regions, key=["code"], update=["name"] if "region_name" in present else []
    )
    units = duck.table(
        ctx.con,
        "SELECT branch_code AS code, name, region_code AS region_id, "
        "coalesce(unit_kind, 'branch') AS unit_kind FROM t_branches",
    )
    update = ["name"] + [
        db
        for feed, db in (("region_code", "region_id"), ("unit_kind", "unit_kind"))
        if feed in present
    ]
    ctx.counts["units"] = bulk.upsert("org_unit", units, key=["code"], update=update)


def write_staff(ctx: WriteContext) -> None:
    """Staff upserted; a leaver's user is deactivated (SPEC §1)."""
    from huifang.accounts.models import User
    from huifang.accounts.services import end_sessions_for_users

    present = ctx.present["staff"]
    table = duck.table(
        ctx.con,
        "SELECT staff_id, name, branch_code AS unit_id, position, hire_date, leave_date, "
        "coalesce(broker_cert_no, '') AS broker_cert_no, coalesce(qualification, '') AS qualification, "
        "phone, client_id, ? AS source_batch_id FROM t_staff ORDER BY staff_id",
        [ctx.batch_id],
    )
    phones = protect.encrypt_chunk(protect.field_key_bytes(), table.column("phone").to_pylist())
    table = table.set_column(
        table.column_names.index("phone"), "phone", pa.array(phones, pa.string())
    )
    optional = {"hire_date", "leave_date", "broker_cert_no", "qualification", "phone", "client_id"}
    update = [c for c in table.column_names if c not in optional or c in present]
    ctx.counts["staff"] = bulk.upsert("org_staff", table, key=["staff_id"], update=update)
    leavers = [
        s
        for s, d in ctx.con.execute(
            "SELECT staff_id, leave_date FROM t_staff WHERE leave_date IS NOT NULL"
        ).fetchall()
        if d <= ctx.day
    ]
    if leavers:
        leaving = list(
            User.objects.filter(staff_id__in=leavers, is_active=True).values_list("pk", flat=True)
        )
        ctx.counts["users_deactivated"] = User.objects.filter(pk__in=leaving).update(
            is_active=False
        )
        end_sessions_for_users(leaving)


def _feed_rows_sql(present: set[str]) -> str:
    """Feed clients in database shape; absent optional columns keep the database value."""
    parts = ["f.client_id"]
    for feed_col, db_col in CLIENT_COLUMNS.items():
        if feed_col == "client_id":
            continue
        default = _default(feed_col)
        value = f"f.{_ident(feed_col)}" if feed_col in present else f"c.{_ident(db_col)}"
        if default != "NULL":
            value = f"coalesce({value}, {default})"
        parts.append(f"{value} AS {_ident(db_col)}")
    return ", ".join(parts)


def _default(feed_col: str) -> str:
    """The database default of a client column, as SQL."""
    if feed_col == "status":
        return "'normal'"
    if feed_col in CLIENT_TEXT:
        return "''"
    if CLIENT_TYPES.get(CLIENT_COLUMNS[feed_col]) == "BOOLEAN":
        return "false"
    return "NULL"


def write_clients(ctx: WriteContext) -> None:
    """New clients inserted, changed ones updated with their history; unchanged ones untouched."""
    con = ctx.con
    began = time.perf_counter()
    _load_current(ctx)
    absent = [c for c in PII_FIELDS if c not in ctx.present["clients"]]
    if absent:
        _fill_absent_pii(ctx, absent)
    began = ctx.lap("clients_fetch_current", began)
    packed = pii.pack_sql(PII_FIELDS)
    duck.run(
        con,
        "CREATE OR REPLACE TABLE h_clients AS SELECT _line, client_id, "
        "hf_hash(id_number) AS id_number_hash, hf_hash(mobile) AS mobile_hash, "
        "hf_hash(phone) AS phone_hash, coalesce(hf_hash(packed), '') AS pii_digest, "
        "hf_mask(id_number) AS id_number_masked, hf_mask(mobile) AS mobile_masked, packed "
        f"FROM (SELECT *, {packed} AS packed FROM t_clients)",
    )
    began = ctx.lap("clients_hash", began)
    duck.run(
        con,
        f"CREATE OR REPLACE TABLE feed_rows AS SELECT {_feed_rows_sql(ctx.present['clients'])}, "
        "h.pii_digest, coalesce(h.id_number_hash, '') AS id_number_hash, coalesce(h.mobile_hash, '') AS mobile_hash, "
        "coalesce(h.id_number_masked, '') AS id_number_masked, coalesce(h.mobile_masked, '') AS mobile_masked, "
        "h.packed, c.client_id IS NULL AS is_new, c.pii_digest AS old_digest "
        "FROM t_clients f JOIN h_clients h USING (_line) LEFT JOIN cur c ON c.client_id = f.client_id",
    )
    tracked = [db for feed, db in CLIENT_COLUMNS.items() if feed != "client_id"]
    differs = " OR ".join(f"f.{_ident(c)} IS DISTINCT FROM c.{_ident(c)}" for c in tracked)
    duck.run(
        con,
        "CREATE OR REPLACE TABLE changed AS SELECT f.client_id FROM feed_rows f JOIN cur c USING (client_id) "
        f"WHERE {differs} OR f.pii_digest IS DISTINCT FROM c.pii_digest",
    )
    began = ctx.lap("clients_diff", began)
    _write_history(ctx, tracked)
    began = ctx.lap("clients_history", began)
    _write_client_rows(ctx)


def _fill_absent_pii(ctx: WriteContext, absent: list[str]) -> None:
    """A file without some personal columns keeps the stored values of existing clients."""
    rows = ctx.con.execute("SELECT client_id, pii FROM cur WHERE pii IS NOT NULL").fetchall()
    if not rows:
        return
    width = len(PII_FIELDS)
    values = [pii.unpack(pii.decrypt(token), width) for _client, token in rows]
    stored = pa.table(
        {"client_id": pa.array([r[0] for r in rows], pa.string())}
        | {
            name: pa.array([v[i] for v in values], pa.string())
            for i, name in enumerate(PII_FIELDS)
            if name in absent
        }
    )
    ctx.con.register("stored_pii", stored)
    assignments = ", ".join(f"{_ident(c)} = s.{_ident(c)}" for c in absent)
    duck.run(
        ctx.con,
        f"UPDATE t_clients SET {assignments} FROM stored_pii s WHERE t_clients.client_id = s.client_id",
    )
    ctx.con.unregister("stored_pii")
    # The archive must not see these values: hashes of them are computed like the others.


def _load_current(ctx: WriteContext) -> None:
    """The database rows of the feed's clients, typed like the feed (empty on a first load)."""
    columns = list(CLIENT_COLUMNS.values()) + ["pii", "pii_digest", "id_number_hash", "mobile_hash"]
    if bulk.table_is_empty("clients_client"):
        current = pa.table({c: pa.array([], pa.string()) for c in columns})
    else:
        keys = duck.table(ctx.con, "SELECT client_id FROM t_clients").column(0)
        current = bulk.fetch_by_keys("clients_client", "client_id", keys, columns)
    ctx.con.register("cur_arrow", current)
    casts = ", ".join(
        f"CAST({_ident(c)} AS {CLIENT_TYPES[c]}) AS {_ident(c)}"
        if c in CLIENT_TYPES
        else f"CAST({_ident(c)} AS VARCHAR) AS {_ident(c)}"
        for c in columns
    )
    duck.run(ctx.con, f"CREATE OR REPLACE TABLE cur AS SELECT {casts} FROM cur_arrow")
    ctx.con.unregister("cur_arrow")


def _write_history(ctx: WriteContext, tracked: list[str]) -> None:
    """One ClientChange row per changed field (CLI-5); personal values masked."""
    con = ctx.con
    unions = " UNION ALL ".join(
        f"SELECT f.client_id, {_lit(c)} AS field, CAST(c.{_ident(c)} AS VARCHAR) AS old_value, "
        f"CAST(f.{_ident(c)} AS VARCHAR) AS new_value FROM feed_rows f JOIN cur c USING (client_id) "
        f"JOIN changed USING (client_id) WHERE f.{_ident(c)} IS DISTINCT FROM c.{_ident(c)}"
        for c in tracked
    )
    rows = con.execute(f"{unions} ORDER BY client_id, field").fetchall()
    rows += _pii_changes(ctx)
    if not rows:
        ctx.counts["client_changes"] = 0
        return
    names = ["client_id", "field", "old_value", "new_value"]
    columns = list(zip(*rows, strict=True))
    table = pa.table(
        {
            n: pa.array([("" if v is None else str(v)) for v in col], pa.string())
            for n, col in zip(names, columns, strict=True)
        }
    )
    n = table.num_rows
    table = table.append_column("effective_date", pa.array([ctx.day] * n, pa.date32()))
    table = table.append_column(
        "changed_at", pa.array([ctx.now.replace(tzinfo=None)] * n, pa.timestamp("us"))
    )
    table = table.append_column("actor", pa.array([ctx.actor] * n, pa.string()))
    table = table.append_column("batch_id", pa.array([ctx.batch_id] * n, pa.int64()))
    ctx.counts["client_changes"] = bulk.insert("clients_clientchange", table)


def _pii_changes(ctx: WriteContext) -> list[tuple[str, str, str, str]]:
    """Changed personal fields of existing clients, found by decrypting the few changed rows."""
    rows = ctx.con.execute(
        "SELECT f.client_id, c.pii, f.packed FROM feed_rows f JOIN cur c USING (client_id) "
        "WHERE f.pii_digest IS DISTINCT FROM c.pii_digest"
    ).fetchall()
    changes = []
    masks = {"id_number": pii.mask_id_number, "mobile": pii.mask_mobile}
    for client_id, old_token, packed in rows:
        old = pii.unpack(pii.decrypt(old_token), len(PII_FIELDS))
        new = pii.unpack(packed, len(PII_FIELDS))
        for name, before, after in zip(PII_FIELDS, old, new, strict=True):
            if (before or None) != (after or None):
                mask = masks.get(name, pii.mask_text)
                changes.append((client_id, name, mask(before), mask(after)))
    return changes


def _write_client_rows(ctx: WriteContext) -> None:
    """New rows streamed into COPY while other cores encrypt; changed rows upserted."""
    con = ctx.con
    began = time.perf_counter()
    db_cols = ", ".join(f"f.{_ident(c)}" for c in CLIENT_COLUMNS.values())
    select = (
        f"SELECT {db_cols}, f.packed, f.pii_digest, f.id_number_hash, f.mobile_hash, "
        "f.id_number_masked, f.mobile_masked, {created} AS created_batch_id, "
        "CAST(? AS BIGINT) AS updated_batch_id FROM feed_rows f WHERE {where} ORDER BY f.client_id"
    )
    new = duck.table(
        con,
        select.format(created="CAST(? AS BIGINT)", where="f.is_new"),
        [ctx.batch_id, ctx.batch_id],
    )
    changed = duck.table(
        con,
        select.format(
            created="CAST(NULL AS BIGINT)", where="f.client_id IN (SELECT client_id FROM changed)"
        ),
        [ctx.batch_id],
    ).drop_columns(["created_batch_id"])
    began = ctx.lap("clients_select", began)
    ctx.counts["clients_new"] = bulk.insert(
        "clients_client",
        protect.encrypted_batches(new, source="packed", target="pii"),
        total=new.num_rows,
    )
    began = ctx.lap("clients_encrypt_insert", began)
    rows = (
        pa.concat_tables(protect.encrypted_batches(changed, source="packed", target="pii"))
        if changed.num_rows
        else changed
    )
    ctx.counts["clients_changed"] = bulk.upsert("clients_client", rows, key=["client_id"])
    ctx.lap("clients_update", began)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


EVENT_TABLES = {
    "product_purchases": (
        "clients_productpurchase",
        "purchase_id",
        (
            "purchase_id, client_id, product_code, product_name, product_type, product_risk_level, amount, "
            "sales_staff_id, purchase_time, has_third_party_adviser, amac_registered"
        ),
    ),
    "margin_events": (
        "clients_marginevent",
        "event_id",
        (
            "event_id, client_id, event_type, coalesce(security_code, '') AS security_code, "
            "coalesce(detail, '') AS detail, event_time"
        ),
    ),
    "account_events": (
        "clients_accountevent",
        "event_id",
        (
            "event_id, client_id, event_type, amount, coalesce(detail, '') AS detail, event_time, staff_id"
        ),
    ),
}


def write_events(ctx: WriteContext, name: str) -> None:
    """Purchases and events, upserted by their id with the business date and batch."""
    table, key, columns = EVENT_TABLES[name]
    rows = duck.table(
        ctx.con,
        f"SELECT {columns}, CAST(? AS DATE) AS business_date, CAST(? AS BIGINT) AS batch_id FROM t_{name} ORDER BY {key}",
        [ctx.day, ctx.batch_id],
    )
    ctx.counts[name] = bulk.upsert(table, rows, key=[key])


def drop_replaced_events(ctx: WriteContext, old_batch_id: int) -> None:
    """On ``--replace``: events of the replaced batch that the new feed no longer has."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table, _key, _cols in EVENT_TABLES.values():
            cursor.execute(f"DELETE FROM {table} WHERE batch_id = %s", [old_batch_id])  # noqa: S608
