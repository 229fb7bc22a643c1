"""Sign-off (SPEC EXE-5): the agent's validity gates, the leader's signature, archiving.

Every gate refuses with its own code and writes nothing (no status change, no audit
row, the claim still live).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from huifang.accounts.choices import Role
from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.org.choices import Position
from huifang.workbench import evidence, records
from huifang.workbench.choices import EvidenceKind, Method, Outcome, RecordStatus
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Attempt, Claim, Record
from huifang.workbench.tests import factories as f
from huifang.workbench.tests.test_records import (
    full_answers,
    media,  # noqa: F401 (autouse fixture)
    ready_record,
    record_of,
    upload,
    wav,
)

pytestmark = pytest.mark.django_db


def refused(code: str, sign: Any, record: Record) -> None:
    """``sign`` refuses with ``code`` and nothing is written."""
    before = Record.objects.filter(pk=record.pk).values().get()
    task_status = Task.objects.get(pk=record.task_id).status
    claims = list(Claim.objects.filter(task_id=record.task_id).values())
    audits = AuditEvent.objects.count()
    with pytest.raises(WorkbenchRefused) as caught:
        sign()
    assert caught.value.code == code, caught.value.reasons
    assert Record.objects.filter(pk=record.pk).values().get() == before
    assert Task.objects.get(pk=record.task_id).status == task_status
    assert list(Claim.objects.filter(task_id=record.task_id).values()) == claims
    assert AuditEvent.objects.count() == audits


# ---------------------------------------------------------------- the happy path


def test_a_complete_phone_callback_is_signed_by_agent_and_leader() -> None:
    """Connected attempt, answers, recording → agent signs → 营运总监 signs → task signed."""
    branch = f.branch("A01")
    agent, leader = f.agent_user(branch), f.leader_user(Role.BRANCH_OPS, branch)
    record = ready_record(agent)
    assert Claim.objects.filter(task_id=record.task_id, released_at__isnull=True).exists()

    records.sign_agent(record=record, actor=f.actor(agent))
    record.refresh_from_db()
    assert record.status == RecordStatus.AGENT_SIGNED and record.agent_signed_at == clock.now()
    assert record.content_sha256 == records.content_hash(record)
    assert not Claim.objects.filter(task_id=record.task_id, released_at__isnull=True).exists()

    records.sign_leader(record=record, actor=f.actor(leader))
    record.refresh_from_db()
    assert record.status == RecordStatus.SIGNED and record.leader_id == leader.staff.pk
    assert record.leader_role == Role.BRANCH_OPS
    assert record.retention_until == dt.date(2046, 10, 14)  # NFR-3: 20 years
    assert Task.objects.get(pk=record.task_id).status == "signed"
    actions = list(
        AuditEvent.objects.filter(object_type="workbench.Record", object_id=str(record.pk))
        .exclude(action="workbench.review_draw")  # REV-1 may draw it (by its number): not a change
        .order_by("id").values_list("action", flat=True)
    )  # fmt: skip
    assert actions[-2:] == ["workbench.record_sign_agent", "workbench.record_sign_leader"]


def test_a_visit_needs_the_signed_record_scan_and_no_phone_call() -> None:
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    task = f.connected_task(agent, method=Method.VISIT, record=True)
    record = record_of(task)
    actor = f.actor(agent)
    records.save_answers(record=record, actor=actor, answers=full_answers(record), findings=[],
                         notes="")  # fmt: skip
    refused("no_evidence", lambda: records.sign_agent(record=record, actor=actor), record)
    evidence.attach(task=task, actor=actor, kind=EvidenceKind.SIGNED_RECORD,
                    upload=upload("scan.pdf", b"%PDF-1.4\n%%EOF\n"))  # fmt: skip
    records.sign_agent(record=record, actor=actor)
    assert Record.objects.get(pk=record.pk).status == RecordStatus.AGENT_SIGNED


def test_a_call_center_call_id_stands_for_the_recording() -> None:
    """EXE-2: phone → a recording file or the call center's call id."""
    agent = f.agent_user(f.branch("A01"))
    record = ready_record(agent, recording=False)
    evidence.attach(task=record.task, actor=f.actor(agent), kind=EvidenceKind.CALL_ID,
                    call_id="CC-20261012-0001")  # fmt: skip
    records.sign_agent(record=record, actor=f.actor(agent))
    assert Record.objects.get(pk=record.pk).status == RecordStatus.AGENT_SIGNED


# ---------------------------------------------------------------- the agent's gates


def test_sign_agent_refuses_someone_who_does_not_hold_the_task() -> None:
    branch = f.branch("A01")
    agent, other = f.agent_user(branch), f.agent_user(branch)
    record = ready_record(agent)
    refused("not_holder", lambda: records.sign_agent(record=record, actor=f.actor(other)), record)


def test_sign_agent_refuses_a_recused_agent() -> None:
    """CON-1: the agent became the client's broker after the assignment."""
    agent = f.agent_user(f.branch("A01"))
    record = ready_record(agent)
    client = record.task.client
    client.broker = agent.staff
    client.save(update_fields=["broker"])
    refused("recused", lambda: records.sign_agent(record=record, actor=f.actor(agent)), record)


def test_sign_agent_refuses_the_marketing_sequence_for_compliance_callbacks() -> None:
    """CON-2: a 营销人员 may not do a compliance callback."""
    agent = f.agent_user(f.branch("A01"), position=Position.MARKETING)
    record = ready_record(agent)
    refused(
        "marketing_sequence",
        lambda: records.sign_agent(record=record, actor=f.actor(agent)),
        record,
    )


def test_service_callbacks_are_exempt_from_con2() -> None:
    """CON-2: service callbacks (CORE-1, SMALL-1, MRG-7) are done by the branch's service staff."""
    agent = f.agent_user(f.branch("A01"), position=Position.SERVICE)
    record = ready_record(agent, kind="service", purposes=("CORE-1",))
    records.sign_agent(record=record, actor=f.actor(agent))
    assert Record.objects.get(pk=record.pk).status == RecordStatus.AGENT_SIGNED


def test_sign_agent_refuses_inside_the_cooling_off() -> None:
    """PROD-1: a callback before the 24 h cooling-off ends is invalid (AMAC Art. 29–31)."""
    agent = f.agent_user(f.branch("A01"))
    record = ready_record(agent, purposes=("PROD-1",), opens_at=f.at(12, day=dt.date(2026, 10, 15)))
    refused("cooling_off", lambda: records.sign_agent(record=record, actor=f.actor(agent)), record)


def test_sign_agent_refuses_a_call_made_before_the_cooling_off_ended() -> None:
    agent = f.agent_user(f.branch("A01"))
    # the call was on 10-12 10:00, the cooling-off ended 10-13 10:00, it is now 10-14
    record = ready_record(agent, purposes=("PROD-1",), opens_at=f.at(10, day=dt.date(2026, 10, 13)))
    refused("cooling_off", lambda: records.sign_agent(record=record, actor=f.actor(agent)), record)
    Attempt.objects.create(task=record.task, staff=agent.staff, at=clock.now(),
                           method=Method.PHONE, outcome=Outcome.CONNECTED)  # fmt: skip
    records.sign_agent(record=record, actor=f.actor(agent))  # called again after it: valid
    assert Record.objects.get(pk=record.pk).status == RecordStatus.AGENT_SIGNED


def test_sign_agent_refuses_without_evidence() -> None:
    """EXE-2: a phone callback without a recording or call id."""
    agent = f.agent_user(f.branch("A01"))
    record = ready_record(agent, recording=False)
    refused("no_evidence", lambda: records.sign_agent(record=record, actor=f.actor(agent)), record)


def test_sign_agent_refuses_missing_required_answers() -> None:
    agent = f.agent_user(f.branch("A01"))
    task = f.connected_task(agent, record=True)
    record = record_of(task)
    answers = full_answers(record)
    section_id = next(iter(answers))
    answers[section_id].pop(next(iter(answers[section_id])))
    records.save_answers(
        record=record, actor=f.actor(agent), answers=answers, findings=[], notes=""
    )
    evidence.attach(task=task, actor=f.actor(agent), kind=EvidenceKind.RECORDING,
                    upload=upload("call.wav", wav()))  # fmt: skip
    refused("incomplete", lambda: records.sign_agent(record=record, actor=f.actor(agent)), record)


def test_sign_agent_refuses_a_phone_record_without_a_connected_call() -> None:
    agent = f.agent_user(f.branch("A01"))
    task = f.connected_task(agent, method=Method.VISIT)  # connected face to face, not by phone
    record = records.open_record(task=task, actor=f.actor(agent), method=Method.PHONE)
    records.save_answers(record=record, actor=f.actor(agent), answers=full_answers(record),
                         findings=[], notes="")  # fmt: skip
    evidence.attach(task=task, actor=f.actor(agent), kind=EvidenceKind.RECORDING,
                    upload=upload("call.wav", wav()))  # fmt: skip
    refused("incomplete", lambda: records.sign_agent(record=record, actor=f.actor(agent)), record)


def test_sign_agent_twice_is_refused() -> None:
    agent = f.agent_user(f.branch("A01"))
    record = ready_record(agent)
    records.sign_agent(record=record, actor=f.actor(agent))
    refused("signed", lambda: records.sign_agent(record=record, actor=f.actor(agent)), record)


# ---------------------------------------------------------------- the leader


def _agent_signed(**task_kwargs: Any) -> tuple[Record, Any]:
    branch = f.branch("A01")
    agent = f.agent_user(branch, position=task_kwargs.pop("position", Position.AGENT))
    record = ready_record(agent, **task_kwargs)
    records.sign_agent(record=record, actor=f.actor(agent))
    return Record.objects.get(pk=record.pk), agent


def test_sign_leader_refuses_a_draft() -> None:
    agent = f.agent_user(f.branch("A01"))
    record = ready_record(agent)
    leader = f.leader_user(Role.BRANCH_OPS, f.branch("A01"))
    refused("not_signed", lambda: records.sign_leader(record=record, actor=f.actor(leader)), record)


def test_sign_leader_refuses_the_wrong_role_or_another_branch() -> None:
    """EXE-5: a compliance record is signed by its branch's 营运总监, nobody else."""
    record, _agent = _agent_signed()
    wrong = [
        f.leader_user(Role.BRANCH_MARKETING, f.branch("A01")),
        f.leader_user(Role.BRANCH_OPS, f.branch("B01")),
        f.leader_user(Role.BRANCH_MANAGER, f.branch("A01")),
    ]
    for user in wrong:
        refused(
            "not_leader",
            lambda u=user: records.sign_leader(record=record, actor=f.actor(u)),
            record,
        )


def test_sign_leader_refuses_the_agent_himself() -> None:
    record, agent = _agent_signed()
    f.grant_role(agent, Role.BRANCH_OPS, f.branch("A01"))
    refused("own_record", lambda: records.sign_leader(record=record, actor=f.actor(agent)), record)


def test_sign_leader_refuses_a_recused_leader() -> None:
    """CON-1: the 营运总监 introduced the client."""
    record, _agent = _agent_signed()
    leader = f.leader_user(Role.BRANCH_OPS, f.branch("A01"))
    client = record.task.client
    client.introducer = leader.staff
    client.save(update_fields=["introducer"])
    refused("recused", lambda: records.sign_leader(record=record, actor=f.actor(leader)), record)


def test_a_service_record_is_signed_by_the_marketing_director_and_archived_by_ops() -> None:
    """EXE-5, 004 §13.3: 营销总监 signs a service record, then the 营运总监 archives it."""
    record, _agent = _agent_signed(kind="service", purposes=("CORE-1",), position=Position.SERVICE)
    ops = f.leader_user(Role.BRANCH_OPS, f.branch("A01"))
    marketing = f.leader_user(Role.BRANCH_MARKETING, f.branch("A01"))
    refused("not_leader", lambda: records.sign_leader(record=record, actor=f.actor(ops)), record)
    refused("not_signed", lambda: records.archive(record=record, actor=f.actor(ops)), record)
    records.sign_leader(record=record, actor=f.actor(marketing))
    record.refresh_from_db()
    assert record.status == RecordStatus.SIGNED and record.leader_role == Role.BRANCH_MARKETING
    refused("not_leader", lambda: records.archive(record=record, actor=f.actor(marketing)), record)
    records.archive(record=record, actor=f.actor(ops))
    record.refresh_from_db()
    assert record.status == RecordStatus.ARCHIVED and record.archived_by_id == ops.staff.pk
    assert record.archived_at == clock.now()
    refused("signed", lambda: records.archive(record=record, actor=f.actor(ops)), record)


def test_a_compliance_record_is_not_archived() -> None:
    record, _agent = _agent_signed()
    leader = f.leader_user(Role.BRANCH_OPS, f.branch("A01"))
    records.sign_leader(record=record, actor=f.actor(leader))
    record.refresh_from_db()
    refused("wrong_state", lambda: records.archive(record=record, actor=f.actor(leader)), record)


def test_a_company_level_record_is_signed_by_the_call_center() -> None:
    """CON-6: company-level callbacks are signed by the head office's call center."""
    center = f.call_center()
    agent = f.agent_user(center)
    record = ready_record(agent, level="company")
    records.sign_agent(record=record, actor=f.actor(agent))
    branch_ops = f.leader_user(Role.BRANCH_OPS, record.branch)
    refused(
        "not_leader", lambda: records.sign_leader(record=record, actor=f.actor(branch_ops)), record
    )
    hq = f.leader_user(Role.HQ_SERVICE, center)
    records.sign_leader(record=record, actor=f.actor(hq))
    assert Record.objects.get(pk=record.pk).leader_role == Role.HQ_SERVICE
