"""django-axes hooks: the lockout key, what axes logs, the lockout page (ASVS V2.2).

Axes locks a (username, IP address) pair after ``AXES_FAILURE_LIMIT`` failures for
``AXES_COOLOFF_TIME``. Staff sometimes type an ID number or a mobile into the username
field: axes keys, logs and stores the username with those masked (CLI-4), so neither
its log lines nor its attempt rows ever hold one in full.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from huifang.core.pii import scrub

USERNAME_MAX = 150


def masked_username(raw: object) -> str | None:
    """The username as typed, cut to a sane length, ID numbers and mobiles masked."""
    if raw is None or raw == "":
        return None
    return scrub(str(raw)[:USERNAME_MAX])


def client_username(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """``AXES_USERNAME_CALLABLE``: the masked username of a sign-in attempt."""
    field = get_user_model().USERNAME_FIELD
    if credentials:
        return masked_username(credentials.get(field))
    if request is None:
        return None
    return masked_username(request.POST.get(field))


def client_ip(request: HttpRequest) -> str | None:
    """``AXES_CLIENT_IP_CALLABLE``: the client address, behind at most N trusted proxies.

    Each trusted proxy appends the address it saw to X-Forwarded-For, so with N of them
    the client is the N-th entry from the right; anything further left may be forged.
    """
    count = getattr(settings, "HUIFANG_TRUSTED_PROXY_COUNT", 0)
    if count:
        header = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in header.split(",") if hop.strip()]
        if len(hops) >= count:
            return hops[-count]
    return request.META.get("REMOTE_ADDR")


def client_str(
    username: str | None,
    ip_address: str | None,
    user_agent: str,
    path_info: str | tuple[str, ...],
    request: HttpRequest,
) -> str:
    """``AXES_CLIENT_STR_CALLABLE``: what axes writes to its log (masked username, IP, path)."""
    path = path_info[0] if isinstance(path_info, tuple | list) else path_info
    name = masked_username(username) or ""
    return f'{{username: "{name}", ip_address: "{ip_address or ""}", path_info: "{path}"}}'


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """``AXES_LOCKOUT_CALLABLE``: the lockout page in Chinese, HTTP 429."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else None
    context = {"cooloff_minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT}
    return render(request, "registration/lockout.html", context, status=429)
