"""Every change of classification state: ratings, ad-hoc rating, advisers, visits (SPEC §3).

Ratings go through the batch engine (``engine.run``), which writes one audited
change set per run. Ad-hoc rating of one client, adviser assignment and visits
are branch actions, checked for role and scope here whatever the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from huifang.accounts.choices import Role
from huifang.accounts.permissions import user_has_role
from huifang.audit.services import audit_record
from huifang.calendars.service import require_years
from huifang.classification import engine, schedule
from huifang.classification.choices import RatingKind
from huifang.classification.models import AdviserAssignment, ClassificationRun, YearlyVisit
from huifang.classification.rules import balanced_assignment
from huifang.classification.selectors import branch_advisers, visit_due
from huifang.clients.models import Client, ClientChange
from huifang.core import clock
from huifang.org.models import Unit
from huifang.policy import kinds
from huifang.policy.models import PolicyVersion
from huifang.policy.rules import standards
from huifang.policy.selectors import enabled_of_kind, rule_data, version_in_force

# Who may classify one client at any time (CLS-4: "a branch may classify an important new client").
RATING_ROLES = (Role.BRANCH_OPS, Role.BRANCH_MARKETING, Role.BRANCH_MANAGER)
# Who assigns advisers in bulk (CLS-7) and who records a visit (SVC-4).
ASSIGNING_ROLES = (Role.BRANCH_MANAGER,)
VISIT_ROLES = (Role.ADVISER, Role.BRANCH_MARKETING, Role.BRANCH_MANAGER)


def rating_windows(version: PolicyVersion) -> dict[str, int]:
    """Rating → its first working days, from the version's CLS-2..4 rules."""
    windows: dict[str, int] = {}
    for rule in enabled_of_kind(version, "rating_window"):
        params = kinds.parse(rule.kind, rule.params)
        assert isinstance(params, kinds.RatingWindow)
        windows[params.rating] = params.first_working_days
    return windows


def _upgrade_only(version: PolicyVersion, kind: RatingKind) -> bool:
    if kind == RatingKind.MANUAL:
        return True
    for rule in enabled_of_kind(version, "rating_window"):
        params = kinds.parse(rule.kind, rule.params)
        assert isinstance(params, kinds.RatingWindow)
        if params.rating == kind:
            return params.upgrade_only
    return kind != RatingKind.ANNUAL


def rating_plan(
    *, kind: RatingKind | str, day: dt.date, client: Client | None = None
) -> engine.Plan:
    """What a rating of ``kind`` on ``day`` does, under the version in force that day."""
    kind = RatingKind(kind)
    version = version_in_force(on=day)
    return engine.Plan(
        kind=kind,
        period=schedule.rating_period(kind, day),
        version=version,
        standards=standards(rule_data(version)),
        upgrade_only=_upgrade_only(version, kind),
        client_id=client.client_id if client is not None else None,
        branch_code=client.branch_id if client is not None else "",
    )


def rating_window_days(kind: RatingKind | str, day: dt.date) -> list[dt.date]:
    """The working days of ``kind``'s window around ``day`` under the version in force."""
    n = rating_windows(version_in_force(on=day)).get(str(RatingKind(kind)))
    return schedule.window(kind, day, n) if n else []


def classification_due(*, day: dt.date) -> list[RatingKind]:
    """The ratings the calendar says are due on ``day`` and that have not run for their period."""
    require_years([day.year])
    due = schedule.due_kinds(day, rating_windows(version_in_force(on=day)))
    return [
        kind
        for kind in due
        if not ClassificationRun.objects.filter(
            kind=kind, period=schedule.rating_period(kind, day).label
        ).exists()
    ]


def classification_run(*, kind: RatingKind | str, day: dt.date, actor: str) -> engine.Outcome:
    """Rate the clients (CLS-2..4) for ``day``; only changed classes are written (CLS-9)."""
    kind = RatingKind(kind)
    if kind == RatingKind.MANUAL:
        raise ValueError("a manual rating rates one client: use client_class_rate")
    require_years([day.year])
    return engine.run(rating_plan(kind=kind, day=day), actor=actor)


def _require(user: Any, roles: Sequence[str], client: Client | None = None) -> None:
    if not user_has_role(user, *roles):
        raise PermissionDenied
    if client is not None and not Client.objects.visible_to(user).filter(pk=client.pk).exists():
        raise PermissionDenied


def client_class_rate(*, client: Client, user: Any) -> engine.Outcome:
    """Rate one client now, by the standard in force, upgrade only (CLS-4, 就高不就低)."""
    _require(user, RATING_ROLES, client)
    day = clock.today()
    return engine.run(
        rating_plan(kind=RatingKind.MANUAL, day=day, client=client), actor=user.get_username()
    )


def adviser_assign_balanced(
    *, branch: Unit, user: Any, client_ids: Sequence[str] | None = None
) -> dict[str, str]:
    """Give each VIP/core client of the branch lacking a named adviser one, balanced by workload.

    ``client_ids`` limits it to some of the lacking clients. Returns client → staff id.
    """
    _require(user, ASSIGNING_ROLES)
    if not Unit.objects.visible_to(user).filter(pk=branch.pk).exists():
        raise PermissionDenied
    state = branch_advisers(branch=branch)
    lacking = [client.client_id for client, _label in state.lacking]
    if client_ids is not None:
        lacking = [c for c in lacking if c in set(client_ids)]
    loads = {load.staff.staff_id: load.clients for load in state.advisers}
    if lacking and not loads:
        raise ValidationError("本营业部没有在职的理财服务人员，无法分配。", code="no_adviser")
    assigned = balanced_assignment(lacking, loads)
    if not assigned:
        return {}
    now = clock.now()
    actor = user.get_username()
    with transaction.atomic():
        previous = dict(
            AdviserAssignment.objects.filter(client_id__in=assigned).values_list(
                "client_id", "adviser_id"
            )
        )
        for client_id, staff_id in assigned.items():
            AdviserAssignment.objects.update_or_create(
                client_id=client_id,
                defaults={"adviser_id": staff_id, "assigned_at": now, "assigned_by": actor},
            )
        ClientChange.objects.bulk_create(
            ClientChange(
                client_id=client_id,
                field="adviser",
                old_value=previous.get(client_id, ""),
                new_value=staff_id,
                effective_date=now.date(),
                changed_at=now,
                actor=actor,
            )
            for client_id, staff_id in assigned.items()
        )
        audit_record(
            action="classification.adviser_assign",
            object_type="org.Unit",
            object_id=branch.code,
            branch_code=branch.code,
            before=previous,
            after=assigned,
        )
    return assigned


def visit_record(*, client: Client, user: Any, day: dt.date | None = None) -> YearlyVisit:
    """Record a home visit to a client who is owed one this year (CLS-7, SVC-4)."""
    _require(user, VISIT_ROLES, client)
    day = day or clock.today()
    if day > clock.today():
        raise ValidationError("拜访日期不能晚于今天。", code="future")
    if visit_due(client=client, year=day.year) is None:
        raise ValidationError("该客户本年度没有上门拜访要求。", code="no_obligation")
    with transaction.atomic():
        visit, _created = YearlyVisit.objects.select_for_update().get_or_create(
            client=client, year=day.year
        )
        before = {"visits": visit.visits, "last_visited_on": visit.last_visited_on}
        visit.visits += 1
        visit.last_visited_on = day
        visit.last_visited_by = user.get_username()
        visit.save(update_fields=["visits", "last_visited_on", "last_visited_by"])
        audit_record(
            action="classification.visit_record",
            object_type="classification.YearlyVisit",
            object_id=str(visit.pk),
            branch_code=client.branch_id,
            before=before,
            after={"visits": visit.visits, "last_visited_on": day, "client_id": client.client_id},
        )
    return visit
