"""REV-4 branch evaluation: the scores equal an independent count of a small seeded quarter;
drafts, publication and its late flag, refusals, audit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from huifang.accounts.choices import Role
from huifang.audit.models import AuditEvent
from huifang.calendars.service import add_working_days
from huifang.core import clock
from huifang.evaluation import closing, evaluations, inputs, params
from huifang.evaluation.errors import EvaluationRefused
from huifang.evaluation.inputs import IssueRow
from huifang.evaluation.models import Evaluation
from huifang.evaluation.tests.factories import (
    branch,
    decided_review,
    hq_user,
    issue,
    leader_user,
    signed_record,
    staff_of,
    task_due,
)
from huifang.workbench.actors import actor_of

pytestmark = pytest.mark.django_db

Q3_START, Q3_END = dt.date(2026, 7, 1), dt.date(2026, 9, 30)
D = dt.date


@dataclass(frozen=True)
class SeedTask:
    key: str
    dues: tuple[dt.date, ...]  # one purpose per due date (CON-4 merges them into one task)
    status: str
    signed: dt.date | None = None  # the agent signed the record that day
    level: str = "branch"
    agent: str | None = None  # "s1" / "s2"


# Branch A's tasks; the comment says how the definitions (RPT-2, scoring.py) see each one.
SEED_TASKS = [
    SeedTask("t1", (D(2026, 8, 10),), "signed", D(2026, 8, 9), agent="s1"),  # done on time
    SeedTask("t2", (D(2026, 8, 20),), "reviewed", D(2026, 8, 22), agent="s1"),  # done late
    SeedTask("t3", (D(2026, 9, 5),), "unreachable", agent="s2"),  # not covered, not judged
    SeedTask("t4", (D(2026, 9, 10),), "in_progress", agent="s2"),  # open overdue
    SeedTask("t5", (D(2026, 9, 20),), "signed", D(2026, 9, 25), agent="s2"),  # done late
    SeedTask("t6", (D(2026, 9, 14), D(2026, 9, 12)), "signed", D(2026, 9, 13), agent="s1"),
    SeedTask("t7", (D(2026, 9, 1),), "cancelled", agent="s1"),  # not required
    SeedTask("t8", (D(2026, 10, 5),), "open", agent="s1"),  # due after the period
    SeedTask("t9", (D(2026, 9, 1),), "open", level="company"),  # head office's own callback
    SeedTask("t10", (D(2026, 6, 30),), "open", agent="s2"),  # due before the period
]
# (task, reason, status, decided on)
SEED_REVIEWS = [
    ("t1", "sample", "passed", D(2026, 8, 12)),
    ("t1", "problem", "findings", D(2026, 8, 13)),
    ("t2", "sample", "passed", D(2026, 8, 22)),
    ("t5", "sample", "passed", D(2026, 9, 28)),
    ("t5", "problem", "findings", D(2026, 10, 2)),  # decided after the period
    ("t2", "banned_phrase", "pending", D(2026, 9, 1)),  # not decided
]
# (owner, breached_answer, breached_loop)
SEED_ISSUES = [("s1", True, False), ("s2", False, False), (None, False, True), ("s2", False, False)]


def due_in_window(tasks: list[SeedTask]) -> list[tuple[SeedTask, dt.date]]:
    """Every (task, purpose due date) the evaluation of Q3 must count."""
    return [
        (t, due) for t in tasks for due in t.dues
        if t.level == "branch" and t.status != "cancelled" and Q3_START <= due <= Q3_END
    ]  # fmt: skip


def is_done(t: SeedTask) -> bool:
    return t.status in ("signed", "reviewed")


def is_open(t: SeedTask) -> bool:
    return t.status in ("open", "assigned", "in_progress")


def on_time(t: SeedTask, due: dt.date) -> bool:
    return is_done(t) and t.signed is not None and t.signed <= due


def pct(good: int, total: int) -> float | None:
    if not total:
        return None
    return float((Decimal(100 * good) / total).quantize(Decimal("0.1"), ROUND_HALF_UP))


def mean(pairs: list[tuple[float | None, int]]) -> float | None:
    scored = [(Decimal(str(s)), w) for s, w in pairs if s is not None]
    if not scored:
        return None
    value = sum(s * w for s, w in scored) / sum(w for _, w in scored)
    return float(value.quantize(Decimal("0.1"), ROUND_HALF_UP))


@pytest.fixture
def quarter(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Branch A seeded as above, branch B empty; A closes Jul on time, Aug late, Sep on time."""
    a, b = branch(), branch()
    people = {"s1": staff_of(a), "s2": staff_of(a)}
    tasks, records = {}, {}
    for t in SEED_TASKS:
        tasks[t.key] = task_due(a, t.dues[0], also_due=t.dues[1:], status=t.status,
                                assignee=people.get(t.agent or ""), level=t.level)  # fmt: skip
        if t.signed:
            records[t.key] = signed_record(
                a, t.signed, task=tasks[t.key], agent=people[t.agent or ""]
            )
    for key, reason, status, day in SEED_REVIEWS:
        decided_review(records[key], status, day, reason=reason)
    signed_record(b, D(2026, 8, 3))  # B's record: no task due, no review
    ops = leader_user(Role.BRANCH_OPS, a)
    for month, day in (("2026-07", D(2026, 8, 5)), ("2026-08", D(2026, 9, 15)),
                       ("2026-09", D(2026, 10, 13))):  # fmt: skip
        with clock.frozen(day):
            closing.submit(branch=a, month=month, actor=actor_of(ops))
    rows = {a.code: [IssueRow(n, people[o].pk if o else None, x, y)
                     for n, (o, x, y) in enumerate(SEED_ISSUES, 1)]}  # fmt: skip
    monkeypatch.setattr(
        inputs, "issues_by_branch", lambda codes, start, end: {c: rows.get(c, []) for c in codes}
    )
    return SimpleNamespace(a=a, b=b, people=people, compliance=hq_user())


def test_the_scores_equal_an_independent_count_of_the_seeded_quarter(quarter: Any) -> None:
    w = params.weights()
    due = due_in_window(SEED_TASKS)
    done = [(t, d) for t, d in due if is_done(t)]
    judged = [(t, d) for t, d in due if is_done(t) or is_open(t)]
    in_time = [(t, d) for t, d in judged if on_time(t, d)]
    decided = [r for r in SEED_REVIEWS if r[2] in ("passed", "findings") and r[3] <= Q3_END]
    passed = [r for r in decided if r[2] == "passed"]
    clean = [i for i in SEED_ISSUES if not (i[1] or i[2])]
    expected = {
        "coverage": pct(len(done), len(due)),
        "timeliness": pct(len(in_time), len(judged)),
        "review": pct(len(passed), len(decided)),
        "issues": pct(len(clean), len(SEED_ISSUES)),
        "closing": pct(2, 3),  # Jul and Sep on time, Aug late
    }
    # the seed itself: 7 purposes due (t6 serves two), 5 done, 6 judged (not t3, unreachable),
    # 2 on time (t1, and t6's purpose due 09-14 — not the one due 09-12)
    assert (len(due), len(done), len(judged), len(in_time), len(decided)) == (7, 5, 6, 2, 4)

    evaluations.compute(period="2026-Q3", actor=actor_of(quarter.compliance))

    row = Evaluation.objects.get(period="2026-Q3", branch=quarter.a)
    assert {code: s["score"] for code, s in row.scores.items()} == expected
    total = mean([(expected[c], w[c]) for c in expected])
    assert row.total is not None and float(row.total) == total
    assert row.scores["coverage"]["figures"] == {"due": 7, "done": 5, "unreachable": 1, "open": 1}
    assert row.scores["timeliness"]["figures"] == {
        "judged": 6, "on_time": 2, "late": 3, "open_overdue": 1
    }  # fmt: skip
    assert row.scores["closing"]["figures"]["late"] == ["2026-08"]
    assert (row.period_start, row.period_end, row.as_of) == (Q3_START, Q3_END, D(2026, 10, 14))
    assert row.publish_due == add_working_days(Q3_END, 10) == D(2026, 10, 20)


def test_the_agents_part_counts_each_persons_own_work(quarter: Any) -> None:
    evaluations.compute(period="2026-Q3", actor=actor_of(quarter.compliance))
    row = Evaluation.objects.get(period="2026-Q3", branch=quarter.a)
    part = {agent["staff_id"]: agent for agent in row.agents}
    for key, person in quarter.people.items():
        mine = [(t, d) for t, d in due_in_window(SEED_TASKS) if t.agent == key]
        judged = [(t, d) for t, d in mine if is_done(t) or is_open(t)]
        reviews = [r for r in SEED_REVIEWS if r[2] in ("passed", "findings") and r[3] <= Q3_END
                   and next(t for t in SEED_TASKS if t.key == r[0]).agent == key]  # fmt: skip
        issues = [i for i in SEED_ISSUES if i[0] == key]
        scores = {
            "timeliness": pct(sum(1 for t, d in judged if on_time(t, d)), len(judged)),
            "review": pct(sum(1 for r in reviews if r[2] == "passed"), len(reviews)),
            "issues": pct(sum(1 for i in issues if not (i[1] or i[2])), len(issues)),
        }
        got = part[person.pk]
        assert {c: s["score"] for c, s in got["scores"].items()} == scores, key
        assert got["total"] == mean([(scores[c], params.weights()[c]) for c in scores])
        assert got["name"] == person.name


def test_a_branch_with_nothing_to_count_has_no_score_rather_than_a_made_up_one(
    quarter: Any,
) -> None:
    evaluations.compute(period="2026-Q3", actor=actor_of(quarter.compliance))
    row = Evaluation.objects.get(period="2026-Q3", branch=quarter.b)
    scores = {code: s["score"] for code, s in row.scores.items()}
    assert scores == {"coverage": None, "timeliness": None, "review": None, "issues": None,
                      "closing": 0.0}  # two months missing (Sep still inside its window)  # fmt: skip
    assert row.scores["closing"]["figures"]["missing"] == ["2026-07", "2026-08"]
    assert row.total is not None and row.total == 0


def test_compute_makes_a_draft_for_every_branch_and_can_run_again(quarter: Any) -> None:
    actor = actor_of(quarter.compliance)
    first = evaluations.compute(period="2026-Q3", actor=actor)
    assert {e.branch_id for e in first} == {quarter.a.code, quarter.b.code}
    assert all(e.published_at is None for e in first)
    with clock.frozen(D(2026, 10, 15)):
        again = evaluations.compute(period="2026-Q3", actor=actor)
    assert [e.pk for e in again] == [e.pk for e in first]
    assert Evaluation.objects.get(pk=first[0].pk).as_of == D(2026, 10, 15)
    assert AuditEvent.objects.filter(action="evaluation.compute").count() == 4


def test_only_compliance_computes_and_publishes(quarter: Any) -> None:
    for user in (hq_user(Role.HQ_SERVICE), leader_user(Role.BRANCH_OPS, quarter.a)):
        for service in (evaluations.compute, evaluations.publish):
            with pytest.raises(EvaluationRefused) as refused:
                service(period="2026-Q3", actor=actor_of(user))
            assert refused.value.status == 403
    assert not Evaluation.objects.exists()


def test_publishing_inside_the_ten_working_days_is_on_time(quarter: Any) -> None:
    actor = actor_of(quarter.compliance)
    evaluations.compute(period="2026-Q3", actor=actor)
    with clock.frozen(dt.datetime(2026, 10, 20, 18, 0, tzinfo=clock.SHANGHAI)):
        rows = evaluations.publish(period="2026-Q3", actor=actor)
    assert all(r.published_at and not r.published_late for r in rows)
    assert AuditEvent.objects.filter(action="evaluation.publish").count() == len(rows) == 2


def test_publishing_after_the_ten_working_days_is_flagged_late(quarter: Any) -> None:
    actor = actor_of(quarter.compliance)
    with clock.frozen(D(2026, 10, 21)):
        evaluations.compute(period="2026-Q3", actor=actor)
        rows = evaluations.publish(period="2026-Q3", actor=actor)
    assert all(r.published_late and r.publish_due == D(2026, 10, 20) for r in rows)


def test_a_published_period_is_neither_recomputed_nor_published_again(quarter: Any) -> None:
    actor = actor_of(quarter.compliance)
    evaluations.compute(period="2026-Q3", actor=actor)
    evaluations.publish(period="2026-Q3", actor=actor)
    for service in (evaluations.compute, evaluations.publish):
        with pytest.raises(EvaluationRefused) as refused:
            service(period="2026-Q3", actor=actor)
        assert refused.value.code == "published"


def test_publish_refuses_a_running_period_a_stale_draft_and_nothing(quarter: Any) -> None:
    actor = actor_of(quarter.compliance)
    with pytest.raises(EvaluationRefused) as refused:
        evaluations.publish(period="2026-Q4", actor=actor)
    assert refused.value.code == "not_ended"
    with pytest.raises(EvaluationRefused) as refused:
        evaluations.publish(period="2026-Q2", actor=actor)
    assert refused.value.code == "no_drafts"
    with clock.frozen(D(2026, 9, 15)):  # counted before the period ended
        evaluations.compute(period="2026-Q3", actor=actor)
    with pytest.raises(EvaluationRefused) as refused:
        evaluations.publish(period="2026-Q3", actor=actor)
    assert refused.value.code == "stale"
    assert not Evaluation.objects.published().exists()


def test_a_running_period_counts_only_work_due_before_today(quarter: Any) -> None:
    actor = actor_of(quarter.compliance)
    with clock.frozen(D(2026, 9, 11)):
        evaluations.compute(period="2026-Q3", actor=actor)
    row = Evaluation.objects.get(period="2026-Q3", branch=quarter.a)
    # due by 09-10: t1, t2, t3, t4 (t6 is due 09-12 and 09-14, t5 09-20)
    assert row.scores["coverage"]["figures"]["due"] == 4
    assert row.as_of == D(2026, 9, 11)


def test_bad_and_future_periods_are_refused(quarter: Any) -> None:
    actor = actor_of(quarter.compliance)
    for label, code in (("2026-Q5", "invalid"), ("26", "invalid"), ("2027", "not_started")):
        with pytest.raises(EvaluationRefused) as refused:
            evaluations.compute(period=label, actor=actor)
        assert refused.value.code == code


def test_a_year_whose_publish_due_falls_in_an_unknown_year_is_computed_without_it(
    quarter: Any,
) -> None:
    evaluations.compute(period="2026", actor=actor_of(quarter.compliance))
    row = Evaluation.objects.get(period="2026", branch=quarter.a)
    assert row.publish_due is None  # 2027's calendar is not known (NFR-1): never guessed


def test_issue_breaches_are_read_from_the_issues_of_the_branch_raised_in_the_period() -> None:
    """ISS-5 on real ``issues.Issue`` rows: the branch's, raised in the window, by person."""
    a = branch()
    owner, agent = staff_of(a), staff_of(a)
    issue(a, D(2026, 7, 1), owner=owner, agent=agent, breached_answer=True)  # the owner's
    issue(a, D(2026, 8, 1), agent=agent, breached_loop=True)  # no owner: the agent's
    issue(a, D(2026, 9, 30), agent=agent)
    issue(a, D(2026, 10, 1), agent=agent, breached_loop=True)  # after the period
    issue(a, D(2026, 6, 30), owner=owner, breached_loop=True)  # before it
    issue(branch(), D(2026, 8, 1), breached_answer=True)  # another branch

    rows = inputs.branch_issues(a.code, Q3_START, Q3_END)

    assert [(r.owner_id, r.breached) for r in rows] == [
        (owner.pk, True), (agent.pk, True), (agent.pk, False)
    ]  # fmt: skip
    evaluations.compute(period="2026-Q3", actor=actor_of(hq_user()))
    row = Evaluation.objects.get(period="2026-Q3", branch=a)
    assert row.scores["issues"]["score"] == pct(1, 3)
    assert row.scores["issues"]["figures"] == {
        "raised": 3, "breached": 2, "breached_answer": 1, "breached_loop": 1
    }  # fmt: skip
    part = {p["staff_id"]: p["scores"]["issues"]["score"] for p in row.agents}
    assert part == {owner.pk: 0.0, agent.pk: 50.0}


def test_the_weights_come_from_the_setting_and_are_kept_with_the_result(
    quarter: Any, settings: Any
) -> None:
    settings.HUIFANG_EVALUATION_WEIGHTS = {"coverage": 1, "review": 3}
    evaluations.compute(period="2026-Q3", actor=actor_of(quarter.compliance))
    row = Evaluation.objects.get(period="2026-Q3", branch=quarter.a)
    assert row.weights == {"coverage": 1, "timeliness": 0, "review": 3, "issues": 0, "closing": 0}
    coverage, review = row.scores["coverage"]["score"], row.scores["review"]["score"]
    assert row.total is not None and float(row.total) == mean([(coverage, 1), (review, 3)])
    settings.HUIFANG_EVALUATION_WEIGHTS = {"speed": 5}
    with pytest.raises(ValueError, match="speed"):
        params.weights()
