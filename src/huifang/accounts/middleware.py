"""Per-request sign-in rules: session limits and the second factor (ASVS V2.8, V3.3).

``SessionTimeoutMiddleware`` logs a user out past the idle or the absolute limit;
``SecondFactorMiddleware`` keeps a user who has only given his password on the
token (or enrolment) step while ``HUIFANG_REQUIRE_2FA`` is on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_htmx.http import HttpResponseClientRedirect

from huifang.accounts.selectors import is_verified, totp_device_confirmed
from huifang.accounts.sessions import ABSOLUTE, LOGIN_AT, SEEN_AT, needs_touch, session_expiry

EXPIRED_MESSAGES = {
    "idle": _("长时间未操作，已自动退出，请重新登录。"),
    ABSOLUTE: _("登录时间已达上限，已自动退出，请重新登录。"),
}
# Views a user may reach with the password alone (static files never get this far).
SECOND_FACTOR_EXEMPT = frozenset({"login", "logout", "otp_verify", "otp_enrol", "set_language"})


def redirect_to(request: HttpRequest, url: str, *, next_url: str | None = None) -> HttpResponse:
    """A redirect, as htmx wants it for htmx requests; ``next`` kept for page loads."""
    if request.headers.get("HX-Request") == "true":
        return HttpResponseClientRedirect(url)
    if next_url and request.method == "GET":
        url = f"{url}?{urlencode({'next': next_url})}"
    return HttpResponseRedirect(url)


def second_factor_step(user: Any) -> str:
    """The URL of the step the user still owes: the token, or enrolment without a device."""
    name = "otp_verify" if totp_device_confirmed(user=user) is not None else "otp_enrol"
    return reverse(name)


class SessionTimeoutMiddleware:
    """Ends a session idle for ``HUIFANG_SESSION_IDLE_SECONDS`` or older than the absolute limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            session = request.session
            reason = session_expiry(
                login_at=session.get(LOGIN_AT),
                seen_at=session.get(SEEN_AT),
                now=now,
                idle=settings.HUIFANG_SESSION_IDLE_SECONDS,
                absolute=settings.HUIFANG_SESSION_ABSOLUTE_SECONDS,
            )
            if reason is not None:
                return self.expire(request, reason)
            if needs_touch(seen_at=session.get(SEEN_AT), now=now):
                session[SEEN_AT] = int(now)
        return self.get_response(request)

    def expire(self, request: HttpRequest, reason: str) -> HttpResponse:
        request.huifang_logout_reason = f"timeout_{reason}"  # type: ignore[attr-defined]
        logout(request)
        messages.warning(request, EXPIRED_MESSAGES[reason])
        return redirect_to(
            request, resolve_url(settings.LOGIN_URL), next_url=request.get_full_path()
        )


class SecondFactorMiddleware:
    """With ``HUIFANG_REQUIRE_2FA``, a user without a verified token reaches only the sign-in steps."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if not settings.HUIFANG_REQUIRE_2FA:
            return None
        user = request.user
        if not user.is_authenticated or is_verified(user):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in SECOND_FACTOR_EXEMPT:
            return None
        return redirect_to(request, second_factor_step(user), next_url=request.get_full_path())
