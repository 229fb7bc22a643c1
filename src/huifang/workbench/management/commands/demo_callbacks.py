"""``huifang demo_callbacks``: worked callbacks for the demo (issue 7 item 10).

The demo users of ``demo_users`` do the work through the same services as the UI:
the 营运总监 (``ops``) hands tasks of the branch to the demo agent (``queue.reassign``,
recusal checked), the agent takes them one by one (``queue.next_task``), logs failed
and connected tries, keeps a recording, answers the questionnaires, notes needs and
problems and signs; ``ops`` signs compliance records, ``marketing`` signs service
records and ``ops`` archives them; the ``reviewer`` passes or returns what the REV-1
draw gave him. Some clients cannot be reached on three days (closure requested, one
approved), one number is wrong (a data correction for the branch), one client gets
an e-questionnaire link and answers it. Every step runs at a pinned moment inside
the call hours (CON-5) of the last demo days, so the ledger has dates to show.
Idempotent enough for a demo: a second run works further tasks.
"""

from __future__ import annotations

import datetime as dt
import io
import wave
from collections.abc import Callable
from functools import partial
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser

from huifang.accounts.models import User
from huifang.audit.context import audit_context
from huifang.callbacks.choices import TaskKind, TaskStatus
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.workbench import attempts, equestionnaire, evidence, queue, records, review
from huifang.workbench import questionnaires as forms
from huifang.workbench.actors import Actor, actor_of
from huifang.workbench.choices import EvidenceKind, FindingCategory, FindingKind, Method, Outcome
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Record, Review

NEEDS = [
    (FindingKind.NEED, FindingCategory.RESEARCH, "希望定期收到行业研究报告。"),
    (FindingKind.SUGGESTION, FindingCategory.TRADING, "建议手机交易软件增加条件单功能。"),
    (FindingKind.PROBLEM, FindingCategory.FEES, "客户反映佣金费率与开户时约定不一致,需核实。"),
    (FindingKind.PROBLEM, FindingCategory.STAFF_CONDUCT, "客户称客户经理曾承诺保底收益。"),
]


def wav_bytes(seconds: float = 0.2) -> bytes:
    """A short silent WAV: a real recording file for the demo's evidence (EXE-2)."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x00\x00" * int(8000 * seconds))
    return buffer.getvalue()


def answers_for(record: Record) -> dict[int, dict[str, Any]]:
    """Plausible answers to every item of every section of ``record`` (EXE-4)."""
    values = {"check": "matches", "yesno": "yes", "score": 5, "text": "无"}
    return {
        section.pk: {
            item["id"]: {"value": values.get(item["type"], (item.get("options") or [""])[0])}
            for item in forms.iter_items(section.questionnaire)
        }
        for section in record.sections.select_related("questionnaire")
    }


class Command(BaseCommand):
    help = "Work some demo callbacks end to end (attempts, evidence, answers, signatures, reviews)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=24, help="tasks to work to a signature")

    def handle(self, *args: Any, count: int, **options: Any) -> None:
        self.users = {u.username: u for u in User.objects.filter(username__in=[
            "agent", "ops", "marketing", "reviewer", "hq"]).select_related("staff")}  # fmt: skip
        missing = {"agent", "ops", "marketing", "reviewer"} - set(self.users)
        if missing:
            raise CommandError(f"run `huifang demo_users` first (missing: {sorted(missing)})")
        self.day = clock.today()
        self.days = [self.day - dt.timedelta(days=n) for n in (2, 1, 0)]
        self.minute = 0
        agent = self.actor("agent")
        branch = agent.need_staff().unit_id
        handed = self.hand_over(branch, count + 8)
        if handed:
            self.stdout.write(f"{handed} tasks of {branch} handed to the demo agent")
        done: dict[str, int] = {}
        for n in range(count + 8):
            outcome = self.work_one(n)
            if outcome is None:
                break
            done[outcome] = done.get(outcome, 0) + 1
        done["reviews"] = self.reviews()
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in sorted(done.items())))

    # ------------------------------------------------------------------ helpers

    def actor(self, username: str) -> Actor:
        return actor_of(self.users[username])

    def at(self, day: dt.date) -> Any:
        """The next pinned moment of ``day``: 09:30 on, a few minutes apart (CON-5)."""
        self.minute += 7
        moment = dt.datetime.combine(day, dt.time(9, 30), tzinfo=clock.SHANGHAI)
        return clock.frozen(moment + dt.timedelta(minutes=self.minute % 600))

    def as_user(self, username: str, step: Callable[[], Any]) -> Any:
        user = self.users[username]
        with audit_context(user.get_username(), user_id=user.pk):
            return step()

    def hand_over(self, branch: str, n: int) -> int:
        """``ops`` gives the agent branch tasks he may hold (CON-1/CON-2 refusals are skipped)."""
        agent_staff = self.actor("agent").need_staff()
        ops = self.actor("ops")
        handed = 0
        candidates = (
            Task.objects.filter(branch_id=branch, level="branch", client__isnull=False,
                                status__in=[TaskStatus.OPEN, TaskStatus.ASSIGNED],
                                kind=TaskKind.COMPLIANCE, opens_at__isnull=True)
            .exclude(assignee=agent_staff).order_by("due_date", "id")
        )  # fmt: skip
        for task in candidates[: n * 3]:
            if handed >= n:
                break
            try:
                with self.at(self.days[0]):
                    self.as_user(
                        "ops", partial(queue.reassign, task=task, to_staff=agent_staff, actor=ops)
                    )
                handed += 1
            except WorkbenchRefused:
                continue
        return handed

    def work_one(self, n: int) -> str | None:
        agent = self.actor("agent")
        day = self.days[n % 3]
        with self.at(day):
            task = self.as_user("agent", lambda: queue.next_task(actor=agent))
        if task is None:
            return None
        if n % 9 == 4:  # three failed tries on three days, then the closure request (EXE-3)
            for i, try_day in enumerate(self.days):
                with self.at(try_day):
                    if i:
                        self.as_user("agent", partial(queue.take, task=task, actor=agent))
                    self.as_user("agent", partial(attempts.log_attempt, task=task, actor=agent,
                                                  method=Method.PHONE, outcome=Outcome.NO_ANSWER))  # fmt: skip
            with self.at(self.days[-1]):
                self.as_user("agent", lambda: attempts.request_unreachable(task=task, actor=agent))
            return "unreachable_requested"
        if n == 7:  # a wrong number: the branch corrects the client's data
            with self.at(day):
                self.as_user("agent", lambda: attempts.log_attempt(
                    task=task, actor=agent, method=Method.PHONE, outcome=Outcome.WRONG_NUMBER,
                    note="号码为空号。"))  # fmt: skip
            return "wrong_number"
        if n == 11:  # the client answers an e-questionnaire instead (EXE-6)
            with self.at(day):
                sent = self.as_user("agent", lambda: self.questionnaire(task, agent))
            return "questionnaire_sent" if sent else "questionnaire_skipped"
        with self.at(day):
            if n % 4 == 1:
                self.as_user("agent", lambda: attempts.log_attempt(
                    task=task, actor=agent, method=Method.PHONE, outcome=Outcome.BUSY))  # fmt: skip
                self.as_user("agent", lambda: queue.next_task(actor=agent))
                if not queue.holds(agent.staff, task):
                    return "retry_later"
            self.as_user("agent", lambda: self.call(task, agent, n))
        with self.at(day):
            record = Record.objects.get(task=task)
            leader = "marketing" if record.kind == TaskKind.SERVICE else "ops"
            self.as_user(
                leader, lambda: records.sign_leader(record=record, actor=self.actor(leader))
            )
            if record.kind == TaskKind.SERVICE:
                self.as_user("ops", lambda: records.archive(record=record, actor=self.actor("ops")))
        return "signed"

    def call(self, task: Task, agent: Actor, n: int) -> None:
        call_id = f"CC{task.pk:08d}"
        attempts.log_attempt(task=task, actor=agent, method=Method.PHONE,
                             outcome=Outcome.CONNECTED, call_id=call_id)  # fmt: skip
        upload = SimpleUploadedFile(f"{call_id}.wav", wav_bytes(), content_type="audio/wav")
        evidence.attach(task=task, actor=agent, kind=EvidenceKind.RECORDING, upload=upload)
        record = Record.objects.get(task=task)
        found = [NEEDS[n % len(NEEDS)]] if n % 3 == 0 else []
        records.save_answers(
            record=record, actor=agent, answers=answers_for(record),
            findings=[{"kind": k, "category": c, "text": t} for k, c, t in found],
            notes="已核对客户身份与资料,客户确认无误;已提示市场风险。",
            problem_handling="已记录,转相关部门处理。" if found else "",
        )  # fmt: skip
        records.sign_agent(record=record, actor=agent)

    def questionnaire(self, task: Task, agent: Actor) -> bool:
        """Send the client an e-questionnaire link (EXE-6); the message lands in the outbox."""
        try:
            link = equestionnaire.send_link(task=task, actor=agent, channel="sms")
        except WorkbenchRefused as refused:
            self.stderr.write(f"e-questionnaire skipped: {refused}")
            queue.release(task=task, actor=agent, reason="no_address")
            return False
        self.stdout.write(f"e-questionnaire link sent for task {task.pk} ({link.address_masked})")
        return True

    def reviews(self) -> int:
        """The reviewer passes most of his queue and returns one with findings (REV-1)."""
        reviewer = self.actor("reviewer")
        decided = 0
        with self.at(self.days[-1]):
            pending = list(review.queue(reviewer)[:20])
            for n, item in enumerate(pending):
                try:
                    if item.reason == "unreachable":
                        self.as_user("reviewer", partial(review.decide_unreachable, review=item,
                            actor=reviewer, approve=True, note="三日均未接通,同意结案。"))  # fmt: skip
                    elif n % 5 == 2:
                        self.as_user("reviewer", partial(review.decide, review=item, actor=reviewer,
                            outcome="findings", findings="录音中未完整提示市场风险,请补充说明。"))  # fmt: skip
                    else:
                        self.as_user("reviewer", partial(review.decide, review=item, actor=reviewer,
                                                         outcome="passed"))  # fmt: skip
                    decided += 1
                except WorkbenchRefused as refused:
                    self.stderr.write(f"review {item.pk} skipped: {refused.code}")
        return decided


__all__ = ["Command", "Review"]
