"""Shared test data of the workbench (issue 7): agents, leaders, reviewers, tasks with purposes.

Every workbench test module may import these. They make the smallest rows the
services need: a ``Staff`` with a ``User`` holding one role over one branch, a
``Task`` with ``Purpose`` rows of the default policy (installed by migration, or again
by ``policy_default_ensure`` after a transactional flush), a task already connected.

Times: ``DAY`` is a Monday; ``at(hour)`` is that day in Asia/Shanghai (call hours,
CON-5, default 09:00–20:00). Use ``clock.frozen(at(10))`` around service calls.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterable
from typing import Any

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.accounts.tests.factories import grant, user_with_role
from huifang.callbacks.models import Purpose, Task
from huifang.clients.models import Client
from huifang.clients.tests.factories import ClientFactory
from huifang.core import clock
from huifang.org.choices import Position, UnitKind
from huifang.org.models import Staff, Unit
from huifang.org.tests.factories import StaffFactory, UnitFactory
from huifang.policy.models import PolicyVersion
from huifang.policy.services import policy_default_ensure
from huifang.workbench.actors import Actor, actor_of
from huifang.workbench.choices import Method, Outcome
from huifang.workbench.models import Attempt, Claim

DAY = dt.date(2026, 10, 12)  # a Monday
DUE = dt.date(2026, 10, 19)
_seq = itertools.count(1)


def at(hour: int, minute: int = 0, day: dt.date = DAY) -> dt.datetime:
    """``day`` at ``hour:minute`` in Asia/Shanghai (the clock's zone)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=clock.SHANGHAI)


def policy() -> PolicyVersion:
    """The default policy version in force (SPEC §3)."""
    return policy_default_ensure()


def branch(code: str | None = None, **kwargs: Any) -> Unit:
    """A branch (营业部); ``code`` given → get or create that one."""
    return UnitFactory(code=code, **kwargs) if code else UnitFactory(**kwargs)


def call_center(code: str = "CC01") -> Unit:
    """The head office's call center (company-level callbacks, CON-6)."""
    return UnitFactory(code=code, name="总部客户服务中心", unit_kind=UnitKind.CALL_CENTER)


def _staff_user(
    role: str, unit: Unit, position: str, *, username: str | None, staff_id: str | None,
    scope_unit: Unit | None, all_scope: bool = False, **staff_kwargs: Any,
) -> User:  # fmt: skip
    n = next(_seq)
    staff = StaffFactory(
        staff_id=staff_id or f"W{n:05d}", unit=unit, position=position, **staff_kwargs
    )
    user = user_with_role(
        role, unit=None if all_scope else (scope_unit or unit),
        username=username or f"{role}_{staff.staff_id.lower()}", staff=staff,
    )  # fmt: skip
    return user


def agent_user(
    branch: Unit | None = None, position: str = Position.AGENT, *, username: str | None = None,
    staff_id: str | None = None, **staff_kwargs: Any,
) -> User:  # fmt: skip
    """A staff member (回访专员 by default, ``Position.SERVICE`` for service callbacks) of
    ``branch`` with a user holding the agent role over that branch (``user.staff``)."""
    unit = branch if branch is not None else UnitFactory()
    return _staff_user(
        Role.AGENT, unit, position, username=username, staff_id=staff_id, scope_unit=unit,
        **staff_kwargs,
    )  # fmt: skip


def leader_user(
    role: str = Role.BRANCH_OPS, branch: Unit | None = None, *, username: str | None = None,
    staff_id: str | None = None, position: str | None = None,
) -> User:  # fmt: skip
    """A leader (营运总监 ``branch_ops``, 营销总监 ``branch_marketing``, 营业部负责人, or the
    call center's ``hq_service``) with a staff record, scoped to ``branch`` (hq_service: all)."""
    unit = branch if branch is not None else UnitFactory()
    pos = position or {
        Role.BRANCH_OPS: Position.OPS,
        Role.BRANCH_MARKETING: Position.MARKETING,
        Role.BRANCH_MANAGER: Position.MANAGER,
    }.get(role, Position.MANAGER)  # type: ignore[call-overload]
    return _staff_user(
        role, unit, pos, username=username, staff_id=staff_id, scope_unit=unit,
        all_scope=role == Role.HQ_SERVICE,
    )  # fmt: skip


def reviewer_user(
    branch: Unit | None = None, *, role: str = Role.REVIEWER, username: str | None = None,
    staff_id: str | None = None, unit: Unit | None = None,
) -> User:  # fmt: skip
    """A reviewer (复核员) with a staff record; scoped to ``branch``, or to everything if none.

    ``unit`` is where his staff record sits (default: ``branch``, else a new unit).
    """
    home = unit or branch or UnitFactory()
    return _staff_user(
        role, home, Position.OTHER, username=username, staff_id=staff_id, scope_unit=branch,
        all_scope=branch is None,
    )  # fmt: skip


def actor(user: User, channel: str = "ui") -> Actor:
    """The workbench actor of ``user`` (roles read fresh)."""
    user = User.objects.get(pk=user.pk)
    return actor_of(user, channel)


def grant_role(user: User, role: str, unit: Unit | None = None) -> None:
    """Give ``user`` one more role (over ``unit``, or all)."""
    grant(user, role, unit=unit)


def client_of(branch: Unit, **kwargs: Any) -> Client:
    """A client of ``branch`` (encrypted PII, masked mobile)."""
    return ClientFactory(branch=branch, **kwargs)  # type: ignore[no-any-return]


def open_task(
    client: Client | None = None, purposes: Iterable[str] = ("NEW-1",), level: str = "branch",
    kind: str = "compliance", assignee: Staff | User | None = None,
    opens_at: dt.datetime | None = None, due: dt.date = DUE, *, branch: Unit | None = None,
    target_staff: Staff | None = None, overdue_since: dt.date | None = None,
    retry_after: dt.datetime | None = None, created_on: dt.date = DAY,
    facts: dict[str, Any] | None = None,
) -> Task:  # fmt: skip
    """A task with one ``Purpose`` per rule code of the default policy (CON-4).

    ``client`` defaults to a new client of ``branch`` (default: a new branch); an
    ``assignee`` (staff or his user) makes it ``assigned`` directly — no recusal check:
    use ``callbacks.services.task_assign`` when the proof matters.
    """
    version = policy()
    if client is None and target_staff is None:
        client = client_of(branch if branch is not None else UnitFactory())
    unit_id = client.branch_id if client is not None else (branch or target_staff.unit).pk  # type: ignore[union-attr]
    staff = assignee.staff if isinstance(assignee, User) else assignee
    task = Task.objects.create(
        client=client, target_staff=target_staff, branch_id=unit_id, level=level, kind=kind,
        status="assigned" if staff is not None else "open", due_date=due, created_on=created_on,
        quarter=f"{created_on.year}-Q{(created_on.month - 1) // 3 + 1}", assignee=staff,
        opens_at=opens_at, overdue_since=overdue_since, retry_after=retry_after,
    )  # fmt: skip
    for rule in purposes:
        Purpose.objects.create(
            task=task, key=f"{rule}:{task.pk}:{next(_seq)}", rule_code=rule, rule_id=rule,
            policy_version=version, business_date=created_on, due_date=due,
            facts=json.dumps(facts or {}, ensure_ascii=False),
        )  # fmt: skip
    return task


def claim(task: Task, staff: Staff | User, when: dt.datetime | None = None) -> Claim:
    """A live claim of ``task`` by ``staff`` (written directly, no checks)."""
    holder = staff.staff if isinstance(staff, User) else staff
    assert holder is not None
    return Claim.objects.create(task=task, staff=holder, claimed_at=when or clock.now())


def connected_task(
    agent: User, *, method: str = Method.PHONE, when: dt.datetime | None = None,
    record: bool = False, **task_kwargs: Any,
) -> Task:  # fmt: skip
    """A task of ``agent``'s branch assigned to and held by him, with a connected attempt.

    Status ``in_progress``, a live ``Claim``, one ``Attempt`` (connected) at ``when``
    (default ``at(10)``). ``record=True`` also opens the record through
    ``records.open_record`` (imported lazily: that module belongs to another helper).
    """
    staff = agent.staff
    assert staff is not None, "agent_user() makes users with a staff record"
    moment = when or at(10)
    task_kwargs.setdefault("branch", staff.unit)
    if task_kwargs.get("level") == "company":
        task_kwargs.pop("branch")
        task_kwargs.setdefault("client", client_of(UnitFactory()))
    task = open_task(assignee=staff, **task_kwargs)
    Task.objects.filter(pk=task.pk).update(status="in_progress")
    task.refresh_from_db()
    claim(task, staff, moment)
    Attempt.objects.create(
        task=task, staff=staff, at=moment, method=method, outcome=Outcome.CONNECTED
    )
    if record:
        from huifang.workbench import records  # another helper's module

        with clock.frozen(moment):
            records.open_record(task=task, actor=actor(agent), method=method)  # type: ignore[attr-defined]
    return task
