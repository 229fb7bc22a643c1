"""Read-only querysets of the workbench for the UI and the API (SPEC EXE-3, §0 scope).

Every queryset is branch-scoped to the user (``visible_to``); an agent's lists are
his own tasks (``assignee``), read through the ``Task`` index (assignee, status).
"""

from __future__ import annotations

from django.db.models import F, Q, QuerySet

from huifang.accounts.models import User
from huifang.callbacks.choices import OPEN_STATUSES
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.workbench.actors import Actor
from huifang.workbench.choices import CorrectionStatus
from huifang.workbench.models import Attempt, Claim, DataCorrection


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
