"""``huifang demo_evaluation``: monthly closings and a published branch evaluation for the demo.

Run after ``demo_users`` and ``demo_callbacks`` (and ``demo_issues``), on the demo's
last business date. Through the same services as the screens:

- REV-3, the demo month (last month): the 营运总监 ``ops`` submits his branch's records
  inside the window (pinned to the third working day of the window); ``ops2``, a demo
  营运总监 of a second branch (created here like the logins of ``demo_users``), submits
  today — after the window, so late; every other branch has not submitted: missing,
  red on HQ's page (as ``compliance`` or ``hq``).
- REV-4: ``compliance`` computes the last ended quarter and publishes it (flagged late
  when today is past its 10 working days), and computes the running quarter as a draft.

Idempotent: what was already submitted or published is left as it is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from huifang.accounts.choices import Role
from huifang.accounts.management.commands.demo_users import (
    DEFAULT_PASSWORD,
    DemoUser,
    StaffFinder,
    demo_user_ensure,
)
from huifang.accounts.models import User
from huifang.audit.context import audit_context, system_context
from huifang.calendars.service import first_working_days
from huifang.core import clock
from huifang.evaluation import closing, evaluations
from huifang.evaluation.errors import EvaluationRefused
from huifang.evaluation.periods import (
    closing_window_end,
    next_month_bounds,
    parse_period,
    previous_month,
)
from huifang.org.choices import Position, UnitKind
from huifang.org.models import Unit
from huifang.workbench.actors import actor_of

OPS2 = DemoUser("ops2", Role.BRANCH_OPS, "branch2", (Position.OPS, Position.MANAGER))


def quarter_of(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def last_ended_quarter(day: dt.date) -> str:
    first = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return quarter_of(first - dt.timedelta(days=1))


class Command(BaseCommand):
    help = "Demo monthly closings (one on time, one late, the rest missing) and an evaluation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="password of ops2")

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        users = {u.username: u for u in User.objects.filter(
            username__in=["ops", "compliance", "agent2"]).select_related("staff")}  # fmt: skip
        missing = {"ops", "compliance"} - set(users)
        if missing:
            raise CommandError(f"run `huifang demo_users` first (missing: {sorted(missing)})")
        ops = users["ops"]
        if ops.staff is None:
            raise CommandError("the demo user ops has no staff member (branch)")
        today = clock.today()
        month = previous_month(today)
        first = Unit.objects.get(pk=ops.staff.unit_id)
        second = self.second_branch(first, users.get("agent2"))
        self.closings(month, today, first, ops, second, password)
        self.evaluations(users["compliance"], today)

    # ------------------------------------------------------------------ REV-3

    def second_branch(self, first: Unit, agent2: User | None) -> Unit | None:
        if agent2 is not None and agent2.staff is not None and agent2.staff.unit_id != first.code:
            return Unit.objects.get(pk=agent2.staff.unit_id)
        others = Unit.objects.filter(unit_kind=UnitKind.BRANCH).exclude(pk=first.pk)
        return others.order_by("code").first()

    def closings(
        self, month: str, today: dt.date, first: Unit, ops: User, second: Unit | None,
        password: str,
    ) -> None:  # fmt: skip
        window_end = closing_window_end(month)
        start, end = next_month_bounds(month)
        on_time_day = min(first_working_days(start, end, 3)[-1], today)
        moment = dt.datetime.combine(on_time_day, dt.time(10, 0), tzinfo=clock.SHANGHAI)
        with clock.frozen(moment):
            self.submit(ops, first, month)
        if second is None:
            self.stderr.write("late closing skipped: only one branch imported")
        elif today <= window_end:
            self.stderr.write(f"late closing skipped: {month}'s window is open until {window_end}")
        else:
            self.submit(self.ops2(second, password), second, month)
        rows = closing.overview(user=None, month=month, today=today)
        tally: dict[str, int] = {}
        for row in rows:
            tally[row.state] = tally.get(row.state, 0) + 1
        self.stdout.write(f"closings of {month} (window until {window_end}): "
                          + ", ".join(f"{k}: {v}" for k, v in sorted(tally.items())))  # fmt: skip

    def submit(self, user: User, branch: Unit, month: str) -> None:
        try:
            with audit_context(user.get_username(), user_id=user.pk):
                row = closing.submit(branch=branch, month=month, actor=actor_of(user))
        except EvaluationRefused as refused:
            if refused.code != "submitted":
                raise CommandError(f"{branch.code} {month}: {refused}") from refused
            return
        state = "late" if row.late else "on time"
        self.stdout.write(f"{branch.code} submitted {month}: {row.record_count} records, {state}")

    def ops2(self, branch: Unit, password: str) -> User:
        """The demo 营运总监 of the second branch, made the way ``demo_users`` makes logins."""
        with system_context("demo_evaluation"), transaction.atomic():
            staff = StaffFinder().pick(OPS2, [branch])
            demo_user_ensure(OPS2, branch, staff, password)
        return User.objects.get(username=OPS2.username)

    # ------------------------------------------------------------------ REV-4

    def evaluations(self, compliance: User, today: dt.date) -> None:
        actor = actor_of(compliance)
        ended, running = last_ended_quarter(today), quarter_of(today)
        with audit_context(compliance.get_username(), user_id=compliance.pk):
            for label, publish in ((ended, True), (running, False)):
                if parse_period(label).start >= today:
                    continue
                try:
                    rows = evaluations.compute(period=label, actor=actor)
                    self.stdout.write(f"evaluation {label}: computed for {len(rows)} branches")
                    if publish:
                        rows = evaluations.publish(period=label, actor=actor)
                        late = " (late)" if rows and rows[0].published_late else ""
                        self.stdout.write(f"evaluation {label}: published{late}")
                except EvaluationRefused as refused:
                    if refused.code != "published":
                        raise CommandError(f"evaluation {label}: {refused}") from refused
                    self.stdout.write(f"evaluation {label}: already published")
