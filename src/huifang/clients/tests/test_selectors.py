from __future__ import annotations

from types import SimpleNamespace

from huifang.clients.selectors import client_changes, client_search
from huifang.clients.tests.conftest import ID_NUMBER_A, MOBILE_A
from huifang.clients.tests.factories import ClientChangeFactory, ClientFactory


def ids(queryset: object) -> list[str]:
    return [client.client_id for client in queryset]  # type: ignore[attr-defined]


def test_it_finds_a_client_by_exact_id_number(world: SimpleNamespace) -> None:
    assert ids(client_search(user=world.agent_a, query=ID_NUMBER_A)) == ["K100"]


def test_it_normalises_the_id_number_before_hashing(world: SimpleNamespace) -> None:
    spaced = f" {ID_NUMBER_A[:6]} {ID_NUMBER_A[6:].lower()} "
    assert ids(client_search(user=world.agent_a, query=spaced)) == ["K100"]


def test_it_finds_a_client_by_exact_mobile(world: SimpleNamespace) -> None:
    assert ids(client_search(user=world.agent_a, query=MOBILE_A)) == ["K100"]


def test_a_partial_id_number_or_mobile_finds_nothing(world: SimpleNamespace) -> None:
    for partial in (ID_NUMBER_A[:10], ID_NUMBER_A[-6:], MOBILE_A[:7], MOBILE_A[-4:]):
        assert ids(client_search(user=world.hq, query=partial)) == []


def test_it_finds_by_client_id_fund_account_and_name_prefix(world: SimpleNamespace) -> None:
    assert ids(client_search(user=world.hq, query="K200")) == ["K200"]
    assert ids(client_search(user=world.hq, query=world.client_b.fund_account)) == ["K300"]
    assert ids(client_search(user=world.hq, query="王")) == ["K100", "K200", "K300"]
    assert ids(client_search(user=world.hq, query="王小")) == ["K100"]


def test_a_name_is_matched_by_its_start_only(world: SimpleNamespace) -> None:
    assert ids(client_search(user=world.hq, query="明")) == []


def test_search_stays_inside_the_users_scope(world: SimpleNamespace) -> None:
    assert ids(client_search(user=world.agent_a, query="王")) == ["K100"]
    assert ids(client_search(user=world.agent_b, query="王")) == ["K300"]
    assert ids(client_search(user=world.agent_b, query=ID_NUMBER_A)) == []
    assert ids(client_search(user=world.regional, query="王")) == ["K100", "K200"]


def test_an_empty_query_finds_nothing(world: SimpleNamespace) -> None:
    assert ids(client_search(user=world.hq, query="   ")) == []


def test_search_is_limited(world: SimpleNamespace) -> None:
    ClientFactory.create_batch(5, branch=world.a01, name="李四")
    assert len(client_search(user=world.hq, query="李", limit=3)) == 3


def test_changes_are_newest_first_and_scoped(world: SimpleNamespace) -> None:
    old = ClientChangeFactory(client=world.client_a, effective_date="2026-01-05")
    new = ClientChangeFactory(client=world.client_a, effective_date="2026-10-13")
    assert list(client_changes(user=world.agent_a, client=world.client_a)) == [new, old]
    assert list(client_changes(user=world.agent_b, client=world.client_a)) == []
