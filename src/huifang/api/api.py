"""The huifang API (django-ninja): intraday events, ``/api/v1/…`` (SPEC §4 MRG-3/MRG-4, SPC-2).

One endpoint per operation; each calls one service (``callbacks.intraday.post_event``)
and never saves a model itself [STYLE]. Every call — accepted, refused or invalid —
leaves one ``api.call`` audit row (NFR-2) with the token's prefix, never the token.
The OpenAPI schema is at ``/api/openapi.json``; ninja's Swagger page (which would
load its assets from a CDN unless configured) is off: ``/api/docs`` is a plain
server-side page (NFR-4: no CDN). Both need a signed-in user.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Router, Status
from ninja.errors import HttpError, ValidationError

from huifang.api.auth import TokenAuth
from huifang.api.models import ApiToken
from huifang.api.schemas import AccountEventIn, ErrorOut, EventOut, MarginEventIn
from huifang.api.services import may_post_events
from huifang.api.workbench import router as workbench_router
from huifang.audit.context import audit_context, current
from huifang.audit.services import audit_record
from huifang.calendars.service import CalendarYearMissing
from huifang.callbacks import intraday
from huifang.policy.selectors import NoPolicyInForce

api = NinjaAPI(
    title="huifang",
    version="1",
    description="回访合规系统接口：日内事件（MRG-3、MRG-4、SPC-2 等）",
    urls_namespace="api",
    docs_url=None,
    docs_decorator=login_required,
    auth=TokenAuth(),
)
v1 = Router(tags=["events"])

Answer = tuple[int, dict[str, Any]]
RESPONSES: dict[int | tuple[int, ...], Any] = {
    200: EventOut, 201: EventOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: dict[str, Any],
    503: ErrorOut,
}  # fmt: skip


@v1.post("/events/margin", response=RESPONSES, operation_id="margin_event_post",
         summary="Post a margin event (MRG-3 margin call, MRG-4 forced liquidation …)")  # fmt: skip
def margin_event_post(request: HttpRequest, payload: MarginEventIn) -> Status[dict[str, Any]]:
    """Store the event and create or merge its callback task at once; idempotent on ``event_id``.

    201: stored, tasks created or joined; 200: the same event was posted before (same
    tasks); 409: the ``event_id`` is known with other content; 404: no such client in
    the token user's scope; 422: invalid.
    """
    return _post(request, "margin", payload)


@v1.post("/events/account", response=RESPONSES, operation_id="account_event_post",
         summary="Post an account event (SPC-2 important operations)")  # fmt: skip
def account_event_post(request: HttpRequest, payload: AccountEventIn) -> Status[dict[str, Any]]:
    """As ``/events/margin``, for §1 ``account_events`` (SPC-2)."""
    return _post(request, "account", payload)


api.add_router("/v1", v1)
api.add_router("/v1/workbench", workbench_router)  # the call-center API (issue 7 item 9)


def _post(
    request: HttpRequest, kind: intraday.EventKind, payload: MarginEventIn | AccountEventIn
) -> Status[dict[str, Any]]:
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    user = token.user
    with audit_context(user.get_username(), user_id=user.pk, request_id=current().request_id):
        status, body = _answer(kind, payload, user)
        _audit_call(request, status, kind=kind, event_id=payload.event_id, detail=body)
    return Status(status, body)


def _answer(kind: intraday.EventKind, payload: MarginEventIn | AccountEventIn, user: Any) -> Answer:
    if not may_post_events(user):
        return 403, {"detail": "this token's user holds no role that may post events"}
    event = intraday.EventIn(
        event_id=payload.event_id, client_id=payload.client_id, event_type=str(payload.event_type),
        event_time=payload.event_time, detail=payload.detail,
        security_code=getattr(payload, "security_code", ""), amount=getattr(payload, "amount", None),
        staff_id=getattr(payload, "staff_id", None),
    )  # fmt: skip
    try:
        outcome = intraday.post_event(kind=kind, payload=event, actor=user)
    except intraday.ClientNotVisible:
        return 404, {"detail": f"client {payload.client_id} not found"}
    except intraday.EventConflict as error:
        return 409, {"detail": str(error)}
    except intraday.EventInvalid as error:
        return 422, {
            "detail": [{"loc": ["body", "payload"], "msg": str(error), "type": "value_error"}]
        }
    except (CalendarYearMissing, NoPolicyInForce) as error:
        return 503, {"detail": str(error)}
    return (201 if outcome.created else 200), _out(outcome)


def _out(outcome: intraday.PostOutcome) -> dict[str, Any]:
    return {
        "event_id": outcome.event_id, "kind": outcome.kind, "created": outcome.created,
        "business_date": outcome.business_date, "rules": outcome.rules,
        "tasks": [t.__dict__ for t in outcome.tasks],
    }  # fmt: skip


def _audit_call(request: HttpRequest, status: int, **facts: Any) -> None:
    """One ``api.call`` row per call: who (token prefix), what, the answer (no request body: PII)."""
    token = getattr(request, "auth", None)
    detail = facts.pop("detail", None)
    after: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "status": status,
        **facts,
    }
    if isinstance(token, ApiToken):
        after["token"] = {"name": token.name, "prefix": token.prefix}
    refused = getattr(request, "huifang_auth_refused", None)
    if refused is not None:
        after["refused"] = refused
    if status >= 400 and isinstance(detail, dict):
        after["error"] = _error_text(detail.get("detail"))
    elif isinstance(detail, dict):
        after["tasks"] = [t["task_id"] for t in detail.get("tasks", [])]
    audit_record(action="api.call", object_type="api.ApiToken",
                 object_id=str(token.pk) if isinstance(token, ApiToken) else "", after=after)  # fmt: skip


def _error_text(detail: Any) -> Any:
    """Validation errors without the rejected input (it may hold PII)."""
    if isinstance(detail, list):
        return [{"loc": e.get("loc"), "msg": e.get("msg")} for e in detail if isinstance(e, dict)]
    return str(detail)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    body = {"detail": exc.errors}
    _audit_refusal(request, 422, body)
    return api.create_response(request, body, status=422)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """401 (no valid token), 400 (unreadable body) …: audited, then ninja's answer."""
    body = {"detail": str(exc)}
    _audit_refusal(request, exc.status_code, body)
    return api.create_response(request, body, status=exc.status_code)


def _audit_refusal(request: HttpRequest, status: int, body: dict[str, Any]) -> None:
    token = getattr(request, "auth", None)
    if isinstance(token, ApiToken):
        user = token.user
        with audit_context(user.get_username(), user_id=user.pk, request_id=current().request_id):
            _audit_call(request, status, detail=body)
    else:
        _audit_call(request, status, detail=body)
