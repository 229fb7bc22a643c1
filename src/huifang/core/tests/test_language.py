"""Chinese by default whatever the browser says; English only when chosen (NFR-5)."""

import pytest
from django.test import Client as HttpClient


@pytest.mark.django_db
def test_an_english_browser_still_gets_the_chinese_login_page() -> None:
    page = HttpClient(headers={"accept-language": "en-US,en;q=0.9"}).get("/accounts/login/")
    html = page.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html


@pytest.mark.django_db
def test_choosing_english_switches_the_page() -> None:
    http = HttpClient()
    http.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    html = http.get("/accounts/login/").content.decode()
    assert '<html lang="en">' in html
