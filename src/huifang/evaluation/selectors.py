"""Every read a user makes in evaluation, restricted to his scope (REV-3..5, SPEC §0)."""

from __future__ import annotations

from typing import Any

from huifang.accounts.permissions import user_has_role
from huifang.core.scope import BranchScopedQuerySet, get_visible_or_404
from huifang.evaluation.access import EVALUATION_HQ
from huifang.evaluation.models import Evaluation, EvaluationQuerySet


def evaluations_for(user: Any) -> BranchScopedQuerySet[Evaluation]:
    """HQ reads every evaluation, drafts included; a branch only its own published ones (REV-4)."""
    rows: EvaluationQuerySet = Evaluation.objects.select_related("branch")
    if not user_has_role(user, *EVALUATION_HQ):
        rows = rows.published()
    return rows.visible_to(user)


def evaluation_or_404(user: Any, pk: int) -> Evaluation:
    """One evaluation the user may read; 404 otherwise (another branch, or a draft)."""
    return get_visible_or_404(evaluations_for(user), user, pk=pk)


def periods(user: Any) -> list[str]:
    """The periods with an evaluation the user may read, latest first."""
    rows = evaluations_for(user).order_by("-period_end", "period").values_list("period", flat=True)
    return list(dict.fromkeys(rows))
