"""Who orders, who reads (SPEC §0; SPC-1, PLAN-1, IB-1, MRG-8, REV-5). Scope: ``scope_of``.

Head-office departments (``department``), the call center (``hq_service``) and compliance
order special callbacks and plans and follow them company-wide (HQ roles see all); branch
leaders and the regional supervisor read the part of an issued order that falls in their
branches. The menu reads these tuples, so it never offers a page that refuses its reader.
"""

from __future__ import annotations

from typing import Any

from huifang.accounts.choices import Role
from huifang.accounts.permissions import user_has_role
from huifang.core.scope import unit_scope

# Who creates, fills, issues and closes orders; they see every order and every target.
ORDER_CREATORS = (Role.DEPARTMENT, Role.HQ_SERVICE, Role.COMPLIANCE)
# Who reads orders: the creators, and the branch side for its own branches.
ORDER_VIEWERS = (
    *ORDER_CREATORS,
    Role.BRANCH_OPS,
    Role.BRANCH_MARKETING,
    Role.BRANCH_MANAGER,
    Role.REGIONAL,
)
# REV-5: the MRG-8 scorecards of the service staff (branch side: its own branches only).
SCORECARD_VIEWERS = ORDER_VIEWERS


def sees_all(user: Any) -> bool:
    """HQ roles that order callbacks see every order, target and scorecard (SPEC §0)."""
    return user_has_role(user, *ORDER_CREATORS)


def scope_of(user: Any) -> frozenset[str] | None:
    """Unit codes whose targets the user may see; ``None`` = all (see ``sees_all``)."""
    return None if sees_all(user) else unit_scope(user)
