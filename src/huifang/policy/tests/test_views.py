"""Policy pages: versions, rules with their citations, the diff, drafting and approval."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.core.testing import assert_forbidden, browser
from huifang.policy.models import PolicyVersion
from huifang.policy.services import policy_default_ensure, policy_version_draft


@pytest.fixture
def v1(db: None) -> PolicyVersion:
    return policy_default_ensure()


@pytest.fixture
def alice(db: None) -> Any:
    return user_with_role(Role.COMPLIANCE, username="alice")


@pytest.fixture
def bob(db: None) -> Any:
    return user_with_role(Role.COMPLIANCE, username="bob")


@pytest.fixture
def v2(v1: PolicyVersion, alice: Any) -> PolicyVersion:
    import datetime as dt

    return policy_version_draft(
        base=v1, author=alice, effective_from=dt.date(2026, 11, 2), reason="调整季度上限"
    )


def test_every_signed_in_user_reads_the_policy_and_its_citations(v1: PolicyVersion) -> None:
    agent = user_with_role(Role.AGENT)
    html = browser(agent).get(reverse("policy:index")).content.decode()
    assert (
        "第 1 版" in html and "现行" in html and reverse("policy:draft", args=[v1.pk]) not in html
    )
    html = browser(agent).get(reverse("policy:version", args=[v1.pk])).content.decode()
    assert "规则 NEW-1 · 来源 004 第十二条(一)1；004 经纪人 第三条、第五条" in html
    assert "规则 CLS-1 · 来源 003 第三条" in html and "客户基本分类（2009年标准）" in html
    assert "批准本版本" not in html


def test_compliance_drafts_a_new_version(v1: PolicyVersion, alice: Any) -> None:
    http = browser(alice)
    response = http.post(
        reverse("policy:draft", args=[v1.pk]),
        {"effective_from": "2026-11-02", "reason": "年度修订"},
    )
    draft = PolicyVersion.objects.get(number=2)
    assert response.status_code == 302 and response["Location"] == reverse(
        "policy:version", args=[draft.pk]
    )
    html = http.get(response["Location"]).content.decode()
    assert (
        "草稿" in html
        and "本草稿由您起草，须由另一名合规人员批准。" in html
        and "批准本版本" not in html
    )


def test_the_author_cannot_approve_another_compliance_user_can(
    v2: PolicyVersion, alice: Any, bob: Any
) -> None:
    url = reverse("policy:approve", args=[v2.pk])
    response = browser(alice).post(url, {"note": ""})
    assert response.status_code == 400 and "起草人不能批准" in response.content.decode()
    response = browser(bob).post(url, {"note": "同意"})
    assert response.status_code == 302
    v2.refresh_from_db()
    assert (v2.status, v2.approved_by, v2.approval_note) == ("approved", bob, "同意")


def test_a_rule_is_edited_as_json_and_checked_by_its_kind(v2: PolicyVersion, alice: Any) -> None:
    rule = v2.rules.get(code="CON-3")
    url = reverse("policy:rule_edit", args=[rule.pk])
    http = browser(alice)
    assert "&quot;max_per_quarter&quot;: 2" in http.get(url).content.decode()
    refused = http.post(url, {"enabled": "on", "params": json.dumps({"max_per_quarter": 0})})
    assert refused.status_code == 400 and "max_per_quarter" in refused.content.decode()
    broken = http.post(url, {"enabled": "on", "params": "{"})
    assert broken.status_code == 400 and "不是有效的 JSON" in broken.content.decode()
    saved = http.post(url, {"enabled": "on", "params": json.dumps({"max_per_quarter": 3})})
    assert saved.status_code == 302
    rule.refresh_from_db()
    assert rule.params["max_per_quarter"] == 3


def test_the_diff_shows_the_draft_beside_the_version_in_force(
    v2: PolicyVersion, alice: Any
) -> None:
    from huifang.policy.services import policy_rule_update

    policy_rule_update(
        rule=v2.rules.get(code="CON-3"), actor=alice, params={"max_per_quarter": 3}, enabled=True
    )
    html = (
        browser(user_with_role(Role.AGENT))
        .get(reverse("policy:diff", args=[v2.pk]))
        .content.decode()
    )
    assert "左：第 1 版（现行）；右：第 2 版" in html
    assert 'id="diff-CON-3"' in html and "params.max_per_quarter" in html
    assert 'id="diff-NEW-1"' not in html and "另有 52 条规则相同" in html


def test_an_approved_version_offers_no_edit(v1: PolicyVersion, alice: Any) -> None:
    rule = v1.rules.get(code="CON-3")
    http = browser(alice)
    assert (
        "已批准的版本不能修改"
        in http.get(reverse("policy:rule_edit", args=[rule.pk])).content.decode()
    )
    refused = http.post(
        reverse("policy:rule_edit", args=[rule.pk]), {"params": json.dumps({"max_per_quarter": 9})}
    )
    assert refused.status_code == 400
    rule.refresh_from_db()
    assert rule.params["max_per_quarter"] == 2


@pytest.mark.parametrize("name", ["draft", "edit", "approve", "discard"])
def test_only_compliance_changes_the_policy(v2: PolicyVersion, name: str) -> None:
    manager = user_with_role(Role.BRANCH_MANAGER)
    assert_forbidden(browser(), manager, reverse(f"policy:{name}", args=[v2.pk]))
    assert_forbidden(
        browser(), manager, reverse("policy:rule_edit", args=[v2.rules.first().pk]), method="get"
    )  # type: ignore[union-attr]


def test_a_draft_can_be_discarded_from_its_page(v2: PolicyVersion, alice: Any) -> None:
    response = browser(alice).post(reverse("policy:discard", args=[v2.pk]))
    assert response.status_code == 302 and not PolicyVersion.objects.filter(pk=v2.pk).exists()
