"""Shared test helpers: the same checks for every view [STYLE "Tests"; NetBox utilities/testing].

Each new view's tests call, with the app's factories:

- ``assert_login_required(client, url)``: an anonymous visitor is sent to sign in;
- ``assert_out_of_scope_404(client, outsider, url)``: another branch gets 404, never 403;
- ``assert_forbidden(client, user, url)``: a role check refuses with 403;
- ``assert_list_excludes(response_or_queryset, *objects)``: a list never shows them;
- ``assert_no_pii(response, values=…)``: no full ID number or mobile (CLI-4);
- ``assert_private(response)``: a page with personal data is never cached.

``browser(user)`` gives a test client that runs ``assert_no_pii`` on every response
it receives. The project-wide tests in ``huifang/core/tests`` walk every URL pattern
(``url_cases``) and every model with ``visible_to`` (``scoped_models``), so a new
view or model is covered from the day it exists.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.contrib import admin
from django.db import models
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from django.utils.module_loading import import_string
from django.utils.regex_helper import normalize

from huifang.core.pii import PII_PATTERNS, mask_keep

REFUSED = frozenset({401, 403, 404, 405})

# --- personal data in what a test receives --------------------------------------------------


def _text(content: HttpResponseBase | str | bytes) -> str:
    if isinstance(content, HttpResponseBase):
        headers = "\n".join(f"{key}: {value}" for key, value in content.items())
        body = b"" if content.streaming else content.content  # type: ignore[attr-defined]
        return headers + "\n\n" + body.decode(content.charset or "utf-8", "replace")
    if isinstance(content, bytes):
        return content.decode("utf-8", "replace")
    return content


# A SHA-256 (or longer) hex digest: its digit runs are not phone numbers. Seen once in CI: a
# record's content hash held "…168xxxx2479…" between two letters, which the mobile pattern matched.
_HEX_DIGEST = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{32,}(?![0-9A-Za-z])")


def find_pii(content: HttpResponseBase | str | bytes, values: Iterable[str] = ()) -> list[str]:
    """Every full ID number or mobile (``PII_PATTERNS``) and every given value in the content,
    response headers included, each masked so that a failure message leaks nothing."""
    text = _text(content)
    hashes = [m.span() for m in _HEX_DIGEST.finditer(text)]
    found = [
        mask_keep(m.group(0))
        for pattern in PII_PATTERNS
        for m in pattern.finditer(text)
        if not any(start <= m.start() and m.end() <= end for start, end in hashes)
    ]
    found += [mask_keep(value) for value in values if value and value in text]
    return found


def assert_no_pii(content: HttpResponseBase | str | bytes, *, values: Iterable[str] = ()) -> None:
    """No full ID number or mobile in a response, an export or a log (CLI-4)."""
    found = find_pii(content, values)
    assert not found, f"personal data in the output: {found}"


def assert_private(response: HttpResponseBase) -> None:
    """A page that may carry personal data: never stored by a browser or a proxy (CLI-4)."""
    assert "no-store" in response.get("Cache-Control", ""), response.get("Cache-Control")
    assert response.get("Pragma") == "no-cache", response.get("Pragma")


class PiiScanningClient(Client):
    """A test client that fails on any response carrying a full ID number or mobile.

    ``pii_values`` adds exact values to look for (the fixture clients' numbers);
    ``with client.allow_pii():`` lets a reveal's answer through.
    """

    def __init__(self, *args: Any, pii_values: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pii_values = tuple(pii_values)
        self.scanned = 0
        self._allowed = 0

    @contextlib.contextmanager
    def allow_pii(self) -> Iterator[None]:
        self._allowed += 1
        try:
            yield
        finally:
            self._allowed -= 1

    def request(self, **request: Any) -> Any:
        response = super().request(**request)
        if not self._allowed:
            assert_no_pii(response, values=self.pii_values)
            self.scanned += 1
        return response


def browser(user: Any = None, *, pii_values: Iterable[str] = ()) -> PiiScanningClient:
    """A client signed in as ``user`` (anonymous without one) that scans every response."""
    client = PiiScanningClient(pii_values=pii_values)
    if user is not None:
        client.force_login(user)
    return client


@contextlib.contextmanager
def configured_log_output(level: int = logging.DEBUG) -> Iterator[io.StringIO]:
    """What the configured root handlers would write, as a string.

    A handler on a buffer gets the filters and formatter that ``settings.LOGGING``
    gives the root logger's handlers (the PII filter among them), so a test reads
    the log as production would write it.
    """
    config: dict[str, Any] = settings.LOGGING
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    for name in config.get("root", {}).get("handlers", []):
        spec = config["handlers"][name]
        for filter_name in spec.get("filters", []):
            handler.addFilter(_build(config["filters"][filter_name]))
        if "formatter" in spec:
            handler.setFormatter(
                logging.Formatter(config["formatters"][spec["formatter"]]["format"])
            )
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _build(spec: Mapping[str, Any]) -> logging.Filter:
    factory = spec["()"]
    factory = import_string(factory) if isinstance(factory, str) else factory
    return factory(**{k: v for k, v in spec.items() if k != "()"})  # type: ignore[no-any-return]


# --- access -----------------------------------------------------------------------------------


def sign_in_url() -> str:
    return resolve_url(settings.LOGIN_URL)


def is_sign_in_redirect(response: HttpResponseBase, *, admin_site: bool = False) -> bool:
    """A redirect to the sign-in page (or, for the admin site, to the admin's)."""
    if response.status_code not in (301, 302, 303, 307):
        return False
    path = urlsplit(response["Location"]).path
    targets = {sign_in_url()}
    if admin_site:
        targets.add(reverse("admin:login"))
    return path in targets


def _send(client: Client, method: str, url: str, data: Any = None, **extra: Any) -> Any:
    return getattr(client, method.lower())(url, data or {}, **extra)


def assert_login_required(
    client: Client, url: str, *, method: str = "get", data: Any = None
) -> HttpResponseBase:
    """An anonymous request is sent to the sign-in page (GET: with ``next`` back to ``url``)."""
    client.logout()
    response = _send(client, method, url, data)
    assert is_sign_in_redirect(response), (
        f"{method.upper()} {url}: {response.status_code} {response.get('Location', '')}"
    )
    if method.lower() == "get":
        query = parse_qs(urlsplit(response["Location"]).query)
        assert query.get("next") == [url], query
    return response  # type: ignore[no-any-return]


def assert_out_of_scope_404(
    client: Client, user: Any, url: str, *, method: str = "get", data: Any = None
) -> HttpResponseBase:
    """``user`` (from another branch or region) gets 404: existence is not leaked."""
    client.force_login(user)
    response = _send(client, method, url, data)
    assert response.status_code == 404, f"{method.upper()} {url}: {response.status_code}"
    return response  # type: ignore[no-any-return]


def assert_forbidden(
    client: Client, user: Any, url: str, *, method: str = "post", data: Any = None
) -> HttpResponseBase:
    """``user`` sees the object but lacks the role: 403."""
    client.force_login(user)
    response = _send(client, method, url, data)
    assert response.status_code == 403, f"{method.upper()} {url}: {response.status_code}"
    return response  # type: ignore[no-any-return]


def assert_list_excludes(
    listing: HttpResponseBase | models.QuerySet[Any], *objects: models.Model | str
) -> None:
    """None of ``objects`` in a list: a queryset by primary key, a page by text.

    On a page, a model object is looked for as its ``get_absolute_url()`` if it has
    one, else as its primary key standing alone; a string is looked for as given.
    """
    if isinstance(listing, models.QuerySet):
        keys = {obj.pk for obj in objects if isinstance(obj, models.Model)}
        shown = set(listing.filter(pk__in=keys).values_list("pk", flat=True))
        assert not shown, f"{listing.model.__name__} shown: {sorted(map(str, shown))}"
        return
    assert listing.status_code == 200, listing.status_code
    html = _text(listing)
    for obj in objects:
        assert not _shows(html, obj), f"{obj!r} is listed"


def _shows(html: str, obj: models.Model | str) -> bool:
    if isinstance(obj, str):
        return obj in html
    url = getattr(obj, "get_absolute_url", None)
    if url is not None:
        return url() in html  # type: ignore[no-any-return]
    return re.search(rf"(?<![\w-]){re.escape(str(obj.pk))}(?![\w-])", html) is not None


def scoped_models() -> list[type[models.Model]]:
    """Every model whose default manager restricts by user scope (``visible_to``)."""
    from django.apps import apps

    return [
        model
        for model in apps.get_models()
        if callable(getattr(model._default_manager, "visible_to", None))
    ]


# --- every URL pattern ---------------------------------------------------------------------

FALLBACK_VALUES = ("1", "abc", "a" * 32)


@dataclass(frozen=True)
class UrlCase:
    """One URL pattern of the project, reached through its resolvers."""

    route: str
    name: str | None
    callback: Callable[..., Any]
    levels: tuple[URLResolver | URLPattern, ...]

    def __str__(self) -> str:
        return self.name or self.route

    @property
    def params(self) -> list[str]:
        names: list[str] = []
        for fmt in self._formats():
            names += [p for p in fmt[1] if p not in names]
        return names

    def _formats(self) -> list[tuple[str, list[str]]]:
        return [normalize(level.pattern.regex.pattern)[0] for level in self.levels]

    def build(self, values: Mapping[str, Sequence[str]] | None = None) -> str | None:
        """A URL that resolves to this very pattern, trying ``values`` for each parameter.

        Parameters without values get ``FALLBACK_VALUES``; admin app labels are known.
        ``None`` when no combination resolves here (give a value for the parameter).
        """
        candidates = {**default_values(), **(values or {})}
        params = self.params
        choices = [list(candidates.get(p, ())) + list(FALLBACK_VALUES) for p in params]
        for combo in itertools.islice(itertools.product(*choices), 200):
            kwargs = dict(zip(params, combo, strict=True))
            url = "/" + "".join(fmt % kwargs for fmt, _ in self._formats())
            if self._resolves_here(url):
                return url
        return None

    def _resolves_here(self, url: str) -> bool:
        try:
            return resolve(url).func is self.callback
        except Resolver404:
            return False


def default_values() -> dict[str, list[str]]:
    """Values the walk knows without a test's help: the admin site's app labels."""
    labels = sorted({model._meta.app_label for model in admin.site._registry})
    return {"app_label": labels}


def url_cases(resolver: URLResolver | None = None) -> list[UrlCase]:
    """Every URL pattern of the project (namespaces and includes followed), in order."""
    return list(_walk((resolver or get_resolver()).url_patterns, (), ()))


def _walk(
    patterns: Sequence[URLResolver | URLPattern],
    levels: tuple[URLResolver | URLPattern, ...],
    namespaces: tuple[str, ...],
) -> Iterator[UrlCase]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = (*namespaces, pattern.namespace) if pattern.namespace else namespaces
            yield from _walk(pattern.url_patterns, (*levels, pattern), inner)
            continue
        path = (*levels, pattern)
        name = ":".join((*namespaces, pattern.name)) if pattern.name else None
        route = "".join(str(level.pattern) for level in path)
        yield UrlCase(route, name, pattern.callback, path)


@dataclass(frozen=True)
class Outcome:
    """What an anonymous visitor got from a URL: ``kind`` is "sign-in", "refused" or "open"."""

    kind: str
    method: str
    response: HttpResponse


def anonymous_outcomes(client: Client, url: str, *, admin_site: bool = False) -> list[Outcome]:
    """GET and POST ``url`` anonymously and classify each answer.

    "sign-in": sent to the sign-in page; "refused": 401, 403, 404 or 405 (a method
    the view does not take); "open": anything else.
    """
    client.logout()
    outcomes = []
    for method in ("GET", "POST"):
        response = getattr(client, method.lower())(url, {})
        if is_sign_in_redirect(response, admin_site=admin_site):
            kind = "sign-in"
        elif response.status_code in REFUSED:
            kind = "refused"
        else:
            kind = "open"
        outcomes.append(Outcome(kind, method, response))
    return outcomes


def database_url() -> str:
    """The test database as ``HUIFANG_DATABASE_URL``, for subprocesses (after pytest-django made it)."""
    from pathlib import Path
    from urllib.parse import quote

    from django.db import connection

    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(conf['NAME']).resolve()}"
    auth = quote(conf["USER"] or "postgres")
    if conf.get("PASSWORD"):
        auth += ":" + quote(conf["PASSWORD"])
    host = conf.get("HOST") or "127.0.0.1"
    port = conf.get("PORT") or 5432
    return f"postgresql://{auth}@{host}:{port}/{conf['NAME']}"


def isolated_data_dir(settings: Any, tmp_path: Any) -> Any:
    """Point ``DATA_DIR`` and ``ARCHIVE_DIR`` at a fresh folder (for an app's autouse fixture)."""
    data = tmp_path / "data"
    data.mkdir()
    settings.DATA_DIR = data
    settings.ARCHIVE_DIR = data / "archive"
    return data


# --- browser tests (Playwright on the machine's Chromium) ------------------------------------

CHROMIUM = os.environ.get("HUIFANG_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts"  # screenshots, at the repo root
# Chromium's own calls home switched off: every request a page makes is the page's (NFR-4).
CLOSED_NETWORK_FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
