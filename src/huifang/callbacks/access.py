"""Who reads and who changes which callback screen (SPEC §0). Scope is separate: core.scope.

The menu (core.context_processors.NAV) and the views read these tuples, so that the
menu never offers a page that refuses its reader.
"""

from huifang.accounts.choices import Role

# Who reads tasks (the marketing sequence and the departments do not: CON-2).
TASK_VIEWERS = (
    Role.AGENT,
    Role.REVIEWER,
    Role.BRANCH_OPS,
    Role.BRANCH_MARKETING,
    Role.BRANCH_MANAGER,
    Role.REGIONAL,
    Role.HQ_SERVICE,
    Role.COMPLIANCE,
)
# Who reads plans and their coverage: those who organise and supervise callbacks.
PLAN_VIEWERS = (
    Role.BRANCH_OPS,
    Role.BRANCH_MARKETING,
    Role.BRANCH_MANAGER,
    Role.REGIONAL,
    Role.HQ_SERVICE,
    Role.COMPLIANCE,
)
# Who lists clients for STOCK-1 verification: branch operations and management, head office.
LISTING_ROLES = (Role.BRANCH_OPS, Role.BRANCH_MANAGER, Role.HQ_SERVICE)
# Who reads the STOCK-1 verification list.
LIST_VIEWERS = (*LISTING_ROLES, Role.REGIONAL, Role.COMPLIANCE)
