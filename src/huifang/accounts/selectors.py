"""Reads about users' sign-in state."""

from __future__ import annotations

from typing import Any

from django_otp.plugins.otp_totp.models import TOTPDevice


def totp_device_confirmed(*, user: Any) -> TOTPDevice | None:
    """The user's confirmed authenticator, if he has enrolled one."""
    if not getattr(user, "is_authenticated", False):
        return None
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


def is_verified(user: Any) -> bool:
    """Whether this request's user passed the second factor (set by django-otp's middleware)."""
    return getattr(user, "otp_device", None) is not None
