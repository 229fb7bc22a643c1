"""The workbench screens (SPEC §5, §6): agents' queue and task page, leaders' sign-off, review.

Views are thin: they check the role (403) and the scope (404 outside it, through
``visible_to``), parse a form, call ONE service and render. They never save a
model. A service's ``WorkbenchRefused`` is shown as its Chinese reasons, with the
page as it stands — the service refused before writing anything. Every page may
carry client data, so none is ever cached (``private_page``).

Services are imported inside the views: each module belongs to its own helper
and is loaded when first used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRefresh

from huifang.accounts.choices import Role
from huifang.accounts.permissions import user_has_role
from huifang.callbacks.choices import Level, TaskKind
from huifang.callbacks.models import Task
from huifang.callbacks.selectors import fact_rows
from huifang.callbacks.services import AssignmentRefused
from huifang.classification.models import ClientClass
from huifang.core import clock
from huifang.core.scope import get_visible_or_404
from huifang.core.views import RoleView
from huifang.workbench import (
    access,
    attempts,
    equestionnaire,
    evidence,
    phrases,
    queue,
    records,
    review,
    selectors,
)
from huifang.workbench.actors import Actor
from huifang.workbench.choices import (
    CorrectionStatus,
    FindingCategory,
    FindingKind,
    Outcome,
    RecordStatus,
    ReviewReason,
    ReviewStatus,
)
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.forms import (
    AmendForm,
    AttemptForm,
    CallIdForm,
    CorrectionDoneForm,
    EvidenceUploadForm,
    ReassignForm,
    ReleaseForm,
    ReviewDecisionForm,
    SendLinkForm,
    UnreachableDecisionForm,
    finding_rows,
    parse_answers,
    parse_findings,
    section_forms,
)
from huifang.workbench.models import (
    Claim,
    DataCorrection,
    Evidence,
    QuestionnaireLink,
    Record,
    Review,
)

# Who opens which screen (SPEC §0). The menu (core.context_processors.NAV) reads them too.
AGENTS = access.WORKERS
TASK_ROLES = (*access.WORKERS, *access.SUPERVISORS)
LEADERS = (
    access.LEADER_FOR_COMPLIANCE,
    access.LEADER_FOR_SERVICE,
    access.LEADER_FOR_COMPANY,
)
RECORD_ROLES = (
    Role.AGENT,
    Role.REVIEWER,
    Role.BRANCH_OPS,
    Role.BRANCH_MARKETING,
    Role.BRANCH_MANAGER,
    Role.REGIONAL,
    Role.HQ_SERVICE,
    Role.COMPLIANCE,
)
REVIEWERS = access.REVIEWERS
CORRECTORS = access.CORRECTORS
LIST_SIZE = 50
EARLIER_RECORDS = 10
RELEASE_REASON = "released"  # Claim.release_reason when an agent lets a task go


def _refusal(exc: WorkbenchRefused | AssignmentRefused) -> tuple[list[str], int]:
    """The Chinese reasons and the HTTP status of a refusal."""
    if isinstance(exc, WorkbenchRefused):
        return [str(r) for r in exc.reasons], exc.status
    return [str(r) for r in exc.reasons], 409


WorkbenchView = RoleView  # signed in, one of ``roles``, grants read once (core.views)


def _tasks(items: Iterable[Any]) -> list[Task]:
    """Selector rows as tasks (a claim, or anything with ``.task``, stands for its task)."""
    return [item if isinstance(item, Task) else item.task for item in items]


def _with_related(items: Any) -> Any:
    if isinstance(items, QuerySet) and items.model is Task:
        return items.select_related("client", "assignee")[:LIST_SIZE]
    return list(items)[:LIST_SIZE]


# ---------------------------------------------------------------- 1. 工作台


class HomeView(WorkbenchView):
    """工作台: the next-task button and the agent's lists; findings returned by reviewers (REV-1)."""

    roles = AGENTS

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request)

    def page(
        self, request: HttpRequest, *, errors: list[str] | None = None, status: int = 200
    ) -> HttpResponse:
        actor = self.actor(request)
        lists: list[tuple[str, str, list[Task]]] = []
        if actor.staff is not None:
            lists = [
                ("held", _("我持有的任务"), _tasks(_with_related(selectors.held_by(actor)))),
                ("mine", _("我的任务"), _tasks(_with_related(selectors.my_tasks(actor)))),
                ("today", _("今日到期"), _tasks(_with_related(selectors.due_today(actor)))),
                ("overdue", _("已逾期"), _tasks(_with_related(selectors.overdue(actor)))),
            ]
        returned = list(review.for_agent(actor)) if actor.staff is not None else []
        context = {
            "lists": lists,
            "returned": returned,
            "errors": errors or [],
            "no_staff": actor.staff is None,
            "today": clock.today(),
        }
        return render(request, "workbench/home.html", context, status=status)


class NextTaskView(WorkbenchView):
    """领取下一个任务: the queue claims the most urgent eligible task (CON-5 outside call hours)."""

    roles = AGENTS
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        try:
            task = queue.next_task(actor=self.actor(request))
        except WorkbenchRefused as exc:
            errors, status = _refusal(exc)
            return HomeView().page(request, errors=errors, status=status)
        if task is None:
            messages.info(request, _("暂无可领取的任务。"))
            return redirect("workbench:home")
        return redirect("workbench:task", pk=task.pk)


class AcknowledgeView(WorkbenchView):
    """The agent confirms he read a reviewer's findings (REV-1: findings go back to the agent)."""

    roles = AGENTS
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = get_visible_or_404(Review.objects.all(), request.user, pk=pk)
        try:
            review.acknowledge(review=item, actor=self.actor(request))
        except WorkbenchRefused as exc:
            errors, status = _refusal(exc)
            return HomeView().page(request, errors=errors, status=status)
        messages.success(request, _("已确认复核意见。"))
        return redirect("workbench:home")


# ---------------------------------------------------------------- 2. 任务办理


def _task(request: HttpRequest, pk: int) -> Task:
    tasks = Task.objects.select_related(
        "client", "client__branch", "branch", "assignee", "target_staff"
    )
    return get_visible_or_404(tasks, request.user, pk=pk)


@dataclass
class PurposeRow:
    purpose: Any
    facts: list[tuple[str, Any]]


def _standard() -> list[tuple[str, str]]:
    """``phrases.STANDARD`` as (title, wording) pairs, whatever its shape (EXE-7)."""
    standard: Any = getattr(phrases, "STANDARD", ())
    if isinstance(standard, dict):
        return [(str(k), str(v)) for k, v in standard.items()]
    if isinstance(standard, str):
        return [("", standard)]
    return [
        (str(item[0]), str(item[1])) if isinstance(item, tuple | list) else ("", str(item))
        for item in standard
    ]


class TaskContext:
    """Everything the task page shows, for one task and one user (EXE-1 … EXE-7)."""

    def __init__(self, request: HttpRequest, task: Task, actor: Actor) -> None:
        self.request, self.task, self.actor = request, task, actor

    def build(self, **forms: Any) -> dict[str, Any]:
        task, actor = self.task, self.actor
        now = clock.now()
        record = Record.objects.filter(task=task).first()
        claim = (
            Claim.objects.filter(task=task, released_at__isnull=True)
            .select_related("staff")
            .first()
        )
        staff_id = actor.staff.pk if actor.staff is not None else None
        holder = claim is not None and staff_id is not None and claim.staff_id == staff_id
        # records, evidence and e-questionnaires are worked by the holder or the assignee
        works = holder or (staff_id is not None and task.assignee_id == staff_id)
        cooling_until = task.opens_at if task.opens_at and now < task.opens_at else None
        draft = record is not None and record.status == RecordStatus.DRAFT
        supervisor = user_has_role(self.request.user, *access.SUPERVISORS)
        data = forms.pop("answers_data", None)
        context: dict[str, Any] = {
            "task": task,
            "now": now,
            "record": record,
            "claim": claim,
            "holder": holder,
            "works": works,
            "cooling_until": cooling_until,
            "can_sign": draft and works and cooling_until is None,
            "draft": draft,
            "purposes": [
                PurposeRow(p, fact_rows(p.facts_dict))
                for p in task.purposes.order_by("rule_code", "key")
            ],
            "classes": (
                ClientClass.objects.filter(client_id=task.client_id).order_by("scheme")
                if task.client_id
                else []
            ),
            "earlier": self.earlier(),
            "attempts": task.attempts.order_by("at", "id"),
            "evidence": task.evidence.order_by("id"),
            "links": QuestionnaireLink.objects.filter(task=task).order_by("-created_at")[:5],
            "returned": Review.objects.filter(task=task, status=ReviewStatus.FINDINGS),
            "standard": _standard(),
            "sections": section_forms(record, data) if record is not None else [],
            "finding_rows": finding_rows(record, data) if record is not None else [],
            "finding_kinds": FindingKind.choices,
            "finding_categories": FindingCategory.choices,
            "notes": (
                data.get("notes", "") if data is not None else (record.notes if record else "")
            ),
            "problem_handling": (
                data.get("problem_handling", "")
                if data is not None
                else (record.problem_handling if record else "")
            ),
            "supervisor": supervisor,
            "errors": [],
        }
        context.update(
            attempt_form=AttemptForm(), upload_form=EvidenceUploadForm(), call_id_form=CallIdForm(),
            link_form=SendLinkForm(), release_form=ReleaseForm(),
        )  # fmt: skip
        if supervisor:
            context["reassign_form"] = ReassignForm(task=task)
        context.update(forms)
        return context

    def earlier(self) -> list[Record]:
        """Earlier callbacks of this client: records of his other tasks, in the user's scope."""
        if not self.task.client_id:
            return []
        records = (
            Record.objects.visible_to(self.request.user)
            .filter(client_id=self.task.client_id)
            .exclude(task=self.task)
            .order_by("-callback_date", "-id")
        )
        return list(records[:EARLIER_RECORDS])


class TaskWorkView(WorkbenchView):
    """任务办理: client, purposes and facts, scripts, attempts, evidence, questionnaire, sign-off."""

    roles = TASK_ROLES

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        task = _task(request, pk)
        return render_task(request, task, self.actor(request))


def render_task(
    request: HttpRequest, task: Task, actor: Actor, *, errors: Iterable[str] = (),
    status: int = 200, **forms: Any,
) -> HttpResponse:  # fmt: skip
    context = TaskContext(request, task, actor).build(**forms)
    context["errors"] = list(errors)
    return render(request, "workbench/task.html", context, status=status)


class TaskActionView(WorkbenchView):
    """A POST on the task page: one service call; a refusal re-renders the page with its reasons."""

    roles: tuple[str, ...] = TASK_ROLES
    http_method_names = ["post"]
    done_message = ""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        task = _task(request, pk)
        actor = self.actor(request)
        try:
            response = self.act(request, task, actor)
        except (WorkbenchRefused, AssignmentRefused) as exc:
            errors, status = _refusal(exc)
            return self.refused(request, task, actor, errors, status)
        if response is not None:
            return response
        if self.done_message:
            messages.success(request, self.done_message)
        return redirect("workbench:task", pk=task.pk)

    def act(self, request: HttpRequest, task: Task, actor: Actor) -> HttpResponse | None:
        raise NotImplementedError

    def refused(
        self, request: HttpRequest, task: Task, actor: Actor, errors: list[str], status: int
    ) -> HttpResponse:
        return render_task(request, task, actor, errors=errors, status=status, **self.bound)

    bound: dict[str, Any] = {}

    def invalid(self, request: HttpRequest, task: Task, actor: Actor, **forms: Any) -> HttpResponse:
        errors = [_("请检查填写的内容。")]
        return render_task(request, task, actor, errors=errors, status=400, **forms)


class AttemptView(TaskActionView):
    """EXE-3: log one try; htmx refreshes the attempts panel (the whole page once connected)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        task = _task(request, pk)
        actor = self.actor(request)
        form = AttemptForm(request.POST)
        htmx = bool(getattr(request, "htmx", False))
        if not form.is_valid():
            return self.panel(request, task, form, [_("请检查填写的内容。")], 400, htmx)
        data = form.cleaned_data
        try:
            attempts.log_attempt(
                task=task, actor=actor, method=data["method"], outcome=data["outcome"],
                call_id=data["call_id"], note=data["note"], retry_after=data["retry_after"],
            )  # fmt: skip
        except WorkbenchRefused as exc:
            errors, status = _refusal(exc)
            return self.panel(request, task, form, errors, status, htmx)
        if not htmx:
            messages.success(request, _("已记录本次回访尝试。"))
            return redirect("workbench:task", pk=task.pk)
        if data["outcome"] == Outcome.CONNECTED:
            return HttpResponseClientRefresh()  # the record opened: the questionnaire appears
        task.refresh_from_db()
        return self.panel(request, task, AttemptForm(), [], 200, htmx, saved=True)

    def panel(
        self, request: HttpRequest, task: Task, form: AttemptForm, errors: list[str],
        status: int, htmx: bool, saved: bool = False,
    ) -> HttpResponse:  # fmt: skip
        actor = self.actor(request)
        if not htmx:
            return render_task(
                request, task, actor, errors=errors, status=status, attempt_form=form
            )
        context = TaskContext(request, task, actor).build(attempt_form=form)
        context.update(errors=errors, saved=saved)
        # htmx swaps 2xx answers only: a refusal is shown inside the panel
        return render(request, "workbench/partials/attempts.html", context)


class UploadView(TaskActionView):
    """EXE-2: attach a trace file; its SHA-256 is computed and kept by the service."""

    done_message = ""

    def act(self, request: HttpRequest, task: Task, actor: Actor) -> HttpResponse | None:
        form = EvidenceUploadForm(request.POST, request.FILES)
        self.bound = {"upload_form": form}
        if not form.is_valid():
            return self.invalid(request, task, actor, upload_form=form)
        item = evidence.attach(
            task=task, actor=actor, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
        )
        messages.success(
            request, _("已上传留痕材料，SHA-256 %(sha)s…") % {"sha": (item.sha256 or "")[:12]}
        )
        return None


class CallIdView(TaskActionView):
    """EXE-2: a call-center recording id instead of a file."""

    done_message = ""

    def act(self, request: HttpRequest, task: Task, actor: Actor) -> HttpResponse | None:
        form = CallIdForm(request.POST)
        self.bound = {"call_id_form": form}
        if not form.is_valid():
            return self.invalid(request, task, actor, call_id_form=form)
        evidence.attach(
            task=task, actor=actor, kind="call_id", call_id=form.cleaned_data["call_id"]
        )
        messages.success(request, _("已登记呼叫中心录音编号。"))
        return None


class AnswersView(TaskActionView):
    """EXE-4: save the questionnaire, findings and notes (draft only); banned phrases flagged."""

    def act(self, request: HttpRequest, task: Task, actor: Actor) -> HttpResponse | None:
        record = _record_of(task)
        self.bound = {"answers_data": request.POST}
        saved = records.save_answers(
            record=record, actor=actor, answers=parse_answers(record, request.POST),
            findings=parse_findings(request.POST), notes=request.POST.get("notes", ""),
            problem_handling=request.POST.get("problem_handling", ""),
        )  # fmt: skip
        if saved.banned_phrases:
            messages.warning(
                request,
                _("回访记录说明中疑似有服务忌语：%(words)s。请改用标准用语。")
                % {"words": "、".join(map(str, saved.banned_phrases))},
            )
        messages.success(request, _("已保存回访问卷。"))
        return None


def _record_of(task: Task) -> Record:
    record = Record.objects.filter(task=task).first()
    if record is None:
        raise WorkbenchRefused(
            "wrong_state", _("尚未接通客户，没有回访记录（EXE-3：接通后生成记录）。")
        )
    return record


class UnreachableView(TaskActionView):
    """EXE-3: ask to close the task as unreachable after the failed tries (reviewer approves)."""

    done_message = ""

    def act(self, request: HttpRequest, task: Task, actor: Actor) -> HttpResponse | None:
        attempts.request_unreachable(task=task, actor=actor)
        messages.success(request, _("已申请无法联系结案，等待复核员审批。"))
        return None


class SendLinkView(TaskActionView):
    """EXE-6: send the one-time e-questionnaire link by SMS or email."""

    def act(self, request: HttpRequest, task: Task, actor: Actor) -> HttpResponse | None:
        form = SendLinkForm(request.POST)
        self.bound = {"link_form": form}
        if not form.is_valid():
            return self.invalid(request, task, actor, link_form=form)
        link = equestionnaire.send_link(
            task=task, actor=actor, channel=form.cleaned_data["channel"]
        )
        messages.success(request, _("已发送电子问卷链接至 %(to)s。") % {"to": link.address_masked})
        return None


class SignView(TaskActionView):
    """回访人签字 (EXE-5): the validity gates are the service's (evidence, cooling-off, CON-1/2 …)."""

    def act(self, request: HttpRequest, task: Task, actor: Actor) -> HttpResponse | None:
        records.sign_agent(record=_record_of(task), actor=actor)
        messages.success(request, _("回访人已签字，等待负责人签字。"))
        return redirect("workbench:home")


class ReleaseView(TaskActionView):
    """Let a held task go back to the queue."""

    def act(self, request: HttpRequest, task: Task, actor: Actor) -> HttpResponse | None:
        form = ReleaseForm(request.POST)
        reason = (form.cleaned_data.get("reason") if form.is_valid() else "") or RELEASE_REASON
        queue.release(task=task, actor=actor, reason=reason)
        messages.success(request, _("已释放任务。"))
        return redirect("workbench:home")


class ReassignView(TaskActionView):
    """主管改派: supervisors only; the service re-checks CON-1/CON-2/CON-6."""

    roles = access.SUPERVISORS

    def act(self, request: HttpRequest, task: Task, actor: Actor) -> HttpResponse | None:
        form = ReassignForm(request.POST, task=task)
        self.bound = {"reassign_form": form}
        if not form.is_valid():
            return self.invalid(request, task, actor, reassign_form=form)
        staff = form.cleaned_data["to_staff"]
        queue.reassign(task=task, to_staff=staff, actor=actor)
        messages.success(
            request, _("已改派给 %(who)s。") % {"who": f"{staff.staff_id} {staff.name}"}
        )
        return None


# ---------------------------------------------------------------- evidence download


class EvidenceDownloadView(WorkbenchView):
    """A trace file, to users who see its task; each download is audited (NFR-2: an export)."""

    roles = RECORD_ROLES

    def get(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        item = Evidence.objects.filter(pk=pk).first()
        if item is None or not item.file:
            raise Http404
        task = get_visible_or_404(Task.objects.all(), request.user, pk=item.task_id)
        evidence.record_download(evidence=item, task=task)
        name = item.original_name or f"evidence-{item.pk}"
        return FileResponse(
            item.file.open("rb"), as_attachment=True, filename=name,
            content_type=item.content_type or "application/octet-stream",
        )  # fmt: skip


# ---------------------------------------------------------------- 3. 负责人签字


def _leader_queues(user: Any) -> tuple[Any, Any]:
    """Records awaiting this leader's signature, and service records awaiting archiving (EXE-5)."""
    records = Record.objects.visible_to(user).select_related("client", "agent", "task")
    wanted = []
    if user_has_role(user, access.LEADER_FOR_COMPLIANCE):
        wanted.append({"level": Level.BRANCH, "kind": TaskKind.COMPLIANCE})
    if user_has_role(user, access.LEADER_FOR_SERVICE):
        wanted.append({"level": Level.BRANCH, "kind": TaskKind.SERVICE})
    if user_has_role(user, access.LEADER_FOR_COMPANY):
        wanted.append({"level": Level.COMPANY})
    to_sign = records.none()
    for lookup in wanted:
        to_sign = to_sign | records.filter(status=RecordStatus.AGENT_SIGNED, **lookup)
    to_archive = records.none()
    if user_has_role(user, access.ARCHIVER):
        to_archive = records.filter(
            status=RecordStatus.SIGNED, kind=TaskKind.SERVICE, archived_at__isnull=True
        )
    return to_sign.order_by("agent_signed_at", "id"), to_archive.order_by("leader_signed_at", "id")


class SignListView(WorkbenchView):
    """负责人签字: the records of the scope awaiting the leader (营运总监/营销总监/客服中心)."""

    roles = LEADERS

    def get(self, request: HttpRequest) -> HttpResponse:
        to_sign, to_archive = _leader_queues(request.user)
        context = {"to_sign": to_sign[:LIST_SIZE], "to_archive": to_archive[:LIST_SIZE]}
        return render(request, "workbench/sign_list.html", context)


def _record(request: HttpRequest, pk: int) -> Record:
    records = Record.objects.select_related("client", "branch", "agent", "leader", "task")
    return get_visible_or_404(records, request.user, pk=pk)


def render_record(
    request: HttpRequest, record: Record, *, errors: Iterable[str] = (), status: int = 200,
    **extra: Any,
) -> HttpResponse:  # fmt: skip
    user = request.user
    context: dict[str, Any] = {
        "record": record,
        "task": record.task,
        "sections": section_forms(record),
        "findings": record.findings.order_by("id"),
        "evidence": Evidence.objects.filter(task_id=record.task_id).order_by("id"),
        "attempts": record.task.attempts.order_by("at", "id"),
        "amendments": record.amendments.select_related("by").order_by("seq"),
        "reviews": record.reviews.order_by("id"),
        "can_sign": record.status == RecordStatus.AGENT_SIGNED and user_has_role(user, *LEADERS),
        "can_archive": (
            record.status == RecordStatus.SIGNED
            and record.kind == TaskKind.SERVICE
            and record.archived_at is None
            and user_has_role(user, access.ARCHIVER)
        ),  # fmt: skip
        "can_amend": record.status in (RecordStatus.SIGNED, RecordStatus.ARCHIVED)
        and user_has_role(user, *LEADERS, *access.WORKERS),
        "amend_form": AmendForm(),
        "errors": list(errors),
    }
    context.update(extra)
    return render(request, "workbench/record.html", context, status=status)


class RecordView(WorkbenchView):
    """The full record (EXE-5): sections, findings, evidence with hashes, signatures, amendments."""

    roles = RECORD_ROLES

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render_record(request, _record(request, pk))


class RecordActionView(WorkbenchView):
    roles: tuple[str, ...] = LEADERS
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        record = _record(request, pk)
        actor = self.actor(request)
        self.extra: dict[str, Any] = {}
        try:
            response = self.act(request, record, actor)
        except WorkbenchRefused as exc:
            errors, status = _refusal(exc)
            return render_record(request, record, errors=errors, status=status, **self.extra)
        return response or redirect("workbench:record", pk=record.pk)

    def act(self, request: HttpRequest, record: Record, actor: Actor) -> HttpResponse | None:
        raise NotImplementedError


class LeaderSignView(RecordActionView):
    """负责人签字 (EXE-5): 营运总监 compliance, 营销总监 service, the call center company level."""

    def act(self, request: HttpRequest, record: Record, actor: Actor) -> HttpResponse | None:
        records.sign_leader(record=record, actor=actor)
        messages.success(request, _("负责人已签字：%(n)s。") % {"n": record.number})
        return redirect("workbench:sign_list")


class ArchiveView(RecordActionView):
    """EXE-5: the 营运总监 archives a service record after the 营销总监 signed it."""

    roles = (access.ARCHIVER,)

    def act(self, request: HttpRequest, record: Record, actor: Actor) -> HttpResponse | None:
        records.archive(record=record, actor=actor)
        messages.success(request, _("已归档：%(n)s。") % {"n": record.number})
        return redirect("workbench:sign_list")


class AmendView(RecordActionView):
    """EXE-5: a signed record is corrected by an appended amendment, never changed."""

    roles = (*LEADERS, *access.WORKERS)

    def act(self, request: HttpRequest, record: Record, actor: Actor) -> HttpResponse | None:
        form = AmendForm(request.POST)
        self.extra = {"amend_form": form}
        if not form.is_valid():
            return render_record(
                request, record, errors=[_("请检查填写的内容。")], status=400, amend_form=form
            )
        amendment = records.amend(
            record=record, actor=actor, reason=form.cleaned_data["reason"], changes=form.changes()
        )
        messages.success(request, _("已追加第 %(seq)d 号更正。") % {"seq": amendment.seq})
        return None


# ---------------------------------------------------------------- 4. 复核


class ReviewListView(WorkbenchView):
    """复核: the reviewer's queue (REV-1 sample, problems, unreachable closures; REV-2)."""

    roles = REVIEWERS

    def get(self, request: HttpRequest) -> HttpResponse:
        items = review.queue(self.actor(request))
        if isinstance(items, QuerySet):
            items = items.select_related("record", "task", "record__agent")
        return render(request, "workbench/review_list.html", {"reviews": list(items)[:LIST_SIZE]})


def _review(request: HttpRequest, pk: int) -> Review:
    reviews = Review.objects.select_related("record", "task", "task__client", "reviewer")
    return get_visible_or_404(reviews, request.user, pk=pk)


def render_review(
    request: HttpRequest, item: Review, *, errors: Iterable[str] = (), status: int = 200,
    **extra: Any,
) -> HttpResponse:  # fmt: skip
    record = item.record
    context: dict[str, Any] = {
        "review": item,
        "record": record,
        "task": item.task,
        "sections": section_forms(record) if record is not None else [],
        "findings": record.findings.order_by("id") if record is not None else [],
        "evidence": Evidence.objects.filter(task_id=item.task_id).order_by("id"),
        "attempts": item.task.attempts.order_by("at", "id"),
        "amendments": record.amendments.order_by("seq") if record is not None else [],
        "unreachable": item.reason == ReviewReason.UNREACHABLE,
        "pending": item.status == ReviewStatus.PENDING,
        "decision_form": ReviewDecisionForm(),
        "unreachable_form": UnreachableDecisionForm(),
        "errors": list(errors),
    }
    context.update(extra)
    return render(request, "workbench/review.html", context, status=status)


class ReviewView(WorkbenchView):
    """One review: the record (or the failed attempts of an unreachable closure) and the decision."""

    roles = REVIEWERS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render_review(request, _review(request, pk))


class ReviewDecideView(WorkbenchView):
    """REV-1: pass, or findings back to the agent; never the record's agent or leader (CON-1)."""

    roles = REVIEWERS
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = _review(request, pk)
        form = ReviewDecisionForm(request.POST)
        if not form.is_valid():
            return render_review(
                request, item, errors=[_("请检查填写的内容。")], status=400, decision_form=form
            )
        try:
            review.decide(
                review=item, actor=self.actor(request), outcome=form.cleaned_data["outcome"],
                findings=form.cleaned_data["findings"],
            )  # fmt: skip
        except WorkbenchRefused as exc:
            errors, status = _refusal(exc)
            return render_review(request, item, errors=errors, status=status, decision_form=form)
        messages.success(request, _("已提交复核结论。"))
        return redirect("workbench:reviews")


class ReviewUnreachableView(WorkbenchView):
    """EXE-3: approve or reject an unreachable closure."""

    roles = REVIEWERS
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        item = _review(request, pk)
        form = UnreachableDecisionForm(request.POST)
        if not form.is_valid():
            return render_review(
                request, item, errors=[_("请检查填写的内容。")], status=400, unreachable_form=form
            )
        try:
            review.decide_unreachable(
                review=item, actor=self.actor(request), approve=form.cleaned_data["approve"],
                note=form.cleaned_data["findings"],
            )  # fmt: skip
        except WorkbenchRefused as exc:
            errors, status = _refusal(exc)
            return render_review(request, item, errors=errors, status=status, unreachable_form=form)
        messages.success(request, _("已提交审批结论。"))
        return redirect("workbench:reviews")


# ---------------------------------------------------------------- 5. 资料更正


class CorrectionListView(WorkbenchView):
    """资料更正: wrong numbers found in callbacks, for the branch to correct (EXE-3)."""

    roles = CORRECTORS

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request)

    def page(
        self, request: HttpRequest, *, errors: Iterable[str] = (), status: int = 200
    ) -> HttpResponse:
        corrections = (
            DataCorrection.objects.visible_to(request.user)
            .select_related("client", "task")
            .order_by("status", "-reported_at")
        )
        context = {
            "open": corrections.filter(status=CorrectionStatus.OPEN)[:LIST_SIZE],
            "done": corrections.filter(status=CorrectionStatus.DONE)[:LIST_SIZE],
            "form": CorrectionDoneForm(),
            "errors": list(errors),
        }
        return render(request, "workbench/corrections.html", context, status=status)


class CorrectionDoneView(WorkbenchView):
    roles = CORRECTORS
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        correction = get_visible_or_404(DataCorrection.objects.all(), request.user, pk=pk)
        form = CorrectionDoneForm(request.POST)
        listing = CorrectionListView()
        if not form.is_valid():
            return listing.page(request, errors=[_("请填写更正说明。")], status=400)
        try:
            attempts.correction_done(
                correction=correction, actor=self.actor(request), note=form.cleaned_data["note"]
            )
        except WorkbenchRefused as exc:
            errors, status = _refusal(exc)
            return listing.page(request, errors=errors, status=status)
        messages.success(request, _("已标记为已更正。"))
        return redirect("workbench:corrections")
