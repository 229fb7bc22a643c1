"""Plans and tasks for tests that need one row (scope matrix, views)."""

from __future__ import annotations

import datetime as dt

from huifang.callbacks.models import Plan, Task, VerificationListEntry
from huifang.clients.models import Client
from huifang.org.models import Unit
from huifang.policy.services import policy_default_ensure

DAY = dt.date(2026, 10, 12)


def plan_for(branch: Unit, rule_code: str = "NEW-2") -> Plan:
    return Plan.objects.create(
        rule_code=rule_code, rule_id=rule_code, period="2026-10", period_start=DAY.replace(day=1),
        period_end=dt.date(2026, 10, 31), stratum=branch.pk, branch=branch, level="branch", share="0.3",
        population=10, required=3, sampled=3, seed="0" * 64, policy_version=policy_default_ensure(), as_of=DAY,
    )  # fmt: skip


def task_for(client: Client, level: str = "branch", kind: str = "compliance") -> Task:
    return Task.objects.create(
        client=client, branch_id=client.branch_id, level=level, kind=kind, due_date=DAY, created_on=DAY,
        quarter="2026-Q4",
    )  # fmt: skip


def listed_for(client: Client, reason: str = "证件有效期需核实") -> VerificationListEntry:
    return VerificationListEntry.objects.create(
        client=client, branch_id=client.branch_id, listed_on=DAY, reason=reason, listed_by="test"
    )
