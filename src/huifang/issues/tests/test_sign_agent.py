"""ISS-1 end to end: the agent's signature turns the record's findings into routed issues."""

from __future__ import annotations

import pytest

from huifang.issues.choices import IssueStatus, Source
from huifang.issues.models import Issue
from huifang.issues.tests import factories as f
from huifang.workbench import records
from huifang.workbench.tests import factories as wf
from huifang.workbench.tests.test_records import (
    full_answers,
    media,  # noqa: F401 (autouse fixture)
    ready_record,
)

pytestmark = pytest.mark.django_db


def test_sign_agent_raises_one_issue_per_finding() -> None:
    w = f.world()
    agent = wf.agent_user(w.a01)
    record = ready_record(agent)
    actor = wf.actor(agent)
    findings = [
        {"kind": "problem", "category": "fees", "text": "佣金费率与约定不一致"},
        {"kind": "need", "category": "research", "text": "希望收到研究报告"},
    ]
    records.save_answers(record=record, actor=actor, answers=full_answers(record),
                         findings=findings, notes="已核对。")  # fmt: skip
    records.sign_agent(record=record, actor=actor)

    issues = list(Issue.objects.filter(record=record).order_by("id"))
    assert [(i.kind, i.category, i.department_id) for i in issues] == [
        ("problem", "fees", "HQRT"), ("need", "research", "HQRT")]  # fmt: skip
    assert {(i.source, i.status, i.branch_id, i.agent_id) for i in issues} == {
        (Source.FINDING, IssueStatus.ROUTED, "A01", agent.staff.pk)}  # fmt: skip
    assert {i.finding.record_id for i in issues if i.finding} == {record.pk}
