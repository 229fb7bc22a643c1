"""Client pages: home, search and the client page (CLI-1, CLI-4, CLI-5).

Pages show masked ID numbers and mobiles only, never cache (``no-store``), and
read through the selectors, which apply the user's data scope.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import FieldDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from huifang.clients.forms import ClientSearchForm
from huifang.clients.models import Client
from huifang.clients.selectors import client_changes, client_detail, client_search
from huifang.core import pii

SEARCH_LIMIT = 50
CHANGE_LIMIT = 200
# Names in the change history that are not columns of Client (personal data, class).
EXTRA_FIELD_LABELS = {
    "id_number": _("证件号码"),
    "mobile": _("手机"),
    "phone": _("电话"),
    "email": _("电子邮箱"),
    "address": _("地址"),
    "class": _("客户分类"),
}


@method_decorator(never_cache, name="dispatch")
class HomeView(LoginRequiredMixin, TemplateView):
    """The start page: the user's roles and what the workbench will hold."""

    template_name = "clients/home.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        grants = self.request.user.role_grants.select_related("unit", "region")  # type: ignore[union-attr]
        return super().get_context_data(grants=grants, **kwargs)


@method_decorator(never_cache, name="dispatch")
class ClientSearchView(LoginRequiredMixin, View):
    """客户查询: the form is POSTed so that ID numbers and mobiles stay out of URLs."""

    template_name = "clients/search.html"
    partial_name = "clients/partials/search_results.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": ClientSearchForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ClientSearchForm(request.POST)
        # A fresh form: a bound one would echo a full ID number back into the page.
        context: dict[str, Any] = {
            "form": ClientSearchForm(),
            "searched": True,
            "limit": SEARCH_LIMIT,
        }
        if form.is_valid():
            query = form.cleaned_data["q"]
            found = client_search(user=request.user, query=query, limit=SEARCH_LIMIT)
            context["query_shown"] = masked_query(query)
            context["clients"] = list(found)
        else:
            context["query_errors"] = form.errors.get("q")
        template = self.partial_name if getattr(request, "htmx", False) else self.template_name
        return render(request, template, context)


@method_decorator(never_cache, name="dispatch")
class ClientDetailView(LoginRequiredMixin, View):
    """客户档案: the profile, its change history and (later) classes, tasks, records."""

    template_name = "clients/detail.html"

    def get(self, request: HttpRequest, client_id: str) -> HttpResponse:
        client = client_detail(user=request.user, client_id=client_id)
        changes = client_changes(user=request.user, client=client)[:CHANGE_LIMIT]
        rows = [(field_label(change.field), change) for change in changes]
        return render(
            request,
            self.template_name,
            {"client": client, "change_rows": rows, "change_limit": CHANGE_LIMIT},
        )


def masked_query(query: str) -> str:
    """The query as it may be shown back: anything with a digit could be an ID or mobile."""
    if any(char.isdigit() for char in query):
        return pii.mask_keep(query)
    return query


def field_label(name: str) -> str:
    """The Chinese label of a client field named in the change history."""
    if name in EXTRA_FIELD_LABELS:
        return str(EXTRA_FIELD_LABELS[name])
    try:
        field = Client._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name))
