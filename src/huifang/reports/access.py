"""Who reads the ledger and the reports (SPEC §0, §10). Scope is separate: core.scope.

Every role here is scoped: a branch role sees its branch, ``regional`` its region's
branches, ``hq_service`` and ``compliance`` the whole company (``unit_scope``).
The menu and the views read these tuples, so the menu never offers a page that
refuses its reader.
"""

from huifang.accounts.choices import Role

# RPT-1, RPT-2, RPT-4: those who organise, supervise or answer for callbacks.
REPORT_VIEWERS = (
    Role.COMPLIANCE,
    Role.HQ_SERVICE,
    Role.REGIONAL,
    Role.BRANCH_MANAGER,
    Role.BRANCH_OPS,
    Role.BRANCH_MARKETING,
)
# RPT-1 "export to Excel": the same readers; every export is audited (NFR-2).
EXPORTERS = REPORT_VIEWERS
