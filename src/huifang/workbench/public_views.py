"""The client's e-questionnaire page (EXE-6): no sign-in, one link, one answer.

``GET /q/<token>/`` shows the form of the link's task on a mobile page; ``POST``
submits it (CSRF-protected). A token that cannot be used gets one of three pages
and nothing else — "链接无效" (404), "该链接已过期" (410), "该链接已使用" (410) — so
the page never tells more about a token than these. The form shows no personal
data beyond the client's masked name ("王**"). Pages are never cached and send no
referrer, so the token does not leak to a cache or another site.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from huifang.accounts.lockout import client_ip
from huifang.core import pii
from huifang.workbench import equestionnaire
from huifang.workbench.equestionnaire import LINK_CODES, FormSection
from huifang.workbench.errors import WorkbenchRefused

logger = logging.getLogger(__name__)
TEMPLATES = "workbench/public/"
REFUSAL_TITLES = {
    "link_invalid": "链接无效",
    "link_expired": "该链接已过期",
    "link_used": "该链接已使用",
}


def public_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Never stored by a browser or proxy, no referrer, not indexed (the URL holds the token)."""
    cached = never_cache(view)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = cached(request, *args, **kwargs)
        response["Pragma"] = "no-cache"
        response["Referrer-Policy"] = (
            "same-origin"  # no-referrer makes Chromium post Origin: null (CSRF)
        )
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


def request_ip(request: HttpRequest) -> str:
    """The client address by the project's one rule (``HUIFANG_TRUSTED_PROXY_COUNT``: the N-th
    X-Forwarded-For hop from the right, as for sign-in lockouts); entries further left may be
    forged by the client, so they are never taken."""
    return (client_ip(request) or "")[:64]


def request_device(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[: equestionnaire.DEVICE_MAX]


# --- the form as the template sees it ---------------------------------------------------------


@dataclass
class Choice:
    value: str
    label: str
    checked: bool
    ident: str


@dataclass
class Item:
    ident: str
    text: str
    type: str
    required: bool
    name: str
    note_name: str
    value: Any
    note: str
    multiple: bool = False
    choices: list[Choice] = field(default_factory=list)


@dataclass
class Part:
    title: str
    items: list[Item]


@dataclass
class Block:
    title: str
    parts: list[Part]


def field_name(section: FormSection, item_id: str) -> str:
    return f"{section.key}.{item_id}"


def _choices(item: dict[str, Any]) -> list[tuple[str, str]]:
    kind = item.get("type")
    if kind == "check":
        return [("matches", _("一致")), ("differs", _("不一致"))]
    if kind == "yesno":
        return [("yes", _("是")), ("no", _("否"))]
    if kind in {"score", "choice"}:
        return [(str(option), str(option)) for option in item.get("options") or []]
    return []


def blocks(
    sections: list[FormSection], answers: dict[str, dict[str, dict[str, Any]]]
) -> list[Block]:
    """The sections as titled blocks of items, with the values given so far."""
    out = []
    for section in sections:
        given = answers.get(section.key, {})
        parts = []
        for part in section.parts:
            items = []
            for raw in part.get("items", []):
                item_id = str(raw.get("id"))
                name = field_name(section, item_id)
                entry = given.get(item_id, {})
                value = entry.get("value")
                chosen = {str(v) for v in value} if isinstance(value, list) else {str(value)}
                item = Item(
                    ident=name.replace(".", "-"),
                    text=str(raw.get("text", "")),
                    type=str(raw.get("type", "text")),
                    required=bool(raw.get("required")),
                    name=name,
                    note_name=f"{name}.note",
                    value="" if value is None else value,
                    note=str(entry.get("note", "")),
                    multiple=bool(raw.get("multiple")),
                )
                item.choices = [
                    Choice(v, label, v in chosen, f"{item.ident}-{n}")
                    for n, (v, label) in enumerate(_choices(raw))
                ]
                items.append(item)
            parts.append(Part(str(part.get("title", "")), items))
        out.append(Block(section.questionnaire.title, parts))
    return out


def parse_answers(
    data: QueryDict, sections: list[FormSection]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The posted form as ``{section key: {item id: {"value", "note"}}}`` (blank items left out)."""
    answers: dict[str, dict[str, dict[str, Any]]] = {}
    for section in sections:
        entries: dict[str, dict[str, Any]] = {}
        for item in section.items:
            item_id = str(item.get("id"))
            name = field_name(section, item_id)
            value: Any
            if item.get("type") == "choice" and item.get("multiple"):
                value = [v for v in data.getlist(name) if v.strip()]
            else:
                value = data.get(name, "").strip()
                if item.get("type") == "score" and value.isdigit():
                    value = int(value)
            note = data.get(f"{name}.note", "").strip()
            if value in ("", []) and not note:
                continue
            entry: dict[str, Any] = {"value": value if value not in ("", []) else None}
            if note:
                entry["note"] = note
            entries[item_id] = entry
        answers[section.key] = entries
    return answers


# --- the page ---------------------------------------------------------------------------------


def refused(request: HttpRequest, refusal: WorkbenchRefused) -> HttpResponse:
    """One of the three pages; a refusal of another kind (a closed record …) reads "已使用"."""
    code = refusal.code if refusal.code in LINK_CODES else "link_used"
    if refusal.code not in LINK_CODES:  # an operator should look: the code only, no data
        logger.warning("e-questionnaire submission refused: %s", refusal.code)
    status = 404 if code == "link_invalid" else 410
    context = {"title": _(REFUSAL_TITLES[code]), "code": code}
    return render(request, TEMPLATES + "refused.html", context, status=status)


def _form(
    request: HttpRequest,
    link: Any,
    sections: list[FormSection],
    answers: dict[str, dict[str, dict[str, Any]]],
    errors: list[str],
    status: int = 200,
) -> HttpResponse:
    client = link.task.client
    context = {
        "client_name": pii.mask_name(client.name if client is not None else ""),
        "blocks": blocks(sections, answers),
        "errors": errors,
        "expires_at": link.expires_at,
    }
    return render(request, TEMPLATES + "form.html", context, status=status)


@public_page
@require_http_methods(["GET", "POST"])
def fill(request: HttpRequest, token: str) -> HttpResponse:
    """The e-questionnaire of one link (EXE-6)."""
    try:
        link = equestionnaire.open_link(token)
        sections = equestionnaire.form_sections(link.task)
    except WorkbenchRefused as refusal:
        return refused(request, refusal)
    if request.method != "POST":
        return _form(request, link, sections, {}, [])
    answers = parse_answers(request.POST, sections)
    try:
        equestionnaire.submit(
            token=token, answers=answers, ip=request_ip(request), device=request_device(request)
        )
    except WorkbenchRefused as refusal:
        if refusal.code == "bad_answer":
            return _form(request, link, sections, answers, refusal.reasons, status=400)
        return refused(request, refusal)
    return render(request, TEMPLATES + "thanks.html", {})
