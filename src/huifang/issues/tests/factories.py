"""Test data of issues (SPEC §7): branches, head-office departments, named users, records.

``World`` holds: branch A01 (agent, 营业部负责人, 营运总监) and B01 (its 负责人, the
outsider); the departments of the seeded routing table (HQOP 运营管理部, HQIT 信息技术部,
HQCC 客服中心, HQCP 合规部) with one department user each (``dept``: HQOP, ``it_user``:
HQIT); a compliance user (all); a client of A01.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
from dataclasses import dataclass
from typing import Any

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.accounts.tests.factories import user_with_role
from huifang.clients.models import Client
from huifang.core import clock
from huifang.issues.models import RoutingRule
from huifang.org.choices import Position, UnitKind
from huifang.org.models import Unit
from huifang.org.tests.factories import StaffFactory, UnitFactory
from huifang.workbench.models import Finding, Record
from huifang.workbench.tests import factories as wf

_seq = itertools.count(1)
DEPARTMENTS = {
    "HQOP": ("运营管理部", UnitKind.DEPARTMENT),
    "HQIT": ("信息技术部", UnitKind.DEPARTMENT),
    "HQCC": ("总部客户服务中心", UnitKind.CALL_CENTER),
    "HQCP": ("合规部", UnitKind.COMPLIANCE),
    "HQRT": ("零售业务部", UnitKind.DEPARTMENT),
}
# The seeded table (data migration 0002): margin → HQCR and product → HQPD are not loaded
# in the test world, so their issues wait unrouted.
DEFAULT_TABLE: dict[str, str] = importlib.import_module(
    "huifang.issues.migrations.0002_seed_routing_and_append_only"
).DEFAULT_ROUTES


def staff_user(role: str, unit: Unit, *, position: str = Position.OTHER, scope: Unit | None = None,
               all_scope: bool = False, username: str = "") -> User:  # fmt: skip
    """A user holding ``role`` over ``scope`` (default ``unit``; everything with ``all_scope``)
    whose staff record sits in ``unit``."""
    n = next(_seq)
    staff = StaffFactory(staff_id=f"I{n:05d}", unit=unit, position=position)
    return user_with_role(  # type: ignore[no-any-return]
        role, unit=None if all_scope else (scope or unit), staff=staff,
        username=username or f"{role}_{n}",
    )  # fmt: skip


@dataclass
class World:
    a01: Unit
    b01: Unit
    units: dict[str, Unit]
    agent: User
    manager: User
    ops: User
    outsider: User
    dept: User
    it_user: User
    call_center: User
    compliance: User
    client: Client


def world() -> World:
    a01, b01 = wf.branch("A01"), wf.branch("B01")
    units = {
        code: UnitFactory(code=code, name=name, unit_kind=kind)
        for code, (name, kind) in DEPARTMENTS.items()
    }
    for category, code in DEFAULT_TABLE.items():  # a transactional flush empties the seed
        RoutingRule.objects.get_or_create(category=category, defaults={"department_id": code})
    return World(
        a01=a01, b01=b01, units=units,
        agent=staff_user(Role.AGENT, a01, position=Position.AGENT, username="agent_a"),
        manager=staff_user(Role.BRANCH_MANAGER, a01, position=Position.MANAGER,
                           username="manager_a"),
        ops=staff_user(Role.BRANCH_OPS, a01, position=Position.OPS, username="ops_a"),
        outsider=staff_user(Role.BRANCH_MANAGER, b01, position=Position.MANAGER,
                            username="manager_b"),
        dept=staff_user(Role.DEPARTMENT, units["HQOP"], username="dept_op"),
        it_user=staff_user(Role.DEPARTMENT, units["HQIT"], username="dept_it"),
        call_center=staff_user(Role.HQ_SERVICE, units["HQCC"], username="cc_lead"),
        compliance=staff_user(Role.COMPLIANCE, units["HQCP"], all_scope=True,
                              username="compliance"),
        client=wf.client_of(a01),
    )  # fmt: skip


def record_with_findings(
    w: World, on: dt.date, findings: list[tuple[str, str, str]], client: Client | None = None
) -> Record:
    """A record of A01's agent, agent-signed on ``on``, with ``(kind, category, text)`` findings.

    Made directly (the workbench's own tests cover signing); ``raise_from_record`` is called
    by the test, as ``sign_agent`` would.
    """
    client = client or w.client
    task = wf.open_task(client=client, assignee=w.agent.staff, created_on=on)
    moment = dt.datetime.combine(on, dt.time(10), tzinfo=clock.SHANGHAI)
    record = Record.objects.create(
        task=task, number=f"HF-ISS-{task.pk}", branch=w.a01, client=client, level="branch",
        kind="compliance", method="phone", callback_date=on, agent=w.agent.staff,
        created_at=moment,
    )  # fmt: skip
    for kind, category, text in findings:
        Finding.objects.create(
            record=record, kind=kind, category=category, text=text, created_at=moment
        )
    Record.objects.filter(pk=record.pk).update(status="agent_signed", agent_signed_at=moment)
    record.refresh_from_db()
    return record


def actor(user: User) -> Any:
    return wf.actor(user)
