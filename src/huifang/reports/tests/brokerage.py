"""A small synthetic brokerage for the report tests, built through the ORM.

Three branches in two regions (A01, A02 in R1; B01 in R2), an agent and a 营运总监 per
branch, plans of sampled rules (NEW-2 per branch and month, SMALL-1 per branch and
half-year, NEW-3 company-wide per week — and plans outside the period), purposes of
100 % rules (NEW-1, ABN-1, DEP-1) inside and outside the period, tasks in every status,
records agent-signed before or after their due dates, attempts of every outcome,
reviews, satisfaction scores and issues.

Besides the rows, the builder keeps plain Python ``facts`` of what it made, so that a
test can count the expected figures independently of SQL and compare them with
``reports.metrics``. A fixed seed makes the brokerage the same on every run.

Text typed by users and clients includes formula-like strings (``=HYPERLINK(...)``,
``+1``, ``-1``, ``@SUM``) to prove the Excel export never turns them into formulas.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.accounts.tests.factories import user_with_role
from huifang.callbacks.choices import TaskStatus
from huifang.callbacks.models import Plan, Purpose, Task
from huifang.core import clock
from huifang.issues.models import Issue
from huifang.org.models import Region, Staff, Unit
from huifang.org.tests.factories import RegionFactory
from huifang.workbench import questionnaires
from huifang.workbench.choices import (
    EvidenceKind,
    FindingCategory,
    FindingKind,
    Method,
    Outcome,
    RecordStatus,
    ReviewReason,
    ReviewStatus,
)
from huifang.workbench.models import Attempt, Evidence, Finding, Record, Review, Section
from huifang.workbench.tests import factories as f

START = dt.date(2026, 10, 1)
END = dt.date(2026, 10, 14)  # the pinned today of the test settings
TODAY = END
DONE = (TaskStatus.SIGNED, TaskStatus.REVIEWED)
STATUSES = (
    TaskStatus.OPEN,
    TaskStatus.ASSIGNED,
    TaskStatus.IN_PROGRESS,
    TaskStatus.SIGNED,
    TaskStatus.REVIEWED,
    TaskStatus.UNREACHABLE,
    TaskStatus.CANCELLED,
)
FORMULA_CLIENT = '=HYPERLINK("http://evil.example/","点我")'
FORMULA_AGENT = "+1 坐席"
FORMULA_LEADER = "-1 营运总监"
FORMULA_NOTES = "-1 客户确认资料一致"
FORMULA_HANDLING = "@SUM(A1:A9) 已转营业部"
FORMULA_FINDING = "=1+1 客户要求降低佣金"
SCORES = ("sat_research", "sat_staff_attitude", "sat_system_function")


@dataclass
class PlanFact:
    rule_code: str
    branch: str  # "" company-wide
    level: str
    period_start: dt.date
    period_end: dt.date
    share: Decimal
    population: int
    required: int
    sampled: int
    statuses: list[str] = field(default_factory=list)  # of its purposes' tasks


@dataclass
class PurposeFact:
    rule_code: str
    branch: str
    level: str
    sampled: bool
    business_date: dt.date
    due_date: dt.date
    status: str
    signed_on: dt.date | None  # the agent's signature, when the task has a signed record


@dataclass
class AttemptFact:
    branch: str
    staff_id: str
    task_id: int
    at: dt.datetime
    outcome: str


@dataclass
class World:
    regions: dict[str, Region]
    branches: dict[str, Unit]
    agents: dict[str, User]
    leaders: dict[str, User]
    users: dict[str, User]
    plans: list[PlanFact] = field(default_factory=list)
    purposes: list[PurposeFact] = field(default_factory=list)
    attempts: list[AttemptFact] = field(default_factory=list)
    records: dict[str, list[Record]] = field(default_factory=dict)  # by branch
    scores: list[tuple[str, str, int, bool]] = field(
        default_factory=list
    )  # branch, item, score, signed in period
    reviews: list[tuple[str, str, str, dt.datetime]] = field(
        default_factory=list
    )  # branch, agent, status, decided
    issues: list[Issue] = field(default_factory=list)
    unreachable_closures: list[tuple[str, dt.datetime]] = field(default_factory=list)

    def record_numbers(self, branch: str) -> list[str]:
        return [r.number for r in self.records.get(branch, [])]


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=clock.SHANGHAI)


def build(seed: int = 20261014) -> World:
    """The brokerage; call inside a database test with the clock at 2026-10-14."""
    rng = random.Random(seed)
    version = f.policy()
    questionnaires.install_defaults()
    r1, r2 = (
        RegionFactory(code="R1", name="华北分公司"),
        RegionFactory(code="R2", name="华东分公司"),
    )
    branches = {
        "A01": f.branch("A01", name="北京甲营业部", region=r1),
        "A02": f.branch("A02", name="北京乙营业部", region=r1),
        "B01": f.branch("B01", name="上海甲营业部", region=r2),
    }
    agents = {
        code: f.agent_user(unit, username=f"agent_{code.lower()}")
        for code, unit in branches.items()
    }
    Staff.objects.filter(pk=agents["A01"].staff.pk).update(name=FORMULA_AGENT)
    leaders = {
        code: f.leader_user(Role.BRANCH_OPS, unit, username=f"ops_{code.lower()}")
        for code, unit in branches.items()
    }
    Staff.objects.filter(pk=leaders["A01"].staff.pk).update(name=FORMULA_LEADER)
    users = {
        "compliance": user_with_role(Role.COMPLIANCE, username="compliance"),
        "hq_service": user_with_role(Role.HQ_SERVICE, username="hq"),
        "regional_r1": user_with_role(Role.REGIONAL, region=r1, username="regional_r1"),
        "ops_a01": leaders["A01"],
        "manager_b01": user_with_role(
            Role.BRANCH_MANAGER, unit=branches["B01"], username="mgr_b01"
        ),
        "marketing_a02": user_with_role(
            Role.BRANCH_MARKETING, unit=branches["A02"], username="mkt_a02"
        ),
        "agent_a01": agents["A01"],
    }
    world = World({"R1": r1, "R2": r2}, branches, agents, leaders, users)
    maker = _Maker(world, rng, version)
    maker.plans()
    maker.full_rules()
    maker.issues()
    return world


class _Maker:
    def __init__(self, world: World, rng: random.Random, version: Any) -> None:
        self.world, self.rng, self.version = world, rng, version
        self.f2 = questionnaires.current("F2")

    # ------------------------------------------------------------ plans (sampled rules)

    def plans(self) -> None:
        specs = [
            ("NEW-2", "2026-10", dt.date(2026, 10, 1), dt.date(2026, 10, 31), Decimal("0.3")),
            ("NEW-2", "2026-09", dt.date(2026, 9, 1), dt.date(2026, 9, 30), Decimal("0.3")),
            ("SMALL-1", "2026-H2", dt.date(2026, 7, 1), dt.date(2026, 12, 31), Decimal("0.2")),
        ]
        for rule, period, start, end, share in specs:
            for code in self.world.branches:
                self.plan(rule, period, start, end, share, code, "branch")
        week = ("NEW-3", "2026-W41", dt.date(2026, 10, 5), dt.date(2026, 10, 11), Decimal("0.1"))
        self.plan(*week, "", "company")

    def plan(
        self, rule: str, period: str, start: dt.date, end: dt.date, share: Decimal,
        branch: str, level: str,
    ) -> None:  # fmt: skip
        population = self.rng.randint(8, 30)
        required = -(-int(share * population * 100) // 100)
        sampled = required + self.rng.randint(0, 1)
        row = Plan.objects.create(
            rule_code=rule, rule_id=rule, period=period, period_start=start, period_end=end,
            stratum=branch, branch_id=branch or None, level=level, share=share,
            population=population, required=required, sampled=sampled, seed="s" * 64,
            policy_version=self.version, as_of=min(end, TODAY),
        )  # fmt: skip
        fact = PlanFact(rule, branch, level, start, end, share, population, required, sampled)
        self.world.plans.append(fact)
        for _n in range(sampled):
            target = branch or self.rng.choice(sorted(self.world.branches))
            business = min(max(start, TODAY - dt.timedelta(days=self.rng.randint(0, 20))), end)
            purpose = self.purpose(rule, target, level, business, plan=row)
            fact.statuses.append(purpose.status)

    # ------------------------------------------------------------ 100 % rules

    def full_rules(self) -> None:
        for rule, level in (("NEW-1", "branch"), ("ABN-1", "company"), ("DEP-1", "branch")):
            for code in self.world.branches:
                for _n in range(self.rng.randint(3, 7)):
                    business = TODAY - dt.timedelta(days=self.rng.randint(0, 25))  # some in Sept.
                    self.purpose(rule, code, level, business)
        # one task serving two purposes (CON-4): each purpose counts once
        self.purpose("NEW-1", "A01", "branch", dt.date(2026, 10, 9), extra="DEP-1")

    # ------------------------------------------------------------ one purpose and its task

    def purpose(
        self, rule: str, branch: str, level: str, business: dt.date, *, plan: Plan | None = None,
        extra: str = "",
    ) -> PurposeFact:  # fmt: skip
        status = self.rng.choice(STATUSES)
        due = business + dt.timedelta(days=self.rng.choice((2, 5, 8, 12)))
        unit = self.world.branches[branch]
        agent = self.world.agents[branch].staff
        client = f.client_of(unit)
        task = Task.objects.create(
            client=client, branch=unit, level=level, kind="compliance", status=status,
            due_date=due, created_on=business, quarter="2026-Q4",
            assignee=None if status == TaskStatus.OPEN else agent,
        )  # fmt: skip
        facts = []
        for code in filter(None, (rule, extra)):
            Purpose.objects.create(
                task=task, key=f"{code}:{task.pk}", rule_code=code, rule_id=code, plan=plan,
                policy_version=self.version, business_date=business, due_date=due,
                facts=json.dumps({}),
            )  # fmt: skip
            facts.append((code, plan is not None))
        signed_on = self.work(task, status, due, branch)
        made = [
            PurposeFact(code, branch, level, sampled, business, due, status, signed_on)
            for code, sampled in facts
        ]
        self.world.purposes += made
        return made[0]

    def work(self, task: Task, status: str, due: dt.date, branch: str) -> dt.date | None:
        """Attempts, the record and its reviews that the task's status implies."""
        agent = self.world.agents[branch].staff
        if status in (TaskStatus.OPEN, TaskStatus.CANCELLED):
            return None
        tries = self.rng.randint(0, 2)
        if status in (*DONE, TaskStatus.IN_PROGRESS):
            tries += 1
        signed_on = None
        if status in DONE or (status == TaskStatus.IN_PROGRESS and self.rng.random() < 0.5):
            signed_on = min(due + dt.timedelta(days=self.rng.randint(-3, 3)), TODAY)
        last = signed_on or TODAY
        for n in range(tries):
            connected = n == tries - 1 and status in (*DONE, TaskStatus.IN_PROGRESS)
            outcome = Outcome.CONNECTED if connected else self.rng.choice(
                [Outcome.NO_ANSWER, Outcome.BUSY, Outcome.REFUSED, Outcome.WRONG_NUMBER,
                 Outcome.CALL_BACK_LATER]
            )  # fmt: skip
            moment = at(last - dt.timedelta(days=tries - 1 - n), 9 + n)
            Attempt.objects.create(
                task=task, staff=agent, at=moment, method=Method.PHONE, outcome=outcome
            )
            self.world.attempts.append(AttemptFact(branch, agent.pk, task.pk, moment, str(outcome)))
        if status == TaskStatus.UNREACHABLE:
            decided = at(TODAY - dt.timedelta(days=self.rng.randint(0, 20)), 15)
            Review.objects.create(
                task=task, branch_id=branch, level=task.level, reason=ReviewReason.UNREACHABLE,
                drawn_on=decided.date(), status=ReviewStatus.APPROVED, decided_at=decided,
            )  # fmt: skip
            self.world.unreachable_closures.append((branch, decided))
        if signed_on is not None:
            self.record(task, status, signed_on, branch)
        return signed_on

    def record(self, task: Task, status: str, signed_on: dt.date, branch: str) -> None:
        agent, leader = self.world.agents[branch].staff, self.world.leaders[branch].staff
        leader_signed = status in DONE
        if branch == "A01" and len(self.world.records.get("A01", [])) % 2 == 0:
            type(task.client).objects.filter(pk=task.client_id).update(name=FORMULA_CLIENT)
            task.client.refresh_from_db()  # type: ignore[union-attr]
        record = Record.objects.create(
            task=task, number=f"HF{signed_on:%Y%m%d}{task.pk:08d}", branch_id=branch,
            client=task.client, level=task.level, kind=task.kind, method=Method.PHONE,
            callback_date=signed_on, notes=FORMULA_NOTES, problem_handling=FORMULA_HANDLING,
            agent=agent, created_at=at(signed_on, 9),
        )  # fmt: skip
        Evidence.objects.create(
            task=task, kind=EvidenceKind.CALL_ID, call_id=f"CALL{task.pk}", uploaded_by="test",
            uploaded_at=at(signed_on, 15), retention_until=dt.date(2046, 12, 31),
        )  # fmt: skip
        if self.rng.random() < 0.3:
            Finding.objects.create(
                record=record, kind=FindingKind.PROBLEM, category=FindingCategory.FEES,
                text=FORMULA_FINDING, created_at=at(signed_on, 15),
            )  # fmt: skip
        answers: dict[str, Any] = {}
        for n, item in enumerate(SCORES):
            score = self.rng.randint(1, 5)
            # the three forms an answer may take: {"value": int}, a bare int, {"value": "4"}
            answers[item] = [{"value": score, "note": ""}, score, {"value": str(score)}][n]
            self.world.scores.append(
                (branch, item, score, leader_signed and START <= signed_on <= END)
            )
        Section.objects.create(record=record, questionnaire=self.f2, answers=answers)
        # signed as the services sign: the draft is complete first (signed rows are frozen)
        Record.objects.filter(pk=record.pk).update(
            status=RecordStatus.SIGNED if leader_signed else RecordStatus.AGENT_SIGNED,
            agent_signed_at=at(signed_on, 16), leader=leader if leader_signed else None,
            leader_role="branch_ops" if leader_signed else "",
            leader_signed_at=at(signed_on, 18) if leader_signed else None,
        )  # fmt: skip
        record.refresh_from_db()
        self.world.records.setdefault(branch, []).append(record)
        if leader_signed:
            self.review(task, record, branch, status)

    def review(self, task: Task, record: Record, branch: str, status: str) -> None:
        outcome = ReviewStatus.PASSED if status == TaskStatus.REVIEWED else self.rng.choice(
            [ReviewStatus.PENDING, ReviewStatus.FINDINGS, None]
        )  # fmt: skip
        if outcome is None:
            return
        decided = record.leader_signed_at + dt.timedelta(hours=16)  # type: ignore[operator]
        done = outcome != ReviewStatus.PENDING
        Review.objects.create(
            task=task, record=record, branch_id=branch, level=task.level,
            reason=ReviewReason.SAMPLE, drawn_on=record.callback_date, status=outcome,
            decided_at=decided if done else None, findings="复核意见" if done else "",
        )  # fmt: skip
        if done:
            self.world.reviews.append((branch, record.agent_id, str(outcome), decided))

    # ------------------------------------------------------------ issues (ISS-*)

    def issues(self) -> None:
        n = 0
        for unit in self.world.branches.values():
            for raised, closed_after, breach in (
                (
                    dt.date(2026, 10, 8),
                    2,
                    False,
                ),  # Thu → Mon 10-12: 3 working days (Sat 10-10 调休)
                (dt.date(2026, 10, 9), None, True),
                (dt.date(2026, 10, 12), 0, False),
                (dt.date(2026, 9, 20), 3, False),  # raised before the period
            ):
                n += 1
                closed_on = raised + dt.timedelta(days=closed_after or 0)
                if closed_after == 2:
                    closed_on = dt.date(2026, 10, 12)
                closed = closed_after is not None
                issue = Issue.objects.create(
                    number=f"WT20261014-{n:06d}", source="finding", channel="callback",
                    branch=unit, kind="problem", category="fees", summary="佣金问题",
                    status="closed" if closed else "routed", raised_on=raised,
                    loop_due=raised + dt.timedelta(days=21),
                    closed_at=at(closed_on, 17) if closed else None,
                    breached_answer=breach, breached_loop=False, created_at=at(raised, 9),
                )  # fmt: skip
                self.world.issues.append(issue)
