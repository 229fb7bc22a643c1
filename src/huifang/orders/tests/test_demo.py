"""``huifang demo_orders`` on a small brokerage: three orders issued, some MRG-8 callbacks signed
through the workbench services (so the scorecards have data), and a second run adds nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Purpose
from huifang.core.testing import isolated_data_dir
from huifang.orders import selectors
from huifang.orders.choices import OrderStatus
from huifang.orders.models import Order
from huifang.orders.tests.factories import clients
from huifang.org.choices import Position, UnitKind
from huifang.org.tests.factories import StaffFactory, UnitFactory
from huifang.policy.services import policy_default_ensure

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _data_dir(settings: Any, tmp_path: Any) -> None:
    isolated_data_dir(settings, tmp_path)


@pytest.fixture
def brokerage() -> dict[str, Any]:
    policy_default_ensure()
    branch = UnitFactory(code="DB01")
    market = UnitFactory(code="HQMK", unit_kind=UnitKind.MARKET, region=None)
    credit = UnitFactory(code="HQCR", unit_kind=UnitKind.CREDIT, region=None)
    center = UnitFactory(code="HQCC", unit_kind=UnitKind.CALL_CENTER, region=None)
    for username, role, unit, position, scope in (
        ("agent", Role.AGENT, branch, Position.AGENT, branch),
        ("ops", Role.BRANCH_OPS, branch, Position.OPS, branch),
        ("dept", Role.DEPARTMENT, market, Position.OTHER, None),  # company-wide, no unit
        ("hq", Role.HQ_SERVICE, center, Position.MANAGER, None),
    ):
        staff = StaffFactory(unit=unit, position=position)
        user_with_role(role, unit=scope, username=username, staff=staff)
    service = [StaffFactory(unit=branch, position=Position.SERVICE) for _ in range(2)]
    clients(branch, 25)
    clients(branch, 8, has_margin_account=True)
    return {"branch": branch, "credit": credit, "service": service}


def test_the_demo_issues_three_orders_and_signs_some_mrg_8_callbacks(
    brokerage: dict[str, Any],
) -> None:
    call_command("demo_orders")
    orders = {o.rule_code: o for o in Order.objects.all()}
    assert set(orders) == {"SPC-1", "PLAN-1", "MRG-8"}
    assert {o.status for o in orders.values()} == {OrderStatus.ISSUED}
    spc = orders["SPC-1"]
    assert spc.ordered_by_unit_id == "HQMK" and spc.questionnaire_code == f"SPC{spc.pk}"
    assert spc.targets.count() == 20 and len(spc.questions) == 5
    assert orders["MRG-8"].ordered_by_unit_id == "HQCR"
    assert orders["MRG-8"].targets.count() == 6  # two service staff, three margin clients each
    for order in orders.values():
        assert Purpose.objects.filter(key__startswith=f"{order.rule_code}:order{order.pk}:").count() \
            == order.targets.count()  # fmt: skip
    today = dt.date(2026, 10, 14)
    cards = selectors.scorecards(today, today)
    assert sum(card.records for card in cards) == 4
    assert {card.staff_id for card in cards} <= {s.staff_id for s in brokerage["service"]}

    rows, purposes = AuditEvent.objects.count(), Purpose.objects.count()
    call_command("demo_orders")
    assert Order.objects.count() == 3 and Purpose.objects.count() == purposes
    assert sum(card.records for card in selectors.scorecards(today, today)) == 4 + 2
    assert AuditEvent.objects.count() > rows  # the second run works two more (4 at most a run)
