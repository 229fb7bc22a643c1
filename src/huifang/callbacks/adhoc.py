"""One purpose outside the nightly run: complaints' follow-ups, orders and plans (CMP-1, SPC-1,
PLAN-1, IB-1, MRG-8).

``add_purpose`` gives one client (or one staff member, BRK-4 style) one purpose of a rule, with
the rules every nightly purpose obeys:

- CON-4: an open task of the same target, level and kind takes the purpose (one contact, many
  purposes); its due date moves earlier if the new purpose is due earlier.
- CON-3: a purpose of a rule the cap does not exempt counts toward the client's quarter; a client
  already at the cap still gets the task (these rules are 100 %), marked as a cap exception with
  the reason — never silently dropped.
- Idempotent on ``key``: the same key again returns the purpose it made (``created`` False).
- One ``created`` or ``purpose_added`` task event and one audit row; the task is left unassigned
  for the agents' queue (``workbench.queue.next_task`` claims open tasks of the agent's pool,
  recusal and independence checked there by ``services.task_assign``) and the nightly run's
  balanced assignment.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q

from huifang.audit.services import audit_record
from huifang.callbacks.choices import OPEN_STATUSES, Level, TaskEventKind, TaskKind, TaskStatus
from huifang.callbacks.models import Plan, Purpose, Task, TaskEvent
from huifang.callbacks.rules import quarter_label
from huifang.callbacks.services import Constraints
from huifang.clients.models import Client
from huifang.core import clock
from huifang.org.models import Staff, Unit
from huifang.policy.selectors import version_in_force


class PurposeRefused(ValueError):
    """The purpose cannot be given (unknown or disabled rule, no target, bad level or kind)."""


@dataclass(frozen=True)
class Added:
    task: Task
    purpose: Purpose
    created: bool  # False: the key existed already (nothing written)
    new_task: bool  # True: a new task; False: merged into an open one (CON-4)


def add_purpose(
    *,
    rule_code: str,
    key: str,
    level: str,
    kind: str,
    business_date: dt.date,
    due_date: dt.date,
    facts: dict[str, Any],
    actor: str,
    client: Client | None = None,
    target_staff: Staff | None = None,
    branch: Unit | None = None,
    plan: Plan | None = None,
    opens_at: dt.datetime | None = None,
) -> Added:
    """Give the target one purpose of ``rule_code`` due ``due_date`` (CON-3, CON-4); see the module."""
    if (client is None) == (target_staff is None):
        raise PurposeRefused("需要且只能有一个回访对象(客户或员工)")
    if level not in Level.values or kind not in TaskKind.values:
        raise PurposeRefused(f"级别或类型无效: {level}/{kind}")
    if due_date < business_date:
        raise PurposeRefused(f"截止日期 {due_date} 早于触发日期 {business_date}")
    with transaction.atomic():
        found = Purpose.objects.select_related("task").filter(key=key).first()
        if found is not None:
            return Added(found.task, found, created=False, new_task=False)
        version = version_in_force(on=business_date)
        rule = version.rules.filter(code=rule_code, enabled=True).first()
        if rule is None:
            raise PurposeRefused(f"制度 {version} 中没有启用的规则 {rule_code}")
        constraints = Constraints.of(version)
        exempt = rule_code in set(constraints.cap.exempt_rules)
        home = branch or _home_branch(client, target_staff)
        quarter = quarter_label(business_date)
        target = Q(client=client) if client is not None else Q(target_staff=target_staff)
        task = (
            Task.objects.select_for_update()
            .filter(target, level=level, kind=kind, status__in=list(OPEN_STATUSES))
            .first()
        )
        new_task = task is None
        if task is None:
            at_cap, reason = False, ""
            if client is not None and not exempt:
                used = Task.objects.filter(
                    client=client, quarter=quarter, counts_to_cap=True
                ).count()
                if used >= constraints.cap.max_per_quarter:
                    at_cap = True
                    reason = (
                        f"{rule_code} 为全覆盖规则，客户本季度已回访 {used} 次"
                        f"(上限 {constraints.cap.max_per_quarter}，CON-3)"
                    )
            task = Task.objects.create(
                client=client, target_staff=target_staff, branch=home, level=level, kind=kind,
                status=TaskStatus.OPEN, due_date=due_date, created_on=business_date,
                quarter=quarter, counts_to_cap=not exempt and client is not None,
                cap_exception=at_cap, cap_reason=reason, opens_at=opens_at,
            )  # fmt: skip
        else:
            changes: dict[str, Any] = {}
            if due_date < task.due_date:
                changes["due_date"] = due_date
            if not exempt and client is not None and not task.counts_to_cap:
                changes["counts_to_cap"] = True
            if opens_at is not None and (task.opens_at is None or opens_at > task.opens_at):
                changes["opens_at"] = opens_at
            if changes:
                Task.objects.filter(pk=task.pk).update(**changes)
                for name, value in changes.items():
                    setattr(task, name, value)
        purpose = Purpose.objects.create(
            task=task, key=key, rule_code=rule_code, rule_id=rule.spec_id or rule_code, plan=plan,
            policy_version=version, business_date=business_date, due_date=due_date,
            cap_exempt=exempt, facts=json.dumps(facts, ensure_ascii=False, sort_keys=True,
                                                default=str),
        )  # fmt: skip
        what = TaskEventKind.CREATED if new_task else TaskEventKind.PURPOSE_ADDED
        TaskEvent.objects.create(
            run=None, task=task, event=what, business_date=business_date, at=clock.now(),
            actor=actor, detail=json.dumps({"rule": rule_code, "key": key}, ensure_ascii=False),
        )  # fmt: skip
        audit_record(
            action="task.purpose_added" if not new_task else "task.created",
            object_type="callbacks.Task",
            object_id=str(task.pk),
            branch_code=task.branch_id,
            after={
                "rule": rule_code, "key": key, "due_date": due_date, "level": level, "kind": kind,
                "client": task.client_id, "target_staff": task.target_staff_id,
                "cap_exception": task.cap_exception, "facts": facts,
            },
        )  # fmt: skip
    return Added(task, purpose, created=True, new_task=new_task)


def _home_branch(client: Client | None, staff: Staff | None) -> Unit:
    if client is not None:
        return client.branch
    assert staff is not None
    return staff.unit
