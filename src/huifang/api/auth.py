"""Bearer-token authentication of the API (SPEC §0 scope, NFR-2 audit).

``Authorization: Bearer hf_…``: the token resolves to its user; a missing,
malformed, unknown or revoked token, or a deactivated user, answers 401. Why a
token was refused is kept on the request for the audit row (its prefix only).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from huifang.api.models import ApiToken
from huifang.api.services import PREFIX_LENGTH, token_resolve


class TokenAuth(HttpBearer):
    """The token's ``ApiToken`` (its ``user`` acts), or None → 401."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found, reason = token_resolve(token.strip())  # with the user's grants (one query)
        if found is None:
            refused: dict[str, Any] = {"reason": reason, "prefix": token.strip()[:PREFIX_LENGTH]}
            request.huifang_auth_refused = refused  # type: ignore[attr-defined]
        return found
