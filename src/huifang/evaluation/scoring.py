"""The REV-4 scores from plain rows: pure functions, no database (STYLE "rules").

Each criterion gives a ``Count(good, total, figures)``: its score is ``good / total``
as a percentage with one decimal (half up), ``None`` when ``total`` is 0 — nothing
to count, so the criterion is left out of the total and the other weights carry it.
The total is the weighted mean of the scores that exist.

- coverage (应回访完成率): callbacks due (purposes of branch-level tasks) that are done
  (signed or reviewed) / callbacks due; an unreachable closure is not covered;
- timeliness (回访及时率): callbacks agent-signed by their due date / callbacks done or
  still open (unreachable closures are not judged) — the definitions of RPT-2;
- review (复核通过率): reviews passed / reviews decided (REV-1, REV-2);
- issues (问题处理时限达标率, ISS-5): issues without an ISS-2 or ISS-4 breach / issues raised;
- closing (月结按时报送率, REV-3): months closed on time / months whose closing was due.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from huifang.evaluation.choices import ClosingState, Criterion
from huifang.evaluation.inputs import DueRow, IssueRow, ReviewRow
from huifang.evaluation.params import AGENT_CRITERIA

ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class Count:
    """One criterion's count: ``good`` of ``total``, and the raw figures shown with it."""

    good: int
    total: int
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> Decimal | None:
        return percent(self.good, self.total)


def percent(good: int, total: int) -> Decimal | None:
    """``good / total`` in percent, one decimal, half up; None for an empty total."""
    if total <= 0:
        return None
    return (Decimal(100 * good) / Decimal(total)).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def coverage(due: Sequence[DueRow]) -> Count:
    done = sum(1 for d in due if d.done)
    unreachable = sum(1 for d in due if d.unreachable)
    figures = {"due": len(due), "done": done, "unreachable": unreachable,
               "open": sum(1 for d in due if d.open)}  # fmt: skip
    return Count(done, len(due), figures)


def timeliness(due: Sequence[DueRow]) -> Count:
    judged = [d for d in due if d.done or d.open]
    on_time = sum(1 for d in judged if d.on_time)
    figures = {"judged": len(judged), "on_time": on_time,
               "late": sum(1 for d in judged if d.done) - on_time,
               "open_overdue": sum(1 for d in judged if d.open)}  # fmt: skip
    return Count(on_time, len(judged), figures)


def review(reviews: Sequence[ReviewRow]) -> Count:
    findings = sum(1 for r in reviews if r.findings)
    passed = len(reviews) - findings
    figures = {"decided": len(reviews), "passed": passed, "findings": findings}
    return Count(passed, len(reviews), figures)


def issues(rows: Sequence[IssueRow]) -> Count:
    """ISS-5: an issue breached its ISS-2 answer or ISS-4 loop deadline, or it did not."""
    breached = sum(1 for r in rows if r.breached)
    figures = {
        "raised": len(rows),
        "breached": breached,
        "breached_answer": sum(1 for r in rows if r.breached_answer),
        "breached_loop": sum(1 for r in rows if r.breached_loop),
    }
    return Count(len(rows) - breached, len(rows), figures)


def closing(states: Mapping[str, str]) -> Count:
    """REV-3 from each due month's state (on time, late, missing); pending months do not count."""
    due = {m: s for m, s in states.items() if s in (ClosingState.ON_TIME, ClosingState.LATE,
                                                   ClosingState.MISSING)}  # fmt: skip
    on_time = sorted(m for m, s in due.items() if s == ClosingState.ON_TIME)
    figures = {
        "due": len(due),
        "on_time": len(on_time),
        "late": sorted(m for m, s in due.items() if s == ClosingState.LATE),
        "missing": sorted(m for m, s in due.items() if s == ClosingState.MISSING),
    }
    return Count(len(on_time), len(due), figures)


def entry(weight: int, count: Count) -> dict[str, Any]:
    """The JSON an evaluation keeps per criterion."""
    score = count.score
    return {
        "weight": weight,
        "score": None if score is None else float(score),
        "good": count.good,
        "total": count.total,
        "figures": count.figures,
    }


def weighted_total(scores: Mapping[str, Mapping[str, Any]]) -> Decimal | None:
    """The weighted mean of the criteria that have a score; None when none has."""
    scored = [(Decimal(str(s["score"])), int(s["weight"])) for s in scores.values()
              if s["score"] is not None and int(s["weight"]) > 0]  # fmt: skip
    weight = sum(w for _, w in scored)
    if not weight:
        return None
    weighted = sum((score * w for score, w in scored), Decimal(0))
    return (weighted / weight).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def branch_scores(
    weights: Mapping[str, int],
    due: Sequence[DueRow],
    reviews: Sequence[ReviewRow],
    issue_rows: Sequence[IssueRow],
    closing_states: Mapping[str, str],
) -> tuple[dict[str, Any], Decimal | None]:
    """Every criterion of a branch and the total (REV-4)."""
    counts = {
        Criterion.COVERAGE: coverage(due),
        Criterion.TIMELINESS: timeliness(due),
        Criterion.REVIEW: review(reviews),
        Criterion.ISSUES: issues(issue_rows),
        Criterion.CLOSING: closing(closing_states),
    }
    scores = {str(code): entry(weights.get(code, 0), count) for code, count in counts.items()}
    return scores, weighted_total(scores)


def agent_part(
    weights: Mapping[str, int],
    due: Sequence[DueRow],
    reviews: Sequence[ReviewRow],
    issue_rows: Sequence[IssueRow],
    names: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The responsible agents' part (REV-4, ISS-5): each person's own callbacks, reviews, issues.

    A callback is its task's assignee's, a review the record's agent's, an issue its owner's.
    """
    people = _people(
        [d.assignee_id for d in due],
        [r.agent_id for r in reviews],
        [i.owner_id for i in issue_rows],
    )
    part = []
    for staff_id in people:
        own = [d for d in due if d.assignee_id == staff_id]
        counts: dict[str, Count] = {
            Criterion.TIMELINESS: timeliness(own),
            Criterion.REVIEW: review([r for r in reviews if r.agent_id == staff_id]),
            Criterion.ISSUES: issues([i for i in issue_rows if i.owner_id == staff_id]),
        }
        scores = {str(c): entry(weights.get(c, 0), counts[c]) for c in AGENT_CRITERIA}
        total = weighted_total(scores)
        part.append({
            "staff_id": staff_id, "name": names.get(staff_id, ""),
            "done": sum(1 for d in own if d.done),
            "scores": scores, "total": None if total is None else float(total),
        })  # fmt: skip
    return part


def _people(*groups: Iterable[str | None]) -> list[str]:
    return sorted({staff for group in groups for staff in group if staff})
