"""Who is acting: every audited change happens inside an audit context (NFR-2).

Requests get one from ``AuditContextMiddleware``; commands, imports and Celery
tasks open one themselves (``with audit_context(actor="system:import", job=…)``).
Writing an audit row without a context raises: the trail is never skipped silently.
"""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class AuditActor:
    """The actor of the changes made in a context."""

    actor: str  # a username, or "system:<job>"
    user_id: int | None = None
    request_id: str = ""


class AuditContextMissing(RuntimeError):
    """An audited change was attempted with no actor: open ``audit_context`` first."""


_current: contextvars.ContextVar[AuditActor | None] = contextvars.ContextVar(
    "huifang_audit", default=None
)


def current() -> AuditActor:
    actor = _current.get()
    if actor is None:
        raise AuditContextMissing("no audit context: wrap the change in audit_context(...)")
    return actor


def current_or_none() -> AuditActor | None:
    return _current.get()


@contextlib.contextmanager
def audit_context(
    actor: str, *, user_id: int | None = None, request_id: str = ""
) -> Iterator[AuditActor]:
    """Make ``actor`` the author of every audited change inside the block."""
    value = AuditActor(actor, user_id, request_id or uuid.uuid4().hex)
    token = _current.set(value)
    try:
        yield value
    finally:
        _current.reset(token)


def system_context(job: str) -> contextlib.AbstractContextManager[AuditActor]:
    """The context of a command or background job: actor ``system:<job>``."""
    return audit_context(f"system:{job}")


class AuditContextMiddleware:
    """Opens an audit context for every request (anonymous requests too)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        authenticated = bool(user is not None and user.is_authenticated)
        name = user.get_username() if authenticated else "anonymous"  # type: ignore[union-attr]
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        with audit_context(name, user_id=user.pk if authenticated else None, request_id=request_id):  # type: ignore[union-attr]
            return self.get_response(request)
