"""``{% evidence_pack_button client %}``: the evidence pack form on the client page (NFR-2).

Shown to the roles that may build a pack (``access.ROLES``); the client page has
already checked the client is in the user's scope, and the view checks again.
"""

from __future__ import annotations

from typing import Any

from django import template

from huifang.accounts.permissions import user_has_role
from huifang.evidencepack.access import ROLES
from huifang.evidencepack.forms import PackPeriodForm

register = template.Library()


@register.inclusion_tag("evidencepack/partials/client_button.html", takes_context=True)
def evidence_pack_button(context: template.Context, client: Any) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "show": user_has_role(user, *ROLES),
        "client": client,
        "form": PackPeriodForm(),
        "csrf_token": context.get("csrf_token"),
    }
