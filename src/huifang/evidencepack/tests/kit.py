"""Test data of the evidence pack: two clients of one branch, callbacks interleaved (NFR-2).

``make_scenario()`` signs two records of "our" client (answers, a need and a problem,
a recording and a scanned PDF, an amendment) and one of another client between
them, so the other client's audit rows sit inside our client's chain segment. It
also writes one row about our client inside the period (a PII reveal) and one
before it. ``verify(folder)`` runs the pack's ``verify.py`` with a bare Python:
``-I -S`` — no site-packages, so no Django and no huifang can be imported.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

from huifang.accounts.choices import Role
from huifang.accounts.models import User
from huifang.audit.models import AuditEvent
from huifang.audit.services import audit_record
from huifang.clients.models import Client
from huifang.core import clock
from huifang.org.models import Unit
from huifang.workbench import evidence, records
from huifang.workbench.choices import EvidenceKind, FindingCategory, FindingKind
from huifang.workbench.models import Evidence, Record
from huifang.workbench.tests import factories as f
from huifang.workbench.tests.test_records import PDF, full_answers, ready_record, wav

OURS_ID, OURS_NAME = "K7100001", "王小明"
OTHER_ID, OTHER_NAME = "ZX990077", "李四海"
START, END = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
REVEAL_AT = dt.datetime(2026, 10, 13, 15, 30, tzinfo=clock.SHANGHAI)
BEFORE_AT = dt.datetime(2026, 9, 15, 9, 0, tzinfo=clock.SHANGHAI)


@dataclass
class Scenario:
    branch: Unit
    agent: User
    leader: User
    ours: Client
    other: Client
    records: list[Record]
    other_record: Record
    reveal: AuditEvent
    before_period: AuditEvent


def make_scenario() -> Scenario:
    branch = f.branch("A01")
    agent, leader = f.agent_user(branch), f.leader_user(Role.BRANCH_OPS, branch)
    ours = f.client_of(branch, client_id=OURS_ID, name=OURS_NAME)
    other = f.client_of(branch, client_id=OTHER_ID, name=OTHER_NAME)
    before = audit_record(
        action="test.before_period", object_type="clients.Client", object_id=ours.pk,
        branch_code=branch.pk, after={"note": "九月的记录"}, at=BEFORE_AT,
    )  # fmt: skip
    first = ready_record(agent, client=ours, purposes=("NEW-1",))
    actor = f.actor(agent)
    records.save_answers(
        record=first, actor=actor, answers=full_answers(first), notes="客户确认资料无误。",
        problem_handling="已转营业部核实",
        findings=[
            {"kind": FindingKind.NEED, "category": FindingCategory.RESEARCH, "text": "希望收到研究报告"},
            {"kind": FindingKind.PROBLEM, "category": FindingCategory.ACCOUNT, "text": "地址未更新"},
        ],
    )  # fmt: skip
    theirs = ready_record(agent, client=other, recording=False)
    _attach(agent, theirs, EvidenceKind.RECORDING, "their.wav", wav(0.03))
    reveal = audit_record(
        action="clients.pii_reveal", object_type="clients.Client", object_id=ours.pk,
        branch_code=branch.pk, after={"reason": "客户来电核实身份", "fields": ["mobile"]},
        at=REVEAL_AT,
    )  # fmt: skip
    records.sign_agent(record=first, actor=actor)
    records.sign_agent(record=theirs, actor=actor)
    records.sign_leader(record=first, actor=f.actor(leader))
    # one open task per client, level and kind: the second callback follows the first
    second = ready_record(agent, client=ours, purposes=("PROD-1",))
    _attach(agent, second, EvidenceKind.OTHER, "签字确认.pdf", PDF)
    records.sign_leader(record=theirs, actor=f.actor(leader))
    records.sign_agent(record=second, actor=actor)
    records.sign_leader(record=second, actor=f.actor(leader))
    records.amend(record=first, actor=actor, reason="补充客户说明",
                  changes={"notes": "客户确认资料无误，另约下周寄送报告。"})  # fmt: skip
    return Scenario(
        branch=branch, agent=agent, leader=leader, ours=ours, other=other,
        records=[Record.objects.get(pk=r.pk) for r in (first, second)],
        other_record=Record.objects.get(pk=theirs.pk), reveal=reveal, before_period=before,
    )  # fmt: skip


def _attach(agent: User, record: Record, kind: str, name: str, content: bytes) -> Evidence:
    return evidence.attach(task=record.task, actor=f.actor(agent), kind=kind,
                           upload=SimpleUploadedFile(name, content))  # fmt: skip


def extract(pack: Path, folder: Path) -> Path:
    with zipfile.ZipFile(pack) as zf:
        zf.extractall(folder)
    return folder


def verify(folder: Path, *args: str) -> tuple[int, str]:
    """``python verify.py`` inside ``folder`` with a bare interpreter: (exit code, output)."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "verify.py", *args], cwd=folder, capture_output=True,
        text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr
