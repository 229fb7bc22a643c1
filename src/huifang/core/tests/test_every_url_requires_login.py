"""Every URL of the project turns an anonymous visitor away, except an explicit allow-list.

The walk (``huifang.core.testing.url_cases``) follows every include and namespace,
so a view added later is covered the day it is added: it must send an anonymous
visitor to sign in (or answer 401/403/404), or be named below with its reason.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.urls import reverse

from huifang.core.testing import (
    UrlCase,
    anonymous_outcomes,
    browser,
    is_sign_in_redirect,
    url_cases,
)

# URL names that may answer an anonymous visitor, and why.
PUBLIC_NAMES = {
    "login": "the sign-in page itself",
    "logout": "signing out needs no session; it ends on the sign-in page",
    "set_language": "the language can be chosen on the sign-in page (NFR-5)",
    "admin:login": "the admin site's own sign-in page",
    "admin:logout": "sends an anonymous visitor to /admin/, which asks to sign in",
}
# Route prefixes that may answer an anonymous visitor, and why.
PUBLIC_PREFIXES = {
    "accounts/login/": "the sign-in steps before a session exists (password, token, enrolment)",
    "i18n/": "Django's language switch (set_language)",
    "q/": "the client's e-questionnaire (EXE-6): a one-time token, no session",
}

CASES = url_cases()


def public_reason(case: UrlCase) -> str | None:
    if case.name in PUBLIC_NAMES:
        return PUBLIC_NAMES[case.name]
    for prefix, reason in PUBLIC_PREFIXES.items():
        if case.route.startswith(prefix):
            return reason
    return None


def values(world: SimpleNamespace) -> dict[str, list[str]]:
    """Plausible path values: real objects where a view looks one up."""
    return {"client_id": [world.client_a.client_id], "token": ["0" * 32], "pk": ["1"]}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_no_url_answers_an_anonymous_visitor(world: SimpleNamespace, case: UrlCase) -> None:
    url = case.build(values(world))
    assert url is not None, f"{case.route}: give the walk a value for {case.params}"
    if public_reason(case):
        return
    outcomes = anonymous_outcomes(browser(), url, admin_site=case.route.startswith("admin/"))
    assert {outcome.method for outcome in outcomes} == {"GET", "POST"}
    for outcome in outcomes:
        response = outcome.response
        assert outcome.kind != "open", (
            f"{outcome.method} {url} answers an anonymous visitor with {response.status_code} "
            f"{response.get('Location', '')}: require login, or add it to PUBLIC_NAMES with a reason"
        )
    # A view that takes neither GET nor POST was not really tried: walk it another way.
    assert any(outcome.response.status_code != 405 for outcome in outcomes), url


def test_the_walk_reaches_every_kind_of_url() -> None:
    names = {case.name for case in CASES}
    assert {"home", "clients:detail", "clients:reveal", "feeds:progress", "admin:index"} <= names
    assert any(case.name is None and case.route.startswith("admin/") for case in CASES)


def test_the_allow_list_names_urls_that_exist() -> None:
    for name in PUBLIC_NAMES:
        reverse(name)


def test_the_sign_in_page_answers_an_anonymous_visitor(db: None) -> None:
    assert browser().get(reverse("login")).status_code == 200


def test_the_admin_site_requires_login(world: SimpleNamespace) -> None:
    response = browser().get("/admin/")
    assert is_sign_in_redirect(response, admin_site=True)
    assert response["Location"] == f"{reverse('admin:login')}?next=/admin/"


def test_the_admin_site_refuses_a_signed_in_user_without_staff_status(
    world: SimpleNamespace,
) -> None:
    response = browser(world.agent_a).get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
