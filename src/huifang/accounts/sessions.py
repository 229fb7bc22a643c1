"""Session limits (ASVS V3.3): an idle limit and an absolute limit (pure functions).

The login time and the last activity are kept in the session under ``LOGIN_AT`` and
``SEEN_AT`` (Unix seconds); ``accounts.middleware.SessionTimeoutMiddleware`` applies
the rule on every request of a signed-in user.
"""

from __future__ import annotations

from typing import Any

LOGIN_AT = "huifang_login_at"
SEEN_AT = "huifang_seen_at"
# Last activity is written at most this often: the idle limit is coarse by this much,
# and a page that polls does not write its session on every poll.
TOUCH_SECONDS = 60

IDLE = "idle"
ABSOLUTE = "absolute"


def session_expiry(
    *, login_at: Any, seen_at: Any, now: float, idle: int, absolute: int
) -> str | None:
    """``ABSOLUTE`` past the absolute limit, ``IDLE`` past the idle limit, else ``None``.

    A session without the times was not opened by our login: it counts as expired.
    """
    if not isinstance(login_at, int | float) or now - login_at >= absolute:
        return ABSOLUTE
    if not isinstance(seen_at, int | float) or now - seen_at >= idle:
        return IDLE
    return None


def needs_touch(*, seen_at: Any, now: float) -> bool:
    """Whether the last activity is old enough to be written again."""
    return not isinstance(seen_at, int | float) or now - seen_at >= TOUCH_SECONDS
