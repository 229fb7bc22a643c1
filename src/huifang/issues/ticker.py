"""The in-process ticker of the embedded mode (ISS-5): no Celery beat there.

On a request, at most once every ``settings.HUIFANG_ISSUES_TICK_SECONDS`` per process, the
tick is started through ``core.background.dispatch`` (a thread in the embedded default).
With Celery (production) the beat schedule runs ``huifang.issues.tasks.tick`` instead;
inline mode (tests) never ticks by itself. The tick is idempotent, so a second process
ticking too writes nothing twice.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings

_lock = threading.Lock()
_last: list[float] = [0.0]


def due(now: float) -> bool:
    """True once per interval; False in Celery or inline mode, or with the ticker off."""
    seconds = int(getattr(settings, "HUIFANG_ISSUES_TICK_SECONDS", 0) or 0)
    if seconds <= 0 or getattr(settings, "HUIFANG_BACKGROUND", "thread") != "thread":
        return False
    with _lock:
        if now - _last[0] < seconds:
            return False
        _last[0] = now
        return True


def on_request(**kwargs: Any) -> None:
    """``request_started`` receiver: start a tick when one is due."""
    if not due(time.monotonic()):
        return
    from huifang.core.background import dispatch
    from huifang.issues import tasks

    dispatch(tasks.tick)
