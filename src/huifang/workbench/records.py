"""Callback records: open, answer, sign, archive, amend (SPEC EXE-4, EXE-5, REV-1, NFR-3).

A record is the written result of one task: one ``Section`` per purpose (CON-4) with
the purpose's questionnaire, plus the general section F1/F2 (EXE-4), the findings, the
notes. The agent signs it after the validity gates (holder, CON-1/CON-2, the PROD
cooling-off, EXE-2 evidence, required answers); the leader signs it next (营运总监 for
compliance, 营销总监 for service — then archived by the 营运总监 — and the call center's
leader for company-level callbacks). From the agent's signature on the record is
immutable: ``content_sha256`` is the hash of what was signed, corrections are appended
``Amendment`` rows, and migration 0004 makes the database refuse any other change.

Every service checks first and raises ``WorkbenchRefused`` before writing anything;
every change writes one audit row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from huifang.accounts.choices import ScopeKind
from huifang.accounts.models import RoleGrant
from huifang.audit.services import audit_record
from huifang.callbacks.choices import Level, TaskKind, TaskStatus
from huifang.callbacks.models import Purpose, Task
from huifang.callbacks.rules import recusal_conflicts
from huifang.callbacks.services import Constraints, _relations, _staff_facts, assignment_problems
from huifang.core import clock, tx
from huifang.org.models import Staff, Unit
from huifang.policy.selectors import version_in_force
from huifang.workbench import (
    access,
    evidence,
    params,
    phrases,
    questionnaires,
    review,
    selectors,
)
from huifang.workbench.actors import Actor
from huifang.workbench.choices import (
    FindingCategory,
    FindingKind,
    Method,
    Outcome,
    RecordStatus,
)
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import (
    Amendment,
    Attempt,
    Evidence,
    Finding,
    Questionnaire,
    Record,
    Section,
)
from huifang.workbench.queue import release_live, works_on

RECORD = "workbench.Record"
CLOSED_TASK = (TaskStatus.SIGNED, TaskStatus.REVIEWED, TaskStatus.UNREACHABLE, TaskStatus.CANCELLED)


# ---------------------------------------------------------------- opening and answering


def record_number(task: Task, day: Any) -> str:
    """EXE-5 record number ``HF{yyyymmdd}{task_id:08d}``."""
    return f"HF{day:%Y%m%d}{task.pk:08d}"


def open_record(*, task: Task, actor: Actor, method: str, locked: bool = False) -> Record:
    """The task's record, opened as a draft if it has none (idempotent, EXE-5, CON-4).

    A draft gets sections for purposes merged into the task since it was opened. The
    task moves to ``in_progress``. The e-questionnaire channel acts for the assignee.
    ``locked``: ``task`` is the caller's row, locked in this transaction (``log_attempt``).
    """
    _check_method(method)
    with tx.atomic():
        if not locked:
            task = (
                Task.objects.select_for_update(of=("self",))
                .select_related("client")
                .get(pk=task.pk)
            )
        existing = Record.objects.filter(task=task).first()
        if existing is not None:
            if existing.status == RecordStatus.DRAFT and _missing_sections(existing):
                _sync_sections(existing)
                _audit(
                    existing,
                    "workbench.record_sections",
                    after={"sections": _section_ids(existing)},
                )
            return existing
        agent = _agent_for_new_record(task, actor)
        if task.status in CLOSED_TASK:
            raise WorkbenchRefused("wrong_state", _("任务已结束，不能再建立回访记录"))
        now = clock.now()
        record = Record.objects.create(
            task=task, number=record_number(task, now.date()), branch_id=task.branch_id,
            client_id=task.client_id, target_staff_id=task.target_staff_id, level=task.level,
            kind=task.kind, method=method, callback_date=now.date(), agent=agent,
            source=actor.channel, created_at=now,
        )  # fmt: skip
        made = _sync_sections(record, sections=[])  # a new record has none yet
        before_status = task.status
        if task.status in (TaskStatus.OPEN, TaskStatus.ASSIGNED):
            Task.objects.filter(pk=task.pk).update(status=TaskStatus.IN_PROGRESS)
        ids = [s.pk for s in sorted(made, key=lambda s: (s.position, s.pk))]
        _audit(
            record, "workbench.record_open", before={"task_status": before_status},
            after={"number": record.number, "method": method, "agent": agent.pk,
                   "sections": ids, "task_status": TaskStatus.IN_PROGRESS},
        )  # fmt: skip
    return record


def save_answers(
    *,
    record: Record,
    actor: Actor,
    answers: dict[int, dict[str, Any]],
    findings: list[dict[str, Any]],
    notes: str,
    problem_handling: str = "",
    method: str | None = None,
    loaded: Loaded | None = None,
) -> Record:
    """Store a draft's answers, findings and notes (EXE-4, EXE-7); a signed record refuses.

    ``answers`` maps a section id to ``{item_id: {"value", "note"}}``, merged into the
    section's answers (an item given as ``None`` is cleared). Findings replace the draft's.
    ``loaded`` (empty): filled with the record's rows as saved, for the caller's answer.
    """
    with tx.atomic():
        record = _locked_record(record.pk)
        if record.status != RecordStatus.DRAFT:
            raise WorkbenchRefused("signed", _("记录已签字，不能修改；请追加更正（EXE-5）"))
        staff = _check_agent(record, actor)
        if method is not None:
            _check_method(method)
        loaded = loaded if loaded is not None else Loaded()
        sections = {s.pk: s for s in loaded.sections_of(record)}
        merged = _merged_answers(sections, answers)
        problems = [
            f"{sections[pk].questionnaire.code}: {problem}"
            for pk, values in merged.items()
            for problem in questionnaires.validate(sections[pk].questionnaire, values)
        ]
        rows = _finding_rows(record, findings, problems)
        if problems:
            raise WorkbenchRefused("bad_answer", *problems, status=400)
        before = content_hash(record, loaded)
        for pk, values in merged.items():
            Section.objects.filter(pk=pk).update(answers=values)
            sections[pk].answers = values
        if loaded.findings:
            Finding.objects.filter(record=record).delete()
        Finding.objects.bulk_create(rows)
        loaded.findings = rows  # in insertion (id) order, as content reads them back
        record.notes, record.problem_handling = notes, problem_handling
        record.banned_phrases = list(phrases.find_banned(notes))
        record.method, record.agent = method or record.method, staff
        record.save(
            update_fields=["notes", "problem_handling", "banned_phrases", "method", "agent"]
        )
        _audit(
            record, "workbench.record_save", before={"content_sha256": before},
            after={"content_sha256": content_hash(record, loaded), "answers": {str(k): v for k, v in merged.items()},
                   "findings": len(rows), "banned_phrases": record.banned_phrases,
                   "method": record.method},
        )  # fmt: skip
    return record


# ---------------------------------------------------------------- signatures


def sign_agent(*, record: Record, actor: Actor, loaded: Loaded | None = None) -> Record:
    """The agent signs (EXE-5) once every validity gate holds; the claim is released.

    Gates, each its own code: the signer holds the task and is the record's agent
    (``not_holder``); CON-1 (``recused``) and CON-2 (``marketing_sequence``); the PROD
    cooling-off, AMAC Art. 29–31 (``cooling_off``); EXE-2 evidence (``no_evidence``);
    required answers, a section per purpose and, by phone, a connected call (``incomplete``).
    ``loaded`` (empty): filled with the record's rows as signed, for the caller's answer.
    """
    with tx.atomic():
        # the record and its task locked in one statement (the client read with them, unlocked)
        record = (
            Record.objects.select_for_update(of=("self", "task"))
            .select_related("task__client")
            .get(pk=record.pk)
        )
        task = record.task  # the locked row, for the checks below
        if record.status != RecordStatus.DRAFT:
            raise WorkbenchRefused("signed", _("记录已签字"))
        staff = _check_agent(record, actor)
        _check_independence(task, staff)
        _check_cooling_off(task)
        loaded = loaded if loaded is not None else Loaded()
        _check_evidence(record, loaded)
        _check_complete(record, task, loaded)
        now = clock.now()
        record.status, record.agent_signed_at, record.agent = RecordStatus.AGENT_SIGNED, now, staff
        record.content_sha256 = content_hash(record, loaded)
        record.save(update_fields=["status", "agent_signed_at", "agent", "content_sha256"])
        released = release_live(task, "signed", now)
        _audit(
            record, "workbench.record_sign_agent", before={"status": RecordStatus.DRAFT},
            after={"status": record.status, "agent": staff.pk, "content_sha256": record.content_sha256,
                   "claims_released": released},
        )  # fmt: skip
        from huifang.issues import services as issues_services  # ISS-1 (issue 8)

        # ISS-1: findings become issues
        issues_services.raise_from_record(record, actor, findings=loaded.findings_of(record))
    return record


def sign_leader(*, record: Record, actor: Actor) -> Record:
    """The leader signs (EXE-5): the task is ``signed``, retention runs (NFR-3), REV-1 draws."""
    with tx.atomic():
        record = Record.objects.select_for_update().get(pk=record.pk)
        if record.status == RecordStatus.DRAFT:
            raise WorkbenchRefused("not_signed", _("回访人尚未签字"))
        if record.status != RecordStatus.AGENT_SIGNED:
            raise WorkbenchRefused("signed", _("负责人已签字"))
        role = leader_role(record)
        staff = _check_leader(record, actor, role)
        task = Task.objects.select_for_update().get(pk=record.task_id)
        _check_leader_recusal(task, staff)
        today = clock.today()
        record.status, record.leader, record.leader_role = RecordStatus.SIGNED, staff, role
        record.leader_signed_at, record.retention_until = clock.now(), params.retention_until(today)
        record.save(
            update_fields=["status", "leader", "leader_role", "leader_signed_at", "retention_until"]
        )
        before_task = task.status
        Task.objects.filter(pk=task.pk).update(status=TaskStatus.SIGNED)
        _audit(
            record, "workbench.record_sign_leader",
            before={"status": RecordStatus.AGENT_SIGNED, "task_status": before_task},
            after={"status": record.status, "leader": staff.pk, "leader_role": role,
                   "retention_until": record.retention_until, "task_status": TaskStatus.SIGNED,
                   "content_sha256": record.content_sha256},
        )  # fmt: skip
        review.draw_for(record)
    return record


def archive(*, record: Record, actor: Actor) -> Record:
    """A signed service record is archived by the 营运总监 (EXE-5, 004 §13.3)."""
    with tx.atomic():
        record = Record.objects.select_for_update().get(pk=record.pk)
        if record.kind != TaskKind.SERVICE:
            raise WorkbenchRefused("wrong_state", _("只有服务回访记录需要归档（EXE-5）"))
        if record.status != RecordStatus.SIGNED:
            code = "signed" if record.status == RecordStatus.ARCHIVED else "not_signed"
            raise WorkbenchRefused(code, _("营销总监签字后才能归档，且只能归档一次（EXE-5）"))
        role = access.LEADER_FOR_COMPANY if record.level == Level.COMPANY else access.ARCHIVER
        staff = _check_leader(record, actor, role)
        record.status, record.archived_by, record.archived_at = (
            RecordStatus.ARCHIVED, staff, clock.now(),
        )  # fmt: skip
        record.save(update_fields=["status", "archived_by", "archived_at"])
        _audit(
            record, "workbench.record_archive", before={"status": RecordStatus.SIGNED},
            after={"status": record.status, "archived_by": staff.pk},
        )  # fmt: skip
    return record


def leader_role(record: Record) -> str:
    """Who signs as leader (EXE-5): company level → call center; else by kind."""
    if record.level == Level.COMPANY:
        return str(access.LEADER_FOR_COMPANY)
    if record.kind == TaskKind.SERVICE:
        return str(access.LEADER_FOR_SERVICE)
    return str(access.LEADER_FOR_COMPLIANCE)


# ---------------------------------------------------------------- amendments


def amend(*, record: Record, actor: Actor, reason: str, changes: dict[str, Any]) -> Amendment:
    """Append a correction to a signed record (EXE-5); the record row is never updated.

    ``sha256`` chains the record's signed content hash and the previous amendment.
    The record's agent or its leader (by role over the branch) may amend.
    """
    with tx.atomic():
        record = Record.objects.select_for_update().get(pk=record.pk)
        if record.status == RecordStatus.DRAFT:
            raise WorkbenchRefused("not_signed", _("草稿记录可直接修改，无需更正"))
        staff = _check_amender(record, actor)
        if not reason.strip() or not isinstance(changes, dict) or not changes:
            raise WorkbenchRefused("bad_answer", _("请填写更正原因和更正内容"), status=400)
        previous = record.amendments.order_by("-seq").first()
        seq, now = (previous.seq + 1 if previous else 1), clock.now()
        digest = amendment_hash(
            record_sha256=record.content_sha256, previous=previous.sha256 if previous else "",
            seq=seq, reason=reason, changes=changes, by=staff.pk, at=now,
        )  # fmt: skip
        amendment = Amendment.objects.create(
            record=record, seq=seq, reason=reason, changes=changes, by=staff, at=now, sha256=digest
        )
        _audit(
            record, "workbench.record_amend",
            after={"amendment": amendment.pk, "seq": seq, "reason": reason, "changes": changes,
                   "sha256": digest},
        )  # fmt: skip
    return amendment


def amendment_hash(
    *, record_sha256: str, previous: str, seq: int, reason: str, changes: Any, by: str, at: Any
) -> str:
    """SHA-256 of one amendment, chained to the record's content and the amendment before."""
    body = {"record": record_sha256, "previous": previous, "seq": seq, "reason": reason,
            "changes": changes, "by": by, "at": at.isoformat()}  # fmt: skip
    return hashlib.sha256(_canonical(body)).hexdigest()


# ---------------------------------------------------------------- content


@dataclass
class Loaded:
    """A record's rows a service has read already (each ``None``: read it here).

    ``sections`` with their questionnaires and ``findings`` in their stored order
    (position, id; id), ``evidence`` the task's rows in id order — as ``content`` reads them.
    """

    sections: list[Section] | None = None
    findings: list[Finding] | None = None
    evidence: list[Evidence] | None = None

    def sections_of(self, record: Record) -> list[Section]:
        if self.sections is None:
            self.sections = selectors.sections_of(record)
        return self.sections

    def findings_of(self, record: Record) -> list[Finding]:
        if self.findings is None:
            self.findings = list(record.findings.order_by("id"))
        return self.findings

    def evidence_of(self, record: Record) -> list[Evidence]:
        if self.evidence is None:
            self.evidence = list(Evidence.objects.filter(task_id=record.task_id).order_by("id"))
        return self.evidence


def content(record: Record, loaded: Loaded | None = None) -> dict[str, Any]:
    """What the agent signs (EXE-5): the record's fields, sections, findings, evidence hashes."""
    loaded = loaded or Loaded()
    sections = [
        {"position": s.position, "purpose": s.purpose_id, "questionnaire": s.questionnaire.code,
         "version": s.questionnaire.version, "questionnaire_sha256": s.questionnaire.sha256,
         "answers": s.answers}
        for s in loaded.sections_of(record)
    ]  # fmt: skip
    findings = [
        {"kind": f.kind, "category": f.category, "text": f.text, "purpose": f.purpose_id}
        for f in loaded.findings_of(record)
    ]
    evidence = [
        {"kind": e.kind, "sha256": e.sha256, "call_id": e.call_id, "size": e.size}
        for e in loaded.evidence_of(record)
    ]
    return {
        "number": record.number, "task": record.task_id, "branch": record.branch_id,
        "client": record.client_id, "target_staff": record.target_staff_id,
        "level": record.level, "kind": record.kind, "method": record.method,
        "outcome": record.outcome, "callback_date": record.callback_date.isoformat(),
        "notes": record.notes, "banned_phrases": record.banned_phrases,
        "problem_handling": record.problem_handling,
        "feedback_date": record.feedback_date.isoformat() if record.feedback_date else None,
        "agent": record.agent_id, "source": record.source,
        "sections": sections, "findings": findings, "evidence": evidence,
    }  # fmt: skip


def content_hash(record: Record, loaded: Loaded | None = None) -> str:
    """SHA-256 of ``content(record)`` as canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(_canonical(content(record, loaded))).hexdigest()


def _canonical(value: Any) -> bytes:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.encode("utf-8")


# ---------------------------------------------------------------- sections


def task_purposes(task_id: int, task: Task | None = None) -> list[Purpose]:
    """The task's purposes in section order (rule, id) with their policy versions, linked to
    ``task`` when the caller has it (the questionnaire choice reads task and client)."""
    return selectors.purposes_of(task_id, task)


def _purposes(record: Record) -> list[Purpose]:
    cached = Record.task.is_cached(record)  # type: ignore[attr-defined]
    return task_purposes(record.task_id, record.task if cached else None)


def _missing_sections(record: Record) -> list[Purpose]:
    have = set(record.sections.values_list("purpose_id", flat=True))
    return [p for p in _purposes(record) if p.pk not in have]


def _sync_sections(record: Record, sections: list[Section] | None = None) -> list[Section]:
    """One section per purpose (CON-4), then the general F1/F2 section unless one covers it.

    ``sections``: the record's sections if the caller knows them (``[]`` for a new record).
    Returns every section of the record."""
    if sections is None:
        sections = selectors.sections_of(record)
    have = {s.purpose_id for s in sections}
    position = max((s.position for s in sections), default=-1)
    purposes = _purposes(record)
    for purpose in [p for p in purposes if p.pk not in have]:
        position += 1
        form: Questionnaire = questionnaires.for_purpose(purpose)
        sections.append(
            Section.objects.create(
                record=record, purpose=purpose, questionnaire=form, position=position
            )
        )
    general = questionnaires.general_code(record.task, purposes)
    if not any(s.questionnaire.code == general for s in sections):
        sections.append(
            Section.objects.create(
                record=record,
                purpose=None,
                questionnaire=questionnaires.current(general),
                position=position + 1,
            )
        )
    return sections


def _section_ids(record: Record) -> list[int]:
    return list(record.sections.order_by("position", "id").values_list("pk", flat=True))


def _merged_answers(
    sections: dict[int, Section], answers: dict[int, dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    merged: dict[int, dict[str, Any]] = {}
    for key, values in answers.items():
        pk = _int(key)
        if pk not in sections or not isinstance(values, dict):
            raise WorkbenchRefused("bad_answer", _("回答不属于本记录的分项"), status=400)
        current = dict(merged.get(pk, sections[pk].answers))
        for item, entry in values.items():
            if entry is None:
                current.pop(str(item), None)
            else:
                current[str(item)] = entry
        merged[pk] = current
    return merged


def _finding_rows(
    record: Record, findings: list[dict[str, Any]], problems: list[str]
) -> list[Finding]:
    purposes = {p.pk for p in _purposes(record)} if findings else set()
    rows, now = [], clock.now()
    for n, item in enumerate(findings, start=1):
        kind, category = item.get("kind"), item.get("category")
        text, purpose = str(item.get("text") or "").strip(), item.get("purpose_id")
        if kind not in FindingKind.values or category not in FindingCategory.values or not text:
            problems.append(_("第%(n)d条需求、建议或问题不完整") % {"n": n})
            continue
        if purpose is not None and _int(purpose) not in purposes:
            problems.append(_("第%(n)d条需求、建议或问题的回访目的不属于本任务") % {"n": n})
            continue
        rows.append(Finding(record=record, kind=kind, category=category, text=text,
                            purpose_id=_int(purpose) if purpose is not None else None, created_at=now))  # fmt: skip
    return rows


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


# ---------------------------------------------------------------- gates


def _locked_record(pk: int) -> Record:
    """The record under its row lock, with its task (read, not locked) for the holder check."""
    return Record.objects.select_for_update(of=("self",)).select_related("task").get(pk=pk)


def _check_method(method: str) -> None:
    if method not in Method.values:
        raise WorkbenchRefused("bad_answer", _("回访方式无效（EXE-1）"), status=400)


def _agent_for_new_record(task: Task, actor: Actor) -> Staff:
    """The record's agent: the actor holding the task; the e-questionnaire acts for the assignee."""
    if actor.channel == "questionnaire":
        staff = actor.staff or task.assignee
        if staff is None:
            raise WorkbenchRefused("not_holder", _("任务尚未分配回访人员"), status=403)
        return staff
    staff = actor.need_staff()
    if not works_on(staff, task):
        raise WorkbenchRefused("not_holder", _("您未持有该回访任务"), status=403)
    return staff


def _check_agent(record: Record, actor: Actor) -> Staff:
    """The draft is worked by whoever holds its task now (after a reassignment: the new agent)."""
    staff = actor.staff
    if staff is None or not works_on(staff, record.task):
        raise WorkbenchRefused("not_holder", _("只有持有该任务的回访人可以办理此记录"), status=403)
    return staff


def _check_independence(task: Task, staff: Staff) -> None:
    """CON-1 and CON-2 again at signing: the facts may have changed since assignment."""
    day = clock.today()
    rules = Constraints.of(version_in_force(on=day))
    problems, _proof = assignment_problems(
        task=task, staff=_staff_facts(staff), rel=_relations(task.client), rules=rules, on=day
    )
    if recusal := [p for p in problems if p.startswith("CON-1")]:
        raise WorkbenchRefused(
            "recused", _("回访人须回避：不得回访本人介绍、服务的客户（CON-1）"), *recusal
        )
    if independence := [p for p in problems if p.startswith("CON-2")]:
        raise WorkbenchRefused(
            "marketing_sequence", _("营销序列人员不得办理合规回访（CON-2）"), *independence
        )


def _check_cooling_off(task: Task) -> None:
    """PROD-*: no valid callback inside the cooling-off (AMAC 私募募集办法 Art. 29–31)."""
    if task.opens_at is None:
        return
    last = (
        Attempt.objects.filter(task_id=task.pk, outcome=Outcome.CONNECTED).order_by("-at").first()
    )
    if clock.now() < task.opens_at or (last is not None and last.at < task.opens_at):
        raise WorkbenchRefused(
            "cooling_off",
            _("冷静期内的回访无效，须在冷静期结束后回访（PROD-1，基金业协会募集办法第29–31条）"),
        )


def _check_evidence(record: Record, loaded: Loaded | None = None) -> None:
    rows = loaded.evidence_of(record) if loaded is not None else None
    if missing := evidence.missing_for(record, rows):
        labels = [str(evidence.label(kind)) for kind in missing]
        raise WorkbenchRefused(
            "no_evidence", _("缺少留痕材料（EXE-2）：%(kinds)s") % {"kinds": "、".join(labels)}
        )


def _check_complete(record: Record, task: Task, loaded: Loaded | None = None) -> None:
    problems: list[str] = []
    sections = (loaded or Loaded()).sections_of(record)
    have = {s.purpose_id for s in sections}
    if any(p.pk not in have for p in _purposes(record)):
        problems.append(_("有回访目的尚无对应的问卷分项，请重新打开记录（CON-4）"))
    for section in sections:
        missing = questionnaires.missing_required(section.questionnaire, section.answers)
        if missing:
            problems.append(
                _("%(form)s 未回答必答项：%(items)s")
                % {"form": section.questionnaire.code, "items": "、".join(map(str, missing))}
            )
    if (
        record.method == Method.PHONE
        and not Attempt.objects.filter(
            task_id=task.pk, method=Method.PHONE, outcome=Outcome.CONNECTED
        ).exists()
    ):
        problems.append(_("电话回访须有一次接通的通话记录（EXE-3）"))
    if problems:
        raise WorkbenchRefused("incomplete", *problems)


def _role_covers(actor: Actor, role: str, branch_id: str) -> bool:
    """The actor holds ``role`` over the branch (a grant of all, its region, or the branch)."""
    if not actor.has(role):
        return False
    region = Unit.objects.filter(pk=branch_id).values_list("region_id", flat=True).first()
    grants = RoleGrant.objects.filter(user_id=actor.user.pk, role=role)
    return any(
        g.scope == ScopeKind.ALL
        or (g.scope == ScopeKind.REGION and g.region_id == region)
        or (g.scope == ScopeKind.BRANCH and g.unit_id == branch_id)
        for g in grants
    )


def _check_leader(record: Record, actor: Actor, role: str) -> Staff:
    if actor.staff is None or not _role_covers(actor, role, record.branch_id):
        raise WorkbenchRefused("not_leader", _("您不是本记录的签字负责人（EXE-5）"), status=403)
    if actor.staff.pk == record.agent_id:
        raise WorkbenchRefused("own_record", _("不能签署本人的回访记录（相互制衡）"), status=403)
    return actor.staff


def _check_leader_recusal(task: Task, staff: Staff) -> None:
    """CON-1: a leader who introduced, brokers or serves the client signs nothing of his."""
    rules = Constraints.of(version_in_force(on=clock.today()))
    found = recusal_conflicts(
        _relations(task.client), staff_id=staff.pk, staff_client_id=staff.client_id,
        relations=rules.recusal.relations,
    )  # fmt: skip
    if task.target_staff_id is not None and task.target_staff_id == staff.pk:
        found.append("target")
    if found:
        raise WorkbenchRefused(
            "recused",
            _("负责人须回避：与该客户存在关联（CON-1）"),
            *[f"CON-1 recusal: {r}" for r in found],
        )


def _check_amender(record: Record, actor: Actor) -> Staff:
    staff = actor.staff
    if staff is not None and (
        staff.pk == record.agent_id or _role_covers(actor, leader_role(record), record.branch_id)
    ):
        return staff
    raise WorkbenchRefused("not_holder", _("只有回访人或记录负责人可以更正记录"), status=403)


def _audit(record: Record, action: str, *, before: Any = None, after: Any = None) -> None:
    audit_record(
        action=action, object_type=RECORD, object_id=str(record.pk), branch_code=record.branch_id,
        before=before, after=after,
    )  # fmt: skip
