"""Parameters of the monthly closing and the branch evaluation (REV-3, REV-4).

The working-day counts come from the SPEC (004 §15, §16); the weights are a practice
parameter: ``settings.HUIFANG_EVALUATION_WEIGHTS`` (a dict of the same keys) replaces
them. Each computed evaluation stores the weights it used, so a later change of the
setting never alters a result already computed.
"""

from __future__ import annotations

from django.conf import settings

from huifang.evaluation.choices import Criterion

# REV-3: a branch submits last month's records within the first 10 working days.
CLOSING_WINDOW_WORKING_DAYS = 10
# REV-4: HQ publishes an evaluation within 10 working days of the period's end.
PUBLISH_WORKING_DAYS = 10

# REV-4 criteria and their weights (points out of 100). A criterion with nothing to
# count in the period (no task due, no review decided …) is left out and the others
# are weighted up, so that a branch is neither rewarded nor punished for an empty row.
DEFAULT_WEIGHTS: dict[str, int] = {
    Criterion.COVERAGE: 30,  # callbacks due that are done (RPT-2 coverage)
    Criterion.TIMELINESS: 25,  # callbacks signed by their due date (RPT-2 timeliness)
    Criterion.REVIEW: 20,  # records passing review without findings (REV-1, REV-2)
    Criterion.ISSUES: 15,  # issues without an ISS-2/ISS-4 breach (ISS-5)
    Criterion.CLOSING: 10,  # monthly closings submitted on time (REV-3)
}
# The responsible agents' part (REV-4 "results also assess the responsible agents"):
# the criteria that belong to a person, with the same weights.
AGENT_CRITERIA: tuple[str, ...] = (Criterion.TIMELINESS, Criterion.REVIEW, Criterion.ISSUES)


def weights() -> dict[str, int]:
    """The weights in force: the setting when given (same keys), else ``DEFAULT_WEIGHTS``."""
    configured = getattr(settings, "HUIFANG_EVALUATION_WEIGHTS", None)
    if not configured:
        return {str(key): value for key, value in DEFAULT_WEIGHTS.items()}
    unknown = set(configured) - set(DEFAULT_WEIGHTS)
    if unknown:
        raise ValueError(f"HUIFANG_EVALUATION_WEIGHTS: unknown criteria {sorted(unknown)}")
    return {str(key): int(configured.get(key, 0)) for key in DEFAULT_WEIGHTS}
