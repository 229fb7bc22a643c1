"""In Chromium, under the strict CSP: the compliance dashboard draws its charts offline (RPT-4, NFR-4).

Compliance signs in, opens 合规看板 for October 2026 and sees the three charts as
server-drawn ``<svg>`` with bars and a line; the ledger opens from the report menu.
Every request the browser makes goes to the live server (no CDN, no font or script
from elsewhere), and no Content-Security-Policy error is logged. Screenshots go to
``artifacts/reports-*.png``. The brokerage is built before the browser starts: no ORM
call runs under Playwright's event loop.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import pytest

from huifang.accounts.tests.factories import PASSWORD
from huifang.core.testing import ARTIFACTS, CHROMIUM, CLOSED_NETWORK_FLAGS
from huifang.reports.tests.brokerage import END, START, build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def test_the_dashboard_draws_its_charts_from_the_server_only(live_server: Any) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    world = build()
    base = live_server.url
    requests: list[str] = []
    console: list[str] = []
    seen: dict[str, Any] = {}

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CLOSED_NETWORK_FLAGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda message: console.append(message.text))

        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", world.users["compliance"].username)
        page.fill("#id_password", PASSWORD)
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{base}/")

        page.goto(f"{base}/reports/?start={START}&end={END}")
        page.wait_for_selector("svg.chart")
        seen["heading"] = page.inner_text("main h1")
        seen["charts"] = page.locator("svg.chart").count()
        seen["bars"] = page.locator("#chart-coverage g.bar rect").count()
        seen["columns"] = page.locator("#chart-backlog rect title").count()
        seen["line"] = page.locator("#chart-trend path").get_attribute("d") or ""
        seen["titles"] = page.locator("svg.chart > title").all_text_contents()
        seen["labelled"] = page.locator("#chart-coverage").get_attribute("aria-labelledby")
        seen["box"] = page.locator("#chart-coverage").bounding_box()
        seen["figures"] = page.inner_text("dl.figures")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "reports-dashboard.png"), full_page=True)

        page.get_by_role("link", name="回访台账").first.click()
        page.wait_for_url("**/reports/ledger/")
        seen["ledger"] = page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "reports-ledger.png"), full_page=True)
        browser.close()

    assert seen["heading"] == "合规看板"
    assert seen["charts"] == 3
    assert seen["bars"] >= 5  # one per rule with a required count
    assert seen["columns"] >= 3  # the branches' stacked segments
    assert seen["line"].startswith("M") and seen["line"].count("L") == (END - START).days
    assert seen["titles"] == ["各规则覆盖率", "未完成回访任务（按营业部）", "每日签字的回访记录"]
    assert seen["labelled"] == "chart-coverage-title chart-coverage-desc"
    assert seen["box"] is not None and seen["box"]["width"] > 300 and seen["box"]["height"] > 100
    assert "覆盖率" in seen["figures"] and "按时率" in seen["figures"]
    assert world.record_numbers("B01")[0] in seen["ledger"]

    hosts = {urlsplit(url).hostname for url in requests if not url.startswith("data:")}
    assert requests and hosts <= LOCAL_HOSTS, hosts
    assert {urlsplit(url).netloc for url in requests} == {urlsplit(base).netloc}
    assert [text for text in console if "Content Security Policy" in text] == []
