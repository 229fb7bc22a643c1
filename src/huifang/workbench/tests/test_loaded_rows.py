"""Services that reuse the rows they read (issue 7 load) state the same content hashes as a
fresh read of the database (EXE-5): the audit row of a save, the signature, the API answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from huifang.audit.models import AuditEvent
from huifang.workbench import records
from huifang.workbench.models import Record
from huifang.workbench.tests import factories as f
from huifang.workbench.tests.test_records import full_answers, ready_record

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path


def _saved_hashes(record: Record) -> tuple[str, str]:
    row = AuditEvent.objects.filter(action="workbench.record_save", object_id=str(record.pk))
    last = row.order_by("-id").first()
    assert last is not None
    return last.before["content_sha256"], last.after["content_sha256"]


def test_a_save_states_the_hashes_a_fresh_read_gives_before_and_after() -> None:
    agent = f.agent_user(f.branch("A01"))
    record = ready_record(agent)  # answered once, no findings yet
    before_read = records.content_hash(Record.objects.get(pk=record.pk))
    purpose = Record.objects.get(pk=record.pk).task.purposes.get()
    answers = full_answers(record)
    first = next(iter(answers))
    item = next(iter(answers[first]))
    answers[first] = {**answers[first], item: {**answers[first][item], "note": "客户补充说明"}}
    loaded = records.Loaded()
    records.save_answers(
        record=record, actor=f.actor(agent), answers=answers, notes="第二次保存",
        findings=[{"kind": "suggestion", "category": "trading", "text": "希望延长服务时间",
                   "purpose_id": purpose.pk},
                  {"kind": "problem", "category": "account", "text": "地址有误"}],
        loaded=loaded,
    )  # fmt: skip
    before, after = _saved_hashes(record)
    fresh = Record.objects.get(pk=record.pk)
    assert before == before_read
    assert after == records.content_hash(fresh) != before
    # what the service hands back for the API's answer is what the database holds
    assert [(s.pk, s.answers) for s in loaded.sections or []] == [
        (s.pk, s.answers) for s in fresh.sections.order_by("position", "id")
    ]
    assert [(x.kind, x.text, x.purpose_id) for x in loaded.findings or []] == [
        (x.kind, x.text, x.purpose_id) for x in fresh.findings.order_by("id")
    ]
    # a second save replaces the findings: the hash again matches a fresh read
    records.save_answers(record=fresh, actor=f.actor(agent), answers={}, findings=[], notes="三")
    assert _saved_hashes(record)[1] == records.content_hash(Record.objects.get(pk=record.pk))


def test_the_signature_hash_is_the_hash_of_a_fresh_read() -> None:
    agent = f.agent_user(f.branch("A01"))
    record = ready_record(agent)
    records.save_answers(
        record=record, actor=f.actor(agent), answers={}, notes="签前",
        findings=[{"kind": "need", "category": "account", "text": "需要纸质对账单"}],
    )  # fmt: skip
    signed = records.sign_agent(record=record, actor=f.actor(agent), loaded=records.Loaded())
    assert signed.content_sha256 == records.content_hash(Record.objects.get(pk=record.pk))
