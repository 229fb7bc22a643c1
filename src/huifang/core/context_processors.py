"""Values every page of the UI shell needs."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def shell(request: HttpRequest) -> dict[str, Any]:
    return {"HUIFANG_DEMO": getattr(settings, "HUIFANG_DEMO", False)}
