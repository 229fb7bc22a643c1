"""Gunicorn configuration of the workbench load benchmark (``bench/workbench_load.py``).

The server must believe it is inside the CON-5 call hours (09:00–20:00) on a working
day whatever the real time of day is. ``core.clock`` pins a date (``HUIFANG_TODAY``)
but keeps the real time of day, so this configuration, for the benchmark's server
only, makes ``clock.now()`` run from ``HUIFANG_BENCH_NOW`` (an ISO datetime) at the
moment the master started: the clock still advances, one real second a second.
Nothing in ``src/`` changes; blocks pinned with ``clock.frozen`` still win.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

_START = os.environ.get("HUIFANG_BENCH_NOW", "")
_REAL_AT_START = dt.datetime.now(tz=dt.UTC)  # taken once, in the master: every worker agrees


def _shift_clock() -> None:
    if not _START:
        return
    from huifang.core import clock

    offset = dt.datetime.fromisoformat(_START) - _REAL_AT_START

    def now() -> dt.datetime:
        if clock._pinned:
            return clock._pinned[-1]
        return (dt.datetime.now(tz=dt.UTC) + offset).astimezone(clock.SHANGHAI)

    clock.now = now  # type: ignore[assignment]


def post_fork(server: Any, worker: Any) -> None:
    _shift_clock()


def when_ready(server: Any) -> None:
    """In the master, before the workers fork (``--preload``): the shifted clock, and the
    imports Django and the API would otherwise make on each worker's first request (the
    URL conf, about 1.3 s; the workbench services the API imports lazily) — start-up
    cost, not the steady state the benchmark measures. No database connection is opened."""
    _shift_clock()
    from django.conf import settings
    from django.urls import get_resolver

    if settings.configured:
        get_resolver().url_patterns  # noqa: B018 (imports every urls module)
        for name in ("queue", "attempts", "records", "evidence", "questionnaires"):
            __import__(f"huifang.workbench.{name}")


accesslog = None
errorlog = "-"
loglevel = os.environ.get("HUIFANG_BENCH_GUNICORN_LOGLEVEL", "warning")
# Sync workers (the benchmark's default) close the connection after each answer, and each
# request comes on a new one. With ``--worker-class gthread`` the agents wait 1–3 s between
# requests on a kept-alive connection; gunicorn's default keep-alive (2 s) would close it
# under them, a race that surfaces as connection resets. A proxy in front (nginx: 75 s)
# keeps client connections open the same way.
keepalive = 75
graceful_timeout = 5
timeout = 60
