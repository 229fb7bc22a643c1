"""Every figure the closing and the evaluation read, queried straight from the models (REV-3..5).

One small function per input, returning plain rows, so that the scoring (``scoring.py``)
stays pure and a test can count the same rows by hand. Branch-level work only: a
company-level callback (CON-6) is head office's work, not the branch's.

The issues (``huifang.issues``) and the MRG-8 scorecards (``huifang.orders``) belong to
other apps; they are imported when first needed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from huifang.callbacks.choices import OPEN_STATUSES, Level, TaskStatus
from huifang.callbacks.models import Purpose
from huifang.core.clock import SHANGHAI
from huifang.evaluation.models import MonthlyClosing
from huifang.org.models import Staff
from huifang.workbench.choices import RecordStatus, ReviewReason, ReviewStatus
from huifang.workbench.models import Record, Review

# A record counts once the leader signed it (EXE-5); archived service records too.
SIGNED = (RecordStatus.SIGNED, RecordStatus.ARCHIVED)
# A callback is done once the leader signed its record or the review passed (RPT-2).
DONE = (TaskStatus.SIGNED, TaskStatus.REVIEWED)
# Reviews that judge a record's quality (REV-1, REV-2); an unreachable closure is not one.
DECIDED = (ReviewStatus.PASSED, ReviewStatus.FINDINGS)


# ---------------------------------------------------------------- REV-3 records of a month


def signed_records(
    branches: Iterable[str] | None, start: dt.date, end: dt.date
) -> QuerySet[Record]:
    """The leader-signed branch-level records dated in ``[start, end]`` (None = every branch)."""
    records = Record.objects.filter(
        status__in=SIGNED, level=Level.BRANCH, callback_date__gte=start, callback_date__lte=end
    )
    if branches is not None:
        records = records.filter(branch_id__in=sorted(branches))
    return records


def record_lines(
    branches: Iterable[str] | None, start: dt.date, end: dt.date
) -> dict[str, list[tuple[str, str]]]:
    """``(number, content_sha256)`` of those records, by branch, sorted by number."""
    lines: dict[str, list[tuple[str, str]]] = defaultdict(list)
    rows = signed_records(branches, start, end).order_by("branch_id", "number")
    for branch, number, sha in rows.values_list("branch_id", "number", "content_sha256"):
        lines[branch].append((number, sha))
    return dict(lines)


def first_closings(
    branches: Iterable[str] | None, months: Iterable[str]
) -> dict[tuple[str, str], MonthlyClosing]:
    """The first submission of each (branch, month) asked for."""
    closings = MonthlyClosing.objects.firsts().filter(month__in=sorted(set(months)))
    if branches is not None:
        closings = closings.filter(branch_id__in=sorted(branches))
    return {(c.branch_id, c.month): c for c in closings}


def corrections_count(branches: Iterable[str] | None, month: str) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    rows = MonthlyClosing.objects.filter(month=month, correction=True)
    if branches is not None:
        rows = rows.filter(branch_id__in=sorted(branches))
    for branch in rows.values_list("branch_id", flat=True):
        counts[branch] += 1
    return dict(counts)


# ---------------------------------------------------------------- REV-4 figures


@dataclass(frozen=True)
class DueRow:
    """A purpose of a branch-level task, due in the window: one required callback (RPT-2).

    As in ``reports.metrics``: done = the task is signed or reviewed; an unreachable
    closure (EXE-3) is not done and is not judged for timeliness; the callback's date
    is the agent's signature (``Record.agent_signed_at``).
    """

    pk: int
    assignee_id: str | None
    status: str
    due_date: dt.date
    signed_on: dt.date | None  # the agent's signature of the task's record, Asia/Shanghai

    @property
    def done(self) -> bool:
        return self.status in DONE

    @property
    def unreachable(self) -> bool:
        return self.status == TaskStatus.UNREACHABLE

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def on_time(self) -> bool:
        return self.done and self.signed_on is not None and self.signed_on <= self.due_date


def due_purposes_by_branch(
    branches: Iterable[str], start: dt.date, upto: dt.date
) -> dict[str, list[DueRow]]:
    """Purposes of branch-level tasks due in ``[start, upto]`` (cancelled left out), in one
    query for every branch of ``branches``, by branch code."""
    rows = (
        Purpose.objects.filter(
            task__branch_id__in=sorted(branches),
            task__level=Level.BRANCH,
            due_date__gte=start,
            due_date__lte=upto,
        )  # fmt: skip
        .exclude(task__status=TaskStatus.CANCELLED)
        .order_by("pk")
        .values_list(
            "task__branch_id",
            "pk",
            "task__assignee_id",
            "task__status",
            "due_date",
            "task__record__agent_signed_at",
        )  # fmt: skip
    )
    found: dict[str, list[DueRow]] = defaultdict(list)
    for branch, pk, assignee, status, due, signed in rows:
        found[branch].append(
            DueRow(
                pk, assignee, status, due, signed.astimezone(SHANGHAI).date() if signed else None
            )
        )
    return found


@dataclass(frozen=True)
class ReviewRow:
    """A decided review of one of the branch's records (REV-1/REV-2) and the record's agent."""

    pk: int
    agent_id: str | None
    status: str

    @property
    def findings(self) -> bool:
        return self.status == ReviewStatus.FINDINGS


def decided_reviews(
    branches: Iterable[str] | None, start: dt.date, end: dt.date, *,
    branch_level_only: bool = True, agent_units: Iterable[str] | None = None,
) -> list[ReviewRow]:  # fmt: skip
    """Reviews decided (passed or with findings) in ``[start, end]`` of branch-level records
    (of every level with ``branch_level_only=False``); ``agent_units`` keeps the records whose
    agent belongs to one of those units."""
    reviews = Review.objects.filter(
        status__in=DECIDED, decided_at__date__gte=start, decided_at__date__lte=end
    ).exclude(reason=ReviewReason.UNREACHABLE)
    if branch_level_only:
        reviews = reviews.filter(record__level=Level.BRANCH)
    if branches is not None:
        reviews = reviews.filter(branch_id__in=sorted(branches))
    if agent_units is not None:
        reviews = reviews.filter(record__agent__unit_id__in=sorted(agent_units))
    rows = reviews.order_by("pk").values_list("pk", "record__agent_id", "status")
    return [ReviewRow(*row) for row in rows]


def decided_reviews_by_branch(
    branches: Iterable[str], start: dt.date, end: dt.date
) -> dict[str, list[ReviewRow]]:
    """``decided_reviews`` of branch-level records of every branch of ``branches``, by branch."""
    reviews = Review.objects.filter(
        status__in=DECIDED, decided_at__date__gte=start, decided_at__date__lte=end,
        record__level=Level.BRANCH, branch_id__in=sorted(branches),
    ).exclude(reason=ReviewReason.UNREACHABLE)  # fmt: skip
    found: dict[str, list[ReviewRow]] = defaultdict(list)
    for branch, pk, agent, status in reviews.order_by("pk").values_list(
        "branch_id", "pk", "record__agent_id", "status"
    ):
        found[branch].append(ReviewRow(pk, agent, status))
    return found


@dataclass(frozen=True)
class IssueRow:
    """An issue of the branch raised in the period and whether a deadline was breached (ISS-5)."""

    pk: int
    owner_id: str | None  # the person answerable: first-question owner, else the agent/handler
    breached_answer: bool  # ISS-2: no answer within 2 working days
    breached_loop: bool  # ISS-4: no final feedback within 15 working days

    @property
    def breached(self) -> bool:
        return self.breached_answer or self.breached_loop


def branch_issues(branch: str, start: dt.date, end: dt.date) -> list[IssueRow]:
    """Issues of ``branch`` raised in ``[start, end]`` (ISS-5: breaches count for the branch).

    Each is the person's of its first-question owner (ISS-6), else of its agent or
    handler, who gives the feedback to the client (ISS-3) that closes the loop.
    """
    return issues_by_branch([branch], start, end).get(branch, [])


def issues_by_branch(
    branches: Iterable[str], start: dt.date, end: dt.date
) -> dict[str, list[IssueRow]]:
    """``branch_issues`` of every branch of ``branches`` in one query, by branch code."""
    from huifang.issues.models import Issue

    rows = (
        Issue.objects.filter(
            branch_id__in=sorted(branches), raised_on__gte=start, raised_on__lte=end
        )  # fmt: skip
        .order_by("pk")
        .values_list("branch_id", "pk", "owner_id", "agent_id", "breached_answer", "breached_loop")
    )
    found: dict[str, list[IssueRow]] = defaultdict(list)
    for branch, pk, owner, agent, a, b in rows:
        found[branch].append(IssueRow(pk, owner or agent, a, b))
    return found


def staff_names(staff_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted({s for s in staff_ids if s})
    return dict(Staff.objects.filter(pk__in=ids).values_list("pk", "name"))


# ---------------------------------------------------------------- REV-5 MRG-8 scorecards


def mrg8_scorecards(start: dt.date, end: dt.date, branches: frozenset[str] | None) -> list[Any]:
    """MRG-8 scorecards of the service staff of ``branches`` (None: all), see ``orders``."""
    from huifang.orders.selectors import scorecards

    return list(scorecards(start, end, branches))
