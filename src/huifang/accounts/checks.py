"""Deployment checks of sign-in (``huifang check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_sign_in(app_configs: Any, **kwargs: Any) -> list[Error]:
    """Production needs the second factor and the lockout."""
    if getattr(settings, "HUIFANG_MODE", "") != "production":
        return []
    errors = []
    if not getattr(settings, "HUIFANG_REQUIRE_2FA", False):
        errors.append(Error("HUIFANG_REQUIRE_2FA must be on in production", id="huifang.E001"))
    if not getattr(settings, "AXES_ENABLED", False):
        errors.append(Error("AXES_ENABLED must be on in production", id="huifang.E002"))
    return errors
