"""Who does what with issues (SPEC §7). Scope is core.scope's job; department membership is
a role grant whose unit is the department (``department_units``)."""

from __future__ import annotations

from typing import Any

from huifang.accounts.choices import Role

_CACHE_ATTR = "_huifang_issue_departments"

# ISS-6: complaints and inquiries are registered by branch and head-office staff.
REGISTRARS = (
    Role.AGENT, Role.ADVISER, Role.BRANCH_OPS, Role.BRANCH_MARKETING, Role.BRANCH_MANAGER,
    Role.HQ_SERVICE, Role.DEPARTMENT, Role.COMPLIANCE,
)  # fmt: skip
# ISS-2: who answers for a department (their grant's unit must be the department).
ANSWERERS = (Role.DEPARTMENT, Role.HQ_SERVICE, Role.COMPLIANCE)
# ISS-1: compliance keeps the routing table and routes what waits unrouted.
ROUTERS = (Role.COMPLIANCE,)
# ISS-3: the branch leader takes the answer back (branch manager or marketing director) …
FEEDBACK_BRANCH = (Role.BRANCH_MANAGER, Role.BRANCH_MARKETING)
# … the agent and the client are told by the branch or the call center.
FEEDBACK_OTHERS = (
    Role.AGENT, Role.ADVISER, Role.BRANCH_OPS, Role.BRANCH_MARKETING, Role.BRANCH_MANAGER,
    Role.HQ_SERVICE,
)  # fmt: skip
# ISS-4: the loop is closed by the branch's leaders or the call center (compliance too).
CLOSERS = (
    Role.BRANCH_OPS, Role.BRANCH_MARKETING, Role.BRANCH_MANAGER, Role.HQ_SERVICE, Role.COMPLIANCE,
)  # fmt: skip
# Menu: the department inbox, the branch list, the register form, the routing table.
INBOX = ANSWERERS
LISTERS = (
    Role.AGENT, Role.ADVISER, Role.BRANCH_OPS, Role.BRANCH_MARKETING, Role.BRANCH_MANAGER,
    Role.REGIONAL, Role.HQ_SERVICE, Role.COMPLIANCE, Role.DEPARTMENT,
)  # fmt: skip
ROUTING_VIEWERS = (Role.COMPLIANCE, Role.HQ_SERVICE, Role.DEPARTMENT)


def department_units(user: Any) -> frozenset[str]:
    """The department units the user answers for (ISS-2).

    The units of his ANSWERERS grants; a holder of an ANSWERERS role company-wide (no unit
    on the grant) answers for the head-office unit his staff record sits in.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached: frozenset[str] | None = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    grants = [grant for grant in user.role_grants.all() if grant.role in ANSWERERS]
    units = {grant.unit_id for grant in grants if grant.unit_id}
    if any(not grant.unit_id for grant in grants) and getattr(user, "staff_id", None):
        units |= _head_office_unit(user.staff_id)
    found = frozenset(units)
    setattr(user, _CACHE_ATTR, found)
    return found


def _head_office_unit(staff_id: str) -> set[str]:
    from huifang.org.choices import UnitKind
    from huifang.org.models import Staff

    return set(
        Staff.objects.filter(pk=staff_id)
        .exclude(unit__unit_kind=UnitKind.BRANCH)
        .values_list("unit_id", flat=True)
    )
