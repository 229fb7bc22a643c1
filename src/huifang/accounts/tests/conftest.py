"""Sign-in fixtures: a user with the factory password, his authenticator, a 2FA switch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from huifang.accounts.models import User
from huifang.accounts.tests.factories import PASSWORD, UserFactory


@pytest.fixture
def user(db: None) -> User:
    return UserFactory(username="zhangsan")


@pytest.fixture
def device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


@pytest.fixture
def two_factor() -> Iterator[None]:
    with override_settings(HUIFANG_REQUIRE_2FA=True):
        yield


def token(device: TOTPDevice) -> str:
    """The token the authenticator shows now (verification tolerates one step either side)."""
    value = totp(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{value:0{device.digits}d}"


def sign_in(
    client: Client,
    username: str,
    password: str = PASSWORD,
    *,
    ip: str = "10.0.0.1",
    next_url: str = "",
) -> HttpResponse:
    data = {"username": username, "password": password, "next": next_url}
    return client.post(reverse("login"), data, REMOTE_ADDR=ip)
