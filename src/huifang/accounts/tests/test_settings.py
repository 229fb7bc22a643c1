"""Deployment settings: check --deploy is clean, keys are required, CSP holds, 2FA per mode."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from huifang.accounts.models import User

KEYS = ("HUIFANG_SECRET_KEY", "HUIFANG_FIELD_KEY", "HUIFANG_HASH_KEY")
PRODUCTION_ENV = {
    "HUIFANG_SECRET_KEY": "k" * 30 + "-a-long-random-looking-production-secret-X9",
    "HUIFANG_FIELD_KEY": "field-key-for-the-deploy-check",
    "HUIFANG_HASH_KEY": "hash-key-for-the-deploy-check",
    "HUIFANG_ALLOWED_HOSTS": "huifang.example.com",
    "HUIFANG_DATABASE_URL": "postgresql://huifang:secret@127.0.0.1:5432/huifang",
}
CSP = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
)


def clean_env(tmp_path: Path, settings_module: str, **extra: str) -> dict[str, str]:
    """The environment of a fresh process: nothing HUIFANG_* leaks in from the test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUIFANG_", "DJANGO_"))}
    env.update(DJANGO_SETTINGS_MODULE=settings_module, HUIFANG_DATA_DIR=str(tmp_path / "data"))
    env.update(extra)
    return env


def huifang(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "huifang.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def setting(env: dict[str, str], name: str) -> subprocess.CompletedProcess[str]:
    code = f"from django.conf import settings; print(settings.{name})"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.slow
def test_production_settings_pass_the_deploy_check(tmp_path: Path) -> None:
    env = clean_env(tmp_path, "huifang.settings.production", **PRODUCTION_ENV)

    result = huifang(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr and "ERROR" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("missing", KEYS)
def test_production_refuses_to_start_without_a_key(tmp_path: Path, missing: str) -> None:
    given = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    env = clean_env(tmp_path, "huifang.settings.production", **given)

    result = huifang(env, "check")

    assert result.returncode != 0
    assert missing in result.stderr
    assert not (tmp_path / "data" / "keys").exists()


@pytest.mark.slow
def test_production_refuses_to_switch_the_second_factor_off(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path, "huifang.settings.production", HUIFANG_REQUIRE_2FA="0", **PRODUCTION_ENV
    )

    result = huifang(env, "check")

    assert result.returncode != 0
    assert "HUIFANG_REQUIRE_2FA" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({}, "True"),
        ({"HUIFANG_DEMO": "1"}, "False"),
        ({"HUIFANG_REQUIRE_2FA": "0"}, "False"),
        ({"HUIFANG_DEMO": "1", "HUIFANG_REQUIRE_2FA": "1"}, "True"),
    ],
)
def test_embedded_mode_requires_2fa_unless_the_demo_switches_it_off(
    tmp_path: Path, extra: dict[str, str], expected: str
) -> None:
    env = clean_env(tmp_path, "huifang.settings.embedded", **extra)

    result = setting(env, "HUIFANG_REQUIRE_2FA")

    assert (result.returncode, result.stdout.strip()) == (0, expected), result.stderr


def test_every_page_carries_the_strict_content_security_policy(db: None) -> None:
    response = Client().get(reverse("login"))

    policy = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    assert sorted(policy) == sorted(CSP)
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style_and_htmx_skips_its_style(db: None) -> None:
    user = User.objects.create_user("wangwu")
    client = Client()
    client.force_login(user)

    for url in (reverse("login"), reverse("home"), reverse("clients:search")):
        html = (Client() if url == reverse("login") else client).get(url).content.decode()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts, url
        assert all(" src=" in tag for tag in scripts), url
        assert "<style" not in html and " style=" not in html, url
        assert re.search(r" on[a-z]+=", html) is None, url
        assert '"includeIndicatorStyles": false' in html, url
