"""Classification fixtures: an empty archive per test, the default policy, a small brokerage."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.org.choices import Position
from huifang.org.tests.factories import RegionFactory, StaffFactory, UnitFactory
from huifang.policy.models import PolicyVersion
from huifang.policy.services import policy_default_ensure


@pytest.fixture(autouse=True)
def archive_dir(settings: Any, tmp_path: Path) -> Path:
    """A fresh data dir and archive for each test."""
    data = tmp_path / "data"
    data.mkdir()
    settings.DATA_DIR = data
    settings.ARCHIVE_DIR = data / "archive"
    return data / "archive"


@pytest.fixture
def default_policy(db: None) -> PolicyVersion:
    """Version 1, the default policy (migration 0003; installed again after a flush)."""
    return policy_default_ensure()


@pytest.fixture
def branches(db: None) -> SimpleNamespace:
    """Branches A01 (region R1) and B01 (region R2), with advisers and named users."""
    r1, r2 = RegionFactory(code="R1"), RegionFactory(code="R2")
    a01 = UnitFactory(code="A01", name="北京甲营业部", region=r1)
    b01 = UnitFactory(code="B01", name="上海丙营业部", region=r2)
    return SimpleNamespace(
        r1=r1,
        r2=r2,
        a01=a01,
        b01=b01,
        adviser_1=StaffFactory(staff_id="S101", name="理财甲", unit=a01, position=Position.ADVISER),
        adviser_2=StaffFactory(staff_id="S102", name="理财乙", unit=a01, position=Position.ADVISER),
        adviser_b=StaffFactory(staff_id="S201", name="理财丙", unit=b01, position=Position.ADVISER),
        manager_a=user_with_role(Role.BRANCH_MANAGER, unit=a01, username="manager_a"),
        ops_a=user_with_role(Role.BRANCH_OPS, unit=a01, username="ops_a"),
        agent_a=user_with_role(Role.AGENT, unit=a01, username="agent_a"),
        manager_b=user_with_role(Role.BRANCH_MANAGER, unit=b01, username="manager_b"),
        compliance=user_with_role(Role.COMPLIANCE, username="compliance_1"),
        compliance_2=user_with_role(Role.COMPLIANCE, username="compliance_2"),
    )
