"""Middleware of the whole site: the request's memo scope, the language.

Language: Chinese (zh-Hans) unless the user chose English (NFR-5). Django's
LocaleMiddleware follows the browser's Accept-Language, so an English browser would
get an English UI. Brokerage staff expect Chinese by default; the language switch in
the top bar (``set_language``, a cookie) is the only way out.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from huifang.core import memo


class MemoScopeMiddleware:
    """One ``core.memo`` scope per request: the policy in force and its rules are read once."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with memo.scope():
            return self.get_response(request)


class DefaultLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.available = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in self.available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response
