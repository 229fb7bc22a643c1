from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from huifang.accounts.choices import Role, ScopeKind
from huifang.accounts.models import User
from huifang.accounts.services import (
    Grant,
    user_create,
    user_deactivate,
    user_ensure,
    user_grants_set,
)
from huifang.audit.models import AuditEvent
from huifang.core.scope import unit_scope
from huifang.org.choices import Position
from huifang.org.tests.factories import RegionFactory, StaffFactory, UnitFactory

PASSWORD = "a-long-test-password"


def test_it_creates_a_user_with_grants(db: None) -> None:
    unit = UnitFactory(code="A01")
    staff = StaffFactory(unit=unit, name="回访专员乙")
    user = user_create(
        username="agent", password=PASSWORD, staff=staff, grants=[Grant(Role.AGENT, unit=unit)]
    )
    assert user.check_password(PASSWORD)
    assert user.first_name == "回访专员乙"
    assert [(g.role, g.scope, g.unit_id) for g in user.role_grants.all()] == [
        (Role.AGENT, ScopeKind.BRANCH, "A01")
    ]
    assert unit_scope(user) == frozenset({"A01"})


def test_grant_scope_follows_its_target(db: None) -> None:
    region = RegionFactory()
    assert Grant(Role.REGIONAL, region=region).scope == ScopeKind.REGION
    assert Grant(Role.COMPLIANCE).scope == ScopeKind.ALL


def test_it_refuses_the_agent_role_to_marketing_staff(db: None) -> None:
    staff = StaffFactory(position=Position.BROKER)
    with pytest.raises(ValidationError, match="CON-2"):
        user_create(
            username="x",
            password=PASSWORD,
            staff=staff,
            grants=[Grant(Role.AGENT, unit=staff.unit)],
        )


def test_it_refuses_a_staff_member_linked_to_another_user(db: None) -> None:
    staff = StaffFactory()
    user_create(username="first", password=PASSWORD, staff=staff)
    with pytest.raises(ValidationError):
        user_create(username="second", password=PASSWORD, staff=staff)


def test_it_refuses_a_weak_password(db: None) -> None:
    with pytest.raises(ValidationError):
        user_create(username="weak", password="123")


def test_ensure_is_idempotent_and_replaces_grants(db: None) -> None:
    a01, a02 = UnitFactory(), UnitFactory()
    user, created = user_ensure(
        username="u", password=PASSWORD, grants=[Grant(Role.AGENT, unit=a01)]
    )
    again, created_again = user_ensure(
        username="u", password=PASSWORD, grants=[Grant(Role.AGENT, unit=a02)]
    )
    assert created and not created_again and again.pk == user.pk
    assert [g.unit_id for g in again.role_grants.all()] == [a02.code]


def test_grants_set_replaces_all_grants(db: None) -> None:
    unit = UnitFactory()
    user = user_create(username="u", password=PASSWORD, grants=[Grant(Role.AGENT, unit=unit)])
    user_grants_set(user=user, grants=[Grant(Role.COMPLIANCE)])
    assert list(user.role_grants.values_list("role", "scope")) == [(Role.COMPLIANCE, ScopeKind.ALL)]
    assert unit_scope(user) is None


def test_a_deactivated_user_sees_nothing(db: None) -> None:
    user = user_create(username="u", password=PASSWORD, grants=[Grant(Role.COMPLIANCE)])
    user_deactivate(user=user)
    user.refresh_from_db()
    assert not user.is_active
    assert unit_scope(user) == frozenset()


def test_creating_a_user_is_audited_without_the_password(db: None) -> None:
    unit = UnitFactory(code="A07")
    staff = StaffFactory(unit=unit, name="回访专员丙")
    user = user_create(
        username="agent", password=PASSWORD, staff=staff, grants=[Grant(Role.AGENT, unit=unit)]
    )

    event = AuditEvent.objects.get(action="user.create")

    assert (event.object_type, event.object_id, event.branch_code) == (
        "accounts.User",
        str(user.pk),
        "A07",
    )
    assert event.after["username"] == "agent"
    assert event.after["grants"] == [[Role.AGENT, ScopeKind.BRANCH, "A07", None]]
    assert event.after["password_set"] is True
    assert PASSWORD not in str(event.after)
    assert user.password not in str(event.after)


def test_ensuring_an_existing_user_is_audited_as_an_update(db: None) -> None:
    user_ensure(username="u", password=PASSWORD, grants=[Grant(Role.COMPLIANCE)])
    user_deactivate(user=User.objects.get(username="u"))

    user_ensure(username="u", password=PASSWORD, grants=[Grant(Role.ADMIN)])

    event = AuditEvent.objects.get(action="user.update")
    assert event.before["is_active"] is False
    assert event.before["grants"] == [[Role.COMPLIANCE, ScopeKind.ALL, None, None]]
    assert event.after["is_active"] is True
    assert event.after["grants"] == [[Role.ADMIN, ScopeKind.ALL, None, None]]


def test_setting_grants_is_audited_before_and_after(db: None) -> None:
    unit = UnitFactory(code="B01")
    user = user_create(username="u", password=PASSWORD, grants=[Grant(Role.AGENT, unit=unit)])

    user_grants_set(user=user, grants=[Grant(Role.REVIEWER, unit=unit)])

    event = AuditEvent.objects.get(action="user.grants")
    assert event.before == {"grants": [[Role.AGENT, ScopeKind.BRANCH, "B01", None]]}
    assert event.after == {"grants": [[Role.REVIEWER, ScopeKind.BRANCH, "B01", None]]}
    assert event.actor == "test"


def test_deactivating_a_user_is_audited(db: None) -> None:
    user = user_create(username="u", password=PASSWORD)

    user_deactivate(user=user)

    event = AuditEvent.objects.get(action="user.deactivate")
    assert (event.object_id, event.before, event.after) == (
        str(user.pk),
        {"is_active": True},
        {"is_active": False, "sessions_ended": 0},
    )
