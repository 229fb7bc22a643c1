"""Every change to users and their role grants (SPEC §0; CON-2)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from huifang.accounts.choices import Role, ScopeKind
from huifang.accounts.models import RoleGrant, User
from huifang.core.scope import forget_scope
from huifang.org.models import Region, Staff, Unit


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
    user.staff = staff
    user.first_name = user.first_name or _staff_name(staff)
    user.is_active = True
    user.set_password(password)
    user.save()
    _grants_replace(user=user, grants=grants)
    return user, False


@transaction.atomic
def user_grants_set(*, user: User, grants: Iterable[Grant]) -> User:
    """Replace the user's grants with exactly ``grants``."""
    grants = list(grants)
    grants_validate(staff=user.staff, grants=grants)
    _grants_replace(user=user, grants=grants)
    return user


@transaction.atomic
def user_deactivate(*, user: User) -> User:
    """Sign-in refused and scope emptied (a departed staff member); grants are kept."""
    user.is_active = False
    user.save(update_fields=["is_active"])
    forget_scope(user)
    return user


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
