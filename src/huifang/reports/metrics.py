"""The figures of the reports (RPT-2, RPT-4): pure read-only queries, aggregated in SQL.

Every function takes ``branches`` — the unit codes the reader may see
(``core.scope.unit_scope(user)``; ``None`` = the whole company, an empty set =
nothing) — and a period ``start``..``end`` (both days included, Asia/Shanghai), and
returns a list of frozen dataclasses. They never loop over clients or tasks in
Python: each runs a handful of ``GROUP BY`` queries and at most combines the
aggregated rows.

Definitions (shown on the pages too):

- **done** (已完成): the purpose's task is ``signed`` (leader signed, EXE-5) or
  ``reviewed`` (REV-1 passed). An ``unreachable`` closure (EXE-3) is **not** done:
  it never counts as covered and is reported in its own column.
- **the callback's date**: the agent's signature (``Record.agent_signed_at``, 回访人签字),
  the day the callback was completed; the leader's sign-off follows.
- **coverage** (RPT-2): for a sampled rule, the callbacks.Plan strata whose period
  overlaps the report period — required = Σ ``Plan.required`` (⌈share × population so
  far⌉, CON-8), done = the plan's purposes done; for a 100 % rule, the purposes
  triggered in the period (``Purpose.business_date``) — required = their number.
  A company-wide stratum (no branch) is shown only to company-wide readers: its
  required count cannot be split by branch.
- **timeliness**: the purposes due in the period (``Purpose.due_date``): on time =
  done and agent-signed on or before the due date; late = done after it; open overdue
  = still open and due before today; open, not yet due; unreachable; cancelled.
- **problems** (ISS-*): the issues raised in the period (``Issue.raised_on``) per branch
  and source: closed, still open, breaches of the 2-day answer (ISS-2) and the
  15-day loop (ISS-4), and working days from raising to closing (NFR-1 calendar).
- **reachability** (EXE-3): the attempts made in the period by outcome; tasks tried and
  reached; unreachable closures approved in the period.
- **satisfaction** (EXE-4): the score items of the questionnaires, in the sections of
  records signed by the leader with a callback date in the period.
- **workload** per agent (REV-1): records agent-signed, attempts, reviews decided in the
  period on his records (passed / findings), unreachable closures, banned phrases.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db.models import Count, F, IntegerField, Max, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, TruncDate

from huifang.callbacks.choices import OPEN_STATUSES, TaskStatus
from huifang.callbacks.models import Plan, Purpose, Task
from huifang.core import clock
from huifang.issues.choices import IssueStatus
from huifang.workbench.choices import Outcome, RecordStatus, ReviewReason, ReviewStatus
from huifang.workbench.models import Attempt, Questionnaire, Record, Review, Section

Branches = frozenset[str] | None
Q_ = TypeVar("Q_", bound=QuerySet[Any])

DONE_STATUSES = (TaskStatus.SIGNED, TaskStatus.REVIEWED)
SIGNED_RECORDS = (RecordStatus.SIGNED, RecordStatus.ARCHIVED)
COMPANY = ""  # the branch code of a company-wide stratum


def scoped(queryset: Q_, field: str, branches: Branches) -> Q_:
    """Only the rows whose ``field`` (a unit code) is in ``branches``; all when ``None``."""
    if branches is None:
        return queryset
    return queryset.filter(**{f"{field}__in": sorted(branches)})


def day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start 00:00, end + 1 day 00:00) in Asia/Shanghai, for datetime columns."""
    low = dt.datetime.combine(start, dt.time(0), tzinfo=clock.SHANGHAI)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=clock.SHANGHAI)
    return low, high


def days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _status_counts(prefix: str = "task__") -> dict[str, Count]:
    status = f"{prefix}status"
    return {
        "done": Count("id", filter=Q(**{f"{status}__in": DONE_STATUSES})),
        "unreachable": Count("id", filter=Q(**{status: TaskStatus.UNREACHABLE})),
        "open": Count("id", filter=Q(**{f"{status}__in": OPEN_STATUSES})),
        "cancelled": Count("id", filter=Q(**{status: TaskStatus.CANCELLED})),
    }


# ---------------------------------------------------------------- coverage (RPT-2)


@dataclass(frozen=True)
class CoverageRow:
    """One rule × branch × level against its required count (RPT-2)."""

    rule_code: str
    branch_code: str  # COMPANY for a company-wide stratum
    level: str
    sampled: bool  # a sampled rule (callbacks.Plan) or a 100 % rule
    share: Decimal
    population: int | None  # sampled rules only
    required: int
    drawn: int  # purposes created (sampled: Plan.sampled)
    done: int
    unreachable: int
    open: int
    cancelled: int

    @property
    def rate(self) -> float | None:
        return ratio(self.done, self.required)

    @property
    def met(self) -> bool:
        return self.done >= self.required


def coverage(*, branches: Branches, start: dt.date, end: dt.date) -> list[CoverageRow]:
    """Coverage per rule, branch and level against the required count (RPT-2, CON-8)."""
    return sorted(
        [*_sampled_coverage(branches, start, end), *_full_coverage(branches, start, end)],
        key=lambda r: (r.rule_code, r.branch_code, r.level),
    )


def _sampled_coverage(branches: Branches, start: dt.date, end: dt.date) -> list[CoverageRow]:
    plans = Plan.objects.filter(period_start__lte=end, period_end__gte=start)
    plans = scoped(plans, "branch_id", branches)
    targets = (
        plans.order_by()
        .values("rule_code", "branch_id", "level")
        .annotate(
            total_population=Sum("population"),
            total_required=Sum("required"),
            total_drawn=Sum("sampled"),
            max_share=Max("share"),
        )
    )
    outcomes = {
        (row["plan__rule_code"], row["plan__branch_id"], row["plan__level"]): row
        for row in Purpose.objects.filter(plan__in=plans.values("pk"))
        .order_by()
        .values("plan__rule_code", "plan__branch_id", "plan__level")
        .annotate(**_status_counts())
    }
    rows = []
    for target in targets:
        key = (target["rule_code"], target["branch_id"], target["level"])
        counts = outcomes.get(key, {})
        rows.append(
            CoverageRow(
                rule_code=target["rule_code"],
                branch_code=target["branch_id"] or COMPANY,
                level=target["level"],
                sampled=True,
                share=target["max_share"],
                population=target["total_population"] or 0,
                required=target["total_required"] or 0,
                drawn=target["total_drawn"] or 0,
                **{k: counts.get(k, 0) for k in ("done", "unreachable", "open", "cancelled")},
            )
        )
    return rows


def _full_coverage(branches: Branches, start: dt.date, end: dt.date) -> list[CoverageRow]:
    purposes = Purpose.objects.filter(plan__isnull=True, business_date__range=(start, end))
    grouped = (
        scoped(purposes, "task__branch_id", branches)
        .order_by()
        .values("rule_code", "task__branch_id", "task__level")
        .annotate(required=Count("id"), **_status_counts())
    )
    return [
        CoverageRow(
            rule_code=row["rule_code"],
            branch_code=row["task__branch_id"],
            level=row["task__level"],
            sampled=False,
            share=Decimal(1),
            population=None,
            required=row["required"],
            drawn=row["required"],
            done=row["done"],
            unreachable=row["unreachable"],
            open=row["open"],
            cancelled=row["cancelled"],
        )
        for row in grouped
    ]


@dataclass(frozen=True)
class RuleCoverage:
    """One rule over every branch the reader sees (the coverage chart, RPT-4)."""

    rule_code: str
    required: int
    done: int
    unreachable: int

    @property
    def rate(self) -> float | None:
        return ratio(self.done, self.required)


def coverage_by_rule(rows: Iterable[CoverageRow]) -> list[RuleCoverage]:
    """The coverage rows summed per rule (already aggregated rows, no query)."""
    sums: dict[str, list[int]] = {}
    for row in rows:
        total = sums.setdefault(row.rule_code, [0, 0, 0])
        total[0] += row.required
        total[1] += row.done
        total[2] += row.unreachable
    return [RuleCoverage(code, *sums[code]) for code in sorted(sums)]


# ---------------------------------------------------------------- timeliness (RPT-2)


@dataclass(frozen=True)
class TimelinessRow:
    """The purposes of one rule and branch due in the period, by how they ended."""

    rule_code: str
    branch_code: str
    due: int
    on_time: int
    late: int
    open_overdue: int
    open_not_due: int
    unreachable: int
    cancelled: int

    @property
    def on_time_rate(self) -> float | None:
        """On time among those that are done or overdue (not-yet-due ones are not judged)."""
        return ratio(self.on_time, self.on_time + self.late + self.open_overdue)


def timeliness(
    *, branches: Branches, start: dt.date, end: dt.date, today: dt.date | None = None
) -> list[TimelinessRow]:
    """On time / late / open overdue per rule and branch (RPT-2), judged on ``today``."""
    today = today or clock.today()
    done = Q(task__status__in=DONE_STATUSES)
    still_open = Q(task__status__in=OPEN_STATUSES)
    purposes = scoped(
        Purpose.objects.filter(due_date__range=(start, end)), "task__branch_id", branches
    )
    grouped = (
        purposes.alias(signed_on=TruncDate("task__record__agent_signed_at", tzinfo=clock.SHANGHAI))
        .order_by()
        .values("rule_code", "task__branch_id")
        .annotate(
            due=Count("id"),
            done=Count("id", filter=done),
            on_time=Count("id", filter=done & Q(signed_on__lte=F("due_date"))),
            open_overdue=Count("id", filter=still_open & Q(due_date__lt=today)),
            open_not_due=Count("id", filter=still_open & Q(due_date__gte=today)),
            unreachable=Count("id", filter=Q(task__status=TaskStatus.UNREACHABLE)),
            cancelled=Count("id", filter=Q(task__status=TaskStatus.CANCELLED)),
        )
    )
    rows = [
        TimelinessRow(
            rule_code=row["rule_code"],
            branch_code=row["task__branch_id"],
            due=row["due"],
            on_time=row["on_time"],
            late=row["done"] - row["on_time"],
            open_overdue=row["open_overdue"],
            open_not_due=row["open_not_due"],
            unreachable=row["unreachable"],
            cancelled=row["cancelled"],
        )
        for row in grouped
    ]
    return sorted(rows, key=lambda r: (r.rule_code, r.branch_code))


@dataclass(frozen=True)
class BacklogRow:
    """The open tasks of one branch now: overdue, and the others by status (RPT-4)."""

    branch_code: str
    overdue: int
    open: int
    assigned: int
    in_progress: int

    @property
    def total(self) -> int:
        return self.overdue + self.open + self.assigned + self.in_progress


def backlog(*, branches: Branches, today: dt.date | None = None) -> list[BacklogRow]:
    """Open tasks per branch: overdue (due before today) and the rest by status."""
    today = today or clock.today()
    overdue = Q(due_date__lt=today)
    tasks = scoped(Task.objects.filter(status__in=OPEN_STATUSES), "branch_id", branches)
    grouped = (
        tasks.order_by()
        .values("branch_id")
        .annotate(
            overdue=Count("id", filter=overdue),
            open=Count("id", filter=~overdue & Q(status=TaskStatus.OPEN)),
            assigned=Count("id", filter=~overdue & Q(status=TaskStatus.ASSIGNED)),
            in_progress=Count("id", filter=~overdue & Q(status=TaskStatus.IN_PROGRESS)),
        )
        .order_by("branch_id")
    )
    return [
        BacklogRow(
            row["branch_id"], row["overdue"], row["open"], row["assigned"], row["in_progress"]
        )
        for row in grouped
    ]


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    count: int


def signed_per_day(*, branches: Branches, start: dt.date, end: dt.date) -> list[DayCount]:
    """Records agent-signed per day of the period, days without any included (the trend)."""
    low, high = day_bounds(start, end)
    records = scoped(
        Record.objects.filter(agent_signed_at__gte=low, agent_signed_at__lt=high),
        "branch_id",
        branches,
    )
    counts = dict(
        records.annotate(day=TruncDate("agent_signed_at", tzinfo=clock.SHANGHAI))
        .order_by()
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [DayCount(day, counts.get(day, 0)) for day in days(start, end)]


# ---------------------------------------------------------------- problems (ISS-*, RPT-2)


@dataclass(frozen=True)
class ProblemRow:
    """The issues of one branch and source raised in the period (ISS-1..6)."""

    branch_code: str
    source: str
    found: int
    closed: int
    open: int
    breached_answer: int  # ISS-2: answer later than 2 working days
    breached_loop: int  # ISS-4: closed later than 15 working days (or still open after)
    breached: int  # either (ISS-5 counts it against the branch)
    avg_days: float | None  # working days from raising to closing, closed issues only
    median_days: float | None
    days_known: bool  # False when the calendar lacks a year (NFR-1: never guessed)


def problems(*, branches: Branches, start: dt.date, end: dt.date) -> list[ProblemRow]:
    """Issues found, closed and open, breaches, and working days to close (RPT-2, ISS-5)."""
    from huifang.issues.models import Issue

    issues = scoped(Issue.objects.filter(raised_on__range=(start, end)), "branch_id", branches)
    closed = Q(status=IssueStatus.CLOSED)
    grouped = (
        issues.order_by()
        .values("branch_id", "source")
        .annotate(
            found=Count("id"),
            closed=Count("id", filter=closed),
            answer_breaches=Count("id", filter=Q(breached_answer=True)),
            loop_breaches=Count("id", filter=Q(breached_loop=True)),
            breaches=Count("id", filter=Q(breached_answer=True) | Q(breached_loop=True)),
        )
    )
    durations = _close_durations(issues.filter(closed, closed_at__isnull=False))
    rows = []
    for row in grouped:
        spans = durations.get((row["branch_id"], row["source"]), [])
        known = all(span is not None for span, _n in spans)
        values = [span for span, n in spans if span is not None for _ in range(n)]
        rows.append(
            ProblemRow(
                branch_code=row["branch_id"],
                source=row["source"],
                found=row["found"],
                closed=row["closed"],
                open=row["found"] - row["closed"],
                breached_answer=row["answer_breaches"],
                breached_loop=row["loop_breaches"],
                breached=row["breaches"],
                avg_days=statistics.fmean(values) if values and known else None,
                median_days=float(statistics.median(values)) if values and known else None,
                days_known=known,
            )
        )
    return sorted(rows, key=lambda r: (r.branch_code, r.source))


def _close_durations(
    closed_issues: QuerySet[Any],
) -> dict[tuple[str, str], list[tuple[int | None, int]]]:
    """(branch, source) → [(working days raised → closed, how many issues)].

    SQL counts the issues per distinct (raised, closed) pair; the calendar (NFR-1) then
    answers once per pair, not once per issue.
    """
    from huifang.calendars.service import CalendarYearMissing, working_days_between

    pairs = (
        closed_issues.annotate(closed_on=TruncDate("closed_at", tzinfo=clock.SHANGHAI))
        .order_by()
        .values("branch_id", "source", "raised_on", "closed_on")
        .annotate(n=Count("id"))
    )
    found: dict[tuple[str, str], list[tuple[int | None, int]]] = {}
    for pair in pairs:
        raised, closed_on = pair["raised_on"], pair["closed_on"]
        try:
            span: int | None = (
                len(working_days_between(raised + dt.timedelta(days=1), closed_on))
                if closed_on > raised
                else 0
            )
        except CalendarYearMissing:
            span = None
        found.setdefault((pair["branch_id"], pair["source"]), []).append((span, pair["n"]))
    return found


# ---------------------------------------------------------------- reachability (EXE-3)


@dataclass(frozen=True)
class ReachabilityRow:
    """Attempts of one branch in the period by outcome, and unreachable closures (EXE-3)."""

    branch_code: str
    attempts: int
    connected: int
    no_answer: int
    busy: int
    wrong_number: int
    refused: int
    call_back_later: int
    tasks_tried: int
    tasks_reached: int
    unreachable_closed: int

    @property
    def connect_rate(self) -> float | None:
        return ratio(self.connected, self.attempts)

    @property
    def reach_rate(self) -> float | None:
        return ratio(self.tasks_reached, self.tasks_tried)


def reachability(*, branches: Branches, start: dt.date, end: dt.date) -> list[ReachabilityRow]:
    """Connected vs failed attempts and unreachable closures per branch (RPT-2, EXE-3)."""
    low, high = day_bounds(start, end)
    tries = scoped(Attempt.objects.filter(at__gte=low, at__lt=high), "task__branch_id", branches)
    per_outcome = {
        outcome.value: Count("id", filter=Q(outcome=outcome.value)) for outcome in Outcome
    }
    grouped = {
        row["task__branch_id"]: row
        for row in tries.order_by()
        .values("task__branch_id")
        .annotate(
            attempts=Count("id"),
            tasks_tried=Count("task", distinct=True),
            tasks_reached=Count("task", distinct=True, filter=Q(outcome=Outcome.CONNECTED)),
            **per_outcome,
        )
    }
    closures = dict(
        scoped(_approved_unreachable(low, high), "branch_id", branches)
        .order_by()
        .values("branch_id")
        .annotate(n=Count("id"))
        .values_list("branch_id", "n")
    )
    rows = []
    for code in sorted(set(grouped) | set(closures)):
        row = grouped.get(code, {})
        rows.append(
            ReachabilityRow(
                branch_code=code,
                attempts=row.get("attempts", 0),
                tasks_tried=row.get("tasks_tried", 0),
                tasks_reached=row.get("tasks_reached", 0),
                unreachable_closed=closures.get(code, 0),
                **{outcome.value: row.get(outcome.value, 0) for outcome in Outcome},
            )
        )
    return rows


def _approved_unreachable(low: dt.datetime, high: dt.datetime) -> QuerySet[Review]:
    return Review.objects.filter(
        reason=ReviewReason.UNREACHABLE,
        status=ReviewStatus.APPROVED,
        decided_at__gte=low,
        decided_at__lt=high,
    )


# ---------------------------------------------------------------- satisfaction (EXE-4)


@dataclass(frozen=True)
class ScoreItem:
    """A score item of the installed questionnaires; F1 and F2 share theirs."""

    item_id: str
    label: str
    codes: tuple[str, ...]
    low: int
    high: int


def score_items() -> list[ScoreItem]:
    """Every score item of every installed questionnaire version, by (item id, label)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for code, definition in Questionnaire.objects.order_by("code", "version").values_list(
        "code", "definition"
    ):
        for section in definition.get("sections", []):
            for item in section.get("items", []):
                if item.get("type") != "score":
                    continue
                scale = [int(o) for o in item.get("options") or [1, 2, 3, 4, 5]]
                entry = found.setdefault(
                    (item["id"], item["text"]),
                    {"codes": [], "low": min(scale), "high": max(scale)},
                )
                if code not in entry["codes"]:
                    entry["codes"].append(code)
    return [
        ScoreItem(item_id, label, tuple(v["codes"]), v["low"], v["high"])
        for (item_id, label), v in sorted(found.items(), key=lambda kv: (kv[1]["codes"], kv[0]))
    ]


@dataclass(frozen=True)
class SatisfactionRow:
    """One score item in one branch: how many answered, the sum, top and bottom answers."""

    branch_code: str
    item_id: str
    label: str
    codes: tuple[str, ...]
    answered: int
    total: int
    satisfied: int  # the two highest points of the scale
    dissatisfied: int  # the two lowest

    @property
    def average(self) -> float | None:
        return self.total / self.answered if self.answered else None

    @property
    def satisfied_rate(self) -> float | None:
        return ratio(self.satisfied, self.answered)


def satisfaction(*, branches: Branches, start: dt.date, end: dt.date) -> list[SatisfactionRow]:
    """Score items answered in signed records of the period, per item and branch (RPT-2)."""
    sections = scoped(
        Section.objects.filter(
            record__status__in=SIGNED_RECORDS, record__callback_date__range=(start, end)
        ),
        "record__branch_id",
        branches,
    )
    rows: list[SatisfactionRow] = []
    for item in score_items():
        rows += _item_scores(sections, item)
    return sorted(rows, key=lambda r: (r.codes, r.item_id, r.branch_code))


def _score_expression(item_id: str) -> Coalesce:
    """The answer's value as text: ``{"value": 5, "note": …}`` or a bare ``5``."""
    return Coalesce(
        KeyTextTransform("value", KeyTransform(item_id, "answers")),
        KeyTextTransform(item_id, "answers"),
    )


def _item_scores(sections: QuerySet[Section], item: ScoreItem) -> list[SatisfactionRow]:
    grouped = (
        sections.filter(questionnaire__code__in=item.codes)
        .alias(score_text=_score_expression(item.item_id))
        .filter(score_text__regex=r"^-?[0-9]+$")
        .alias(score=Cast("score_text", IntegerField()))
        .order_by()
        .values("record__branch_id")
        .annotate(
            answered=Count("id"),
            total=Sum("score"),
            satisfied=Count("id", filter=Q(score__gte=item.high - 1)),
            dissatisfied=Count("id", filter=Q(score__lte=item.low + 1)),
        )
    )
    return [
        SatisfactionRow(
            branch_code=row["record__branch_id"],
            item_id=item.item_id,
            label=item.label,
            codes=item.codes,
            answered=row["answered"],
            total=row["total"] or 0,
            satisfied=row["satisfied"],
            dissatisfied=row["dissatisfied"],
        )
        for row in grouped
    ]


# ---------------------------------------------------------------- workload (REV-1, RPT-2)


@dataclass(frozen=True)
class WorkloadRow:
    """One agent's work and its quality in the period, within the reader's branches."""

    staff_id: str
    name: str
    unit_code: str
    records_signed: int
    attempts: int
    connected: int
    reviews_passed: int
    reviews_findings: int
    unreachable_approved: int
    banned_phrase_records: int

    @property
    def findings_rate(self) -> float | None:
        return ratio(self.reviews_findings, self.reviews_passed + self.reviews_findings)


def workload(*, branches: Branches, start: dt.date, end: dt.date) -> list[WorkloadRow]:
    """Records, attempts and review outcomes per agent (RPT-2, REV-1); only tasks in scope."""
    from huifang.org.models import Staff

    low, high = day_bounds(start, end)
    records = _per_staff(
        scoped(
            Record.objects.filter(agent_signed_at__gte=low, agent_signed_at__lt=high),
            "branch_id",
            branches,
        ),
        "agent_id",
        records_signed=Count("id"),
        banned_phrase_records=Count("id", filter=~Q(banned_phrases=[])),
    )
    tries = _per_staff(
        scoped(Attempt.objects.filter(at__gte=low, at__lt=high), "task__branch_id", branches),
        "staff_id",
        attempts=Count("id"),
        connected=Count("id", filter=Q(outcome=Outcome.CONNECTED)),
    )
    decided = Review.objects.filter(decided_at__gte=low, decided_at__lt=high)
    reviews = _per_staff(
        scoped(decided.filter(record__isnull=False), "branch_id", branches),
        "record__agent_id",
        reviews_passed=Count("id", filter=Q(status=ReviewStatus.PASSED)),
        reviews_findings=Count("id", filter=Q(status=ReviewStatus.FINDINGS)),
    )
    closures = _per_staff(
        scoped(_approved_unreachable(low, high), "branch_id", branches),
        "task__assignee_id",
        unreachable_approved=Count("id"),
    )
    ids = set(records) | set(tries) | set(reviews) | set(closures)
    ids.discard(None)  # type: ignore[arg-type]
    people = {
        s["staff_id"]: s
        for s in Staff.objects.filter(pk__in=ids).values("staff_id", "name", "unit_id")
    }
    rows = []
    for staff_id in sorted(ids):
        person = people.get(staff_id, {"name": "", "unit_id": ""})
        counts: dict[str, int] = {}
        for source in (records, tries, reviews, closures):
            counts.update(source.get(staff_id, {}))
        rows.append(
            WorkloadRow(
                staff_id=staff_id,
                name=person["name"],
                unit_code=person["unit_id"],
                records_signed=counts.get("records_signed", 0),
                attempts=counts.get("attempts", 0),
                connected=counts.get("connected", 0),
                reviews_passed=counts.get("reviews_passed", 0),
                reviews_findings=counts.get("reviews_findings", 0),
                unreachable_approved=counts.get("unreachable_approved", 0),
                banned_phrase_records=counts.get("banned_phrase_records", 0),
            )
        )
    return rows


def _per_staff(queryset: QuerySet[Any], field: str, **aggregates: Any) -> dict[str, dict[str, int]]:
    """``{staff_id: {name: count}}`` of one grouped query."""
    grouped = queryset.order_by().values(field).annotate(**aggregates)
    return {row.pop(field): row for row in grouped}


# ---------------------------------------------------------------- key figures (dashboard)


@dataclass(frozen=True)
class KeyFigures:
    """The dashboard's headline numbers, summed from the report rows (no query)."""

    required: int
    done: int
    unreachable: int
    on_time: int
    judged: int  # on time + late + open overdue
    open_overdue: int
    issues_found: int
    issues_open: int
    issues_breached: int
    attempts: int
    connected: int
    records_signed: int

    @property
    def coverage_rate(self) -> float | None:
        return ratio(self.done, self.required)

    @property
    def on_time_rate(self) -> float | None:
        return ratio(self.on_time, self.judged)

    @property
    def connect_rate(self) -> float | None:
        return ratio(self.connected, self.attempts)


def key_figures(
    *,
    coverage_rows: Iterable[CoverageRow],
    timeliness_rows: Iterable[TimelinessRow],
    problem_rows: Iterable[ProblemRow],
    reachability_rows: Iterable[ReachabilityRow],
    trend: Iterable[DayCount],
) -> KeyFigures:
    cov = list(coverage_rows)
    tim = list(timeliness_rows)
    prob = list(problem_rows)
    reach = list(reachability_rows)
    return KeyFigures(
        required=sum(r.required for r in cov),
        done=sum(r.done for r in cov),
        unreachable=sum(r.unreachable for r in cov),
        on_time=sum(r.on_time for r in tim),
        judged=sum(r.on_time + r.late + r.open_overdue for r in tim),
        open_overdue=sum(r.open_overdue for r in tim),
        issues_found=sum(r.found for r in prob),
        issues_open=sum(r.open for r in prob),
        issues_breached=sum(r.breached for r in prob),
        attempts=sum(r.attempts for r in reach),
        connected=sum(r.connected for r in reach),
        records_signed=sum(d.count for d in trend),
    )
