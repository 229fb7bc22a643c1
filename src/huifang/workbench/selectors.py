"""Read-only querysets of the workbench for the UI and the API (SPEC EXE-3, §0 scope).

Every queryset is branch-scoped to the user (``visible_to``); an agent's lists are
his own tasks (``assignee``), read through the ``Task`` index (assignee, status).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import F, Q, QuerySet
from django.http import Http404

from huifang.accounts.models import User
from huifang.callbacks.choices import OPEN_STATUSES
from huifang.callbacks.models import Purpose, Task
from huifang.classification.models import ClientClass
from huifang.clients.models import Client
from huifang.core import clock
from huifang.core.joined import Joined, column, relate, table
from huifang.core.scope import mark_read_in_scope, unit_scope
from huifang.org.models import Staff
from huifang.policy.models import PolicyVersion
from huifang.workbench.actors import Actor
from huifang.workbench.choices import CorrectionStatus
from huifang.workbench.models import (
    Attempt,
    Claim,
    DataCorrection,
    Questionnaire,
    Record,
    Section,
)


def _user(who: Actor | User) -> User:
    return who.user if isinstance(who, Actor) else who


def _staff_id(who: Actor | User) -> str | None:
    staff = who.staff if isinstance(who, Actor) else getattr(who, "staff", None)
    return staff.pk if staff is not None else None


def held_by(actor: Actor | User) -> QuerySet[Task]:
    """The tasks the actor holds a live claim of (normally one)."""
    staff_id = _staff_id(actor)
    if staff_id is None:
        return Task.objects.none()
    held = Claim.objects.filter(staff_id=staff_id, released_at__isnull=True).values("task_id")
    return (
        Task.objects.visible_to(_user(actor))
        .filter(pk__in=held)
        .select_related("client")
        .order_by("due_date", "id")
    )


def my_tasks(actor: Actor | User) -> QuerySet[Task]:
    """His open tasks (assigned or in progress), overdue first, then by due date."""
    staff_id = _staff_id(actor)
    if staff_id is None:
        return Task.objects.none()
    return (
        Task.objects.visible_to(_user(actor))
        .filter(assignee_id=staff_id, status__in=OPEN_STATUSES)
        .select_related("client")
        .order_by(F("overdue_since").asc(nulls_last=True), "due_date", "id")
    )


def due_today(actor: Actor | User) -> QuerySet[Task]:
    """His open tasks due today."""
    return my_tasks(actor).filter(due_date=clock.today())


def overdue(actor: Actor | User) -> QuerySet[Task]:
    """His open tasks past their due date (marked overdue by the nightly run, or due before today)."""
    return my_tasks(actor).filter(Q(overdue_since__isnull=False) | Q(due_date__lt=clock.today()))


def corrections(user: Actor | User, *, open_only: bool = True) -> QuerySet[DataCorrection]:
    """Data corrections of the user's branches (EXE-3), open ones by default."""
    qs = DataCorrection.objects.visible_to(_user(user)).select_related("client", "attempt")
    if open_only:
        qs = qs.filter(status=CorrectionStatus.OPEN)
    return qs.order_by("-reported_at", "-id")


def attempts_of(task: Task) -> QuerySet[Attempt]:
    """The task's tries in time order (the caller has checked the task is visible)."""
    return Attempt.objects.filter(task=task).order_by("at", "id")


# ---------------------------------------------------------------- one task, in one query


@dataclass(frozen=True)
class TaskView:
    """A task as the workbench shows and works it: the task (its client and target staff
    loaded), its record if opened, whether the actor holds a live claim of it, and the
    client's class in ``scheme`` ("" if unclassified)."""

    task: Task
    record: Record | None
    held: bool
    class_code: str


_TASK_VIEW = Joined(((Task, "t"), (Client, "c"), (Staff, "s"), (Record, "r")))


@functools.cache
def _task_view_sql(vendor: str, units: int | None) -> str:
    """The read of ``task_view``; ``units``: how many branch codes scope it (None: all)."""
    t, claim, klass = Task, Claim, ClientClass
    scoped = (
        "" if units is None else f" AND t.{column(t, 'branch')} IN ({', '.join(['%s'] * units)})"
    )
    return (
        f"SELECT {_TASK_VIEW.columns()}, "
        f"EXISTS (SELECT 1 FROM {table(claim)} h WHERE h.{column(claim, 'task')} = t.{column(t, 'id')}"
        f" AND h.{column(claim, 'staff')} = %s AND h.{column(claim, 'released_at')} IS NULL), "
        f"(SELECT k.{column(klass, 'class_code')} FROM {table(klass)} k"
        f" WHERE k.{column(klass, 'client')} = t.{column(t, 'client')}"
        f" AND k.{column(klass, 'scheme')} = %s) "
        f"FROM {table(t)} t "
        f"LEFT JOIN {table(Client)} c ON c.{column(Client, 'client_id')} = t.{column(t, 'client')} "
        f"LEFT JOIN {table(Staff)} s ON s.{column(Staff, 'staff_id')} = t.{column(t, 'target_staff')} "
        f"LEFT JOIN {table(Record)} r ON r.{column(Record, 'task')} = t.{column(t, 'id')} "
        f"WHERE t.{column(t, 'id')} = %s{scoped}"
    )


def task_view(actor: Actor, task_id: int, *, scheme: str, scoped: bool = True) -> TaskView:
    """The task in the actor's data scope, or ``Http404`` (SPEC §0: existence is not leaked).

    ``scoped=False``: a task a service has already handed this actor (``next_task`` gives
    him his own assigned or held task, whatever his grants say now): read as it is.

    One hand-written query (issue 7: the call-center API reads the task on every call): the
    task with its client and target staff (as ``select_related`` leaves them), its record
    (one per task, EXE-5), the actor's live claim (EXE-3) and the client's class (``scheme``,
    unique per client). The task is marked as read in the actor's scope
    (``scope.read_in_scope``), as ``get_visible_or_404`` marks it.
    """
    units = unit_scope(actor.user) if scoped else None
    if units is not None and not units:
        raise Http404
    codes = sorted(units) if units is not None else []
    staff_id = actor.staff.pk if actor.staff is not None else None
    sql = _task_view_sql(connection.vendor, None if units is None else len(codes))
    with connection.cursor() as cursor:
        cursor.execute(sql, [staff_id, scheme, task_id, *codes])
        row = cursor.fetchone()
    if row is None:
        raise Http404
    task, client, staff, record = _TASK_VIEW.instances(row)
    assert isinstance(task, Task)
    relate(task, client=client, target_staff=staff)
    if isinstance(record, Record):
        relate(record, task=task)
    if scoped:
        mark_read_in_scope(task, actor.user)
    held, class_code = row[-2], row[-1]
    return TaskView(
        task=task, record=record if isinstance(record, Record) else None, held=bool(held),
        class_code=class_code or "",
    )  # fmt: skip


# ---------------------------------------------------------------- a task's purposes, a record's sections


_PURPOSES = Joined(((Purpose, "p"), (PolicyVersion, "v")))
_SECTIONS = Joined(((Section, "s"), (Questionnaire, "q")))


@functools.cache
def _children_sql(
    joined: Joined, parent: str, owner: str, order: tuple[str, ...], vendor: str
) -> str:
    """The rows of ``joined``'s first model (alias of the first part) whose ``owner`` foreign key
    is the parameter, each joined to the second model through its ``parent`` foreign key, in
    ``order``."""
    (child, c), (model, m) = joined.parts
    by = ", ".join(f"{c}.{column(child, name)}" for name in order)
    return (
        f"SELECT {joined.columns()} FROM {table(child)} {c} "
        f"JOIN {table(model)} {m} ON {m}.{column(model, model._meta.pk.name)} = {c}.{column(child, parent)} "
        f"WHERE {c}.{column(child, owner)} = %s ORDER BY {by}"
    )


def _children(
    joined: Joined, parent: str, owner: str, order: tuple[str, ...], owner_id: Any
) -> list[tuple[Any, Any]]:
    """Each (child, parent) instance pair of ``_children_sql``, for ``owner_id``."""
    with connection.cursor() as cursor:
        cursor.execute(_children_sql(joined, parent, owner, order, connection.vendor), [owner_id])
        return [tuple(joined.instances(row)) for row in cursor.fetchall()]  # type: ignore[misc]


def purposes_of(task_id: int, task: Task | None = None) -> list[Purpose]:
    """The task's purposes in section order (rule code, id), each with its policy version,
    as ``Purpose.objects.filter(task_id=…).select_related("policy_version")`` reads them;
    linked to ``task`` when the caller has it. One hand-written query (issue 7: the API reads
    a task's purposes on most calls)."""
    found: list[Purpose] = []
    for purpose, version in _children(
        _PURPOSES, "policy_version", "task", ("rule_code", "id"), task_id
    ):
        relate(purpose, policy_version=version)
        if task is not None:
            relate(purpose, task=task)
        found.append(purpose)
    return found


def sections_of(record: Record) -> list[Section]:
    """The record's sections in their order (position, id), each with its questionnaire and
    linked to ``record``, as ``record.sections.select_related("questionnaire")`` reads them.
    One hand-written query (issue 7)."""
    found: list[Section] = []
    for section, questionnaire in _children(
        _SECTIONS, "questionnaire", "record", ("position", "id"), record.pk
    ):
        relate(section, record=record, questionnaire=questionnaire)
        found.append(section)
    return found
