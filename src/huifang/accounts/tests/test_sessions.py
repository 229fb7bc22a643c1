"""Session limits and ending sessions: idle, absolute, deactivation, bulk deactivation."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from huifang.accounts.models import User, UserSession
from huifang.accounts.services import end_sessions_for_users, user_deactivate
from huifang.accounts.sessions import (
    ABSOLUTE,
    IDLE,
    LOGIN_AT,
    SEEN_AT,
    needs_touch,
    session_expiry,
)
from huifang.accounts.tests.factories import UserFactory
from huifang.audit.models import AuditEvent


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def age(client: Client, key: str, seconds: int) -> None:
    """Move one of the session's times ``seconds`` into the past."""
    session = client.session
    session[key] = session[key] - seconds
    session.save()


@pytest.mark.parametrize(
    ("login_ago", "seen_ago", "expected"),
    [
        (0, 0, None),
        (100, 1799, None),
        (100, 1800, IDLE),
        (43_199, 10, None),
        (43_200, 10, ABSOLUTE),
        (50_000, 5000, ABSOLUTE),
    ],
)
def test_session_expiry_applies_both_limits(
    login_ago: int, seen_ago: int, expected: str | None
) -> None:
    now = 1_800_000_000
    result = session_expiry(
        login_at=now - login_ago, seen_at=now - seen_ago, now=now, idle=1800, absolute=43_200
    )
    assert result == expected


def test_a_session_without_times_counts_as_expired() -> None:
    assert session_expiry(login_at=None, seen_at=None, now=1.0, idle=1, absolute=2) == ABSOLUTE
    assert session_expiry(login_at=1.0, seen_at="x", now=1.0, idle=1, absolute=2) == IDLE


def test_activity_is_written_at_most_once_a_minute() -> None:
    assert not needs_touch(seen_at=100, now=159)
    assert needs_touch(seen_at=100, now=160)


def test_login_starts_both_session_clocks(user: User) -> None:
    client = logged_in(user)

    session = client.session

    assert abs(session[LOGIN_AT] - time.time()) < 60
    assert session[SEEN_AT] == session[LOGIN_AT]


def test_an_idle_session_is_logged_out(user: User) -> None:
    client = logged_in(user)
    age(client, SEEN_AT, settings.HUIFANG_SESSION_IDLE_SECONDS + 1)

    response = client.get(reverse("home"))
    page = client.get(response["Location"]).content.decode()

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=%2F"
    assert SESSION_KEY not in client.session
    assert "长时间未操作" in page
    event = AuditEvent.objects.get(action="auth.logout")
    assert (event.actor, event.after["reason"]) == (user.username, "timeout_idle")


def test_a_session_past_the_absolute_limit_is_logged_out_despite_activity(user: User) -> None:
    client = logged_in(user)
    age(client, LOGIN_AT, settings.HUIFANG_SESSION_ABSOLUTE_SECONDS + 1)

    response = client.get(reverse("home"))

    assert response["Location"].startswith(reverse("login"))
    assert SESSION_KEY not in client.session
    assert AuditEvent.objects.get(action="auth.logout").after["reason"] == "timeout_absolute"


def test_activity_keeps_a_session_alive(user: User) -> None:
    client = logged_in(user)
    age(client, SEEN_AT, settings.HUIFANG_SESSION_IDLE_SECONDS - 120)

    response = client.get(reverse("home"))

    assert response.status_code == 200
    assert abs(client.session[SEEN_AT] - time.time()) < 60


def test_an_htmx_request_of_an_expired_session_redirects_the_page(user: User) -> None:
    client = logged_in(user)
    age(client, SEEN_AT, settings.HUIFANG_SESSION_IDLE_SECONDS + 1)

    response = client.get(reverse("clients:search"), headers={"HX-Request": "true"})

    assert response["HX-Redirect"] == reverse("login")


def test_deactivation_ends_every_session_of_the_user(user: User) -> None:
    office, laptop = logged_in(user), logged_in(user)
    keys = [office.session.session_key, laptop.session.session_key]
    other = logged_in(UserFactory(username="lisi"))
    assert office.get(reverse("home")).status_code == 200

    user_deactivate(user=user)

    assert not Session.objects.filter(session_key__in=keys).exists()
    for client in (office, laptop):
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert other.get(reverse("home")).status_code == 200
    event = AuditEvent.objects.get(action="user.deactivate")
    assert event.after == {"is_active": False, "sessions_ended": 2}


def test_ending_sessions_after_a_bulk_deactivation(user: User) -> None:
    client = logged_in(user)
    key = client.session.session_key
    other = logged_in(UserFactory(username="lisi"))

    User.objects.filter(pk=user.pk).update(is_active=False)
    ended = end_sessions_for_users([user.pk])

    assert ended == 1
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(user=user).exists()
    assert client.get(reverse("home"))["Location"].startswith(reverse("login"))
    assert other.get(reverse("home")).status_code == 200
    event = AuditEvent.objects.get(action="user.sessions_end")
    assert event.after == {"users": [user.pk], "sessions_ended": 1}


def test_ending_sessions_of_users_without_any_writes_nothing(user: User) -> None:
    assert end_sessions_for_users([user.pk, 999_999]) == 0
    assert not AuditEvent.objects.filter(action="user.sessions_end").exists()


def test_a_new_login_forgets_sessions_that_have_ended(user: User) -> None:
    first = logged_in(user)
    stale = first.session.session_key
    Session.objects.filter(session_key=stale).delete()

    logged_in(user)

    assert not UserSession.objects.filter(session_key=stale).exists()
    assert UserSession.objects.filter(user=user).count() == 1
