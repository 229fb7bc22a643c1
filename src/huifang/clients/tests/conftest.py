"""A small brokerage: region R1 (branches A01, A02), region R2 (branch B01), named users."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.clients.models import Client
from huifang.clients.tests.factories import ClientFactory
from huifang.org.tests.factories import RegionFactory, UnitFactory

ID_NUMBER_A = "11010519491231002X"
MOBILE_A = "13912345678"


@pytest.fixture
def world(db: None) -> SimpleNamespace:
    r1, r2 = RegionFactory(code="R1"), RegionFactory(code="R2")
    a01 = UnitFactory(code="A01", name="北京甲营业部", region=r1)
    a02 = UnitFactory(code="A02", name="北京乙营业部", region=r1)
    b01 = UnitFactory(code="B01", name="上海丙营业部", region=r2)
    client_a: Client = ClientFactory(
        client_id="K100", name="王小明", branch=a01, id_number=ID_NUMBER_A, mobile=MOBILE_A
    )
    return SimpleNamespace(
        r1=r1,
        r2=r2,
        a01=a01,
        a02=a02,
        b01=b01,
        client_a=client_a,
        client_a2=ClientFactory(client_id="K200", name="王大明", branch=a02),
        client_b=ClientFactory(client_id="K300", name="王明", branch=b01),
        agent_a=user_with_role(Role.AGENT, unit=a01, username="agent_a"),
        agent_b=user_with_role(Role.AGENT, unit=b01, username="agent_b"),
        regional=user_with_role(Role.REGIONAL, region=r1, username="regional"),
        hq=user_with_role(Role.HQ_SERVICE, username="hq"),
    )
