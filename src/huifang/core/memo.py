"""A request-scoped memo: a value read many times in one request is computed once (issue 7).

``with memo.scope():`` (every HTTP request, ``MemoScopeMiddleware``) activates an empty
memo; ``get_or_compute(key, fn)`` then calls ``fn`` once per key and scope. Outside a
scope it just calls ``fn``: commands, the nightly run and tests behave as without it.

A memoized value is shared by every caller in the scope: callers must not mutate it.
A write to what a memoized read depends on calls ``clear()`` (the policy's services do).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_memo: ContextVar[dict[Hashable, Any] | None] = ContextVar("huifang_memo", default=None)


@contextmanager
def scope() -> Iterator[None]:
    """A fresh memo for the block (nested scopes get their own, the outer one comes back)."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def active() -> bool:
    return _memo.get() is not None


def get_or_compute(key: Hashable, fn: Callable[[], T]) -> T:
    """``fn()``, computed once per ``key`` within the active scope (every time without one).

    An exception is not memoized: the next call computes again.
    """
    memo = _memo.get()
    if memo is None:
        return fn()
    try:
        return memo[key]  # type: ignore[no-any-return]
    except KeyError:
        value = memo[key] = fn()
        return value


def clear() -> None:
    """Forget every memoized value of the active scope (after a write they depend on)."""
    memo = _memo.get()
    if memo is not None:
        memo.clear()
