"""Who sees which order (SPEC §0): HQ roles all; a branch user the issued orders with a target
in his branches, and only those targets; who may order for which department."""

from __future__ import annotations

import pytest

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.orders import services
from huifang.orders.models import Order, OrderTarget
from huifang.orders.tests.factories import (
    branch_user,
    clients,
    department,
    dept_user,
    order_of,
    target_of,
)
from huifang.org.choices import Position
from huifang.org.tests.factories import RegionFactory, StaffFactory, UnitFactory

pytestmark = pytest.mark.django_db


def test_a_branch_user_sees_orders_with_a_target_in_his_branch_only() -> None:
    region = RegionFactory()
    a, b = UnitFactory(region=region), UnitFactory()
    mine, theirs = order_of(clients(a, 1)[0]), order_of(clients(b, 1)[0])
    draft = order_of(clients(a, 1)[0], status="draft")
    ops = branch_user(a)
    assert list(Order.objects.visible_to(ops)) == [mine]
    regional = user_with_role(Role.REGIONAL, region=region)
    assert set(Order.objects.visible_to(regional)) == {mine}
    for hq in (dept_user(), user_with_role(Role.COMPLIANCE)):
        assert set(Order.objects.visible_to(hq)) == {mine, theirs, draft}
    agent_b = user_with_role(Role.AGENT, unit=b)
    assert set(Order.objects.visible_to(agent_b)) == {theirs}


def test_targets_are_scoped_by_their_branch() -> None:
    a, b = UnitFactory(), UnitFactory()
    target = target_of(clients(a, 1)[0])
    OrderTarget.objects.create(order=target.order, client=clients(b, 1)[0], branch=b)
    assert list(OrderTarget.objects.visible_to(branch_user(a))) == [target]
    assert OrderTarget.objects.visible_to(dept_user()).count() == 2


def test_a_department_user_without_a_unit_orders_for_his_staff_records_unit() -> None:
    market, credit = department("HQMK"), department("HQCR")
    staff = StaffFactory(unit=market, position=Position.OTHER)
    user = user_with_role(Role.DEPARTMENT, staff=staff)  # company-wide grant, no unit
    assert services.may_order_for(user, market)
    assert not services.may_order_for(user, credit)
    assert not services.may_order_for(user, UnitFactory())  # never a branch
    hq = user_with_role(Role.HQ_SERVICE)
    assert services.may_order_for(hq, credit) and not services.may_order_for(hq, UnitFactory())
