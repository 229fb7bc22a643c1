"""STOCK-1 verification list: clients listed by a branch or head office for data verification.

核实、补齐或者更正 (004 §12(2)): a user lists a client of his scope with the matter to
verify, one at a time or as a CSV upload. A list is written all or nothing: every
row is checked first and one bad row refuses the whole list. Each addition is
audited. The nightly run turns each entry into one STOCK-1 purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from huifang.accounts.permissions import user_has_role
from huifang.audit.services import audit_record
from huifang.callbacks.access import LISTING_ROLES
from huifang.callbacks.models import VerificationListEntry
from huifang.clients.models import Client
from huifang.core import clock
from huifang.core.pii import scrub

REASON_MAX_LENGTH = 500
CHUNK = 500


@dataclass(frozen=True)
class ListedRow:
    """One client to list: ``line`` is the CSV line (1 for the single-entry form)."""

    line: int
    client_id: str
    reason: str


class ListingRefused(ValueError):
    """Rows that cannot be listed; ``problems`` are ``line:column: reason`` lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def verification_rows_check(*, user: Any, rows: Sequence[ListedRow]) -> list[str]:
    """Every problem of ``rows``: a client unknown or outside the scope, twice, or already
    listed today; an empty or too long reason. A client outside the scope reads as unknown."""
    branches = _branches_in_scope(user, {row.client_id for row in rows})
    listed_today = set(
        VerificationListEntry.objects.filter(
            client_id__in=list(branches), listed_on=clock.today()
        ).values_list("client_id", flat=True)
    )
    problems: list[str] = []
    seen: dict[str, int] = {}
    for row in rows:
        problems += _row_problems(row, branches, listed_today, seen)
        seen.setdefault(row.client_id, row.line)
    return problems


def sorted_problems(problems: Sequence[str]) -> list[str]:
    """``line:column: reason`` lines in file order (line, then column, numerically)."""

    def key(problem: str) -> tuple[int, int, str]:
        head = problem.split(": ", 1)[0].split(":")
        numbers = [int(part) if part.isdigit() else 0 for part in (*head, "0", "0")[:2]]
        return numbers[0], numbers[1], problem

    return sorted(problems, key=key)


def _row_problems(
    row: ListedRow, branches: dict[str, str], listed_today: set[str], seen: dict[str, int]
) -> list[str]:
    problems = []
    if not row.client_id:
        problems.append(f"{row.line}:1: " + _("客户号为空"))
    elif row.client_id not in branches:
        problems.append(
            f"{row.line}:1: "
            + _("客户号 %(id)s 不存在或不在您的数据范围内") % {"id": scrub(row.client_id)}
        )
    elif row.client_id in seen:
        problems.append(
            f"{row.line}:1: "
            + _("客户号 %(id)s 与第 %(line)d 行重复")
            % {"id": row.client_id, "line": seen[row.client_id]}
        )
    elif row.client_id in listed_today:
        problems.append(
            f"{row.line}:1: " + _("客户号 %(id)s 今天已列入核实名单") % {"id": row.client_id}
        )
    if not row.reason.strip():
        problems.append(f"{row.line}:2: " + _("核实事项为空"))
    elif len(row.reason) > REASON_MAX_LENGTH:
        problems.append(f"{row.line}:2: " + _("核实事项超过 %(n)d 个字") % {"n": REASON_MAX_LENGTH})
    return problems


def _branches_in_scope(user: Any, client_ids: set[str]) -> dict[str, str]:
    """client_id → branch code of the given clients that the user may see."""
    ids = sorted(i for i in client_ids if i)
    found: dict[str, str] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        clients = Client.objects.visible_to(user).filter(client_id__in=chunk)
        found.update(clients.values_list("client_id", "branch_id"))
    return found


def verification_list_add(
    *, user: Any, rows: Sequence[ListedRow], source: str = ""
) -> list[VerificationListEntry]:
    """List the clients of ``rows`` for STOCK-1, all or none; one audit row per addition.

    Raises ``ListingRefused`` with every problem when any row is bad (nothing is saved),
    ``PermissionDenied`` for a user without a listing role, whoever calls.
    Any ID number or mobile typed into a reason or a file name is masked before it is stored.
    """
    if not user_has_role(user, *LISTING_ROLES):
        raise PermissionDenied("listing for verification needs a listing role")
    if not rows:
        raise ListingRefused([_("没有可列入的客户")])
    with transaction.atomic():
        problems = verification_rows_check(user=user, rows=rows)
        if problems:
            raise ListingRefused(problems)
        branches = _branches_in_scope(user, {row.client_id for row in rows})
        today, actor = clock.today(), user.get_username()
        entries = VerificationListEntry.objects.bulk_create(
            VerificationListEntry(
                client_id=row.client_id, branch_id=branches[row.client_id], listed_on=today,
                reason=scrub(row.reason.strip()), listed_by=actor, source=scrub(source)[:200],
            )
            for row in rows
        )  # fmt: skip
        for entry in entries:
            audit_record(
                action="callbacks.verification_list_add",
                object_type="callbacks.VerificationListEntry",
                object_id=str(entry.pk),
                branch_code=entry.branch_id,
                after={
                    "client_id": entry.client_id,
                    "listed_on": entry.listed_on.isoformat(),
                    "reason": entry.reason,
                    "source": entry.source,
                },
            )
    return entries
