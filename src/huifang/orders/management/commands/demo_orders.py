"""``huifang demo_orders``: orders for the demo (issue 8), after ``demo_callbacks``.

Through the same services as the screens:

- an SPC-1 special callback (专项回访) of the demo department with its own questions, on a
  list of clients of the demo branch uploaded as a CSV;
- a PLAN-1 plan for the clients who opened Hong Kong Stock Connect (港股通), from the
  account events (or, when there are none, the branch's individual clients);
- an MRG-8 supervisor plan of the credit department rating the demo branch's service staff,
  three margin clients each; a few of its callbacks are worked to a leader's signature by the
  demo agent and ``ops`` (client scores in F-MRG section 三), so the scorecards show data.

Idempotent: an order is found again by its title; issuing again adds nothing; a worked
MRG-8 callback is not worked twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

from huifang.accounts.models import User
from huifang.audit.context import audit_context
from huifang.callbacks.choices import OPEN_STATUSES
from huifang.callbacks.models import Task
from huifang.clients.choices import AccountEventType, ClientStatus, ClientType
from huifang.clients.models import AccountEvent, Client
from huifang.core import clock
from huifang.orders import services
from huifang.orders.choices import OrderStatus
from huifang.orders.models import Order
from huifang.org.choices import Position, UnitKind
from huifang.org.models import Staff, Unit
from huifang.workbench import attempts, evidence, queue, records
from huifang.workbench.actors import Actor, actor_of
from huifang.workbench.choices import EvidenceKind, Method, Outcome
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.management.commands.demo_callbacks import answers_for, wav_bytes
from huifang.workbench.models import Claim, Record

SPC_TITLE = "【演示】佣金费率调整专项回访"
PLAN_TITLE = "【演示】港股通客户回访计划"
MRG_TITLE = "【演示】融资融券服务督导回访"
SPC_QUESTIONS = (
    "是否：近期是否收到营业部关于佣金费率调整的通知\n"
    "核对：现行佣金费率与客户了解的是否一致\n"
    "评分：对费率调整说明的满意程度\n"
    "选择：获知调整的渠道|短信/电话/营业部柜台/网上交易\n"
    "对佣金与费用还有什么意见或建议"
)
SCORES = (5, 4, 3, 5, 2, 4)
SPC_CLIENTS = 20
PLAN_CLIENTS = 30
WORK_MRG = 4


class Command(BaseCommand):
    help = "Demo orders (SPC-1 with own questions, PLAN-1 港股通, MRG-8 supervisor plan), issued."

    def handle(self, *args: Any, **options: Any) -> None:
        names = ["dept", "hq", "agent", "ops"]
        self.users = {u.username: u for u in User.objects.filter(username__in=names)
                      .select_related("staff__unit")}  # fmt: skip
        missing = set(names) - set(self.users)
        if missing:
            raise CommandError(f"run `huifang demo_users` first (missing: {sorted(missing)})")
        agent_staff = self.users["agent"].staff
        if agent_staff is None:
            raise CommandError("the demo agent has no staff record")
        self.today = clock.today()
        self.branch = agent_staff.unit
        self.minute = 0
        for order in (self.spc(), self.plan(), self.mrg()):
            if order is not None:
                self.issue(order)
        worked = self.work_mrg()
        self.stdout.write(f"MRG-8 callbacks signed now: {worked}")

    # ------------------------------------------------------------------ helpers

    def as_user(self, username: str, step: Callable[[], Any]) -> Any:
        user = self.users[username]
        with audit_context(user.get_username(), user_id=user.pk):
            return step()

    def unit(self, username: str, kinds: tuple[str, ...]) -> Unit | None:
        """A head-office unit the user may order for, of the first kind that has one."""
        user = self.users[username]
        for kind in kinds:
            for unit in Unit.objects.filter(unit_kind=kind).order_by("code"):
                if services.may_order_for(user, unit):
                    return unit
        return None

    def draft(self, username: str, unit: Unit | None, **fields: Any) -> Order | None:
        found = Order.objects.filter(title=fields["title"]).first()
        if found is not None:
            return found
        if unit is None:
            self.stderr.write(f"{fields['title']}: no head-office unit for {username}, skipped")
            return None
        order_fields = services.OrderFields(ordered_by_unit=unit, **fields)
        order = self.as_user(username, lambda: services.order_create(
            user=self.users[username], fields=order_fields))  # fmt: skip
        self.stdout.write(f"{order.number} {order.rule_code} {order.title}: draft")
        return order  # type: ignore[no-any-return]

    def upload(self, username: str, order: Order, client_ids: list[str]) -> None:
        if not order.is_draft or order.targets.exists() or not client_ids:
            return
        raw = ("client_id\n" + "\n".join(client_ids) + "\n").encode()
        self.as_user(username, lambda: services.order_targets_from_upload(
            user=self.users[username], order=order, raw=raw, name="demo.csv"))  # fmt: skip

    def issue(self, order: Order) -> None:
        username = "dept" if services.may_manage(self.users["dept"], order) else "hq"
        if order.status == OrderStatus.CLOSED or not order.targets.exists():
            return
        issued = self.as_user(username, lambda: services.order_issue(
            user=self.users[username], order=order))  # fmt: skip
        self.stdout.write(f"{order.number} issued: {issued.created} new tasks, "
                          f"{issued.merged} merged, {issued.existing} before")  # fmt: skip

    # ------------------------------------------------------------------ the three orders

    def spc(self) -> Order | None:
        from huifang.orders.rules import parse_questions

        questions, _problems = parse_questions(SPC_QUESTIONS)
        user = "dept" if self.unit("dept", (UnitKind.MARKET, UnitKind.DEPARTMENT)) else "hq"
        order = self.draft(
            user, self.unit(user, (UnitKind.MARKET, UnitKind.DEPARTMENT, UnitKind.CREDIT)),
            rule_code="SPC-1", title=SPC_TITLE, starts_on=self.today,
            ends_on=self.today + dt.timedelta(days=14), level="branch", method=Method.PHONE,
            content="核实营业部佣金费率调整的告知情况及客户意见。", questions=questions,
        )  # fmt: skip
        if order is not None:
            open_clients = Client.objects.filter(branch=self.branch, status=ClientStatus.NORMAL)
            ids = list(open_clients.order_by("client_id").values_list("client_id", flat=True))
            self.upload(user, order, ids[:SPC_CLIENTS])
        return order

    def plan(self) -> Order | None:
        order = self.draft(
            "hq", self.unit("hq", (UnitKind.MARKET, UnitKind.CALL_CENTER)), rule_code="PLAN-1",
            title=PLAN_TITLE, starts_on=self.today, ends_on=self.today + dt.timedelta(days=30),
            level="company", kind="compliance", scope="已开通港股通交易权限的客户",
            planned_count=PLAN_CLIENTS, content="确认港股通业务由客户本人申请,了解港股通交易规则与风险。",
            purpose="落实港股通投资者适当性管理(港股通模板 三.2)。",
            result_handling="发现问题的,转相关部门处理并反馈客户。", questionnaire_code="F3",
        )  # fmt: skip
        if order is not None:
            self.upload("hq", order, self.hk_connect_clients())
        return order

    def hk_connect_clients(self) -> list[str]:
        events = AccountEvent.objects.filter(
            event_type=AccountEventType.NEW_BUSINESS_OPENED, detail__contains="港股通"
        ).exclude(client__status=ClientStatus.CLOSED)
        ids = sorted(set(events.values_list("client_id", flat=True)))
        if not ids:  # no such events in the feeds: the branch's individual clients
            clients = Client.objects.filter(branch=self.branch, client_type=ClientType.INDIVIDUAL)
            ids = list(clients.exclude(status=ClientStatus.CLOSED).order_by("-client_id")
                       .values_list("client_id", flat=True)[:PLAN_CLIENTS])  # fmt: skip
        return ids[:PLAN_CLIENTS]

    def mrg(self) -> Order | None:
        order = self.draft(
            "hq", self.unit("hq", (UnitKind.CREDIT, UnitKind.CALL_CENTER)), rule_code="MRG-8",
            title=MRG_TITLE, starts_on=self.today, ends_on=self.today + dt.timedelta(days=21),
            content="抽查服务人员服务的融资融券客户,请客户为服务人员评分(002 第十六、十七条)。",
        )  # fmt: skip
        if order is None or not order.is_draft or order.targets.exists():
            return order
        service = Staff.objects.active(on=self.today).filter(
            unit=self.branch, position=Position.SERVICE).order_by("staff_id")  # fmt: skip
        staff_ids = [s.staff_id for s in service]
        if not staff_ids:
            self.stderr.write(f"{order.number}: no service staff in {self.branch.code}, no targets")
            return order
        try:
            self.as_user("hq", lambda: services.order_staff_plan(
                user=self.users["hq"], order=order, staff_ids=staff_ids, per_staff=3))  # fmt: skip
        except services.OrderRefused as refused:
            self.stderr.write(f"{order.number}: {'; '.join(refused.reasons)}")
        return order

    # ------------------------------------------------------------------ MRG-8 callbacks worked

    def moment(self) -> Any:
        self.minute += 6
        start = dt.datetime.combine(self.today, dt.time(10, 0), tzinfo=clock.SHANGHAI)
        return clock.frozen(start + dt.timedelta(minutes=self.minute % 540))

    def work_mrg(self) -> int:
        order = Order.objects.filter(title=MRG_TITLE, status=OrderStatus.ISSUED).first()
        if order is None:
            return 0
        targets = order.targets.filter(task__status__in=list(OPEN_STATUSES), task__record=None)
        worked = 0
        for n, target in enumerate(targets.select_related("task").order_by("id")):
            if worked >= WORK_MRG:
                break
            assert target.task is not None
            try:
                self.work_one(target.task, SCORES[n % len(SCORES)])
            except WorkbenchRefused as refused:
                self.stderr.write(f"task {target.task_id}: {refused}")
                continue
            worked += 1
        return worked

    def work_one(self, task: Task, score: int) -> None:
        agent: Actor = actor_of(self.users["agent"])
        ops: Actor = actor_of(self.users["ops"])
        staff = agent.need_staff()
        with self.moment():
            for claim in Claim.objects.filter(staff=staff, released_at__isnull=True):
                self.as_user("agent", partial(queue.release, task=claim.task, actor=agent))
            if task.assignee_id != staff.pk:
                self.as_user("ops", partial(queue.reassign, task=task, to_staff=staff, actor=ops))
            task.refresh_from_db()
            self.as_user("agent", partial(queue.take, task=task, actor=agent))
            self.as_user("agent", lambda: self.call(task, agent, score))
            record = Record.objects.get(task=task)
            self.as_user("ops", partial(records.sign_leader, record=record, actor=ops))

    def call(self, task: Task, agent: Actor, score: int) -> None:
        call_id = f"MRG{task.pk:08d}"
        attempts.log_attempt(task=task, actor=agent, method=Method.PHONE,
                             outcome=Outcome.CONNECTED, call_id=call_id)  # fmt: skip
        upload = SimpleUploadedFile(f"{call_id}.wav", wav_bytes(), content_type="audio/wav")
        evidence.attach(task=task, actor=agent, kind=EvidenceKind.RECORDING, upload=upload)
        record = Record.objects.get(task=task)
        answers = answers_for(record)
        for section in record.sections.select_related("questionnaire"):
            if section.questionnaire.code == "F-MRG":
                answers[section.pk]["service_staff_score"] = {"value": score}
        records.save_answers(record=record, actor=agent, answers=answers, findings=[],
                             notes="已核对客户身份;客户对服务人员的服务进行了评分。")  # fmt: skip
        records.sign_agent(record=record, actor=agent)
