"""Round trips of an API call (issue 7 load): token auth, grants and staff in one query; the
policy in force and its rules read once per request however often the services ask."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from huifang.accounts.choices import Role, ScopeKind
from huifang.accounts.models import RoleGrant, User
from huifang.api.auth import TokenAuth
from huifang.api.models import ApiToken
from huifang.api.services import token_create, token_revoke
from huifang.core import clock
from huifang.core.context_processors import with_grants
from huifang.workbench.actors import actor_of
from huifang.workbench.tests import factories as f

pytestmark = pytest.mark.django_db

TEN = f.at(10)


@pytest.fixture(autouse=True)
def _policy(db: None) -> None:
    f.policy()


@pytest.fixture
def agent() -> User:
    return f.agent_user(f.branch("A01"), username="cc_agent")


@pytest.fixture
def token(agent: User) -> str:
    return token_create(user=agent, name="callcenter")[1]


def authenticate(raw: str) -> tuple[Any, Any, int]:
    """What ``TokenAuth`` answers, what it kept for the audit row, and its queries."""
    request = RequestFactory().get("/api/v1/workbench/tasks/1")
    with CaptureQueriesContext(connection) as queries:
        found = TokenAuth().authenticate(request, raw)
    return found, getattr(request, "huifang_auth_refused", None), len(queries)


def test_token_grants_and_staff_of_the_actor_take_one_query(agent: User, token: str) -> None:
    with CaptureQueriesContext(connection) as queries:
        found = TokenAuth().authenticate(RequestFactory().get("/"), token)
        assert found is not None
        actor = actor_of(found.user, channel="api")
        staff_id, roles = actor.need_staff().pk, actor.roles
        scope = [(g.role, g.scope, g.unit_id, g.region_id) for g in found.user.role_grants.all()]
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    assert staff_id == agent.staff_id and roles == {Role.AGENT}
    assert scope == [(Role.AGENT, ScopeKind.BRANCH, "A01", None)]


def test_the_resolved_user_equals_the_orm_s_with_every_grant(agent: User, token: str) -> None:
    """The hand-written join gives the rows the ORM gives: token, user, staff, grants in
    (role, id) order with their unit and region, typed alike on both databases."""
    region = f.branch("A02").region
    RoleGrant.objects.create(user=agent, role=Role.REVIEWER, scope=ScopeKind.REGION, region=region)
    RoleGrant.objects.create(user=agent, role=Role.COMPLIANCE, scope=ScopeKind.ALL)
    found, _refused, n = authenticate(token)
    assert found is not None and n == 1

    orm = ApiToken.objects.select_related("user", "user__staff").get(pk=found.pk)
    with_grants(orm.user)

    def fields(obj: Any) -> dict[str, Any]:
        return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}

    assert fields(found) == fields(orm) and fields(found.user) == fields(orm.user)
    assert fields(found.user.staff) == fields(orm.user.staff)
    with CaptureQueriesContext(connection) as queries:
        unit = found.user.staff.unit  # loaded with the token (the CON-2 facts read it)
    assert len(queries) == 0 and fields(unit) == fields(orm.user.staff.unit)
    mine, theirs = list(found.user.role_grants.all()), list(orm.user.role_grants.all())
    assert [fields(g) for g in mine] == [fields(g) for g in theirs] and len(mine) == 3
    assert [(g.unit and fields(g.unit), g.region and fields(g.region)) for g in mine] == [
        (g.unit and fields(g.unit), g.region and fields(g.region)) for g in theirs
    ]
    assert isinstance(found.created_at, dt.datetime) and found.created_at.tzinfo is not None
    assert found.user.is_active is True and found.user.roles() == orm.user.roles()


def test_a_user_without_staff_or_grants_resolves_with_none(token: str, agent: User) -> None:
    User.objects.filter(pk=agent.pk).update(staff=None)
    RoleGrant.objects.filter(user=agent).delete()
    found, _refused, n = authenticate(token)
    assert found is not None and n == 1
    assert found.user.staff is None and list(found.user.role_grants.all()) == []


def test_every_refusal_keeps_its_reason_for_the_audit_row(agent: User, token: str) -> None:
    assert authenticate("not-a-token") == (
        None, {"reason": "malformed token", "prefix": "not-a-token"}, 0,
    )  # fmt: skip
    assert authenticate("hf_" + "x" * 43) == (
        None, {"reason": "unknown token", "prefix": "hf_xxxxxxxx"}, 1,
    )  # fmt: skip
    User.objects.filter(pk=agent.pk).update(is_active=False)
    assert authenticate(token) == (None, {"reason": "inactive user", "prefix": token[:11]}, 1)
    User.objects.filter(pk=agent.pk).update(is_active=True)
    token_revoke(user=agent, name="callcenter")
    assert authenticate(token) == (None, {"reason": "revoked token", "prefix": token[:11]}, 1)


def test_next_reads_the_policy_in_force_and_its_rules_once(agent: User, token: str) -> None:
    """The queue, the CON-5 hours, the constraints and the record ask for the version in
    force three times and for five rules (issue 7 profile): one query reads both."""
    home = agent.staff.unit  # type: ignore[union-attr]
    f.open_task(assignee=agent, client=f.client_of(home), due=dt.date(2026, 10, 20))
    with clock.frozen(TEN), CaptureQueriesContext(connection) as queries:
        response = Client().post("/api/v1/workbench/next", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    statements = [q["sql"] for q in queries.captured_queries]
    in_force = '"effective_from" <='  # not a purpose's own version
    versions = [s for s in statements if 'FROM "policy_policyversion"' in s and in_force in s]
    rules = [s for s in statements if '"policy_rule"' in s]
    assert len(versions) == 1 and rules == versions, versions + rules
