"""Test data of orders: head-office units and their users, branch users, drafts, uploads.

The named users of a test: ``dept`` (a department user of ``HQMK`` 市场部), ``hq`` (the call
center, all scope), a branch leader of one branch and one of another branch (the outsider).
Drafts are made through ``services.order_create`` so that they are what the screens make.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.accounts.tests.factories import user_with_role
from huifang.clients.models import Client
from huifang.clients.tests.factories import ClientFactory
from huifang.orders import services
from huifang.orders.models import Order
from huifang.org.choices import UnitKind
from huifang.org.models import Unit
from huifang.org.tests.factories import UnitFactory
from huifang.policy.services import policy_default_ensure

_seq = itertools.count(1)
START = dt.date(2026, 10, 14)
END = dt.date(2026, 10, 30)


def department(code: str = "HQMK", kind: str = UnitKind.MARKET) -> Unit:
    return UnitFactory(code=code, name=f"{code} 总部部门", unit_kind=kind, region=None)  # type: ignore[no-any-return]


def dept_user(unit: Unit | None = None, username: str | None = None) -> User:
    """A department user: role ``department`` over his department unit (issue-8 design)."""
    unit = unit or department()
    return user_with_role(Role.DEPARTMENT, unit=unit, username=username or f"dept{next(_seq)}")


def hq_user(username: str | None = None) -> User:
    return user_with_role(Role.HQ_SERVICE, username=username or f"hq{next(_seq)}")


def branch_user(branch: Unit, role: str = Role.BRANCH_OPS, username: str | None = None) -> User:
    return user_with_role(role, unit=branch, username=username or f"ops{next(_seq)}")


def clients(branch: Unit, n: int, **kwargs: Any) -> list[Client]:
    return [ClientFactory(branch=branch, **kwargs) for _ in range(n)]


def draft(
    user: User, *, rule_code: str = "SPC-1", unit: Unit | None = None, start: dt.date = START,
    end: dt.date = END, **fields: Any,
) -> Order:  # fmt: skip
    """A draft order made by ``user`` for ``unit`` (default: his department or a new one)."""
    policy_default_ensure()
    if unit is None:
        grant = user.role_grants.filter(role=Role.DEPARTMENT).first()
        unit = grant.unit if grant is not None and grant.unit is not None else department()
    order_fields = services.OrderFields(
        rule_code=rule_code, title=fields.pop("title", f"专项回访 {next(_seq)}"),
        ordered_by_unit=unit, starts_on=start, ends_on=end, **fields,
    )  # fmt: skip
    return services.order_create(user=user, fields=order_fields)


def csv_bytes(lines: Iterable[str], encoding: str = "utf-8") -> bytes:
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(rows: Iterable[Iterable[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(user: User, order: Order, ids: Iterable[str]) -> int:
    """Targets from a CSV with a header, through the service the screen calls."""
    raw = csv_bytes(["client_id", *ids])
    return services.order_targets_from_upload(user=user, order=order, raw=raw, name="list.csv")


def order_of(client: Client, status: str = "issued") -> Order:
    """An order with one target, ``client``, made directly (for scope checks only)."""
    from huifang.core import clock
    from huifang.orders.models import OrderTarget

    unit = department()
    order = Order.objects.create(
        number=f"ZX2026-9{next(_seq):03d}", rule_code="SPC-1", title="范围检查",
        ordered_by_unit=unit, level="branch", kind="compliance", starts_on=START, ends_on=END,
        records_due=END, status=status, created_by="matrix", created_at=clock.now(),
    )  # fmt: skip
    OrderTarget.objects.create(order=order, client=client, branch_id=client.branch_id)
    return order


def target_of(client: Client) -> Any:
    """The one target of ``order_of(client)``."""
    return order_of(client).targets.get()
