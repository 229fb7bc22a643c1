"""Every read a user makes of issues (SPEC §7): through ``Issue.objects.visible_to(user)``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from huifang.calendars.service import CalendarYearMissing
from huifang.issues import access, rules
from huifang.issues.choices import IssueStatus
from huifang.issues.models import Issue, IssueQuerySet

RELATED = ("branch", "department", "client", "owner", "agent")


def issue_list(*, user: Any, status: str = "open", source: str = "") -> IssueQuerySet:
    """The issues of the user's scope (a branch sees its own), open ones by default."""
    issues = Issue.objects.visible_to(user).select_related(*RELATED)
    if status == "open":
        issues = issues.open()
    elif status in IssueStatus.values:
        issues = issues.filter(status=status)
    if source:
        issues = issues.filter(source=source)
    return issues.order_by("loop_due", "id")  # type: ignore[return-value]


def inbox(*, user: Any) -> IssueQuerySet:
    """ISS-2: open issues routed to the user's departments, the most urgent first."""
    units = access.department_units(user)
    return (  # type: ignore[return-value]
        Issue.objects.visible_to(user)
        .routed_to(units)
        .open()
        .select_related(*RELATED)
        .order_by("answer_due", "loop_due", "id")
    )


def unrouted(*, user: Any) -> IssueQuerySet:
    """ISS-1: issues waiting for a department (no rule, or the unit is not loaded)."""
    return (  # type: ignore[return-value]
        Issue.objects.visible_to(user)
        .filter(department__isnull=True)
        .open()
        .select_related(*RELATED)
        .order_by("raised_on", "id")
    )


def escalated(*, user: Any, level: int) -> IssueQuerySet:
    """ISS-5: open issues escalated to ``level`` or above."""
    return (  # type: ignore[return-value]
        Issue.objects.visible_to(user)
        .open()
        .filter(escalation_level__gte=level)
        .select_related(*RELATED)
        .order_by("loop_due", "id")
    )


@dataclass(frozen=True)
class Clock:
    """One due date of an issue as the screens show it: the date and working days left."""

    label: str
    due: dt.date | None
    left: int | None  # negative: working days overdue
    done: bool

    @property
    def overdue(self) -> bool:
        return not self.done and self.left is not None and self.left < 0


def clocks(issue: Issue, today: dt.date) -> list[Clock]:
    """ISS-2 and ISS-4 clocks of ``issue`` on ``today`` (``left`` None if the year is unknown)."""
    from django.utils.translation import gettext as _

    items = [
        (_("部门答复期限(ISS-2)"), issue.answer_due, issue.answered_at is not None),
        (_("反馈办结期限(ISS-4)"), issue.loop_due, issue.is_closed),
    ]
    return [Clock(label, due, _left(today, due), done) for label, due, done in items]


def _left(today: dt.date, due: dt.date | None) -> int | None:
    if due is None:
        return None
    try:
        return rules.working_days_left(today, due)
    except CalendarYearMissing:
        return None


@dataclass(frozen=True)
class Row:
    """A line of a list: the issue and its working days left on each clock."""

    issue: Issue
    answer_left: int | None
    loop_left: int | None


def rows(issues: Any, today: dt.date) -> list[Row]:
    return [
        Row(
            issue,
            None if issue.answered_at else _left(today, issue.answer_due),
            None if issue.is_closed else _left(today, issue.loop_due),
        )
        for issue in issues
    ]
