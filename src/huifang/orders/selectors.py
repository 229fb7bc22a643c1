"""Every read of orders a user makes, scoped (SPEC §0), and the MRG-8 scorecards (REV-5).

- ``order_list`` / ``order_detail``: HQ roles see every order; a branch user the issued
  orders with a target in his branches (404 otherwise).
- ``order_progress``: per branch and in total — targets, tasks open / signed / reviewed /
  unreachable, overdue (open after the end date), records back by ``records_due`` (SPC-1:
  5 working days after the end) — counting only the targets the user may see.
- ``scorecards(start, end, branches)``: per service staff member rated by MRG-8 plans, the
  signed F-MRG records of the period and the section 三 scores the clients gave (002 §16–17).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from huifang.callbacks.choices import OPEN_STATUSES, TaskStatus
from huifang.core import clock
from huifang.orders import access, rules
from huifang.orders.choices import OrderRule
from huifang.orders.models import Order, OrderTarget
from huifang.org.models import Staff, Unit
from huifang.workbench.choices import FindingKind, RecordStatus
from huifang.workbench.models import Finding, Questionnaire, Section, answer_value

SIGNED_RECORDS = (RecordStatus.SIGNED, RecordStatus.ARCHIVED)
SCORECARD_FORM = "F-MRG"


def order_list(*, user: Any, filters: dict[str, Any] | None = None) -> QuerySet[Order]:
    """The orders the user may see, newest first, with the number of his targets."""
    filters = filters or {}
    orders = Order.objects.visible_to(user).select_related("ordered_by_unit")
    if filters.get("status"):
        orders = orders.filter(status=filters["status"])
    if filters.get("rule"):
        orders = orders.filter(rule_code=filters["rule"])
    scope = access.scope_of(user)
    mine = Q() if scope is None else Q(targets__branch_id__in=sorted(scope))
    counted = orders.annotate(target_count=Count("targets", filter=mine))
    return counted.order_by("-created_at", "-id")


def order_detail(*, user: Any, pk: int) -> Order:
    """One order the user may see (404 otherwise)."""
    try:
        return Order.objects.visible_to(user).select_related("ordered_by_unit").get(pk=pk)
    except Order.DoesNotExist as missing:
        raise Http404 from missing


def order_targets(*, user: Any, order: Order, status: str = "") -> QuerySet[OrderTarget]:
    """The order's targets the user may see; ``status`` narrows by task status or "overdue"."""
    targets = (
        OrderTarget.objects.visible_to(user)
        .filter(order=order)
        .select_related("client", "staff", "branch", "task", "task__record")
        .order_by("branch_id", "client_id", "id")
    )
    if status == "overdue":
        return targets.filter(
            task__status__in=list(OPEN_STATUSES), order__ends_on__lt=clock.today()
        )
    if status == "open":
        return targets.filter(task__status__in=list(OPEN_STATUSES))
    if status in TaskStatus.values:
        return targets.filter(task__status=status)
    return targets


# --- progress ------------------------------------------------------------------------------


@dataclass
class Counts:
    """One line of the progress table (a branch, or the total)."""

    targets: int = 0
    issued: int = 0
    open: int = 0
    signed: int = 0
    reviewed: int = 0
    unreachable: int = 0
    cancelled: int = 0
    overdue: int = 0
    records_back: int = 0  # leader-signed on or before records_due
    records_late: int = 0  # leader-signed after records_due

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def done(self) -> int:
        return self.signed + self.reviewed

    @property
    def records_missing(self) -> int:
        """Targets without a record back in time (an unreachable closure returns none)."""
        return self.targets - self.records_back


@dataclass(frozen=True)
class BranchProgress:
    code: str
    name: str
    counts: Counts


@dataclass(frozen=True)
class Progress:
    order: Order
    today: dt.date
    total: Counts
    branches: list[BranchProgress] = field(default_factory=list)

    @property
    def records_overdue(self) -> bool:
        """The records are due and some are not back."""
        return self.today > self.order.records_due and self.total.records_missing > 0


def _count_one(row: Mapping[str, Any], order: Order, today: dt.date) -> Counts:
    counts = Counts(targets=1)
    status = row["task__status"]
    if row["purpose_id"] is not None:
        counts.issued = 1
    if status in OPEN_STATUSES:
        counts.open = 1
        counts.overdue = int(today > order.ends_on)
    elif status in {TaskStatus.SIGNED, TaskStatus.REVIEWED, TaskStatus.UNREACHABLE,
                    TaskStatus.CANCELLED}:  # fmt: skip
        setattr(counts, str(status), 1)
    signed_at = row["task__record__leader_signed_at"]
    if signed_at is not None and row["task__record__status"] in SIGNED_RECORDS:
        back_on = signed_at.astimezone(clock.SHANGHAI).date()
        if back_on <= order.records_due:
            counts.records_back = 1
        else:
            counts.records_late = 1
    return counts


def order_progress(*, user: Any, order: Order) -> Progress:
    """The order's progress over the targets the user may see (see the module)."""
    today = clock.today()
    rows = (
        OrderTarget.objects.visible_to(user)
        .filter(order=order)
        .values(
            "branch_id",
            "purpose_id",
            "task__status",
            "task__record__status",
            "task__record__leader_signed_at",
        )  # fmt: skip
    )
    by_branch: dict[str, Counts] = defaultdict(Counts)
    for row in rows:
        by_branch[row["branch_id"]].add(_count_one(row, order, today))
    names = dict(Unit.objects.filter(code__in=list(by_branch)).values_list("code", "name"))
    total = Counts()
    for counts in by_branch.values():
        total.add(counts)
    branches = [BranchProgress(code, names.get(code, code), by_branch[code])
                for code in sorted(by_branch)]  # fmt: skip
    return Progress(order, today, total, branches)


# --- MRG-8 scorecards (REV-5) ------------------------------------------------------------------


@dataclass(frozen=True)
class Scorecard:
    """One service staff member's MRG-8 result in a period (REV-5).

    ``records``: signed F-MRG records of MRG-8 callbacks that rate him; ``average_score`` and
    ``lowest_score`` over the section 三 scores answered (None when none was); ``problems``:
    problem findings of those records (of the MRG-8 purpose, or of no particular purpose).
    """

    staff_id: str
    staff_name: str
    branch: str
    records: int
    average_score: float | None
    lowest_score: int | None
    problems: int


@dataclass
class _Tally:
    records: set[int] = field(default_factory=set)
    scores: list[int] = field(default_factory=list)
    problems: int = 0


def _score_items(questionnaire_ids: Iterable[int]) -> dict[int, list[str]]:
    definitions = Questionnaire.objects.filter(pk__in=set(questionnaire_ids))
    return {q.pk: rules.score_items(q.definition) for q in definitions}


def _scores(answers: dict[str, Any], items: list[str]) -> list[int]:
    found = []
    for item in items:
        value = answer_value(answers or {}, item)
        if isinstance(value, bool) or value in (None, ""):
            continue
        try:
            found.append(int(value))
        except (TypeError, ValueError):
            continue
    return found


def scorecards(
    start: dt.date, end: dt.date, branches: frozenset[str] | None = None
) -> list[Scorecard]:
    """MRG-8 scorecards of the service staff of ``branches`` (None: all), from the signed
    F-MRG records with a callback date from ``start`` to ``end`` (see ``Scorecard``)."""
    targets = OrderTarget.objects.filter(
        order__rule_code=OrderRule.MRG_8, staff__isnull=False, client__isnull=False,
        purpose__isnull=False,
    )  # fmt: skip
    if branches is not None:
        targets = targets.filter(staff__unit_id__in=sorted(branches))
    rated = dict(targets.values_list("purpose_id", "staff_id"))
    if not rated:
        return []
    sections = list(
        Section.objects.filter(
            purpose_id__in=list(rated), questionnaire__code=SCORECARD_FORM,
            record__status__in=SIGNED_RECORDS, record__callback_date__range=(start, end),
        ).values("record_id", "purpose_id", "questionnaire_id", "answers")
    )  # fmt: skip
    items = _score_items(s["questionnaire_id"] for s in sections)
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for section in sections:
        tally = tallies[rated[section["purpose_id"]]]
        tally.records.add(section["record_id"])
        tally.scores += _scores(section["answers"], items.get(section["questionnaire_id"], []))
    _count_problems(sections, rated, tallies)
    return _cards(tallies)


def _count_problems(
    sections: Sequence[Mapping[str, Any]], rated: dict[int, str], tallies: dict[str, _Tally]
) -> None:
    purposes: dict[int, set[int]] = defaultdict(set)  # record → its MRG-8 purposes
    for section in sections:
        purposes[section["record_id"]].add(section["purpose_id"])
    problems = Finding.objects.filter(record_id__in=list(purposes), kind=FindingKind.PROBLEM)
    for record_id, purpose_id in problems.values_list("record_id", "purpose_id"):
        concerned = (
            purposes[record_id] if purpose_id is None else {purpose_id} & purposes[record_id]
        )
        for purpose in concerned:
            tallies[rated[purpose]].problems += 1


def _cards(tallies: dict[str, _Tally]) -> list[Scorecard]:
    staff = Staff.objects.in_bulk(list(tallies))
    cards = []
    for staff_id, tally in tallies.items():
        member = staff.get(staff_id)
        scores = tally.scores
        cards.append(Scorecard(
            staff_id=staff_id, staff_name=member.name if member else "",
            branch=member.unit_id if member else "", records=len(tally.records),
            average_score=round(sum(scores) / len(scores), 2) if scores else None,
            lowest_score=min(scores) if scores else None, problems=tally.problems,
        ))  # fmt: skip
    return sorted(cards, key=lambda c: (c.branch, c.staff_id))
