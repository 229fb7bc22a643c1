"""Feed directories written from Python rows, and exact snapshots of what an import leaves.

``standard_feed()`` is a small but complete brokerage day (every file of SPEC §1,
every personal column filled); ``write_feed`` writes it as CSV, XLSX or Parquet.
``db_state()`` and ``archive_state()`` capture the database and the archive with
batch ids replaced by a stable label, so that two runs can be compared exactly.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from huifang.feeds.schema import FEEDS

Row = dict[str, Any]
Feed = dict[str, list[Row]]

DAY1 = dt.date(2026, 10, 13)
DAY2 = dt.date(2026, 10, 14)

GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
GB32100_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
GB32100_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


# ---------------------------------------------------------------- identifiers


def id_card(seq: int, birth: str = "19800101", region: str = "110105") -> str:
    """A valid 18-character resident ID number (GB 11643 check digit)."""
    body = f"{region}{birth}{seq % 1000:03d}"
    total = sum(int(d) * w for d, w in zip(body, GB11643_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def wrong_check(value: str, alphabet: str = "0123456789X") -> str:
    """The same number with another (hence wrong) check character."""
    other = next(c for c in alphabet if c != value[-1])
    return value[:-1] + other


def uscc(seq: int) -> str:
    """A valid unified social credit code (GB 32100 check character)."""
    body = f"91110105{seq:09d}"
    total = sum(GB32100_ALPHABET.index(c) * w for c, w in zip(body, GB32100_WEIGHTS, strict=True))
    return body + GB32100_ALPHABET[(31 - total % 31) % 31]


def mobile(seq: int) -> str:
    return f"139{seq:08d}"


# ---------------------------------------------------------------- feeds

SURNAMES = "赵钱孙李周吴郑冯陈褚卫蒋沈韩杨朱秦尤许何吕施孔曹严华金魏陶姜"
GIVEN = "锦绣长风明月清泉松涛云帆雪梅晓岚子墨书瑶"


def person_name(seq: int) -> str:
    """A distinct three-character Chinese name (distinct for seq < 31 * 190)."""
    s = SURNAMES[seq % len(SURNAMES)]
    g = seq // len(SURNAMES)
    return s + GIVEN[g % len(GIVEN)] + GIVEN[(g // len(GIVEN) + 3) % len(GIVEN)] + f"{seq}"


def branches() -> list[Row]:
    return [
        {
            "branch_code": "A01",
            "name": "甲一营业部",
            "region_code": "R1",
            "region_name": "华北分公司",
        },
        {
            "branch_code": "A02",
            "name": "甲二营业部",
            "region_code": "R1",
            "region_name": "华北分公司",
        },
        {
            "branch_code": "B01",
            "name": "乙一营业部",
            "region_code": "R2",
            "region_name": "华东分公司",
        },
        {"branch_code": "HQCC", "name": "客户服务中心", "unit_kind": "call_center"},
    ]


def staff() -> list[Row]:
    return [
        {"staff_id": "S001", "name": "上官婉儿", "branch_code": "A01", "position": "manager",
         "hire_date": "2015-03-01", "phone": "010-66001001"},
        {"staff_id": "S002", "name": "司马相如", "branch_code": "A01", "position": "adviser",
         "hire_date": "2018-07-01", "qualification": "投资顾问", "phone": "13800138002"},
        {"staff_id": "S003", "name": "欧阳修远", "branch_code": "A02", "position": "broker",
         "broker_cert_no": "B2020001", "client_id": "K0003", "phone": "13800138003"},
        {"staff_id": "S004", "name": "诸葛明亮", "branch_code": "HQCC", "position": "agent",
         "hire_date": "2020-01-01"},
        {"staff_id": "S005", "name": "东方既白", "branch_code": "B01", "position": "adviser",
         "hire_date": "2019-05-05", "phone": "021-55005005"},
    ]  # fmt: skip


def client(seq: int, **extra: Any) -> Row:
    """A fully filled individual client ``K{seq:04d}``."""
    row: Row = {
        "client_id": f"K{seq:04d}",
        "name": person_name(seq),
        "client_type": "individual",
        "branch_code": ("A01", "A02", "B01")[seq % 3],
        "open_date": (dt.date(2015, 1, 1) + dt.timedelta(days=seq * 37 % 3600)).isoformat(),
        "fund_account": f"F{seq:08d}",
        "id_type": "id_card",
        "id_number": id_card(seq, birth=f"{1950 + seq % 50}0{1 + seq % 9}1{seq % 9}"),
        "gender": "MF"[seq % 2],
        "mobile": mobile(seq),
        "phone": f"010-8{seq:07d}",
        "email": f"kehu{seq}@example.cn",
        "address": f"北京市东城区第{seq}胡同{seq % 90 + 1}号院",
        "postcode": "100010",
        "status": "normal",
        "adviser_staff_id": "S002" if seq % 3 != 2 else "S005",
        "risk_level": f"C{1 + seq % 5}",
        "risk_assessed_on": "2025-06-30",
        "has_margin_account": "true" if seq % 4 == 0 else "false",
        "online_trading": "1",
        "bank_transfer": "0",
        "last_trade_date": "2026-10-09",
    }
    row.update(extra)
    return row


def institution(seq: int, **extra: Any) -> Row:
    row = client(seq, client_type="institution", id_type="business_license", id_number=uscc(seq))
    row.update(name=f"北京{person_name(seq)}科技有限公司", gender=None, agent_name="慕容复兴",
               agent_scope="交易及资金划转", agent_until="2027-12-31")  # fmt: skip
    row.update(extra)
    return row


def standard_feed() -> Feed:
    """One complete, valid day: every file, every personal column."""
    clients = [client(i) for i in range(1, 8)] + [institution(8)]
    clients[0]["introducer_staff_id"] = "S003"
    clients[1]["broker_staff_id"] = "S003"
    return {
        "branches": branches(),
        "staff": staff(),
        "clients": clients,
        "assets": [
            {"client_id": c["client_id"], "total_assets": f"{100000 * i}.50", "cash": "1000.00",
             "market_value": f"{100000 * i - 1000}.50", "margin_debt": "0"}
            for i, c in enumerate(clients, start=1)
        ],
        "commissions": [
            {"client_id": "K0001", "period": "2026-09", "net_commission": "1234.56"},
            {"client_id": "K0002", "period": "2025", "net_commission": "20000"},
        ],
        "flows": [
            {"client_id": "K0001", "kind": "deposit", "amount": "500000", "flow_time": "2026-10-13T10:15:00"},
            {"client_id": "K0002", "kind": "withdraw", "amount": "1000.5", "flow_time": "2026-10-13 14:00:00+08:00"},
            {"client_id": "K0004", "kind": "custody_in", "amount": "0.01"},
        ],
        "trades": [
            {"client_id": "K0001", "trade_amount": "800000", "trade_count": "12", "warrant_amount": "1000"},
            {"client_id": "K0005", "trade_amount": "10", "trade_count": "1"},
        ],
        "product_purchases": [
            {"purchase_id": "P001", "client_id": "K0001", "product_code": "SF0001",
             "product_name": "稳健一号集合资产管理计划", "product_type": "asset_management",
             "product_risk_level": "R3", "amount": "1000000", "sales_staff_id": "S002",
             "purchase_time": "2026-10-13T09:31:00", "has_third_party_adviser": "false",
             "amac_registered": "true"},
            {"purchase_id": "P002", "client_id": "K0002", "product_code": "PF0002",
             "product_name": "成长私募证券投资基金", "product_type": "private_fund",
             "product_risk_level": "R5", "amount": "3000000"},
        ],
        "margin_events": [
            {"event_id": "M001", "client_id": "K0004", "event_type": "margin_call",
             "security_code": "600000", "detail": f"已电话通知 {mobile(4)} 补仓",
             "event_time": "2026-10-13T15:05:00"},
        ],
        "account_events": [
            {"event_id": "E001", "client_id": "K0006", "event_type": "password_reset",
             "detail": f"证件 {id_card(6, birth='19560716')} 本人临柜", "staff_id": "S001",
             "event_time": "2026-10-13T11:00:00"},
            {"event_id": "E002", "client_id": "K0007", "event_type": "large_asset_change",
             "amount": "2500000.00"},
        ],
    }  # fmt: skip


def day2_feed() -> Feed:
    """The next day: changed and new rows only, new events (for history and crash tests)."""
    day1 = standard_feed()
    by_id = {c["client_id"]: c for c in day1["clients"]}
    k1 = dict(by_id["K0001"], risk_level="C5")
    k2 = dict(by_id["K0002"], mobile=mobile(902))
    k3 = dict(by_id["K0003"], branch_code="B01", adviser_staff_id="S006")
    return {
        "branches": [{"branch_code": "B02", "name": "乙二营业部", "region_code": "R2"}],
        "staff": [
            {"staff_id": "S006", "name": "令狐冲霄", "branch_code": "B02", "position": "adviser",
             "hire_date": "2026-10-01", "phone": "13800138006"},
            dict(day1["staff"][4], leave_date="2026-10-14"),
        ],
        "clients": [k1, k2, k3, client(9, branch_code="B02", adviser_staff_id="S006")],
        "assets": [{"client_id": "K0001", "total_assets": "1.00"},
                   {"client_id": "K0009", "total_assets": "5000"}],
        "trades": [{"client_id": "K0009", "trade_amount": "5000", "trade_count": "3"}],
        "product_purchases": [
            {"purchase_id": "P003", "client_id": "K0009", "product_code": "TR0003",
             "product_name": "信托计划三号", "product_type": "trust", "product_risk_level": "R4",
             "amount": "1000000.00", "sales_staff_id": "S006"},
        ],
        "margin_events": [
            {"event_id": "M002", "client_id": "K0004", "event_type": "margin_call_resolved",
             "event_time": "2026-10-14T10:00:00"},
        ],
        "account_events": [
            {"event_id": "E003", "client_id": "K0003", "event_type": "agent_changed",
             "staff_id": "S006"},
        ],
    }  # fmt: skip


def pii_values(feed: Feed) -> list[str]:
    """Every plain personal value of a feed's clients and staff (SPEC §1: none in the archive)."""
    personal = {
        "clients": ("name", "id_number", "mobile", "phone", "email", "address", "agent_name"),
        "staff": ("name", "phone"),
    }
    return sorted(
        {
            str(row[col])
            for name, cols in personal.items()
            for row in feed.get(name, [])
            for col in cols
            if row.get(col)
        }
    )


# ---------------------------------------------------------------- writing


def columns_of(name: str, rows: Sequence[Row]) -> list[str]:
    """The spec's columns that the rows use, in spec order, then any unknown ones."""
    used: dict[str, None] = {}
    for row in rows:
        used.update(dict.fromkeys(row))
    spec = [c.name for c in FEEDS[name].columns] if name in FEEDS else []
    return [c for c in spec if c in used] + [c for c in used if c not in spec]


def csv_text(
    name: str, rows: Sequence[Row], columns: Sequence[str] | None = None, newline: str = "\n"
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)
    cols = list(columns or columns_of(name, rows))
    writer.writerow(cols)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row.get(c) for c in cols])
    return out.getvalue()


def write_csv(
    directory: Path,
    name: str,
    rows: Sequence[Row],
    *,
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
    bom: bool = False,
    newline: str = "\n",
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.csv"
    data = csv_text(name, rows, columns, newline).encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def write_xlsx(directory: Path, name: str, rows: Sequence[Row]) -> Path:
    import openpyxl

    directory.mkdir(parents=True, exist_ok=True)
    book = openpyxl.Workbook()
    sheet = book.active
    cols = columns_of(name, rows)
    sheet.append(cols)
    for row in rows:
        sheet.append([row.get(c) for c in cols])
    path = directory / f"{name}.xlsx"
    book.save(path)
    return path


def write_parquet(directory: Path, name: str, rows: Sequence[Row]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory.mkdir(parents=True, exist_ok=True)
    cols = columns_of(name, rows)
    table = pa.table({c: [row.get(c) for row in rows] for c in cols})
    path = directory / f"{name}.parquet"
    pq.write_table(table, path)
    return path


def write_feed(directory: Path, feed: Feed, formats: dict[str, str] | None = None) -> Path:
    """Write every file of ``feed`` (CSV unless ``formats`` says xlsx/parquet)."""
    directory.mkdir(parents=True, exist_ok=True)
    writers = {"csv": write_csv, "xlsx": write_xlsx, "parquet": write_parquet}
    for name, rows in feed.items():
        writers[(formats or {}).get(name, "csv")](directory, name, rows)
    return directory


def clone(feed: Feed) -> Feed:
    return copy.deepcopy(feed)


# ---------------------------------------------------------------- running


def run_command(*args: str) -> tuple[int, str, str]:
    """``huifang import …`` in this process: (exit code, stdout, stderr)."""
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def database_url() -> str:
    """The test database as ``HUIFANG_DATABASE_URL`` (call once pytest-django created it)."""
    from huifang.core.testing import database_url as url

    return url()


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUIFANG_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="huifang.settings.embedded",
        HUIFANG_DATA_DIR=str(settings.DATA_DIR),
        HUIFANG_DATABASE_URL=database_url(),
        HUIFANG_SECRET_KEY=settings.SECRET_KEY,
        HUIFANG_FIELD_KEY=settings.HUIFANG_FIELD_KEY,
        HUIFANG_HASH_KEY=settings.HUIFANG_HASH_KEY,
        HUIFANG_TODAY=settings.HUIFANG_TODAY or "",
    )
    env.update(extra)
    return env


def run_subprocess(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``huifang …`` as the scheduler runs it: a separate process on the same database."""
    script = Path(sys.executable).with_name("huifang")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "huifang.cli"]
    return subprocess.run(
        [*command, *args],
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# ---------------------------------------------------------------- snapshots


def _batch_labels() -> dict[int, str]:
    from huifang.feeds.models import ImportBatch

    return {
        b.pk: f"{b.business_date}:{b.content_sha256[:16]}"
        for b in ImportBatch.objects.exclude(status="rejected")
    }


def _rows(model: Any, labels: dict[int, str], decrypt: Iterable[str] = ()) -> list[Row]:
    from huifang.core import pii

    pk = model._meta.pk.attname
    rows = []
    for row in model.objects.order_by(pk).values():
        for key in list(row):
            if key.endswith("batch_id") or key == "replaces_id":
                row[key] = labels.get(row[key]) if row[key] is not None else None
        for key in decrypt:
            row[key] = pii.decrypt(row[key])
        rows.append(row)
    return rows


def db_state() -> dict[str, Any]:
    """Everything an import writes, with batch ids as labels and random ciphertexts decrypted."""
    from huifang.accounts.models import User
    from huifang.clients.models import (
        AccountEvent,
        Client,
        ClientChange,
        MarginEvent,
        ProductPurchase,
    )
    from huifang.feeds.models import ImportBatch
    from huifang.org.models import Region, Staff, Unit

    labels = _batch_labels()
    changes = _rows(ClientChange, labels)
    for row in changes:
        del row["id"], row["changed_at"]
    batches = [
        {
            "label": labels[b.pk],
            "business_date": b.business_date,
            "status": b.status,
            "archive_state": b.archive_state,
            "content_sha256": b.content_sha256,
            "replaces": labels.get(b.replaces_id) if b.replaces_id else None,
            "files": b.files,
            "row_counts": b.row_counts,
            "encoding": b.encoding,
        }
        for b in ImportBatch.objects.exclude(status="rejected").order_by("business_date", "id")
    ]
    return {
        "audit": _feed_audit(labels),
        "regions": _rows(Region, labels),
        "units": _rows(Unit, labels),
        "staff": _rows(Staff, labels, decrypt=["phone"]),
        "clients": _rows(Client, labels, decrypt=["pii"]),
        "client_changes": sorted(changes, key=lambda r: sorted((k, str(v)) for k, v in r.items())),
        "purchases": _rows(ProductPurchase, labels),
        "margin_events": _rows(MarginEvent, labels),
        "account_events": _rows(AccountEvent, labels),
        "users": list(User.objects.order_by("username").values_list("username", "is_active")),
        "batches": batches,
    }


def _feed_audit(labels: dict[int, str]) -> list[Row]:
    """The audit rows of imports (NFR-2), without ids, times and chain hashes."""
    from huifang.audit.models import AuditEvent

    rows = []
    for event in AuditEvent.objects.filter(action__startswith="feed.").order_by("id"):
        if event.action == "feed.reject":
            continue
        before = dict(event.before or {})
        if "replaced_batch" in before:
            before["replaced_batch"] = labels.get(before["replaced_batch"])
        after = {k: v for k, v in (event.after or {}).items() if k != "replaced_root"}
        rows.append(
            {
                "action": event.action,
                "actor": event.actor,
                "batch": labels.get(int(event.object_id)),
                "before": before,
                "after": after,
                "changeset_table": event.changeset_table,
                "changeset_rows": event.changeset_rows,
            }
        )
    return rows


def archive_files(root: Path | None = None) -> dict[str, bytes]:
    """Every file of the archive (``.staging`` excluded) by relative path, raw bytes."""
    base = Path(root or settings.ARCHIVE_DIR)
    if not base.exists():
        return {}
    return {
        str(p.relative_to(base)): p.read_bytes()
        for p in sorted(base.rglob("*"))
        if p.is_file() and p.relative_to(base).parts[0] != ".staging"
    }


def archive_state() -> dict[str, Any]:
    """The archive tree with batch ids (in manifests and ``.replaced/<id>``) as labels."""
    labels = _batch_labels()
    state: dict[str, Any] = {}
    for rel, data in archive_files().items():
        parts = list(Path(rel).parts)
        if parts[0] == ".replaced":
            parts[1] = labels.get(int(parts[1]), parts[1])
        if parts[-1] == "manifest.json":
            manifest = json.loads(data)
            manifest["batch"] = labels.get(manifest["batch"], manifest["batch"])
            state["/".join(parts)] = manifest
        else:
            state["/".join(parts)] = data
    return state


def staging_leftovers() -> list[str]:
    staging = Path(settings.ARCHIVE_DIR) / ".staging"
    if not staging.exists():
        return []
    return sorted(str(p.relative_to(staging)) for p in staging.rglob("*"))


def wipe() -> None:
    """Delete everything an import writes, database and data dir (within one test)."""
    tables = [
        "audit_auditevent",
        "clients_clientchange",
        "clients_productpurchase",
        "clients_marginevent",
        "clients_accountevent",
        "clients_client",
        "org_staff",
        "org_unit",
        "org_region",
    ]
    # The audit trail and ClientChange are append-only (NFR-2): only the documented
    # maintenance mode may reset them.
    from huifang.audit.triggers import maintenance

    with maintenance(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608
        cursor.execute("UPDATE feeds_importbatch SET replaces_id = NULL")
        cursor.execute("DELETE FROM feeds_importbatch")
    shutil.rmtree(settings.ARCHIVE_DIR, ignore_errors=True)
