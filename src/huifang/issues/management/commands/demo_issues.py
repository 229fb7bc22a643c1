"""``huifang demo_issues``: issues for the demo (SPEC §7), after ``huifang demo_callbacks``.

Through the same services as the UI, each step at a pinned moment of the last demo days:

- every finding of the signed demo records becomes an issue, routed by the table (ISS-1);
- a department user per routed department is made if none exists (``dept_<code>``, role
  ``department`` over that unit, the demo password);
- two issues of the demo branch go all the way: answer (ISS-2), the three feedbacks
  (ISS-3), close (ISS-4); one stops after the branch leader's feedback, one after the answer;
- an inquiry registered six working days ago at the counter is never answered: the tick
  warns, escalates to the department head, then to compliance (ISS-5);
- a major complaint registered three working days ago is answered, fed back and closed
  yesterday: its CMP-1 follow-up task (company level) is due 2 working days after closure.

Idempotent: a second run finds what the first made and writes nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huifang.accounts.choices import Role
from huifang.accounts.management.commands.demo_users import DEFAULT_PASSWORD
from huifang.accounts.models import User
from huifang.accounts.services import Grant, user_ensure
from huifang.audit.context import audit_context, system_context
from huifang.calendars.service import add_working_days
from huifang.clients.models import Client
from huifang.core import clock
from huifang.issues import access, services
from huifang.issues.choices import FEEDBACK_STEPS, IssueStatus, Source, StepKind
from huifang.issues.models import Issue, RoutingRule
from huifang.org.models import Staff, Unit
from huifang.workbench.actors import Actor, actor_of
from huifang.workbench.models import Record

INQUIRY = "客户咨询:手机交易软件条件单如何设置?(演示:未按时答复,已升级)"
COMPLAINT = "客户来电投诉:开户时约定的佣金费率与实际收取不一致。(演示:重大投诉)"
DEMO_USERS = ("ops", "manager", "agent", "compliance")


class Command(BaseCommand):
    help = "Demo issues (ISS-1..6, CMP-1): raise, route, answer, feedback, close, escalate."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=DEFAULT_PASSWORD)

    def handle(self, *args: Any, password: str, **options: Any) -> None:
        self.users = {u.username: u for u in User.objects.filter(
            username__in=[*DEMO_USERS, "hq", "dept"]).select_related("staff")}  # fmt: skip
        missing = set(DEMO_USERS) - set(self.users)
        if missing:
            raise CommandError(f"run `huifang demo_users` first (missing: {sorted(missing)})")
        self.today = clock.today()
        self.branch = self.home_branch()
        self.minute = 0
        with system_context("demo_issues"):
            made = self.department_users(password)
        raised = self.raise_findings()
        walked = self.walk()
        breached = self.breached_inquiry()
        complaint = self.complaint()
        ticks = self.tick_days()
        self.stdout.write(
            f"department users made: {made}; issues raised: {raised}; walked: {walked}; "
            f"breached inquiry: {breached}; complaint: {complaint}; "
            f"tick: warned {ticks.warned}, escalated {ticks.escalated}"
        )

    # ------------------------------------------------------------------ helpers

    def home_branch(self) -> Unit:
        staff = self.users["ops"].staff
        if staff is None:
            raise CommandError("the demo user `ops` has no staff member")
        return staff.unit

    def at(self, day: dt.date, hour: int = 10) -> Any:
        """A pinned moment of ``day`` (a few minutes after the previous one)."""
        self.minute += 5
        moment = dt.datetime.combine(day, dt.time(hour), tzinfo=clock.SHANGHAI)
        return clock.frozen(moment + dt.timedelta(minutes=self.minute % 300))

    def as_user(self, user: User, step: Callable[[Actor], Any]) -> Any:
        with audit_context(user.get_username(), user_id=user.pk):
            return step(actor_of(User.objects.get(pk=user.pk)))

    def day(self, n: int) -> dt.date:
        """``n`` working days from today (negative: before), never after today."""
        return min(add_working_days(self.today, n), self.today)

    # ------------------------------------------------------------------ department users

    def department_users(self, password: str) -> int:
        """One answering user per routed department that has none (role ``department``)."""
        made = 0
        codes = set(RoutingRule.objects.values_list("department_id", flat=True))
        for unit in Unit.objects.filter(code__in=sorted(codes)).order_by("code"):
            if self.answerer(unit.code) is not None:
                continue
            taken = User.objects.filter(staff__isnull=False).values("staff_id")
            staff = (
                Staff.objects.active(on=self.today).filter(unit=unit).exclude(pk__in=taken)
                .order_by("position", "staff_id").first()
            )  # fmt: skip
            user, _ = user_ensure(username=f"dept_{unit.code.lower()}", password=password,
                                  staff=staff, grants=[Grant(role=Role.DEPARTMENT, unit=unit)])  # fmt: skip
            self.stdout.write(f"department user {user.username} for {unit}")
            made += 1
        return made

    def answerer(self, department: str) -> User | None:
        """A user who answers for ``department``: the demo's own first, then ``dept_*``."""
        candidates = [
            self.users[name] for name in ("dept", "hq", "compliance") if name in self.users
        ]
        candidates += list(
            User.objects.filter(username__startswith="dept_", is_active=True).order_by("username")
        )
        for user in candidates:
            if department in access.department_units(User.objects.get(pk=user.pk)):
                return user
        return None

    # ------------------------------------------------------------------ ISS-1

    def raise_findings(self) -> int:
        """Findings of signed records become issues (``sign_agent`` did it for new records)."""
        records = Record.objects.exclude(status="draft").filter(findings__isnull=False).distinct()
        count = 0
        for record in records.order_by("id"):
            moment = record.agent_signed_at or clock.now()
            with clock.frozen(moment), audit_context("system:demo_issues"):
                count += len(services.raise_from_record(record, "system:demo_issues"))
        return count

    def walk(self) -> int:
        """ISS-2..4 for the demo branch's first findings: two closed, two half-way."""
        issues = list(
            Issue.objects.filter(source=Source.FINDING, branch=self.branch,
                                 department__isnull=False).order_by("id")[:4]
        )  # fmt: skip
        for n, issue in enumerate(issues):
            start = max(issue.received_on or issue.raised_on, self.day(-4))
            self.answer(issue, start)
            if n == 3:
                continue
            steps = FEEDBACK_STEPS[:1] if n == 2 else FEEDBACK_STEPS
            self.feedback(issue, min(add_working_days(start, 1), self.today), steps)
            if n < 2:
                self.close(issue, min(add_working_days(start, 2), self.today))
        return len(issues)

    def answer(self, issue: Issue, day: dt.date) -> None:
        issue.refresh_from_db()
        if issue.status != IssueStatus.ROUTED or issue.department_id is None:
            return
        user = self.answerer(issue.department_id)
        if user is None:
            self.stderr.write(f"{issue.number}: no user answers for {issue.department_id}")
            return
        with self.at(day):
            self.as_user(user, lambda a: services.answer(
                issue=issue, actor=a, text="已核实,已按规定处理并答复营业部。"))  # fmt: skip

    def feedback(self, issue: Issue, day: dt.date, steps: tuple[str, ...]) -> None:
        who: dict[str, str] = {StepKind.FEEDBACK_BRANCH: "manager", StepKind.FEEDBACK_AGENT: "agent",
               StepKind.FEEDBACK_CLIENT: "agent"}  # fmt: skip
        notes: dict[str, str] = {StepKind.FEEDBACK_BRANCH: "负责人已阅知答复。",
                 StepKind.FEEDBACK_AGENT: "已告知回访专员。",
                 StepKind.FEEDBACK_CLIENT: "已电话告知客户处理结果,客户表示认可。"}  # fmt: skip
        for step in steps:
            issue.refresh_from_db()
            if issue.status not in (IssueStatus.ANSWERED, IssueStatus.FEEDBACK):
                return
            if step in services.done_feedback(issue):
                continue
            give = partial(services.feedback, issue=issue, step=step, note=notes[step])
            with self.at(day, 14):
                self.as_user(self.users[who[step]], partial(_with_actor, give))

    def close(self, issue: Issue, day: dt.date) -> None:
        issue.refresh_from_db()
        if issue.status != IssueStatus.FEEDBACK:
            return
        with self.at(day, 16):
            self.as_user(self.users["ops"], lambda a: services.close(
                issue=issue, actor=a, note="问题已解决,反馈完毕。"))  # fmt: skip

    # ------------------------------------------------------------------ ISS-5, ISS-6, CMP-1

    def breached_inquiry(self) -> str:
        """An inquiry six working days old, never answered: escalated twice by the tick."""
        found = Issue.objects.filter(source=Source.INQUIRY, summary=INQUIRY).first()
        if found is None:
            reg = services.Registration(source=Source.INQUIRY, channel="counter",
                                        category="trading", summary=INQUIRY, branch=self.branch)  # fmt: skip
            with self.at(self.day(-6), 9):
                found = self.as_user(self.users["agent"],
                                     lambda a: services.register(registration=reg, actor=a))  # fmt: skip
        return found.number

    def complaint(self) -> str:
        """A major complaint handled in three working days; CMP-1 at company level follows."""
        issue = Issue.objects.filter(source=Source.COMPLAINT, summary=COMPLAINT).first()
        client = Client.objects.filter(branch=self.branch).order_by("client_id").first()
        if issue is None:
            if client is None:
                return "skipped (no client)"
            reg = services.Registration(source=Source.COMPLAINT, channel="phone",
                                        category="complaint", summary=COMPLAINT, client=client,
                                        major=True)  # fmt: skip
            with self.at(self.day(-3), 9):
                issue = self.as_user(self.users["ops"],
                                     lambda a: services.register(registration=reg, actor=a))  # fmt: skip
        self.answer(issue, self.day(-2))
        self.feedback(issue, self.day(-1), FEEDBACK_STEPS)
        self.close(issue, self.day(-1))
        issue.refresh_from_db()
        return f"{issue.number} {issue.get_status_display()}"

    def tick_days(self) -> services.TickResult:
        """The daily tick over the demo's last two weeks, as the scheduler would have run it."""
        total = services.TickResult()
        day = self.today - dt.timedelta(days=14)
        with audit_context("system:issues.tick"):
            while day <= self.today:
                with clock.frozen(dt.datetime.combine(day, dt.time(6), tzinfo=clock.SHANGHAI)):
                    result = services.tick(day)
                total.warned += result.warned
                total.escalated += result.escalated
                day += dt.timedelta(days=1)
        return total


def _with_actor(service: Callable[..., Any], actor: Actor) -> Any:
    return service(actor=actor)
