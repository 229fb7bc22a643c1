"""``/api/docs``: the API described from its OpenAPI schema, rendered on the server (NFR-4).

No Swagger UI: its bundle would need inline styles our CSP refuses and calls an
online validator. The page lists each operation, its fields and its answers.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from huifang.api.api import api


class ApiDocsView(LoginRequiredMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        schema = api.get_openapi_schema(path_prefix="/api/")
        return render(request, "api/docs.html", {"operations": _operations(schema)})


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    components = schema.get("components", {}).get("schemas", {})
    found = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "")
            model = components.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
            fields = [
                {"name": name, "type": _type(prop, components),
                 "required": name in model.get("required", []), "description": prop.get("description", "")}
                for name, prop in model.get("properties", {}).items()
            ]  # fmt: skip
            found.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""), "fields": fields,
                "responses": sorted(op.get("responses", {})),
            })  # fmt: skip
    return found


def _type(prop: dict[str, Any], components: dict[str, Any]) -> str:
    if "$ref" in prop:
        target = components.get(prop["$ref"].rsplit("/", 1)[-1], {})
        return " | ".join(target.get("enum", [])) or prop["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " | ".join(_type(p, components) for p in prop["anyOf"])
    if "enum" in prop:
        return " | ".join(prop["enum"])
    return str(prop.get("format") or prop.get("type", ""))
