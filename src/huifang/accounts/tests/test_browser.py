"""In Chromium: the whole sign-in with a second factor, and htmx, under the strict CSP."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import override_settings

from huifang.accounts.choices import Role
from huifang.accounts.services import totp_device_pending
from huifang.accounts.tests.conftest import token
from huifang.accounts.tests.factories import PASSWORD, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CHROMIUM = os.environ.get("HUIFANG_CHROMIUM", "/usr/bin/chromium")


def csp_errors(messages: list[Any]) -> list[str]:
    return [m.text for m in messages if "Content Security Policy" in m.text]


def test_enrol_sign_in_and_search_with_htmx_break_no_policy(live_server: Any) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    user = user_with_role(Role.COMPLIANCE, username="zhaoliu")
    # Made before the browser starts (no ORM under Playwright's event loop); the enrolment
    # page shows this same pending authenticator.
    pending = totp_device_pending(user=user)
    with override_settings(HUIFANG_REQUIRE_2FA=True), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(locale="zh-CN")
        console: list[Any] = []
        page.on("console", lambda message: console.append(message))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url("**/accounts/login/enrol/**")
        qr_width = page.eval_on_selector("img[alt]", "img => img.naturalWidth")
        page.fill("#id_otp_token", token(pending))
        page.click("form[action$='enrol/'] button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/clients/")
        page.fill("input[name=q]", "王")
        with page.expect_request(lambda r: r.headers.get("hx-request") == "true") as htmx:
            page.click("form.search button[type=submit]")
        page.wait_for_selector("#results p")
        results = page.inner_text("#results")
        htmx_method = htmx.value.method
        still_on_search = page.url == f"{live_server.url}/clients/"
        browser.close()

    assert qr_width > 0
    assert (htmx_method, still_on_search) == ("POST", True)
    assert "找到 0 位客户" in results
    assert csp_errors(console) == []
    pending.refresh_from_db()
    assert pending.confirmed
