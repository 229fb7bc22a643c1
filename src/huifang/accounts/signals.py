"""Sign-in events into the audit trail and the session bookkeeping (NFR-2, ASVS V3/V7).

Login, failed login, lockout and logout are audited with the username as the actor
(masked like axes masks it, see ``lockout.masked_username``). Each receiver opens its
own audit context, keeping the request id of the request's context when there is one,
so these rows are written even outside a request (a shell calling ``authenticate``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from huifang.accounts import services
from huifang.accounts.lockout import client_ip, client_username, masked_username
from huifang.accounts.sessions import LOGIN_AT, SEEN_AT
from huifang.audit.context import AuditActor, audit_context, current_or_none
from huifang.audit.services import audit_record

USER = services.USER


@contextlib.contextmanager
def acting(actor: str | None, user_id: int | None = None) -> Iterator[AuditActor]:
    """An audit context for ``actor`` that keeps the surrounding request id."""
    outer = current_or_none()
    request_id = outer.request_id if outer is not None else ""
    with audit_context(actor or "anonymous", user_id=user_id, request_id=request_id) as value:
        yield value


def _ip(request: HttpRequest | None) -> str | None:
    return client_ip(request) if request is not None else None


@receiver(user_logged_in, dispatch_uid="huifang_accounts_logged_in")
def on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Start the session clocks, remember the session, audit ``auth.login``."""
    session = getattr(request, "session", None)
    if session is not None:
        now = int(time.time())
        session[LOGIN_AT] = now
        session[SEEN_AT] = now
        if session.session_key:
            services.session_record(user=user, session_key=session.session_key)
    with acting(user.get_username(), user.pk):
        audit_record(
            action="auth.login",
            object_type=USER,
            object_id=str(user.pk),
            after={"ip": _ip(request)},
        )


@receiver(user_login_failed, dispatch_uid="huifang_accounts_login_failed")
def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    """Audit ``auth.login_failed`` (the password is never in ``credentials`` unmasked)."""
    username = client_username(request, credentials)
    with acting(username):
        audit_record(
            action="auth.login_failed",
            object_type=USER,
            object_id=username or "",
            after={
                "ip": _ip(request),
                "locked_out": bool(getattr(request, "axes_locked_out", False)),
            },
        )


@receiver(user_locked_out, dispatch_uid="huifang_accounts_locked_out")
def on_locked_out(
    sender: Any,
    request: HttpRequest | None = None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    """Audit ``auth.lockout``: this username from this address is refused for the cool-off."""
    name = masked_username(username)
    with acting(name):
        audit_record(
            action="auth.lockout",
            object_type=USER,
            object_id=name or "",
            after={
                "ip": ip_address,
                "failures": getattr(request, "axes_failures_since_start", None),
            },
        )


@receiver(user_logged_out, dispatch_uid="huifang_accounts_logged_out")
def on_logged_out(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Forget the session, audit ``auth.logout`` with its reason (user, idle, absolute)."""
    if user is None:
        return
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        services.session_forget(session_key=session.session_key)
    with acting(user.get_username(), user.pk):
        audit_record(
            action="auth.logout",
            object_type=USER,
            object_id=str(user.pk),
            after={"reason": getattr(request, "huifang_logout_reason", "user"), "ip": _ip(request)},
        )
