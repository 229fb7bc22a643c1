"""API tokens: create (shown once), revoke, resolve a presented token to its user (NFR-2 audited).

The token is ``hf_`` + 43 URL-safe characters (256 random bits); the database keeps
its SHA-256 only, so a copy of the database gives no usable token. Unguessable
tokens need no lockout (django-axes guards the password sign-in): a refused token
is audited by the API with its prefix, never in full.
"""

from __future__ import annotations

import functools
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from huifang.accounts.choices import Role
from huifang.accounts.models import RoleGrant, User
from huifang.api.models import ApiToken
from huifang.audit.services import audit_record
from huifang.core import clock
from huifang.core.joined import Joined, column, relate, table
from huifang.org.models import Region, Staff, Unit

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

    One hand-written query (every API call makes it, issue 7): the token, its user, the
    user's staff member (the workbench's actor) with his unit, and the user's grants with
    their unit and region, the grants set on the user as ``with_grants`` would (role checks
    and the data scope read them, no further query).
    """
    if not raw.startswith(TOKEN_PREFIX):
        return None, "malformed token"
    token = _token_with_grants(digest(raw))
    if token is None:
        return None, "unknown token"
    if token.revoked_at is not None:
        return None, "revoked token"
    if not token.user.is_active:
        return None, "inactive user"
    return token, ""


_TOKEN_JOIN = Joined(
    (
        (ApiToken, "t"), (User, "u"), (Staff, "s"), (Unit, "su"), (RoleGrant, "g"), (Unit, "gu"),
        (Region, "gr"),
    )
)  # fmt: skip


@functools.cache
def _token_sql(vendor: str) -> str:
    return (
        f"SELECT {_TOKEN_JOIN.columns()} FROM {table(ApiToken)} t "
        f"JOIN {table(User)} u ON u.{column(User, 'id')} = t.{column(ApiToken, 'user')} "
        f"LEFT JOIN {table(Staff)} s ON s.{column(Staff, 'staff_id')} = u.{column(User, 'staff')} "
        f"LEFT JOIN {table(Unit)} su ON su.{column(Unit, 'code')} = s.{column(Staff, 'unit')} "
        f"LEFT JOIN {table(RoleGrant)} g ON g.{column(RoleGrant, 'user')} = u.{column(User, 'id')} "
        f"LEFT JOIN {table(Unit)} gu ON gu.{column(Unit, 'code')} = g.{column(RoleGrant, 'unit')} "
        f"LEFT JOIN {table(Region)} gr ON gr.{column(Region, 'code')} = g.{column(RoleGrant, 'region')} "
        f"WHERE t.{column(ApiToken, 'digest')} = %s "
        f"ORDER BY g.{column(RoleGrant, 'role')}, g.{column(RoleGrant, 'id')}"
    )


def _token_with_grants(token_digest: str) -> ApiToken | None:
    with connection.cursor() as cursor:
        cursor.execute(_token_sql(connection.vendor), [token_digest])
        rows = cursor.fetchall()
    if not rows:
        return None
    # the token, user, staff and his unit repeat on every grant's row: built from the first row
    token, user, staff, staff_unit = _TOKEN_JOIN.instances(rows[0], parts=slice(0, 4))
    assert isinstance(token, ApiToken) and isinstance(user, User)
    relate(token, user=user)
    relate(user, staff=staff)
    if staff is not None:
        relate(staff, unit=staff_unit)
    grants: list[RoleGrant] = []
    for row in rows:
        grant, unit, region = _TOKEN_JOIN.instances(row, parts=slice(4, 7))
        if grant is None:
            continue  # a user without grants: one row, the grant's columns NULL
        assert isinstance(grant, RoleGrant)
        relate(grant, user=user, unit=unit, region=region)
        grants.append(grant)
    # what ``prefetch_related_objects`` leaves on the user for ``role_grants``
    prefetched = user.role_grants.all()
    prefetched._result_cache = grants
    prefetched._prefetch_done = True  # type: ignore[attr-defined]
    user._prefetched_objects_cache = {"role_grants": prefetched}  # type: ignore[attr-defined]
    return token
