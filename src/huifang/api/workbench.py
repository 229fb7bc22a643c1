"""The call-center API (issue 7 item 9): a call-center system works callbacks as one agent.

``/api/v1/workbench/…``: next task, a task, attempts (EXE-3), the recording (EXE-2),
answers (EXE-4), the agent's signature (EXE-5) and release. The token's user must hold
the agent role and be linked to a staff member; the API acts as that user
(``actors.actor_of(user, channel="api")``) within his branches (SPEC §0: 404 outside),
through the SAME services as the UI — no endpoint saves a model [STYLE]. A service's
refusal (``WorkbenchRefused``) answers its status (409 by default) with
``{"code", "reasons"}``, nothing written. Every call leaves one ``api.call`` audit row
(NFR-2) with the token's prefix and the task, never a request body (PII).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Path, Router, Status
from pydantic import ValidationError as PydanticError

from huifang.api.models import ApiToken
from huifang.api.services import may_use_workbench
from huifang.api.workbench_schemas import (
    AnswersIn,
    AttemptIn,
    AttemptOut,
    Detail,
    EvidenceOut,
    RecordingCallIn,
    RecordOut,
    Refusal,
    ReleaseOut,
    TaskOut,
)
from huifang.audit.context import audit_context, current
from huifang.audit.services import audit_record
from huifang.calendars.service import CalendarYearMissing
from huifang.callbacks.models import Purpose, Task
from huifang.clients.models import Client
from huifang.core import pii, tx
from huifang.policy.selectors import NoPolicyInForce
from huifang.workbench import attempts, evidence, questionnaires, queue, records, selectors
from huifang.workbench.actors import Actor, actor_of
from huifang.workbench.choices import EvidenceKind
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Attempt, Evidence, Record

router = Router(tags=["workbench"])

Answer = tuple[int, Any]
MAX_ID = 2**63 - 1
TaskId = Path(..., ge=1, le=MAX_ID, description="the task's id")
PRIMARY_CLASS_SCHEME = "CLS-1"
# Every status an endpoint may answer (schema conformance): refusals carry their own status.
ERRORS: dict[int, Any] = {
    400: Refusal | Detail, 401: Detail, 403: Refusal, 404: Refusal, 409: Refusal, 410: Refusal,
    413: Refusal, 422: dict[str, Any], 503: Refusal,
}  # fmt: skip


def _responses(ok: dict[int, Any]) -> dict[int, Any]:
    return ok | ERRORS


# ---------------------------------------------------------------- endpoints


@router.post("/next", response=_responses({200: TaskOut, 204: None}), operation_id="workbench_next",
             summary="Hold the next task (the most urgent one the agent may work now)")  # fmt: skip
def workbench_next(request: HttpRequest) -> Status[Any]:
    """200: the task the agent holds (held before, or claimed now); 204: none is due.

    409 ``call_hours`` outside the allowed hours (CON-5). Overdue first, then due date;
    cooling-off (PROD-*) and retry times are respected by the queue.
    """

    def work(actor: Actor) -> Answer:
        task = queue.next_task(actor=actor)
        if task is None:
            return 204, None
        # next_task returns the task he holds (his own, scope or not, as before): read again
        # with its record and class
        view = selectors.task_view(actor, task.pk, scheme=PRIMARY_CLASS_SCHEME, scoped=False)
        return 200, _task_out(view, held=True)

    return _call(request, "next", None, work)


@router.get("/tasks/{task_id}", response=_responses({200: TaskOut}), operation_id="workbench_task",
            summary="A task: client (masked), purposes, sections and questionnaire items")  # fmt: skip
def workbench_task(request: HttpRequest, task_id: int = TaskId) -> Status[Any]:
    """The task in the agent's branches (404 outside), with its record once opened."""
    return _call(request, "task", task_id, lambda actor: (200, _task_out(_read(actor, task_id))))


@router.post("/tasks/{task_id}/attempts", response=_responses({200: AttemptOut, 201: AttemptOut}),
             operation_id="workbench_attempt", summary="Log one try to reach the client (EXE-3)")  # fmt: skip
def workbench_attempt(
    request: HttpRequest, payload: AttemptIn, task_id: int = TaskId
) -> Status[Any]:
    """201: logged (a connected try opens the record); 200: this ``call_id`` was posted before
    for this task — the first attempt, nothing written. 409 ``not_holder``, ``call_hours`` …"""

    def work(actor: Actor) -> Answer:
        task = _task(actor, task_id)
        # the service returns the first attempt of a known call id, under the task's lock
        attempt = attempts.log_attempt(
            task=task, actor=actor, method=payload.method, outcome=payload.outcome,
            call_id=payload.call_id or "", note=payload.note, at=payload.at,
            retry_after=payload.retry_after,
        )  # fmt: skip
        created = bool(getattr(attempt, "created", True))
        return (201 if created else 200), _attempt_out(attempt, task, created=created)

    return _call(request, "attempt", task_id, work)


RECORDING_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/json": {"schema": RecordingCallIn.model_json_schema()},
        },
    }
}


@router.post("/tasks/{task_id}/recording", response=_responses({201: EvidenceOut}),
             operation_id="workbench_recording", openapi_extra=RECORDING_BODY,
             summary="Attach the call's recording: a file, or the call center's call id (EXE-2)")  # fmt: skip
def workbench_recording(request: HttpRequest, task_id: int = TaskId) -> Status[Any]:
    """201 with the evidence's SHA-256. Multipart ``file`` (checked by its bytes: ``bad_file``,
    ``too_large``) or JSON ``{"call_id"}``; anything else is a 422."""

    def work(actor: Actor) -> Answer:
        task = _task(actor, task_id)
        upload, call_id = _recording_input(request)
        if upload is not None:
            found = evidence.attach(
                task=task, actor=actor, kind=EvidenceKind.RECORDING, upload=upload
            )
        else:
            found = evidence.attach(
                task=task, actor=actor, kind=EvidenceKind.CALL_ID, call_id=call_id
            )
        return 201, _evidence_out(found)

    return _call(request, "recording", task_id, work)


@router.post("/tasks/{task_id}/answers", response=_responses({200: RecordOut}),
             operation_id="workbench_answers", summary="Save the draft record's answers (EXE-4)")  # fmt: skip
def workbench_answers(
    request: HttpRequest, payload: AnswersIn, task_id: int = TaskId
) -> Status[Any]:
    """200: the draft record. The record must be open (a connected try, else 409
    ``wrong_state``); a signed record refuses (409 ``signed``); a bad answer or a section
    of another record 400 ``bad_answer``."""

    def work(actor: Actor) -> Answer:
        record = _record(_read(actor, task_id))
        sections = _section_answers(payload)
        findings = [f.model_dump(exclude_none=True, mode="json") for f in payload.findings]
        loaded = records.Loaded()
        saved = records.save_answers(
            record=record, actor=actor, answers=sections, findings=findings, notes=payload.notes,
            problem_handling=payload.problem_handling, method=payload.method, loaded=loaded,
        )  # fmt: skip
        return 200, _record_out(saved, loaded)

    return _call(request, "answers", task_id, work)


@router.post("/tasks/{task_id}/sign", response=_responses({200: RecordOut}),
             operation_id="workbench_sign", summary="The agent signs the record (EXE-5)")  # fmt: skip
def workbench_sign(request: HttpRequest, task_id: int = TaskId) -> Status[Any]:
    """200: signed by the agent. Each validity gate refuses with its code: ``recused``,
    ``marketing_sequence`` (CON-1/CON-2), ``cooling_off`` (PROD-*), ``no_evidence``
    (EXE-2), ``incomplete`` (EXE-4), ``signed``."""

    def work(actor: Actor) -> Answer:
        record, loaded = _record(_read(actor, task_id)), records.Loaded()
        return 200, _record_out(
            records.sign_agent(record=record, actor=actor, loaded=loaded), loaded
        )

    return _call(request, "sign", task_id, work)


@router.post("/tasks/{task_id}/release", response=_responses({200: ReleaseOut}),
             operation_id="workbench_release", summary="Give the task back to the queue")  # fmt: skip
def workbench_release(request: HttpRequest, task_id: int = TaskId) -> Status[Any]:
    """200: the claim ended (``released`` false when nobody held the task); 409 ``not_holder``
    when another agent holds it."""

    def work(actor: Actor) -> Answer:
        task = _task(actor, task_id)
        claim = queue.release(task=task, actor=actor, reason="api")
        task.refresh_from_db()
        return 200, {"task_id": task.pk, "status": task.status, "released": claim is not None}

    return _call(request, "release", task_id, work)


# ---------------------------------------------------------------- the call


def _call(
    request: HttpRequest, operation: str, task_id: int | None, work: Callable[[Actor], Answer]
) -> Status[Any]:
    """Run ``work`` as the token's agent in one transaction; refusals roll back; one audit row.

    The row of a call that succeeds is written in the work's own transaction (one commit);
    a refused call's, after the rollback, in its own."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    user = token.user
    with audit_context(user.get_username(), user_id=user.pk, request_id=current().request_id):
        try:
            if not may_use_workbench(user):
                raise WorkbenchRefused(
                    "not_agent", _("该接口账户不是关联员工的回访专员,不能办理回访"), status=403
                )
            with tx.unit_of_work():  # a refusal rolls back all: the services take no savepoints
                status, body = work(actor_of(user, channel="api"))
                _audit_call(request, token, status, operation=operation, task=task_id, body=body)
            return Status(status, body)
        except WorkbenchRefused as refused:
            status, body = refused.status, {"code": refused.code, "reasons": refused.reasons}
        except Http404:
            reason = _("任务 %(id)s 不存在或不在您的数据范围内") % {"id": task_id}
            status, body = 404, {"code": "not_found", "reasons": [reason]}
        except _Invalid as invalid:
            status, body = 422, {"detail": invalid.errors}
        except (CalendarYearMissing, NoPolicyInForce) as error:
            status, body = 503, {"code": "unavailable", "reasons": [str(error)]}
        _audit_call(request, token, status, operation=operation, task=task_id, body=body)
    return Status(status, body)


def _audit_call(
    request: HttpRequest, token: ApiToken, status: int, *, operation: str, task: int | None,
    body: Any,
) -> None:  # fmt: skip
    """One ``api.call`` row per call: who (token prefix), what, the answer (no request body)."""
    after: dict[str, Any] = {
        "method": request.method, "path": request.path, "status": status,
        "operation": f"workbench.{operation}", "task": task,
        "token": {"name": token.name, "prefix": token.prefix},
    }  # fmt: skip
    if isinstance(body, dict):
        if "code" in body:
            after["code"] = body["code"]
        if operation == "next" and "id" in body:
            after["task"] = body["id"]
        if operation == "recording" and "sha256" in body:
            after["evidence"] = {"id": body["id"], "sha256": body["sha256"]}
        if operation == "attempt" and "id" in body:
            after["attempt"] = body["id"]
        if "detail" in body and isinstance(body["detail"], list):
            after["error"] = [{"loc": e.get("loc"), "msg": e.get("msg")} for e in body["detail"]]
    audit_record(
        action="api.call", object_type="api.ApiToken", object_id=str(token.pk), after=after
    )


class _Invalid(Exception):
    """A request body the schema cannot express (the recording's two forms): 422."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__(str(errors))


# ---------------------------------------------------------------- reads (scoped)


def _read(actor: Actor, task_id: int) -> selectors.TaskView:
    """The task in the actor's branches (404 outside) with its record, claim and class: one query."""
    return selectors.task_view(actor, task_id, scheme=PRIMARY_CLASS_SCHEME)


def _task(actor: Actor, task_id: int) -> Task:
    return _read(actor, task_id).task


def _record(view: selectors.TaskView) -> Record:
    if view.record is None:
        raise WorkbenchRefused("wrong_state", _("尚未接通客户,回访记录未开立(EXE-3、EXE-5)"))
    return view.record


def _recording_input(request: HttpRequest) -> tuple[Any, str]:
    """The uploaded file, or the call id of a JSON body."""
    if request.content_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise _Invalid([{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}])
        return upload, ""
    try:
        payload = RecordingCallIn.model_validate(json.loads(request.body or b"null"))
    except (ValueError, UnicodeDecodeError) as error:
        errors = error.errors() if isinstance(error, PydanticError) else []
        raise _Invalid(
            [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]} for e in errors]
            or [
                {
                    "loc": ["body"],
                    "msg": "a multipart file or a JSON call_id",
                    "type": "value_error",
                }
            ]  # fmt: skip
        ) from error
    return None, payload.call_id


def _section_answers(payload: AnswersIn) -> dict[int, dict[str, dict[str, Any]]]:
    """The answers keyed by section id (the service refuses ids of another record: ``bad_answer``)."""
    return {
        int(key): {item: answer.model_dump(mode="json") for item, answer in items.items()}
        for key, items in payload.sections.items()
    }


# ---------------------------------------------------------------- answers out


def _task_out(view: selectors.TaskView, *, held: bool | None = None) -> dict[str, Any]:
    task, record = view.task, view.record
    staff = task.target_staff
    purposes = records.task_purposes(task.pk, task)  # once, in the sections' order
    return {
        "id": task.pk, "branch": task.branch_id, "level": task.level, "kind": task.kind,
        "status": task.status,
        "client": _client_out(task.client, view.class_code) if task.client else None,
        "target_staff": {"staff_id": staff.pk, "name": staff.name} if staff else None,
        "purposes": [
            {"id": p.pk, "rule_id": p.rule_id, "rule_code": p.rule_code, "facts": p.facts_dict,
             "due_date": p.due_date} for p in sorted(purposes, key=lambda p: (p.due_date, p.pk))
        ],
        "sections": _sections(task, record, purposes), "opens_at": task.opens_at, "due_date": task.due_date,
        "retry_after": task.retry_after, "overdue_since": task.overdue_since,
        "held": view.held if held is None else held,
        "record": {"number": record.number, "status": record.status, "method": record.method}
        if record else None,
    }  # fmt: skip


def _client_out(client: Client, class_code: str) -> dict[str, Any]:
    return {
        "client_id": client.pk, "name": pii.mask_name(client.name), "mobile": client.mobile_masked,
        "client_type": client.client_type, "class_code": class_code,
    }  # fmt: skip


def _sections(task: Task, record: Record | None, purposes: list[Purpose]) -> list[dict[str, Any]]:
    """The record's sections; before it is opened, each purpose's questionnaire (no id yet)."""
    if record is not None:
        return [
            _section_out(s.pk, s.purpose_id, s.questionnaire, s.answers)
            for s in selectors.sections_of(record)
        ]
    shown = [_section_out(None, p.pk, questionnaires.for_purpose(p), {}) for p in purposes]
    general = questionnaires.general_code(task, purposes)
    if not any(s["questionnaire"] == general for s in shown):
        shown.append(_section_out(None, None, questionnaires.current(general), {}))
    return shown


def _section_out(
    pk: int | None, purpose_id: int | None, form: Any, answers: dict[str, Any]
) -> dict[str, Any]:
    items = [
        {"id": str(item.get("id", "")), "group": part.get("title", ""),
         "text": item.get("text", ""), "type": item.get("type", ""),
         "required": bool(item.get("required", False)), "options": item.get("options") or [],
         "script": item.get("script", "")}
        for part in form.definition.get("sections", []) for item in part.get("items", [])
    ]  # fmt: skip
    return {
        "section_id": pk, "purpose_id": purpose_id, "questionnaire": form.code,
        "version": form.version, "title": form.title, "items": items, "answers": answers,
    }  # fmt: skip


def _attempt_out(attempt: Attempt, task: Task, *, created: bool) -> dict[str, Any]:
    """The attempt and its task as the service left it (``log_attempt`` updates ``task``)."""
    if not created:
        task.refresh_from_db(fields=["status"])  # a repeated call id wrote nothing: as stored
    record = getattr(attempt, "record_number", None)  # the record this try opened
    if record is None:
        record = Record.objects.filter(task=task).values_list("number", flat=True).first()
    return {
        "id": attempt.pk, "task_id": attempt.task_id, "at": attempt.at, "method": attempt.method,
        "outcome": attempt.outcome, "call_id": attempt.call_id, "retry_after": attempt.retry_after,
        "created": created, "task_status": task.status, "record": record,
    }  # fmt: skip


def _evidence_out(found: Evidence) -> dict[str, Any]:
    return {
        "id": found.pk, "task_id": found.task_id, "kind": found.kind, "sha256": found.sha256,
        "size": found.size, "call_id": found.call_id, "original_name": found.original_name,
    }  # fmt: skip


def _record_out(record: Record, loaded: records.Loaded | None = None) -> dict[str, Any]:
    """The record as stored; ``loaded``: its rows as the service just wrote them."""
    loaded = loaded or records.Loaded()
    sections = loaded.sections_of(record)
    return {
        "number": record.number, "task_id": record.task_id, "status": record.status,
        "method": record.method, "callback_date": record.callback_date,
        "sections": [
            {"section_id": s.pk, "purpose_id": s.purpose_id, "questionnaire": s.questionnaire.code,
             "answers": s.answers} for s in sections
        ],
        "findings": [
            {"kind": f.kind, "category": f.category, "text": f.text, "purpose_id": f.purpose_id}
            for f in loaded.findings_of(record)
        ],
        "notes": record.notes, "problem_handling": record.problem_handling,
        "banned_phrases": list(record.banned_phrases or []),
        "agent_signed_at": record.agent_signed_at, "content_sha256": record.content_sha256,
    }  # fmt: skip
