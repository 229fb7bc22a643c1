"""The request-scoped memo (issue 7): once per key in a scope, every time outside one."""

from __future__ import annotations

from collections.abc import Callable
from itertools import count

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from huifang.core import memo
from huifang.core.middleware import MemoScopeMiddleware


def counter() -> tuple[list[int], Callable[[], int]]:
    calls: list[int] = []
    numbers = count(1)

    def compute() -> int:
        calls.append(1)
        return next(numbers)

    return calls, compute


def test_outside_a_scope_every_call_computes() -> None:
    calls, compute = counter()
    assert not memo.active()
    assert [memo.get_or_compute("k", compute) for _ in range(3)] == [1, 2, 3]
    assert len(calls) == 3
    memo.clear()  # no scope: nothing to forget, no error


def test_in_a_scope_each_key_is_computed_once_until_cleared() -> None:
    calls, compute = counter()
    with memo.scope():
        assert memo.active()
        got = [memo.get_or_compute(key, compute) for key in ("a", "a", ("b", 1), "a", ("b", 1))]
        assert got == [1, 1, 2, 1, 2] and len(calls) == 2
        memo.clear()
        assert memo.get_or_compute("a", compute) == 3
    assert not memo.active()
    assert memo.get_or_compute("a", compute) == 4


def test_a_none_value_is_memoized_and_an_exception_is_not() -> None:
    calls: list[str] = []

    def none() -> None:
        calls.append("none")

    def failing() -> int:
        calls.append("fail")
        raise LookupError

    with memo.scope():
        assert memo.get_or_compute("n", none) is None and memo.get_or_compute("n", none) is None
        for _ in range(2):
            with pytest.raises(LookupError):
                memo.get_or_compute("f", failing)
    assert calls == ["none", "fail", "fail"]


def test_scopes_nest_and_the_outer_memo_comes_back() -> None:
    with memo.scope():
        memo.get_or_compute("k", lambda: "outer")
        with memo.scope():
            assert memo.get_or_compute("k", lambda: "inner") == "inner"
            memo.clear()
        assert memo.get_or_compute("k", lambda: "again") == "outer"


def test_the_middleware_gives_each_request_its_own_scope() -> None:
    seen: list[str] = []
    numbers = count(1)

    def view(request: HttpRequest) -> HttpResponse:
        assert memo.active()
        value = memo.get_or_compute("k", lambda: f"request {next(numbers)}")
        seen.append(value)
        seen.append(memo.get_or_compute("k", lambda: "again"))
        return HttpResponse()

    middleware = MemoScopeMiddleware(view)
    for _ in range(2):
        middleware(RequestFactory().get("/"))
    assert seen == ["request 1", "request 1", "request 2", "request 2"]
    assert not memo.active()
