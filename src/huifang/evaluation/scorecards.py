"""Staff scorecards (REV-5, RPT-3): supervisor callbacks on margin service (MRG-8) and review
findings, per staff member, within the reader's scope.

The review part counts the decided reviews (passed / with findings, REV-1, REV-2) of
the records a staff member made as agent, decided in the period. The MRG-8 part is
``orders.selectors.scorecards(start, end, branches)``: the signed F-MRG records that
rate him, his average and lowest score and the problems found. A staff member is
shown when his unit is in the reader's scope and he has either part in the period.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from huifang.accounts.models import User
from huifang.core.scope import unit_scope
from huifang.evaluation import inputs
from huifang.evaluation.scoring import percent
from huifang.org.models import Staff


@dataclass
class StaffScorecard:
    """One staff member's line: review outcomes and his MRG-8 scorecard, if any (REV-5)."""

    staff: Staff
    reviews_passed: int = 0
    reviews_findings: int = 0
    mrg8: Any = None  # orders.selectors.Scorecard

    @property
    def reviews_decided(self) -> int:
        return self.reviews_passed + self.reviews_findings

    @property
    def pass_rate(self) -> Decimal | None:
        return percent(self.reviews_passed, self.reviews_decided)


def staff_scorecards(*, user: User, start: dt.date, end: dt.date) -> list[StaffScorecard]:
    """Every staff member of the user's scope with reviews or an MRG-8 scorecard in the period."""
    scope = unit_scope(user)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    reviews = inputs.decided_reviews(None, start, end, branch_level_only=False, agent_units=scope)
    for review in reviews:
        if review.agent_id:
            counts[review.agent_id][1 if review.findings else 0] += 1
    cards = {card.staff_id: card for card in inputs.mrg8_scorecards(start, end, scope)}
    wanted = sorted(set(counts) | set(cards))
    staff = Staff.objects.visible_to(user).filter(pk__in=wanted).select_related("unit")
    rows = []
    for member in staff.order_by("unit_id", "pk"):
        passed, findings = counts.get(member.pk, (0, 0))
        rows.append(StaffScorecard(member, passed, findings, cards.get(member.pk)))
    return rows
