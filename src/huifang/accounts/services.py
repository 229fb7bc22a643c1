"""Every change to users, their role grants, sessions and authenticators (SPEC §0; CON-2).

Each change writes an audit row (NFR-2) with the user's state before and after; a
password never appears in it, only the fact that it was set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import django_otp
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from huifang.accounts.choices import Role, ScopeKind
from huifang.accounts.models import RoleGrant, User, UserSession
from huifang.accounts.selectors import totp_device_confirmed
from huifang.audit.services import audit_record
from huifang.core.scope import forget_scope
from huifang.org.models import Region, Staff, Unit

USER = "accounts.User"
SESSION_CHUNK = 500


@dataclass(frozen=True)
class Grant:
    """A role over one unit, one region, or (neither given) the whole company."""

    role: str
    unit: Unit | None = None
    region: Region | None = None

    @property
    def scope(self) -> str:
        if self.unit is not None:
            return ScopeKind.BRANCH
        if self.region is not None:
            return ScopeKind.REGION
        return ScopeKind.ALL

    def key(self) -> tuple[str, str, str | None, str | None]:
        unit = self.unit.pk if self.unit is not None else None
        region = self.region.pk if self.region is not None else None
        return (self.role, self.scope, unit, region)


def grants_validate(*, staff: Staff | None, grants: Iterable[Grant]) -> None:
    """CON-2: marketing, broker and adviser staff never hold the agent role."""
    for grant in grants:
        if grant.unit is not None and grant.region is not None:
            raise ValidationError(_("授权只能指定机构或分公司之一"))
        if grant.role == Role.AGENT and staff is not None and staff.in_marketing_sequence:
            raise ValidationError(
                _("营销序列员工 %(staff)s 不得担任回访专员 (CON-2)") % {"staff": staff.staff_id}
            )


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    staff: Staff | None = None,
    grants: Iterable[Grant] = (),
    first_name: str = "",
) -> User:
    """A new user, optionally linked to a staff member, with the given grants."""
    grants = list(grants)
    grants_validate(staff=staff, grants=grants)
    if User.objects.filter(username=username).exists():
        raise ValidationError(_("用户名 %(username)s 已存在") % {"username": username})
    _check_staff_free(staff=staff, user=None)
    user = User(username=username, staff=staff, first_name=first_name or _staff_name(staff))
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    _grants_replace(user=user, grants=grants)
    _audit_user(user, "user.create", before=None, after={**_user_state(user), "password_set": True})
    return user


@transaction.atomic
def user_ensure(
    *,
    username: str,
    password: str,
    staff: Staff | None = None,
    grants: Iterable[Grant] = (),
) -> tuple[User, bool]:
    """Create the user, or bring an existing one to exactly this state; ``(user, created)``.

    Idempotent: running it twice with the same arguments changes nothing the second
    time but the password hash's salt.
    """
    grants = list(grants)
    user = User.objects.filter(username=username).first()
    if user is None:
        return user_create(username=username, password=password, staff=staff, grants=grants), True
    grants_validate(staff=staff, grants=grants)
    _check_staff_free(staff=staff, user=user)
    validate_password(password, user)
    before = _user_state(user)
    user.staff = staff
    user.first_name = user.first_name or _staff_name(staff)
    user.is_active = True
    user.set_password(password)
    user.save()
    _grants_replace(user=user, grants=grants)
    _audit_user(
        user, "user.update", before=before, after={**_user_state(user), "password_set": True}
    )
    return user, False


@transaction.atomic
def user_grants_set(*, user: User, grants: Iterable[Grant]) -> User:
    """Replace the user's grants with exactly ``grants``."""
    grants = list(grants)
    grants_validate(staff=user.staff, grants=grants)
    before = {"grants": _grant_rows(user)}
    _grants_replace(user=user, grants=grants)
    _audit_user(user, "user.grants", before=before, after={"grants": _grant_rows(user)})
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    """Sign-in refused, every open session ended, scope emptied; grants are kept."""
    before = {"is_active": user.is_active}
    user.is_active = False
    user.save(update_fields=["is_active"])
    ended = _sessions_end([user.pk])
    forget_scope(user)
    _audit_user(
        user, "user.deactivate", before=before, after={"is_active": False, "sessions_ended": ended}
    )
    return user


# --- Sessions ---------------------------------------------------------------------------


def session_record(*, user: User, session_key: str) -> None:
    """Remember that ``user`` signed in with this session (called at login)."""
    store = _session_store()
    stale = [
        key
        for key in UserSession.objects.filter(user=user).values_list("session_key", flat=True)
        if not store.exists(key)
    ]
    UserSession.objects.filter(session_key__in=stale).delete()
    UserSession.objects.update_or_create(session_key=session_key, defaults={"user": user})


def session_forget(*, session_key: str) -> None:
    """The session ended (logout, timeout): forget it."""
    UserSession.objects.filter(session_key=session_key).delete()


@transaction.atomic
def end_sessions_for_users(user_ids: Iterable[int]) -> int:
    """End every session of these users now; the number ended.

    For bulk deactivations that bypass ``user_deactivate`` (the staff feed's leavers,
    ``User.objects.filter(...).update(is_active=False)``): call it with the same users.
    Writes one audit row when any session was ended.
    """
    ids = sorted(set(user_ids))
    ended = _sessions_end(ids)
    if ended:
        audit_record(
            action="user.sessions_end",
            object_type=USER,
            after={"users": ids, "sessions_ended": ended},
        )
    return ended


def _sessions_end(user_ids: list[int]) -> int:
    store = _session_store()
    ended = 0
    for start in range(0, len(user_ids), SESSION_CHUNK):
        rows = UserSession.objects.filter(user_id__in=user_ids[start : start + SESSION_CHUNK])
        for key in rows.values_list("session_key", flat=True):
            store.delete(key)
            ended += 1
        rows.delete()
    return ended


def _session_store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore()


# --- Second factor (TOTP) ---------------------------------------------------------------


def totp_device_pending(*, user: User) -> TOTPDevice:
    """The unconfirmed authenticator a user enrols; its secret stays until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="huifang", confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, user: User, token: str) -> TOTPDevice | None:
    """Confirm the pending authenticator with a token it shows; ``None`` if the token is wrong.

    Refused (``None``) when the user already has a confirmed one: replacing an
    authenticator is an administrator's act, never a password holder's.
    """
    if totp_device_confirmed(user=user) is not None:
        return None
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None or not device.verify_token(token):
        _audit_user(user, "auth.otp_failed", before=None, after={"step": "enrol"})
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    _audit_user(user, "user.otp_enrol", before=None, after={"device": device.persistent_id})
    return device


def totp_verify(*, user: User, token: str) -> TOTPDevice | None:
    """The user's authenticator if ``token`` is valid now (django-otp throttles failures)."""
    device = totp_device_confirmed(user=user)
    verified = (
        django_otp.verify_token(user, device.persistent_id, token) if device is not None else None
    )
    action = "auth.otp_verified" if verified is not None else "auth.otp_failed"
    _audit_user(user, action, before=None, after={"step": "sign_in"})
    return verified


# --- Helpers ----------------------------------------------------------------------------


def _grants_replace(*, user: User, grants: list[Grant]) -> None:
    wanted = {grant.key(): grant for grant in grants}
    for existing in user.role_grants.all():
        key = (existing.role, existing.scope, existing.unit_id, existing.region_id)
        if wanted.pop(key, None) is None:
            existing.delete()
    for grant in wanted.values():
        row = RoleGrant(
            user=user, role=grant.role, scope=grant.scope, unit=grant.unit, region=grant.region
        )
        row.full_clean()
        row.save()
    forget_scope(user)


def _check_staff_free(*, staff: Staff | None, user: User | None) -> None:
    if staff is None:
        return
    holders = User.objects.filter(staff=staff)
    if user is not None:
        holders = holders.exclude(pk=user.pk)
    holder = holders.first()
    if holder is not None:
        raise ValidationError(
            _("员工 %(staff)s 已关联用户 %(user)s") % {"staff": staff.staff_id, "user": holder}
        )


def _staff_name(staff: Staff | None) -> str:
    return staff.name[:150] if staff is not None else ""


def _grant_rows(user: User) -> list[list[str | None]]:
    rows = user.role_grants.values_list("role", "scope", "unit_id", "region_id")
    return sorted(([*row] for row in rows), key=lambda row: [value or "" for value in row])


def _user_state(user: User) -> dict[str, Any]:
    """What the audit trail shows of a user: never the password hash."""
    return {
        "username": user.username,
        "staff": user.staff_id,
        "first_name": user.first_name,
        "is_active": user.is_active,
        "grants": _grant_rows(user),
    }


def _audit_user(user: User, action: str, *, before: Any, after: Any) -> None:
    branch = user.staff.unit_id if user.staff_id and user.staff is not None else ""
    audit_record(
        action=action,
        object_type=USER,
        object_id=str(user.pk),
        branch_code=branch or "",
        before=before,
        after=after,
    )
