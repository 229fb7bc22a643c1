"""Drafting, approving and freezing policy versions (CLS-5, SPEC preamble, NFR-2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, transaction

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.audit.models import AuditEvent
from huifang.core import clock
from huifang.policy.models import PolicyVersion, Rule, VersionFrozen
from huifang.policy.selectors import NoPolicyInForce, version_in_force
from huifang.policy.services import (
    policy_default_ensure,
    policy_rule_update,
    policy_version_approve,
    policy_version_discard,
    policy_version_draft,
    policy_version_load,
)

TODAY = dt.date(2026, 10, 14)  # settings.HUIFANG_TODAY


@pytest.fixture
def v1(db: None) -> PolicyVersion:
    return policy_default_ensure()


@pytest.fixture
def alice(db: None) -> Any:
    return user_with_role(Role.COMPLIANCE, username="alice")


@pytest.fixture
def bob(db: None) -> Any:
    return user_with_role(Role.COMPLIANCE, username="bob")


def draft(v1: PolicyVersion, author: Any, day: dt.date = dt.date(2026, 11, 1)) -> PolicyVersion:
    return policy_version_draft(base=v1, author=author, effective_from=day, reason="调整抽样比例")


def cls1_with_vip_at(version: PolicyVersion, assets: int, actor: Any) -> None:
    rule = version.rules.get(code="CLS-1")
    params = rule.params
    params["classes"][0]["any_of"][0][0]["min"] = assets
    policy_rule_update(rule=rule, actor=actor, params=params, enabled=True)


def test_a_draft_copies_every_rule_of_its_base(v1: PolicyVersion, alice: Any) -> None:
    new = draft(v1, alice)
    assert (new.number, new.status, new.based_on, new.author) == (2, "draft", v1, "alice")
    assert list(new.rules.values_list("code", "params")) == list(
        v1.rules.values_list("code", "params")
    )
    assert AuditEvent.objects.filter(action="policy.version_draft", object_id=str(new.pk)).exists()


def test_a_draft_cannot_be_approved_by_its_author(v1: PolicyVersion, alice: Any) -> None:
    new = draft(v1, alice)
    with pytest.raises(ValidationError, match="起草人不能批准"):
        policy_version_approve(version=new, approver=alice)
    assert PolicyVersion.objects.get(pk=new.pk).status == "draft"


def test_another_compliance_user_approves_and_it_takes_effect_on_its_date(
    v1: PolicyVersion, alice: Any, bob: Any
) -> None:
    new = draft(v1, alice)
    policy_version_approve(version=new, approver=bob, note="同意")
    assert version_in_force(on=dt.date(2026, 10, 31)) == v1
    assert version_in_force(on=dt.date(2026, 11, 1)) == new
    event = AuditEvent.objects.get(action="policy.version_approve")
    assert (
        event.actor == "test"
        and event.after["author"] == "alice"
        and len(event.after["rules_sha256"]) == 64
    )


def test_only_compliance_drafts_and_approves(v1: PolicyVersion, alice: Any) -> None:
    manager = user_with_role(Role.BRANCH_MANAGER)
    with pytest.raises(PermissionDenied):
        draft(v1, manager)
    with pytest.raises(PermissionDenied):
        policy_version_approve(version=draft(v1, alice), approver=manager)


def test_an_effective_version_cannot_be_edited(v1: PolicyVersion, alice: Any) -> None:
    rule = v1.rules.get(code="CON-3")
    with pytest.raises(ValidationError, match="已批准"):
        policy_rule_update(rule=rule, actor=alice, params={"max_per_quarter": 3}, enabled=True)
    rule.params = {"max_per_quarter": 3}
    with pytest.raises(VersionFrozen):
        rule.save()
    v1.reason = "changed"
    with pytest.raises(VersionFrozen):
        v1.save()
    with pytest.raises(ValidationError):
        policy_version_discard(version=v1, actor=alice)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE policy_rule SET enabled = false WHERE version_id = %s",
        "DELETE FROM policy_rule WHERE version_id = %s",
        "UPDATE policy_policyversion SET reason = 'x' WHERE id = %s",
        "DELETE FROM policy_policyversion WHERE id = %s",
        "INSERT INTO policy_rule (version_id, position, code, spec_id, kind, title, citation, note, enabled, params) "
        "VALUES (%s, 99, 'X-1', 'X-1', 'recusal', 'x', 'x', '', true, '{}')",
    ],
)
def test_the_database_refuses_to_change_an_approved_version(v1: PolicyVersion, sql: str) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [v1.pk])


def test_drafts_are_editable_and_validated_by_the_rule_kind(v1: PolicyVersion, alice: Any) -> None:
    new = draft(v1, alice)
    rule = new.rules.get(code="CON-3")
    policy_rule_update(rule=rule, actor=alice, params={"max_per_quarter": 3}, enabled=True)
    assert Rule.objects.get(pk=rule.pk).params == {"max_per_quarter": 3, "exempt_rules": []}
    with pytest.raises(ValidationError) as refused:
        policy_rule_update(
            rule=rule, actor=alice, params={"max_per_quarter": 0, "x": 1}, enabled=True
        )
    assert any("max_per_quarter" in m for m in refused.value.messages)
    assert any(m.startswith("x:") for m in refused.value.messages)
    event = AuditEvent.objects.get(action="policy.rule_update")
    assert (
        event.before["params"]["max_per_quarter"],
        event.after["params"]["max_per_quarter"],
    ) == (2, 3)


def test_a_version_with_inconsistent_rules_is_not_approved(
    v1: PolicyVersion, alice: Any, bob: Any
) -> None:
    new = draft(v1, alice)
    rule = new.rules.get(code="CORE-1")
    params = rule.params | {"classes": ["vip", "platinum"]}
    policy_rule_update(rule=rule, actor=alice, params=params, enabled=True)
    with pytest.raises(ValidationError, match="platinum"):
        policy_version_approve(version=new, approver=bob)


def test_a_past_effective_date_is_refused(v1: PolicyVersion, alice: Any, bob: Any) -> None:
    with pytest.raises(ValidationError, match="不能早于今天"):
        policy_version_approve(version=draft(v1, alice, dt.date(2026, 10, 1)), approver=bob)


def test_the_class_standard_changes_at_most_once_a_year(
    v1: PolicyVersion, alice: Any, bob: Any
) -> None:
    first = draft(v1, alice, dt.date(2026, 11, 1))
    cls1_with_vip_at(first, 5_000_000, alice)
    assert policy_version_approve(version=first, approver=bob).changes_standard
    second = draft(first, alice, dt.date(2026, 12, 1))
    cls1_with_vip_at(second, 8_000_000, alice)
    with pytest.raises(ValidationError, match="CLS-5"):
        policy_version_approve(version=second, approver=bob)
    approved = policy_version_approve(
        version=second, approver=bob, override_reason="监管要求临时调整"
    )
    assert approved.standard_override_reason == "监管要求临时调整"
    # Other rules may change as often as needed.
    third = draft(second, alice, dt.date(2026, 12, 15))
    policy_rule_update(
        rule=third.rules.get(code="CON-3"), actor=alice, params={"max_per_quarter": 3}, enabled=True
    )
    assert not policy_version_approve(version=third, approver=bob).changes_standard


def test_a_document_loads_as_a_draft_and_a_bad_one_loads_nothing(
    v1: PolicyVersion, alice: Any
) -> None:
    from huifang.policy.selectors import version_document

    document = version_document(v1)
    document["version"] = {"effective_from": "2027-01-01", "reason": "年度修订"}
    loaded = policy_version_load(document=document, author=alice)
    assert (loaded.status, loaded.rules.count()) == ("draft", v1.rules.count())
    document["rules"][0]["params"] = {"classes": []}
    before = PolicyVersion.objects.count()
    with pytest.raises(ValidationError, match="CLS-1"):
        policy_version_load(document=document, author=alice)
    document["rules"][0]["params"] = v1.rules.get(code="CLS-1").params
    document["rules"][1]["code"] = "CLS-2,x"
    with pytest.raises(ValidationError, match="is not like CLS-1"):
        policy_version_load(document=document, author=alice)
    assert PolicyVersion.objects.count() == before


def test_a_draft_can_be_discarded(v1: PolicyVersion, alice: Any) -> None:
    new = draft(v1, alice)
    policy_version_discard(version=new, actor=alice)
    assert not PolicyVersion.objects.filter(pk=new.pk).exists()


def test_no_version_is_in_force_before_the_first_effective_date(v1: PolicyVersion) -> None:
    with pytest.raises(NoPolicyInForce):
        version_in_force(on=dt.date(2025, 12, 31))
    with clock.frozen(TODAY):
        assert version_in_force() == v1
