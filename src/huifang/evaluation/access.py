"""Who does what in evaluation (SPEC §0, REV-3..5). Scope is core.scope's job.

The views and the menu read these tuples, so that the menu never offers a page that
refuses its reader.
"""

from huifang.accounts.choices import Role

# REV-3: the branch's 营运总监 (or its 负责人) submits the month's records — of his own
# branch only (a grant over that very branch, see closing.may_submit).
CLOSING_SUBMITTERS = (Role.BRANCH_OPS, Role.BRANCH_MANAGER)
# REV-3: head office sees who submitted, who is late, who is missing.
CLOSING_HQ = (Role.HQ_SERVICE, Role.COMPLIANCE)
# REV-4: compliance computes and publishes the branch evaluations.
EVALUATORS = (Role.COMPLIANCE,)
# REV-4: head office reads every evaluation, drafts included.
EVALUATION_HQ = (Role.HQ_SERVICE, Role.COMPLIANCE)
# REV-4: a branch (and its region's supervisor) reads its own published evaluations.
EVALUATION_READERS = (
    Role.BRANCH_OPS,
    Role.BRANCH_MARKETING,
    Role.BRANCH_MANAGER,
    Role.REGIONAL,
    *EVALUATION_HQ,
)
# REV-5: staff scorecards, each reader within his scope.
SCORECARD_READERS = (
    Role.BRANCH_OPS,
    Role.BRANCH_MARKETING,
    Role.BRANCH_MANAGER,
    Role.REGIONAL,
    Role.HQ_SERVICE,
    Role.COMPLIANCE,
)
