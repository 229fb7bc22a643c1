"""Data scope (SPEC §0): a branch user sees his branch, a regional user his region, HQ all.

Every model that belongs to a branch uses ``BranchScopedQuerySet`` and every
user-facing read goes through ``.visible_to(user)`` [NetBox RestrictedQuerySet].
Objects outside the scope answer 404 (``get_visible_or_404``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from django.db import models
from django.http import Http404

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from huifang.accounts.models import User

M = TypeVar("M", bound=models.Model)

_CACHE_ATTR = "_huifang_unit_scope"


def unit_scope(user: User | AnonymousUser) -> frozenset[str] | None:
    """Unit codes the user may see; ``None`` means every unit; empty means none."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    if hasattr(user, _CACHE_ATTR):
        cached: frozenset[str] | None = getattr(user, _CACHE_ATTR)
        return cached
    scope = _compute_scope(user)  # type: ignore[arg-type]
    setattr(user, _CACHE_ATTR, scope)
    return scope


def forget_scope(user: Any) -> None:
    """Drop the cached scope after the user's grants change."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def _compute_scope(user: User) -> frozenset[str] | None:
    from huifang.accounts.choices import ScopeKind
    from huifang.org.models import Unit

    if user.is_superuser:
        return None
    codes: set[str] = set()
    regions: set[str] = set()
    for grant in user.role_grants.all():
        if grant.scope == ScopeKind.ALL:
            return None
        if grant.scope == ScopeKind.REGION and grant.region_id:
            regions.add(grant.region_id)
        elif grant.unit_id:
            codes.add(grant.unit_id)
    if regions:
        codes.update(Unit.objects.filter(region_id__in=regions).values_list("code", flat=True))
    return frozenset(codes)


class BranchScopedQuerySet(models.QuerySet[M], Generic[M]):
    """A queryset that knows which field leads to the owning unit."""

    branch_field: str = "branch"

    def visible_to(self, user: User | AnonymousUser) -> BranchScopedQuerySet[M]:
        """Only the rows of the units in the user's scope."""
        scope = unit_scope(user)
        if scope is None:
            return self
        if not scope:
            return self.none()
        lookup = (
            self.branch_field if self.branch_field.endswith("code") else f"{self.branch_field}_id"
        )
        return self.filter(**{f"{lookup}__in": sorted(scope)})


def get_visible_or_404(queryset: BranchScopedQuerySet[M], user: Any, **lookup: Any) -> M:
    """The object if the user may see it, else 404 (never 403: existence is not leaked).

    The instance remembers that it was read through this user's scope (``read_in_scope``),
    so a service handed it need not ask the database again."""
    try:
        found = queryset.visible_to(user).get(**lookup)
    except queryset.model.DoesNotExist as exc:  # type: ignore[attr-defined]
        raise Http404 from exc
    mark_read_in_scope(found, user)
    return found


def mark_read_in_scope(obj: Any, user: Any) -> None:
    """``obj`` was just read through ``user``'s scope (a hand-written read that applied it)."""
    obj.__dict__[_READ_FOR] = getattr(user, "pk", None)


_READ_FOR = "_huifang_read_in_scope_of"


def read_in_scope(obj: Any, user: Any) -> bool:
    """``obj`` was read by ``get_visible_or_404`` for this very user (its branch cannot change)."""
    pk = getattr(user, "pk", None)
    return pk is not None and obj.__dict__.get(_READ_FOR) == pk
