"""Sign-in: lockout by username + address, the second factor, the session key, audit rows."""

from __future__ import annotations

import base64
import logging

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from huifang.accounts.models import User, UserSession
from huifang.accounts.services import totp_device_confirm
from huifang.accounts.tests.conftest import sign_in, token
from huifang.accounts.totp import secret_text
from huifang.audit.models import AuditEvent

ID_NUMBER = "110101199003071234"


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


# --- Lockout ------------------------------------------------------------------------------


def test_five_failures_lock_that_username_on_that_address(client: Client, user: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, user.username, "wrong-password").status_code == 200

    locked = sign_in(client, user.username, "wrong-password")
    right_password = sign_in(client, user.username)

    assert locked.status_code == 429
    assert "已暂时锁定" in locked.content.decode()
    assert "30 分钟后再试" in locked.content.decode()
    assert right_password.status_code == 429
    assert not signed_in(client)


def test_a_locked_username_still_signs_in_from_another_address(client: Client, user: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, user.username, "wrong-password", ip="10.0.0.1")
    elsewhere = Client()

    response = sign_in(elsewhere, user.username, ip="10.0.0.2")

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert signed_in(elsewhere)


def test_failures_of_other_usernames_do_not_lock_this_one(client: Client, user: User) -> None:
    for n in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, f"nobody{n}", "wrong-password")

    assert sign_in(client, user.username).status_code == 302


def test_lockout_and_failures_are_audited_with_the_username(client: Client, user: User) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, user.username, "wrong-password", ip="10.0.0.9")

    failures = AuditEvent.objects.filter(action="auth.login_failed")
    lockout = AuditEvent.objects.get(action="auth.lockout")
    assert failures.count() == settings.AXES_FAILURE_LIMIT
    assert {event.actor for event in failures} == {user.username}
    assert (lockout.actor, lockout.object_id) == (user.username, user.username)
    assert lockout.after == {"ip": "10.0.0.9", "failures": settings.AXES_FAILURE_LIMIT}


def test_an_id_number_typed_as_username_is_never_logged_or_stored_in_full(
    client: Client, db: None, caplog: pytest.LogCaptureFixture
) -> None:
    from axes.models import AccessAttempt

    with caplog.at_level(logging.INFO, logger="axes"):
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, ID_NUMBER, "wrong-password")

    assert "AXES: " in caplog.text
    assert ID_NUMBER not in caplog.text
    attempt = AccessAttempt.objects.get()
    assert attempt.username == "110***********1234"
    assert ID_NUMBER not in attempt.post_data
    events = AuditEvent.objects.filter(action__startswith="auth.")
    assert events.exists()
    assert all(ID_NUMBER not in f"{e.actor}{e.object_id}{e.after}" for e in events)


# --- Password step ------------------------------------------------------------------------


def test_login_gives_a_new_session_key(client: Client, user: User) -> None:
    before = client.session
    before["language_hint"] = "zh-hans"
    before.save()
    old_key = before.session_key

    response = sign_in(client, user.username)

    new_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert response.status_code == 302
    assert new_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()
    assert UserSession.objects.filter(user=user, session_key=new_key).exists()


def test_login_and_logout_are_audited(client: Client, user: User) -> None:
    sign_in(client, user.username, ip="10.1.2.3")
    client.post(reverse("logout"))

    login = AuditEvent.objects.get(action="auth.login")
    logout = AuditEvent.objects.get(action="auth.logout")
    assert (login.actor, login.actor_user_id, login.object_id) == (
        user.username,
        user.pk,
        str(user.pk),
    )
    assert login.after == {"ip": "10.1.2.3"}
    assert (logout.actor, logout.after["reason"]) == (user.username, "user")
    assert not UserSession.objects.filter(user=user).exists()


def test_without_2fa_the_password_reaches_home_and_the_page_says_so(
    client: Client, user: User
) -> None:
    page = client.get(reverse("login")).content.decode()

    response = sign_in(client, user.username)

    assert "已关闭双因素认证" in page
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


# --- Second factor ------------------------------------------------------------------------


def test_with_2fa_a_password_alone_does_not_reach_home(
    client: Client, device: TOTPDevice, two_factor: None
) -> None:
    response = sign_in(client, device.user.username)
    home = client.get(reverse("home"))
    clients = client.get(reverse("clients:search"))

    assert response["Location"] == f"{reverse('otp_verify')}?next=%2F"
    assert home.status_code == 302
    assert home["Location"] == f"{reverse('otp_verify')}?next=%2F"
    assert clients["Location"].startswith(reverse("otp_verify"))
    assert "已关闭双因素认证" not in client.get(reverse("otp_verify")).content.decode()


def test_with_2fa_a_valid_token_reaches_the_page_asked_for(
    client: Client, device: TOTPDevice, two_factor: None
) -> None:
    sign_in(client, device.user.username, next_url=reverse("clients:search"))

    response = client.post(
        reverse("otp_verify"), {"otp_token": token(device), "next": reverse("clients:search")}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("clients:search")
    assert client.get(reverse("home")).status_code == 200
    assert AuditEvent.objects.filter(
        action="auth.otp_verified", actor=device.user.username
    ).exists()


def test_with_2fa_a_wrong_token_is_refused_and_audited(
    client: Client, device: TOTPDevice, two_factor: None
) -> None:
    sign_in(client, device.user.username)
    wrong = f"{(int(token(device)) + 500_000) % 1_000_000:06d}"

    response = client.post(reverse("otp_verify"), {"otp_token": wrong})

    assert response.status_code == 200
    assert "动态口令不正确" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302
    assert AuditEvent.objects.filter(action="auth.otp_failed").exists()


def test_with_2fa_htmx_requests_are_sent_to_the_token_step(
    client: Client, device: TOTPDevice, two_factor: None
) -> None:
    sign_in(client, device.user.username)

    response = client.get(reverse("clients:search"), headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == reverse("otp_verify")


def test_with_2fa_the_token_step_needs_a_password_first(db: None, two_factor: None) -> None:
    response = Client().get(reverse("otp_verify"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_with_2fa_a_user_without_an_authenticator_enrols_one(
    client: Client, user: User, two_factor: None
) -> None:
    response = sign_in(client, user.username)
    page = client.get(response["Location"]).content.decode()
    pending = TOTPDevice.objects.get(user=user, confirmed=False)
    qr = page.split('src="data:image/svg+xml;base64,', 1)[1].split('"', 1)[0]

    confirmed = client.post(reverse("otp_enrol"), {"otp_token": token(pending), "next": "/"})

    assert response["Location"] == f"{reverse('otp_enrol')}?next=%2F"
    assert base64.b64decode(qr).startswith(b"<svg")
    assert secret_text(pending.bin_key) in page
    assert confirmed["Location"] == "/"
    pending.refresh_from_db()
    assert pending.confirmed
    assert client.get(reverse("home")).status_code == 200
    assert AuditEvent.objects.filter(action="user.otp_enrol", object_id=str(user.pk)).exists()


def test_the_enrolment_page_shows_the_same_secret_until_it_is_confirmed(
    client: Client, user: User, two_factor: None
) -> None:
    sign_in(client, user.username)

    first = client.get(reverse("otp_enrol")).content.decode()
    second = client.get(reverse("otp_enrol")).content.decode()

    assert TOTPDevice.objects.filter(user=user).count() == 1
    secret = secret_text(TOTPDevice.objects.get(user=user).bin_key)
    assert secret in first and secret in second


def test_a_user_with_an_authenticator_cannot_enrol_another(
    client: Client, device: TOTPDevice, two_factor: None
) -> None:
    sign_in(client, device.user.username)
    pending = TOTPDevice.objects.create(user=device.user, name="attacker", confirmed=False)

    page = client.get(reverse("otp_enrol"))

    assert page["Location"].startswith(reverse("otp_verify"))
    assert totp_device_confirm(user=device.user, token=token(pending)) is None
    pending.refresh_from_db()
    assert not pending.confirmed


def test_with_2fa_logout_and_language_stay_reachable(
    client: Client, device: TOTPDevice, two_factor: None
) -> None:
    sign_in(client, device.user.username)

    language = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    logout = client.post(reverse("logout"))

    assert language["Location"] == "/"
    assert logout["Location"] == reverse("login")
    assert not signed_in(client)


def test_a_deactivated_user_cannot_sign_in(client: Client, user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)

    response = sign_in(client, user.username)

    assert response.status_code == 200
    assert not signed_in(client)
