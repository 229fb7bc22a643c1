"""The policy read once per request (issue 7 load), and read again after every write to it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.core import memo
from huifang.policy import kinds
from huifang.policy.models import PolicyVersion
from huifang.policy.selectors import NoPolicyInForce, rule_params, version_in_force
from huifang.policy.services import (
    policy_default_ensure,
    policy_rule_update,
    policy_version_approve,
    policy_version_draft,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 10, 14)  # settings.HUIFANG_TODAY
LATER = dt.date(2026, 11, 2)
# What the workbench's next-task request asks for: CON-5, the constraints, the purpose's rule.
CODES = ("CON-5", "CON-1", "CON-2", "CON-3", "NEW-2")


@pytest.fixture
def v1() -> PolicyVersion:
    return policy_default_ensure()


def test_in_a_scope_the_version_and_its_rules_are_read_once(v1: PolicyVersion) -> None:
    with memo.scope(), CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            version = version_in_force(on=TODAY)
            assert version.pk == v1.pk
            for code in CODES:
                assert rule_params(version, code) is not None
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]


def test_the_joined_read_gives_the_orm_s_version_and_rules(v1: PolicyVersion) -> None:
    """Version in force and enabled rules in one query equal the ORM's reads, typed alike; a
    disabled rule is absent; with no version in force, the error says so (and nothing is kept)."""
    alice = user_with_role(Role.COMPLIANCE, username="alice")
    bob = user_with_role(Role.COMPLIANCE, username="bob")
    draft = policy_version_draft(base=v1, author=alice, effective_from=LATER, reason="调整")
    rule = draft.rules.get(code="CON-5")
    policy_rule_update(rule=rule, actor=alice, params=rule.params, enabled=False)
    v2 = policy_version_approve(version=draft, approver=bob)
    codes = [*v1.rules.values_list("code", flat=True), "NOPE-1"]
    for day, expected in ((TODAY, v1), (LATER, v2)):
        expected = PolicyVersion.objects.get(pk=expected.pk)
        alone = {code: rule_params(expected, code) for code in codes}
        with memo.scope(), CaptureQueriesContext(connection) as queries:
            version = version_in_force(on=day)
            scoped = {code: rule_params(version, code) for code in codes}
        assert len(queries) == 1
        fields = [f.attname for f in PolicyVersion._meta.concrete_fields]
        assert [getattr(version, n) for n in fields] == [getattr(expected, n) for n in fields]
        assert scoped == alone
    assert scoped["CON-5"] is None and alone["CON-1"] is not None
    with memo.scope(), pytest.raises(NoPolicyInForce, match="2020-01-01"):
        version_in_force(on=dt.date(2020, 1, 1))


def test_outside_a_scope_every_read_queries_as_before(v1: PolicyVersion) -> None:
    with CaptureQueriesContext(connection) as queries:
        for _ in range(2):
            rule_params(version_in_force(on=TODAY), "CON-5")
    assert len(queries) == 4


def test_a_scope_reads_the_same_parameters_as_a_single_rule_query(v1: PolicyVersion) -> None:
    """Every rule of the default policy (disabled ones and unknown codes: None)."""
    codes = [*v1.rules.values_list("code", flat=True), "NOPE-1"]
    alone = {code: rule_params(v1, code) for code in codes}
    with memo.scope():
        scoped = {code: rule_params(v1, code) for code in codes}
    assert scoped == alone
    assert alone["TX-1"] is None and alone["NOPE-1"] is None and alone["CON-5"] is not None


def test_a_request_that_publishes_a_version_then_reads_sees_it(v1: PolicyVersion) -> None:
    alice = user_with_role(Role.COMPLIANCE, username="alice")
    bob = user_with_role(Role.COMPLIANCE, username="bob")
    with memo.scope():
        assert version_in_force(on=LATER).pk == v1.pk
        draft = policy_version_draft(base=v1, author=alice, effective_from=LATER, reason="调整")
        rule = draft.rules.get(code="CON-5")
        assert rule_params(draft, "CON-5") == rule_params(v1, "CON-5")
        policy_rule_update(
            rule=rule, actor=alice, params={"start": "08:30", "end": "20:00"}, enabled=True
        )
        changed = rule_params(draft, "CON-5")
        assert isinstance(changed, kinds.CallHours) and changed.start == "08:30"
        policy_version_approve(version=draft, approver=bob)
        assert version_in_force(on=LATER).pk == draft.pk
        assert version_in_force(on=TODAY).pk == v1.pk
