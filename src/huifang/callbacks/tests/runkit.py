"""Small brokerages as feed rows, imported and run through ``huifang run`` in this process."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import connection

from huifang.callbacks.models import NightlyRun, Plan, PlanEntry, Purpose, Task, TaskEvent
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


# ---------------------------------------------------------------- exact views of the outcome


def tasks() -> set[tuple[str, str, str, str, str]]:
    """(client, level, kind, due date, purposes as SPEC §12 ``a;b``) of every task."""
    return {
        (t.client_id, t.level, t.kind, t.due_date.isoformat(),
         ";".join(sorted({p.rule_code for p in t.purposes.all()})))
        for t in Task.objects.prefetch_related("purposes")
    }  # fmt: skip


def of_rule(rule: str) -> set[tuple[str, str, str]]:
    """(client, level, due date) of every purpose of ``rule``."""
    return {(c, level, due) for c, code, level, due in purposes() if code == rule}


def facts(rule: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The triggering facts of ``rule``'s purposes by (client, level)."""
    from huifang.callbacks.models import Purpose

    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in Purpose.objects.filter(rule_code=rule).select_related("task").order_by("key"):
        found.setdefault((p.task.client_id or "", p.task.level), []).append(p.facts_dict)
    return found


def loads() -> dict[str, int]:
    """Open tasks per assignee (None: unassigned)."""
    counts: dict[str, int] = {}
    for assignee in Task.objects.open().values_list("assignee_id", flat=True):
        counts[assignee or ""] = counts.get(assignee or "", 0) + 1
    return counts


def policy_variant(
    changes: dict[str, dict[str, Any]],
    effective_from: str = "2026-09-01",
    *,
    enable: tuple[str, ...] = (),
    add: tuple[dict[str, Any], ...] = (),
) -> Any:
    """An approved policy version whose rules differ from the one in force by ``changes``.

    ``changes`` maps a rule code to the parameters it overrides (a shallow update);
    ``enable`` names rules switched on (TX-1 is off by default), ``add`` appends whole
    rules (BRK-4 is not in the default policy). Loaded and approved by two compliance
    users while the clock reads a day before ``effective_from`` (a version cannot take
    effect in the past).
    """
    from huifang.accounts.choices import Role
    from huifang.accounts.tests.factories import user_with_role
    from huifang.core import clock
    from huifang.policy.selectors import version_document, version_in_force
    from huifang.policy.services import policy_version_approve, policy_version_load

    start = dt.date.fromisoformat(effective_from)
    document = version_document(version_in_force(on=start))
    for rule in document["rules"]:
        rule["params"] = {**rule["params"], **changes.get(rule["code"], {})}
        rule["enabled"] = rule["enabled"] or rule["code"] in enable
    document["rules"] += list(add)
    document["version"] = {"effective_from": effective_from, "reason": "测试参数"}
    author = user_with_role(Role.COMPLIANCE, username="compliance_author")
    approver = user_with_role(Role.COMPLIANCE, username="compliance_approver")
    with clock.frozen(start - dt.timedelta(days=1)):
        draft = policy_version_load(document=document, author=author)
        return policy_version_approve(version=draft, approver=approver)


def wipe() -> None:
    """Forget every run (the append-only task history only in maintenance mode)."""
    from huifang.audit.triggers import maintenance

    with maintenance(), connection.cursor() as cursor:
        for model in (TaskEvent, Purpose, PlanEntry, Task, Plan, NightlyRun):
            cursor.execute(f'DELETE FROM "{model._meta.db_table}"')  # noqa: S608
