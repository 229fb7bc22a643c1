"""Small brokerages as feed rows, imported and run through ``huifang run`` in this process."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from django.core.management import call_command

from huifang.callbacks.models import Task
from huifang.feeds.tests import feedkit

Row = dict[str, Any]


def branches(*codes: str) -> list[Row]:
    rows = [
        {"branch_code": c, "name": f"{c}营业部", "region_code": "R1", "region_name": "华北分公司"}
        for c in codes
    ]
    return rows + [{"branch_code": "HQCC", "name": "客户服务中心", "unit_kind": "call_center"}]


def staff(staff_id: str, branch: str, position: str, **extra: Any) -> Row:
    return {
        "staff_id": staff_id,
        "name": f"员工{staff_id}",
        "branch_code": branch,
        "position": position,
        **extra,
    }


def client(client_id: str, branch: str, opened: str, **extra: Any) -> Row:
    return {
        "client_id": client_id,
        "name": f"客户{client_id}",
        "client_type": "individual",
        "branch_code": branch,
        "open_date": opened,
        "last_trade_date": "2026-09-01",
        **extra,
    }


def run(
    tmp: Path, day: dt.date | str, feed: dict[str, list[Row]] | None = None
) -> tuple[int, str, str]:
    """``huifang run --date D [--feeds DIR]``: (exit code, stdout, stderr)."""
    day = dt.date.fromisoformat(day) if isinstance(day, str) else day
    args = ["--date", day.isoformat()]
    if feed is not None:
        directory = feedkit.write_feed(tmp / f"feed-{day}", feed)
        args += ["--feeds", str(directory)]
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("run", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def purposes() -> set[tuple[str, str, str, str]]:
    """(client, rule, level, due date) of every purpose."""
    return {
        (t.client_id, p.rule_code, t.level, p.due_date.isoformat())
        for t in Task.objects.prefetch_related("purposes")
        for p in t.purposes.all()
    }
