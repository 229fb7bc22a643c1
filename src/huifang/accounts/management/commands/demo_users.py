"""``huifang demo_users``: one login per role of SPEC §0 for an imported demo brokerage.

Each user is linked to a suitable active staff member where one exists and gets the
data scope of the role: branch roles their branch, ``regional`` the region of that
branch, HQ roles everything. ``agent2`` is an agent of another branch (in another
region when there is one) to show that scopes hold. Idempotent: a re-run brings
the same users back to the same state; a demo user keeps its staff member while
that one stays active and suitable, and staff linked to other users are never taken.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.accounts.services import Grant, user_ensure
from huifang.audit.context import system_context
from huifang.core import clock
from huifang.org.choices import MARKETING_SEQUENCE, Position, UnitKind
from huifang.org.models import Region, Staff, Unit

DEFAULT_PASSWORD = "huifang-demo-2026"  # noqa: S105 - the documented demo login

# CON-1/CON-2: callback and review staff are never from the marketing sequence.
INDEPENDENT_ROLES = frozenset({Role.AGENT, Role.REVIEWER})
# Back-office positions first: CON-2 keeps the marketing sequence out of callbacks.
CALLBACK_POSITIONS = (Position.AGENT, Position.SERVICE, Position.OPS, Position.OTHER)


@dataclass(frozen=True)
class DemoUser:
    """Who ``username`` is: role, where the scope is, which positions suit it (in order)."""

    username: str
    role: str
    place: str  # branch, branch2, region, call_center, department, compliance, none
    positions: tuple[str, ...] = ()


DEMO_USERS = (
    DemoUser("agent", Role.AGENT, "branch", CALLBACK_POSITIONS),
    DemoUser("reviewer", Role.REVIEWER, "branch", (Position.OTHER, Position.SERVICE, Position.OPS)),
    DemoUser("ops", Role.BRANCH_OPS, "branch", (Position.OPS,)),
    DemoUser("marketing", Role.BRANCH_MARKETING, "branch", (Position.MARKETING,)),
    DemoUser("manager", Role.BRANCH_MANAGER, "branch", (Position.MANAGER,)),
    DemoUser("adviser", Role.ADVISER, "branch", (Position.ADVISER,)),
    DemoUser("regional", Role.REGIONAL, "region", (Position.MANAGER, Position.OPS, Position.OTHER)),
    DemoUser(
        "hq",
        Role.HQ_SERVICE,
        "call_center",
        (Position.MANAGER, Position.SERVICE, Position.OPS, Position.OTHER, Position.AGENT),
    ),
    DemoUser("dept", Role.DEPARTMENT, "department"),
    DemoUser("compliance", Role.COMPLIANCE, "compliance"),
    DemoUser("admin", Role.ADMIN, "none"),
    DemoUser("agent2", Role.AGENT, "branch2", CALLBACK_POSITIONS),
)

HQ_UNIT_KINDS = {
    "call_center": (UnitKind.CALL_CENTER,),
    "department": (UnitKind.DEPARTMENT, UnitKind.MARKET, UnitKind.CREDIT, UnitKind.IB_QC),
    "compliance": (UnitKind.COMPLIANCE,),
}


class Command(BaseCommand):
    help = "Create one demo login per role (SPEC §0) for the imported demo brokerage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=DEFAULT_PASSWORD)

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        with system_context("demo_users"), transaction.atomic():
            rows = [
                demo_user_ensure(spec, target, staff, password)
                for spec, target, staff in self.plan()
            ]
        self.stdout.write(f"password / 密码: {password}")
        self.stdout.write(format_table(["username", "role", "scope", "unit", "staff"], rows))

    def plan(self) -> list[tuple[DemoUser, Unit | Region | None, Staff | None]]:
        """Each demo user with its scope target and staff member, chosen deterministically."""
        finder = StaffFinder()
        branch = finder.first_branch(exclude_region=None, exclude=None)
        if branch is None:
            raise CommandError("no branch imported yet: run `huifang import` first")
        branch2 = finder.first_branch(exclude_region=branch.region_id, exclude=branch.code)
        planned: dict[str, tuple[DemoUser, Unit | Region | None, Staff | None]] = {}
        # Narrow wishes pick first, so that `reviewer` does not take the only ops member.
        for spec in sorted(DEMO_USERS, key=lambda spec: len(spec.positions) or len(Position)):
            target: Unit | Region | None
            units: list[Unit]
            if spec.place == "branch":
                target, units = branch, [branch]
            elif spec.place == "branch2":
                if branch2 is None:
                    self.stderr.write("agent2 skipped: only one branch imported")
                    continue
                target, units = branch2, [branch2]
            elif spec.place == "region":
                if branch.region is None:
                    self.stderr.write("regional skipped: the branch has no region")
                    continue
                target = branch.region
                units = list(Unit.objects.filter(region=branch.region).order_by("code"))
            else:
                target = None
                units = finder.hq_units(spec.place)
            planned[spec.username] = (spec, target, finder.pick(spec, units))
        return [planned[spec.username] for spec in DEMO_USERS if spec.username in planned]


def demo_user_ensure(
    spec: DemoUser, target: Unit | Region | None, staff: Staff | None, password: str
) -> list[str]:
    """Create or update one demo user; its row of the logins table."""
    if isinstance(target, Unit):
        grant = Grant(role=spec.role, unit=target)
    elif isinstance(target, Region):
        grant = Grant(role=spec.role, region=target)
    else:
        grant = Grant(role=spec.role)
    user_ensure(username=spec.username, password=password, staff=staff, grants=[grant])
    return [
        spec.username,
        f"{spec.role} {Role(spec.role).label}",
        grant.scope,
        str(target) if target is not None else "*",
        str(staff) if staff is not None else "",
    ]


class StaffFinder:
    """Chooses units and active staff; never the same staff member for two demo users."""

    def __init__(self) -> None:
        self.today = clock.today()
        self.used: set[str] = set()
        self.taken = dict(
            User.objects.filter(staff__isnull=False).values_list("staff_id", "username")
        )

    def active(self) -> Any:
        return Staff.objects.active(on=self.today)

    def first_branch(self, *, exclude_region: str | None, exclude: str | None) -> Unit | None:
        """The first branch with an active agent, else the first; another region if any."""
        branches = Unit.objects.filter(unit_kind=UnitKind.BRANCH).select_related("region")
        if exclude is not None:
            branches = branches.exclude(code=exclude)
        with_agent = branches.filter(
            code__in=self.active().filter(position=Position.AGENT).values("unit_id")
        )
        choices = [with_agent.order_by("code"), branches.order_by("code")]
        if exclude_region is not None:
            choices = [qs.exclude(region_id=exclude_region) for qs in choices] + choices
        for queryset in choices:
            found = queryset.first()
            if found is not None:
                return found
        return None

    def hq_units(self, place: str) -> list[Unit]:
        kinds = HQ_UNIT_KINDS.get(place, ())
        units = Unit.objects.filter(unit_kind__in=kinds)
        order = {str(kind): index for index, kind in enumerate(kinds)}
        return sorted(units, key=lambda unit: (order[unit.unit_kind], unit.code))

    def pick(self, spec: DemoUser, units: list[Unit]) -> Staff | None:
        """The first free active staff member of ``units`` by the spec's positions."""
        staff_members = self.active().filter(unit__in=units)
        if spec.positions:
            staff_members = staff_members.filter(position__in=spec.positions)
        candidates = [
            staff
            for staff in staff_members
            if staff.staff_id not in self.used
            and self.taken.get(staff.staff_id, spec.username) == spec.username
            and not (spec.role in INDEPENDENT_ROLES and staff.position in MARKETING_SEQUENCE)
        ]
        if not candidates:
            return None
        unit_order = {unit.code: index for index, unit in enumerate(units)}
        best = min(
            candidates,
            key=lambda staff: (
                spec.positions.index(staff.position) if spec.positions else 0,
                unit_order[staff.unit_id],
                staff.staff_id,
            ),
        )
        self.used.add(best.staff_id)
        return best


def width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """A plain-text table aligned for a terminal."""
    table = [header, *rows]
    widths = [max(width(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(cell + " " * (widths[i] - width(cell)) for i, cell in enumerate(row)).rstrip()
        for row in table
    ]
    return "\n".join(lines)
