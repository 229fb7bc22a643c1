"""Who may build an evidence pack (NFR-2): compliance, HQ customer service, the branch's 营运总监."""

from __future__ import annotations

from huifang.accounts.choices import Role

ROLES = (Role.COMPLIANCE, Role.HQ_SERVICE, Role.BRANCH_OPS)
