"""Named points where a test can make the process die (SIGKILL) to prove crash safety.

``HUIFANG_CRASHPOINT=name:n`` kills the process the n-th time ``crashpoint(name)``
is reached (n defaults to 1). Unset in production: one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_hits: Counter[str] = Counter()


def crashpoint(name: str) -> None:
    spec = os.environ.get("HUIFANG_CRASHPOINT")
    if not spec:
        return
    target, _, count = spec.partition(":")
    if target != name:
        return
    _hits[name] += 1
    if _hits[name] >= int(count or "1"):
        os.kill(os.getpid(), signal.SIGKILL)
