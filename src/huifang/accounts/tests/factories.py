"""Factories for users and a helper to grant roles (factory_boy)."""

from __future__ import annotations

import factory

from huifang.accounts.choices import ScopeKind
from huifang.accounts.models import RoleGrant, User
from huifang.core.scope import forget_scope
from huifang.org.models import Region, Unit

PASSWORD = "pw-for-tests-2026"


class UserFactory(factory.django.DjangoModelFactory):
    """An active user ``user1`` … with password ``PASSWORD`` and no role until granted."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n + 1}")
    staff = None

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: object) -> None:  # noqa: N805
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])


def grant(
    user: User, role: str, *, unit: Unit | None = None, region: Region | None = None
) -> RoleGrant:
    """Grant ``role`` over ``unit`` (branch scope), ``region`` (region scope) or all."""
    if unit is not None:
        scope = ScopeKind.BRANCH
    elif region is not None:
        scope = ScopeKind.REGION
    else:
        scope = ScopeKind.ALL
    row = RoleGrant.objects.create(user=user, role=role, scope=scope, unit=unit, region=region)
    forget_scope(user)
    return row


def user_with_role(
    role: str, *, unit: Unit | None = None, region: Region | None = None, **kwargs: object
) -> User:
    """A new user holding one role over ``unit``, ``region`` or everything."""
    user = UserFactory(**kwargs)
    grant(user, role, unit=unit, region=region)
    return user
