"""Reads of plans and tasks: the §12 exports, plan coverage, "why does this task exist?"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from huifang.callbacks.models import Plan, Purpose, Task, TaskEvent
from huifang.policy.models import Rule

TASK_COLUMNS = [
    "task_id",
    "client_id",
    "branch_code",
    "level",
    "kind",
    "purposes",
    "due_date",
    "status",
    "assignee",
]
PLAN_COLUMNS = ["plan_id", "rule_id", "period", "branch_code", "population", "required", "sampled", "seed",
                "policy_version"]  # fmt: skip


def task_export_rows() -> Iterator[list[Any]]:
    """SPEC §12 ``tasks``: every task, purposes as sorted rule IDs joined by ``;``."""
    purposes: dict[int, set[str]] = {}
    for task_id, rule_id in Purpose.objects.values_list("task_id", "rule_id").iterator(
        chunk_size=20_000
    ):
        purposes.setdefault(task_id, set()).add(rule_id)
    rows = Task.objects.order_by("id").values_list(
        "id", "client_id", "branch_id", "level", "kind", "due_date", "status", "assignee_id"
    )
    for pk, client, branch, level, kind, due, status, assignee in rows.iterator(chunk_size=20_000):
        yield [pk, client, branch, level, kind, ";".join(sorted(purposes.get(pk, ()))), due.isoformat(),
               status, assignee or ""]  # fmt: skip


def plan_export_rows() -> Iterator[list[Any]]:
    """SPEC §12 ``plans``: population, required = ceil(share × population), sampled, seed, version."""
    rows = Plan.objects.order_by("id").values_list(
        "id", "rule_id", "period", "stratum", "population", "required", "sampled", "seed",
        "policy_version__number",
    )  # fmt: skip
    for row in rows.iterator(chunk_size=20_000):
        yield list(row)


def plan_list(*, user: Any) -> QuerySet[Plan]:
    """Plans per rule and period with their coverage so far, within the user's scope."""
    return (
        Plan.objects.visible_to(user)
        .select_related("policy_version")
        .order_by("-period_start", "rule_code", "stratum")
    )


def task_list(*, user: Any) -> QuerySet[Task]:
    return Task.objects.visible_to(user).order_by("due_date", "id")


def task_explanation(task: Task) -> dict[str, Any]:
    """Why the task exists: each purpose's rule and citation, plan and seed, facts; the recusal proof."""
    purposes = list(
        task.purposes.select_related("plan", "policy_version").order_by("rule_code", "key")
    )
    rules = {
        (r.version_id, r.code): r
        for r in Rule.objects.filter(
            version_id__in={p.policy_version_id for p in purposes},
            code__in={p.rule_code for p in purposes},
        )
    }
    events = list(TaskEvent.objects.filter(task=task).order_by("id"))
    proof = next((e for e in reversed(events) if e.event in ("assigned", "reassigned")), None)
    return {
        "purposes": [
            {
                "purpose": p,
                "rule": rules.get((p.policy_version_id, p.rule_code)),
                "facts": p.facts_dict,
            }
            for p in purposes
        ],
        "events": events,
        "proof": proof.detail_dict if proof else None,
    }
