"""Branch evaluation (REV-4, ISS-5, RPT-3): HQ evaluates every branch and publishes the results
within 10 working days of the period's end; the results also assess the responsible agents.

``compute(period, actor)`` (compliance) counts, for every branch, the figures of
``inputs`` up to the day before today (at most the period's end) and keeps them as a
draft per branch with the weights of ``params.weights()``; a draft may be computed
again, a published evaluation never. ``publish(period, actor)`` publishes every draft
of an ended period that was counted after its end, flagged late after
``add_working_days(period_end, 10)``. Each row written is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from huifang.audit.services import audit_record
from huifang.calendars.service import CalendarYearMissing
from huifang.core import clock
from huifang.evaluation import closing, inputs, params, scoring
from huifang.evaluation.access import EVALUATORS
from huifang.evaluation.errors import EvaluationRefused
from huifang.evaluation.models import Evaluation
from huifang.evaluation.periods import Period, month_bounds, months_between, parse_period
from huifang.org.choices import UnitKind
from huifang.org.models import Unit
from huifang.workbench.actors import Actor

EVALUATION = "evaluation.Evaluation"
ONE_DAY = dt.timedelta(days=1)


def period_of(label: str) -> Period:
    """The period for ``label``, or the refusal that says which labels exist."""
    try:
        return parse_period(label)
    except ValueError:
        raise EvaluationRefused(
            "invalid", _("考核期间应为 2026、2026-H1、2026-Q3 或 2026-09 这样的写法"), status=400
        ) from None


def _require_evaluator(actor: Actor) -> None:
    if not actor.has(*EVALUATORS):
        raise EvaluationRefused("forbidden", _("只有合规部可以计算和发布考核结果(REV-4)"),
                                status=403)  # fmt: skip


def _calendar_refusal(exc: CalendarYearMissing) -> EvaluationRefused:
    return EvaluationRefused(
        "calendar_missing",
        _("%(year)s 年工作日历未载入,无法计算工作日期限(NFR-1)") % {"year": exc.year},
    )


def compute(*, period: str, actor: Actor) -> list[Evaluation]:
    """REV-4: a draft evaluation of every branch for ``period``, figures counted as of today."""
    _require_evaluator(actor)
    span = period_of(period)
    today = clock.today()
    if span.start >= today:
        raise EvaluationRefused("not_started", _("考核期间尚未开始,没有可计算的数据(REV-4)"))
    if Evaluation.objects.filter(period=span.label).published().exists():
        raise EvaluationRefused("published", _("%(p)s 的考核结果已发布,不能重新计算(REV-4)")
                                % {"p": span.label})  # fmt: skip
    try:
        due = span.publish_due
    except CalendarYearMissing:
        due = None  # known once next year's calendar is loaded; publishing needs it (NFR-1)
    branches = list(Unit.objects.filter(unit_kind=UnitKind.BRANCH).order_by("code"))
    try:
        states = closing_states([b.code for b in branches], span, today)
    except CalendarYearMissing as exc:
        raise _calendar_refusal(exc) from exc
    weights = params.weights()
    fetched = Inputs.of([b.code for b in branches], span, today)
    with transaction.atomic():
        existing = {
            row.branch_id: row
            for row in Evaluation.objects.select_for_update().filter(period=span.label)
        }
        return [
            _save_draft(
                branch,
                span,
                today,
                due,
                weights,
                states.get(branch.code, {}),
                actor,
                fetched,
                existing.get(branch.code),
            )  # fmt: skip
            for branch in branches
        ]


def closing_states(branches: list[str], span: Period, today: dt.date) -> dict[str, dict[str, str]]:
    """REV-3 state of every ended month of the period, by branch then month."""
    months = [m for m in months_between(span.start, span.end) if month_bounds(m)[1] < today]
    firsts = inputs.first_closings(branches, months)
    windows = {m: closing.closing_window_end(m) for m in months}
    return {
        code: {m: str(closing.state(firsts.get((code, m)), m, today, windows[m])) for m in months}
        for code in branches
    }


@dataclass(frozen=True)
class Inputs:
    """What the scores of a set of branches read, each fetched once for all of them."""

    due: Mapping[str, list[inputs.DueRow]]
    reviews: Mapping[str, list[inputs.ReviewRow]]
    issues: Mapping[str, list[inputs.IssueRow]]
    names: Mapping[str, str]

    @classmethod
    def of(cls, branches: list[str], span: Period, as_of: dt.date) -> Inputs:
        upto = min(span.end, as_of - ONE_DAY)
        due = inputs.due_purposes_by_branch(branches, span.start, upto)
        reviews = inputs.decided_reviews_by_branch(branches, span.start, upto)
        issues = inputs.issues_by_branch(branches, span.start, upto)
        people = {d.assignee_id for rows in due.values() for d in rows}
        people |= {r.agent_id for rows in reviews.values() for r in rows}
        people |= {i.owner_id for rows in issues.values() for i in rows}
        return cls(due, reviews, issues, inputs.staff_names(p for p in people if p))


def figures(
    branch: str, weights: Mapping[str, int],
    closing_state: Mapping[str, str], fetched: Inputs,
) -> tuple[dict[str, Any], Decimal | None, list[dict[str, Any]]]:  # fmt: skip
    """Scores, total and the agents' part of one branch (its rows of ``fetched``)."""
    due = fetched.due.get(branch, [])
    reviews = fetched.reviews.get(branch, [])
    issues = fetched.issues.get(branch, [])
    scores, total = scoring.branch_scores(weights, due, reviews, issues, closing_state)
    return scores, total, scoring.agent_part(weights, due, reviews, issues, fetched.names)


def _save_draft(
    branch: Unit, span: Period, today: dt.date, due: dt.date | None, weights: dict[str, int],
    closing_state: Mapping[str, str], actor: Actor, fetched: Inputs, row: Evaluation | None,
) -> Evaluation:  # fmt: skip
    scores, total, agents = figures(branch.code, weights, closing_state, fetched)
    values = {
        "period_start": span.start, "period_end": span.end, "as_of": today, "weights": weights,
        "scores": scores, "total": total, "agents": agents, "computed_at": clock.now(),
        "computed_by": actor.name, "publish_due": due,
    }  # fmt: skip
    before = None if row is None else {"as_of": row.as_of, "total": row.total}
    if row is None:
        row = Evaluation.objects.create(period=span.label, branch=branch, **values)
    else:
        for name, value in values.items():
            setattr(row, name, value)
        row.save(update_fields=list(values))
    audit_record(
        action="evaluation.compute", object_type=EVALUATION, object_id=str(row.pk),
        branch_code=branch.code, before=before,
        after={"period": span.label, "as_of": today, "total": total,
               "scores": {code: s["score"] for code, s in scores.items()}},
    )  # fmt: skip
    return row


def publish(*, period: str, actor: Actor) -> list[Evaluation]:
    """REV-4: publish every draft of an ended period; late after ``publish_due``."""
    _require_evaluator(actor)
    span = period_of(period)
    today = clock.today()
    if span.end >= today:
        raise EvaluationRefused("not_ended", _("考核期间尚未结束,不能发布(REV-4)"))
    try:
        due = span.publish_due
    except CalendarYearMissing as exc:
        raise _calendar_refusal(exc) from exc
    with transaction.atomic():
        rows = list(
            Evaluation.objects.select_for_update().filter(period=span.label).order_by("branch")
        )
        _check_publishable(rows, span)
        now = clock.now()
        for row in rows:
            row.published_at, row.published_by = now, actor.name
            row.publish_due, row.published_late = due, today > due
            row.save(
                update_fields=["published_at", "published_by", "publish_due", "published_late"]
            )
            audit_record(
                action="evaluation.publish", object_type=EVALUATION, object_id=str(row.pk),
                branch_code=row.branch_id, before={"published_at": None},
                after={"period": span.label, "published_at": now, "publish_due": due,
                       "late": row.published_late, "total": row.total},
            )  # fmt: skip
    return rows


def _check_publishable(rows: list[Evaluation], span: Period) -> None:
    if not rows:
        raise EvaluationRefused("no_drafts", _("%(p)s 尚未计算考核结果(REV-4)") % {"p": span.label})
    if any(row.is_published for row in rows):
        raise EvaluationRefused("published", _("%(p)s 的考核结果已发布(REV-4)") % {"p": span.label})
    stale = sorted(row.branch_id for row in rows if row.as_of <= span.end)
    if stale:
        raise EvaluationRefused(
            "stale", _("以下营业部的考核结果在期间结束前计算,请重新计算后发布:%(b)s(REV-4)")
            % {"b": "、".join(stale)},
        )  # fmt: skip
