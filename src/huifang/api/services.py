"""API tokens: create (shown once), revoke, resolve a presented token to its user (NFR-2 audited).

The token is ``hf_`` + 43 URL-safe characters (256 random bits); the database keeps
its SHA-256 only, so a copy of the database gives no usable token. Unguessable
tokens need no lockout (django-axes guards the password sign-in): a refused token
is audited by the API with its prefix, never in full.
"""

from __future__ import annotations

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.api.models import ApiToken
from huifang.audit.services import audit_record
from huifang.core import clock

TOKEN_PREFIX = "hf_"  # noqa: S105 -- the visible marker of a token, not a secret
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8
# Roles whose holders may post intraday events: branch operations (MRG-3/MRG-4/SPC-2
# are branch (ops) callbacks) and the head-office client-service centre (company level).
EVENT_POSTING_ROLES = frozenset({Role.BRANCH_OPS, Role.HQ_SERVICE})
# Roles whose holders may work callbacks through the workbench API (issue 7 item 9): the
# call center's system account acts as one agent, who must be linked to a staff member.
WORKBENCH_ROLES = frozenset({Role.AGENT})


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_post_events(user: User) -> bool:
    return user.is_active and user.has_role(*EVENT_POSTING_ROLES)


def may_use_workbench(user: User) -> bool:
    """An active agent linked to a staff member (the workbench acts as that staff member)."""
    return user.is_active and user.staff_id is not None and user.has_role(*WORKBENCH_ROLES)


def may_hold_token(user: User) -> bool:
    return may_post_events(user) or may_use_workbench(user)


@transaction.atomic
def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user`` (an event-posting role, or an agent linked to staff); returns
    it and the token."""
    name = name.strip()
    if not name or len(name) > 64:
        raise ValidationError("the token name must have 1 to 64 characters")
    if not may_hold_token(user):
        roles = ", ".join(sorted(EVENT_POSTING_ROLES))
        raise ValidationError(
            f"user {user.username} is inactive or holds none of the roles {roles}"
            f" (nor {', '.join(sorted(WORKBENCH_ROLES))} with a linked staff member)"
        )
    if ApiToken.objects.active().filter(user=user, name=name).exists():
        raise ValidationError(f"user {user.username} already has an active token named {name!r}")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:PREFIX_LENGTH], digest=digest(raw), created_at=clock.now()
    )
    audit_record(
        action="api.token_create", object_type="api.ApiToken", object_id=str(token.pk),
        after={"user": user.username, "name": name, "prefix": token.prefix},
    )  # fmt: skip
    return token, raw


@transaction.atomic
def token_revoke(*, user: User, name: str) -> ApiToken:
    """Revoke ``user``'s active token ``name``; it answers 401 from then on."""
    token = ApiToken.objects.active().select_for_update().filter(user=user, name=name).first()
    if token is None:
        raise ValidationError(f"user {user.username} has no active token named {name!r}")
    token.revoked_at = clock.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        action="api.token_revoke", object_type="api.ApiToken", object_id=str(token.pk),
        before={"revoked_at": None},
        after={"user": user.username, "name": name, "prefix": token.prefix, "revoked_at": token.revoked_at},
    )  # fmt: skip
    return token


def token_resolve(raw: str) -> tuple[ApiToken | None, str]:
    """The active token of an active user matching ``raw``, or None and why not.

    One query: the token, its user and the user's staff member (the workbench's actor).
    """
    if not raw.startswith(TOKEN_PREFIX):
        return None, "malformed token"
    token = (
        ApiToken.objects.select_related("user", "user__staff").filter(digest=digest(raw)).first()
    )
    if token is None:
        return None, "unknown token"
    if token.revoked_at is not None:
        return None, "revoked token"
    if not token.user.is_active:
        return None, "inactive user"
    return token, ""
