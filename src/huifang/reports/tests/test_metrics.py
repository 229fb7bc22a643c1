"""RPT-2 figures equal an independent count over the synthetic brokerage's own facts.

``brokerage.build`` keeps, in plain Python, what it created (plans, purposes with their
task status and signature day, attempts, scores, reviews, issues); each test counts
the expected figures from those facts — never through the ORM — and compares them
with ``reports.metrics`` for the whole company and for a branch or region scope.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

import pytest

from huifang.callbacks.choices import OPEN_STATUSES, TaskStatus
from huifang.callbacks.models import Task
from huifang.reports import metrics
from huifang.reports.tests.brokerage import DONE, END, START, TODAY, World, at

pytestmark = pytest.mark.django_db

SCOPES = {
    "company": None,
    "branch A01": frozenset({"A01"}),
    "region R1": frozenset({"A01", "A02"}),
    "nothing": frozenset(),
}


def _visible(branch: str, scope: frozenset[str] | None) -> bool:
    return scope is None or branch in scope


def expected_coverage(world: World, scope: frozenset[str] | None) -> dict[tuple, tuple]:
    expected: dict[tuple, list[int]] = {}
    for plan in world.plans:
        overlaps = plan.period_start <= END and plan.period_end >= START
        if not overlaps or not (_visible(plan.branch, scope) and (plan.branch or scope is None)):
            continue
        row = expected.setdefault((plan.rule_code, plan.branch, plan.level), [0] * 7)
        statuses = Counter(plan.statuses)
        row[0] += plan.population
        row[1] += plan.required
        row[2] += plan.sampled
        row[3] += sum(statuses[s] for s in DONE)
        row[4] += statuses[TaskStatus.UNREACHABLE]
        row[5] += sum(statuses[s] for s in OPEN_STATUSES)
        row[6] += statuses[TaskStatus.CANCELLED]
    for purpose in world.purposes:
        if purpose.sampled or not START <= purpose.business_date <= END:
            continue
        if not _visible(purpose.branch, scope):
            continue
        row = expected.setdefault((purpose.rule_code, purpose.branch, purpose.level), [0] * 7)
        row[1] += 1
        row[2] += 1
        row[3] += purpose.status in DONE
        row[4] += purpose.status == TaskStatus.UNREACHABLE
        row[5] += purpose.status in OPEN_STATUSES
        row[6] += purpose.status == TaskStatus.CANCELLED
    return {key: tuple(value) for key, value in expected.items()}


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_coverage_equals_an_independent_count(brokerage: World, scope: Any) -> None:
    rows = metrics.coverage(branches=scope, start=START, end=END)
    got = {
        (r.rule_code, r.branch_code, r.level): (
            r.population or 0, r.required, r.drawn, r.done, r.unreachable, r.open, r.cancelled,
        )
        for r in rows
    }  # fmt: skip
    assert got == expected_coverage(brokerage, scope)
    if scope is None:
        assert {r.rule_code for r in rows} >= {"NEW-1", "NEW-2", "NEW-3", "SMALL-1", "DEP-1"}
        assert any(r.branch_code == metrics.COMPANY for r in rows)  # the company-wide NEW-3
        assert any(r.done for r in rows) and any(r.unreachable for r in rows)


def test_unreachable_never_counts_as_covered(brokerage: World) -> None:
    rows = metrics.coverage(branches=None, start=START, end=END)
    for row in rows:
        assert row.done + row.unreachable + row.open + row.cancelled == row.drawn
    assert sum(r.unreachable for r in rows) > 0


def test_coverage_by_rule_sums_the_branches(brokerage: World) -> None:
    rows = metrics.coverage(branches=None, start=START, end=END)
    by_rule = {r.rule_code: (r.required, r.done) for r in metrics.coverage_by_rule(rows)}
    expected: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (rule, _branch, _level), values in expected_coverage(brokerage, None).items():
        expected[rule][0] += values[1]
        expected[rule][1] += values[3]
    assert by_rule == {rule: tuple(v) for rule, v in expected.items()}


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_timeliness_equals_an_independent_count(brokerage: World, scope: Any) -> None:
    expected: dict[tuple, Counter[str]] = defaultdict(Counter)
    for p in brokerage.purposes:
        if not START <= p.due_date <= END or not _visible(p.branch, scope):
            continue
        count = expected[(p.rule_code, p.branch)]
        count["due"] += 1
        if p.status in DONE:
            count["on_time" if p.signed_on and p.signed_on <= p.due_date else "late"] += 1
        elif p.status in OPEN_STATUSES:
            count["open_overdue" if p.due_date < TODAY else "open_not_due"] += 1
        else:
            count[p.status] += 1
    rows = metrics.timeliness(branches=scope, start=START, end=END)
    got = {
        (r.rule_code, r.branch_code): Counter(
            {k: v for k, v in vars(r).items() if isinstance(v, int) and v}
        )
        for r in rows
    }
    assert got == expected
    if scope is None:
        assert all(sum(r.on_time for r in rows) and sum(getattr(r, k) for r in rows)
                   for k in ("late", "open_overdue", "open_not_due"))  # fmt: skip


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_reachability_equals_an_independent_count(brokerage: World, scope: Any) -> None:
    low, high = metrics.day_bounds(START, END)
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    tried: dict[str, set[int]] = defaultdict(set)
    reached: dict[str, set[int]] = defaultdict(set)
    for a in brokerage.attempts:
        if low <= a.at < high and _visible(a.branch, scope):
            expected[a.branch]["attempts"] += 1
            expected[a.branch][a.outcome] += 1
            tried[a.branch].add(a.task_id)
            if a.outcome == "connected":
                reached[a.branch].add(a.task_id)
    for branch, decided in brokerage.unreachable_closures:
        if low <= decided < high and _visible(branch, scope):
            expected[branch]["unreachable_closed"] += 1
    for branch in expected:
        expected[branch]["tasks_tried"] = len(tried[branch])
        expected[branch]["tasks_reached"] = len(reached[branch])
    rows = metrics.reachability(branches=scope, start=START, end=END)
    got = {
        r.branch_code: Counter({k: v for k, v in vars(r).items() if isinstance(v, int)})
        for r in rows
    }
    assert {b: +c for b, c in got.items()} == {b: +c for b, c in expected.items()}


@pytest.mark.parametrize("scope", SCOPES.values(), ids=SCOPES.keys())
def test_satisfaction_reads_every_form_of_a_score(brokerage: World, scope: Any) -> None:
    """{"value": 5}, a bare 5 and {"value": "5"} all count; drafts and other periods do not."""
    expected: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for branch, item, score, counted in brokerage.scores:
        if counted and _visible(branch, scope):
            row = expected[(branch, item)]
            row[0] += 1
            row[1] += score
            row[2] += score >= 4
            row[3] += score <= 2
    rows = metrics.satisfaction(branches=scope, start=START, end=END)
    got = {
        (r.branch_code, r.item_id): [r.answered, r.total, r.satisfied, r.dissatisfied] for r in rows
    }
    assert got == dict(expected)
    if scope is None:
        assert {item for _b, item in got} == {
            "sat_research",
            "sat_staff_attitude",
            "sat_system_function",
        }


def test_workload_counts_each_agents_records_attempts_and_reviews(brokerage: World) -> None:
    low, high = metrics.day_bounds(START, END)
    rows = {r.staff_id: r for r in metrics.workload(branches=None, start=START, end=END)}
    for branch, agent in brokerage.agents.items():
        staff_id = agent.staff.pk
        records = [r for r in brokerage.records[branch] if low <= r.agent_signed_at < high]
        tries = [a for a in brokerage.attempts if a.staff_id == staff_id and low <= a.at < high]
        reviews = Counter(
            s for b, _a, s, at_ in brokerage.reviews if b == branch and low <= at_ < high
        )
        row = rows[staff_id]
        assert (row.records_signed, row.attempts, row.connected) == (
            len(records),
            len(tries),
            sum(a.outcome == "connected" for a in tries),
        )
        assert (row.reviews_passed, row.reviews_findings) == (
            reviews["passed"],
            reviews["findings"],
        )
        assert row.unit_code == branch
    scoped = metrics.workload(branches=frozenset({"A01"}), start=START, end=END)
    assert [r.staff_id for r in scoped] == [brokerage.agents["A01"].staff.pk]


def test_records_signed_per_day(brokerage: World) -> None:
    expected = Counter(
        r.agent_signed_at.astimezone(metrics.clock.SHANGHAI).date()
        for records in brokerage.records.values()
        for r in records
    )
    trend = metrics.signed_per_day(branches=None, start=START, end=END)
    assert [d.day for d in trend] == list(metrics.days(START, END))
    assert {d.day: d.count for d in trend if d.count} == {
        day: n for day, n in expected.items() if START <= day <= END
    }


def test_backlog_splits_open_tasks_by_overdue_and_status(brokerage: World) -> None:
    expected: dict[str, Counter[str]] = defaultdict(Counter)
    rows = {r.branch_code: r for r in metrics.backlog(branches=None, today=TODAY)}
    for task in Task.objects.filter(status__in=OPEN_STATUSES):  # counted here in Python
        expected[task.branch_id]["overdue" if task.due_date < TODAY else task.status] += 1
    for branch, counts in expected.items():
        row = rows[branch]
        assert (row.overdue, row.open, row.assigned, row.in_progress) == (
            counts["overdue"],
            counts["open"],
            counts["assigned"],
            counts["in_progress"],
        )
    assert sum(r.total for r in rows.values()) == sum(sum(c.values()) for c in expected.values())


def test_problems_count_issues_and_working_days_to_close(brokerage: World) -> None:
    """Per branch: raised 10-08 closed 10-12 (3 working days: 10-09, the adjusted Saturday
    10-10, 10-12), raised and closed 10-12 (0), one open and breached; one raised in September."""
    rows = metrics.problems(branches=None, start=START, end=END)
    assert [
        (r.branch_code, r.found, r.closed, r.open, r.breached_answer, r.breached) for r in rows
    ] == [(code, 3, 2, 1, 1, 1) for code in ("A01", "A02", "B01")]
    assert {(r.avg_days, r.median_days, r.days_known) for r in rows} == {(1.5, 1.5, True)}
    assert [
        r.branch_code for r in metrics.problems(branches=frozenset({"B01"}), start=START, end=END)
    ] == ["B01"]


def test_problems_never_guess_a_missing_calendar_year(brokerage: World, monkeypatch: Any) -> None:
    from huifang.calendars import service

    def missing(*_args: Any) -> list[dt.date]:
        raise service.CalendarYearMissing(2026)

    monkeypatch.setattr(service, "working_days_between", missing)
    rows = metrics.problems(branches=None, start=START, end=END)
    assert {(r.avg_days, r.median_days, r.days_known) for r in rows} == {(None, None, False)}


def test_key_figures_sum_the_rows(brokerage: World) -> None:
    cov = metrics.coverage(branches=None, start=START, end=END)
    tim = metrics.timeliness(branches=None, start=START, end=END)
    figures = metrics.key_figures(
        coverage_rows=cov, timeliness_rows=tim,
        problem_rows=metrics.problems(branches=None, start=START, end=END),
        reachability_rows=metrics.reachability(branches=None, start=START, end=END),
        trend=metrics.signed_per_day(branches=None, start=START, end=END),
    )  # fmt: skip
    assert figures.required == sum(v[1] for v in expected_coverage(brokerage, None).values())
    assert figures.done == sum(v[3] for v in expected_coverage(brokerage, None).values())
    assert figures.issues_found == 9 and figures.issues_breached == 3
    assert figures.coverage_rate == figures.done / figures.required


def test_day_bounds_are_shanghai_days() -> None:
    low, high = metrics.day_bounds(dt.date(2026, 10, 1), dt.date(2026, 10, 1))
    assert low == at(dt.date(2026, 10, 1), 0) and high - low == dt.timedelta(days=1)
