"""Starting background work: Celery in production, a thread or inline when embedded.

``settings.HUIFANG_BACKGROUND``: ``celery`` (a worker picks the task up from Redis),
``thread`` (embedded default: the web request returns at once and the page polls
progress) or ``inline`` (tests: run before returning).
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections


def dispatch(task: Any, **kwargs: Any) -> None:
    """Run a Celery task (``@shared_task``) by the configured mode."""
    mode = getattr(settings, "HUIFANG_BACKGROUND", "thread")
    if mode == "celery":
        task.delay(**kwargs)
    elif mode == "inline":
        task.apply(kwargs=kwargs).get()
    else:
        threading.Thread(target=_run, args=(task, kwargs), daemon=True).start()


def _run(task: Any, kwargs: dict[str, Any]) -> None:
    try:
        task.apply(kwargs=kwargs)
    finally:
        close_old_connections()
