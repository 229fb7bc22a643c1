"""What every screen shares: no caching of personal data, the role gate, paging.

``RoleView`` is the base of the role-gated screens (workbench, issues, evaluation):
signed in, one of ``roles`` (403 otherwise; scope is each query's job, 404), the
user's grants read once per request, and the acting ``Actor``. Function-style
views use ``user_with_roles``, ``paginate`` and ``query_without_page``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from huifang.accounts.permissions import user_has_role
from huifang.core.context_processors import with_grants
from huifang.workbench.actors import Actor, actor_of


def private_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Never stored by a browser or proxy: for every page that may carry personal data (CLI-4)."""
    cached = never_cache(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = cached(request, *args, **kwargs)
        response["Pragma"] = "no-cache"
        return response

    return wrapped


@method_decorator(private_page, name="dispatch")
class RoleView(LoginRequiredMixin, View):
    """Signed in, one of ``roles`` (403 otherwise); the user's grants are read once."""

    roles: tuple[str, ...] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            with_grants(request.user)
            if self.roles and not user_has_role(request.user, *self.roles):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def actor(self, request: HttpRequest) -> Actor:
        return actor_of(request.user, "ui")


def user_with_roles(request: HttpRequest, *roles: str) -> Any:
    """The signed-in user with his grants loaded, if he holds one of ``roles``; else 403."""
    user = with_grants(request.user)
    if not user_has_role(user, *roles):
        raise PermissionDenied
    return user


PAGE_SIZE = 50


def paginate(request: HttpRequest, items: Any, size: int = PAGE_SIZE) -> Page:
    return Paginator(items, size).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    """The filters of the current URL, for the pager's links."""
    query: QueryDict = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()
