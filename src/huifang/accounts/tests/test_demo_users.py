from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from huifang.accounts.choices import Role, ScopeKind
from huifang.accounts.models import RoleGrant, User
from huifang.org.choices import Position, UnitKind
from huifang.org.tests.factories import RegionFactory, StaffFactory, UnitFactory

USERNAMES = {
    "agent",
    "reviewer",
    "ops",
    "marketing",
    "manager",
    "adviser",
    "regional",
    "hq",
    "dept",
    "compliance",
    "admin",
    "agent2",
}


@pytest.fixture
def brokerage(db: None) -> None:
    hq, sh, tj = RegionFactory(code="R00"), RegionFactory(code="R10"), RegionFactory(code="R20")
    hqcc = UnitFactory(code="HQCC", region=hq, unit_kind=UnitKind.CALL_CENTER)
    UnitFactory(code="HQCP", region=hq, unit_kind=UnitKind.COMPLIANCE)
    hqdp = UnitFactory(code="HQDP", region=hq, unit_kind=UnitKind.DEPARTMENT)
    sh01 = UnitFactory(code="SH01", region=sh)
    UnitFactory(code="SH02", region=sh)
    tj01 = UnitFactory(code="TJ01", region=tj)
    StaffFactory(staff_id="E9001", unit=hqcc, position=Position.AGENT)
    StaffFactory(staff_id="E9002", unit=hqcc, position=Position.MANAGER)
    StaffFactory(staff_id="E9101", unit=hqdp, position=Position.OTHER)
    StaffFactory(staff_id="E1000", unit=sh01, position=Position.AGENT, leave_date="2026-09-30")
    for staff_id, position in [
        ("E1001", Position.MARKETING),
        ("E1002", Position.AGENT),
        ("E1003", Position.BROKER),
        ("E1004", Position.ADVISER),
        ("E1005", Position.OPS),
        ("E1006", Position.MANAGER),
        ("E1007", Position.OTHER),
    ]:
        StaffFactory(staff_id=staff_id, unit=sh01, position=position)
    StaffFactory(staff_id="E2001", unit=tj01, position=Position.AGENT)


def snapshot() -> dict[str, tuple[object, ...]]:
    return {
        user.username: (
            user.staff_id,
            user.is_active,
            tuple(user.role_grants.values_list("role", "scope", "unit_id", "region_id")),
        )
        for user in User.objects.all()
    }


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_users", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_it_creates_one_user_per_role(brokerage: None) -> None:
    output = run()
    users = snapshot()
    assert set(users) == USERNAMES
    assert {role for (role,) in RoleGrant.objects.values_list("role")} == set(Role.values)
    assert users["agent"] == ("E1002", True, ((Role.AGENT, ScopeKind.BRANCH, "SH01", None),))
    assert users["agent2"] == ("E2001", True, ((Role.AGENT, ScopeKind.BRANCH, "TJ01", None),))
    assert users["ops"][0] == "E1005"
    assert users["marketing"][0] == "E1001"
    assert users["manager"][0] == "E1006"
    assert users["adviser"][0] == "E1004"
    assert users["reviewer"][0] == "E1007"
    assert users["regional"][2] == ((Role.REGIONAL, ScopeKind.REGION, None, "R10"),)
    assert users["hq"] == ("E9002", True, ((Role.HQ_SERVICE, ScopeKind.ALL, None, None),))
    assert users["dept"][0] == "E9101"
    assert users["compliance"] == (None, True, ((Role.COMPLIANCE, ScopeKind.ALL, None, None),))
    assert users["admin"] == (None, True, ((Role.ADMIN, ScopeKind.ALL, None, None),))
    assert "huifang-demo-2026" in output
    assert all(name in output for name in USERNAMES)


def test_it_is_idempotent(brokerage: None) -> None:
    run("--password", "first-password-2026")
    first = snapshot()
    run()
    assert snapshot() == first
    assert User.objects.count() == len(USERNAMES)
    assert User.objects.get(username="agent").check_password("huifang-demo-2026")


def test_it_never_makes_marketing_staff_an_agent(brokerage: None) -> None:
    run()
    agents = User.objects.filter(role_grants__role=Role.AGENT, staff__isnull=False)
    assert not any(user.staff.in_marketing_sequence for user in agents)


def test_it_needs_an_imported_brokerage(db: None) -> None:
    with pytest.raises(CommandError, match="import"):
        run()
