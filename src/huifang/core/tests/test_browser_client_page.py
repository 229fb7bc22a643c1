"""In Chromium: an agent signs in and opens a client page (issue "Foundation II").

Asserts the page is Chinese (``<html lang="zh-hans">``, a named heading visible),
the ID number is masked, and every request the browser made went to 127.0.0.1.
The screenshot is kept under ``artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import PASSWORD, user_with_role
from huifang.clients.tests.factories import ClientFactory, id_card_number
from huifang.core.testing import ARTIFACTS, CHROMIUM, CLOSED_NETWORK_FLAGS
from huifang.org.tests.factories import UnitFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_signs_in_and_sees_a_masked_chinese_client_page(live_server: Any) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    branch = UnitFactory(name="上海陆家嘴营业部")
    id_number = id_card_number(7, area="310101", birth=dt.date(1988, 7, 15))
    client = ClientFactory(branch=branch, name="王某某", id_number=id_number, mobile="13812345678")
    agent = user_with_role(Role.AGENT, unit=branch, username="agent_sh")
    requests: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CLOSED_NETWORK_FLAGS)
        page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", agent.username)
        page.fill("#id_password", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        page.goto(f"{live_server.url}/clients/{client.client_id}/")
        heading = page.locator("h1").first
        heading.wait_for()
        lang = page.get_attribute("html", "lang")
        heading_text = heading.inner_text()
        heading_visible = heading.is_visible()
        body = page.inner_text("body")
        html = page.content()
        page.screenshot(path=str(ARTIFACTS / "client-page-agent.png"), full_page=True)
        browser.close()

    assert lang == "zh-hans"
    assert heading_visible and re.search(r"[\u4e00-\u9fff]", heading_text), heading_text
    assert client.name in heading_text or client.client_id in heading_text
    assert "310***********" in body
    assert id_number not in html and "13812345678" not in html
    hosts = {urlsplit(url).hostname for url in requests if not url.startswith("data:")}
    assert hosts == {"127.0.0.1"}, hosts
