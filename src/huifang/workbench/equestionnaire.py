"""The client e-questionnaire (EXE-6): a one-time, expiring link; the answers become the record.

``send_link`` makes a link for a task the agent holds: a random token
(``secrets.token_urlsafe(32)``) of which only the SHA-256 is kept, valid for
``params.link_hours()``; an older unused link of the task is revoked. The message
goes out in the background (``tasks.send_questionnaire_message`` through
``core.background.dispatch``) by the configured backend (``messaging``); the
token travels to the worker sealed with the field key, the client's address is
decrypted server-side in the worker and is never logged, audited or shown in
full (``address_masked`` keeps the SPEC §12 mask).

``open_link`` answers one of three refusals for a token that cannot be used:
``link_invalid`` (404: unknown or forged), ``link_expired`` (410), ``link_used``
(410: used, revoked, or its task is closed). ``submit`` checks the answers
against the questionnaires (EXE-4), then in one transaction marks the link used
(compare-and-set, so a second submit cannot also succeed), opens the record
(method questionnaire), saves the answers, stores the answer sheet with time, IP
and device as evidence (EXE-2) and logs one connected attempt (EXE-3). The agent
then signs the record like any other (EXE-5).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from huifang.audit.context import audit_context, current_or_none
from huifang.audit.services import audit_record
from huifang.callbacks.choices import OPEN_STATUSES
from huifang.callbacks.models import Task
from huifang.clients.models import PII_FIELDS, Client
from huifang.core import clock, pii
from huifang.core.background import dispatch
from huifang.workbench import attempts, evidence, messaging, params, questionnaires, records
from huifang.workbench.actors import Actor, actor_of
from huifang.workbench.choices import (
    EvidenceKind,
    LinkChannel,
    Method,
    Outcome,
    RecordStatus,
)
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Claim, Questionnaire, QuestionnaireLink, Record

OBJECT_TYPE = "workbench.QuestionnaireLink"
ACTION_SEND = "workbench.questionnaire_link.send"
ACTION_SENT = "workbench.questionnaire_link.sent"
ACTION_SEND_FAILED = "workbench.questionnaire_link.send_failed"
ACTION_SUBMIT = "workbench.questionnaire_link.submit"
AUDIT_ACTOR = "system:questionnaire"
CHANNEL = "questionnaire"  # the Actor channel, attempt channel and record source
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
TOKEN_MAX = 200  # token_urlsafe(32) has 43 characters; anything far longer is not ours
DEVICE_MAX = 300
ERROR_MAX = 500
# The codes the public page turns into its three messages.
LINK_CODES = frozenset({"link_invalid", "link_expired", "link_used"})
# Where each channel's address sits in ``Client.pii``.
_ADDRESS_FIELD = {LinkChannel.SMS: "mobile", LinkChannel.EMAIL: "email"}


# --- tokens and addresses ---------------------------------------------------------------------


def token_digest(token: str) -> str:
    """The SHA-256 (hex) of a token: the only form a link's token is stored in."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _address(client: Client, channel: str) -> str | None:
    """The client's mobile or e-mail, decrypted server-side for delivery only (CLI-4).

    Never returned to a page, an API, a log or the audit trail; callers keep only
    ``messaging.masked_address`` of it.
    """
    values = dict(
        zip(PII_FIELDS, pii.unpack(pii.decrypt(client.pii), len(PII_FIELDS)), strict=True)
    )
    value = values.get(_ADDRESS_FIELD[LinkChannel(channel)])
    return value.strip() if value and value.strip() else None


def public_url(token: str) -> str:
    """The absolute address of the public page for ``token`` (``HUIFANG_PUBLIC_BASE_URL``)."""
    base = str(getattr(settings, "HUIFANG_PUBLIC_BASE_URL", "") or DEFAULT_BASE_URL)
    return base.rstrip("/") + reverse("questionnaire:fill", args=[token])


def message_text(link: QuestionnaireLink, token: str) -> str:
    """The SMS or e-mail text (Chinese): the link, its validity, one answer only."""
    hours = max(1, round((link.expires_at - link.created_at).total_seconds() / 3600))
    branch = getattr(link.task.branch, "name", "") or _("我司")
    with translation.override(settings.LANGUAGE_CODE):
        return _(
            "【客户回访】尊敬的客户您好，%(branch)s邀请您填写客户回访问卷：%(url)s "
            "该链接%(hours)d小时内有效，仅可提交一次。如非本人业务，请忽略本消息。"
        ) % {"branch": branch, "url": public_url(token), "hours": hours}


# --- sending ----------------------------------------------------------------------------------


def _holds(task: Task, actor: Actor) -> bool:
    """The actor's staff holds a live claim of the task or is its assignee."""
    staff = actor.staff
    if staff is None:
        return False
    if task.assignee_id == staff.pk:
        return True
    return Claim.objects.filter(task=task, staff=staff, released_at__isnull=True).exists()


def _record_of(task: Task) -> Record | None:
    return Record.objects.filter(task=task).first()


def send_link(*, task: Task, actor: Actor, channel: str) -> QuestionnaireLink:
    """Create a one-time link for ``task`` and send it to the client by SMS or e-mail (EXE-6).

    Refusals (nothing written): ``bad_channel``; ``not_holder`` (the actor neither
    holds the task nor is its assignee); ``wrong_state`` (task closed or record
    already signed); ``cooling_off`` (PROD-*: answers inside it would not count);
    ``no_address`` (no client, or no mobile / e-mail held). An older
    unused link of the task is revoked. The message is dispatched after commit.
    """
    if channel not in LinkChannel.values:
        raise WorkbenchRefused("bad_channel", _("发送方式只能是短信或电子邮件(EXE-6)"), status=400)
    if not _holds(task, actor):
        raise WorkbenchRefused(
            "not_holder", _("只有领取该任务的回访人员或被分配人可以发送电子问卷(EXE-6)"), status=403
        )
    if task.status not in OPEN_STATUSES:
        raise WorkbenchRefused("wrong_state", _("任务已结束，不能再发送电子问卷(EXE-6)"))
    record = _record_of(task)
    if record is not None and record.status != RecordStatus.DRAFT:
        raise WorkbenchRefused("wrong_state", _("回访记录已签字，不能再发送电子问卷(EXE-5)"))
    if task.opens_at is not None and clock.now() < task.opens_at:
        raise WorkbenchRefused(
            "cooling_off",
            _("冷静期内的回访无效，冷静期结束后方可发送电子问卷(PROD-1)"),
        )
    client = Client.objects.filter(pk=task.client_id).first() if task.client_id else None
    address = _address(client, channel) if client is not None else None
    if client is None or address is None:
        label = _("手机号码") if channel == LinkChannel.SMS else _("电子邮箱")
        raise WorkbenchRefused(
            "no_address",
            _("客户没有登记%(what)s，不能发送电子问卷(EXE-6)") % {"what": label},
        )

    token = secrets.token_urlsafe(32)
    now = clock.now()
    masked = messaging.masked_address(channel, address)
    del address  # not kept beyond this point; the worker decrypts it again
    with transaction.atomic():
        older = list(
            QuestionnaireLink.objects.select_for_update()
            .filter(task=task, used_at__isnull=True, revoked_at__isnull=True)
            .values_list("pk", flat=True)
        )
        if older:
            QuestionnaireLink.objects.filter(pk__in=older).update(revoked_at=now)
        link = QuestionnaireLink.objects.create(
            task=task,
            token_sha256=token_digest(token),
            channel=channel,
            address_masked=masked,
            created_by=actor.name,
            created_at=now,
            expires_at=now + dt.timedelta(hours=params.link_hours()),
        )
        audit_record(
            action=ACTION_SEND,
            object_type=OBJECT_TYPE,
            object_id=str(link.pk),
            branch_code=task.branch_id,
            after={
                "task": task.pk,
                "channel": channel,
                "address": masked,
                "expires_at": link.expires_at.isoformat(),
                "revoked": older,
                "by": actor.name,
                "via": actor.channel,
            },
        )
        sealed = pii.encrypt(token)
        transaction.on_commit(
            lambda: _dispatch_message(link_id=link.pk, sealed_token=sealed, actor=actor.name)
        )
    return link


def _dispatch_message(*, link_id: int, sealed_token: str | None, actor: str) -> None:
    from huifang.workbench.tasks import send_questionnaire_message

    dispatch(send_questionnaire_message, link_id=link_id, sealed_token=sealed_token, actor=actor)


def _clean_error(exc: BaseException, channel: str, address: str) -> str:
    """The failure as stored: the address masked wherever the backend repeated it."""
    text = f"{type(exc).__name__}: {exc}"
    if address:
        text = text.replace(address, messaging.masked_address(channel, address))
    return pii.scrub(text)[:ERROR_MAX]


def deliver(*, link_id: int, sealed_token: str) -> QuestionnaireLink | None:
    """Send the message of a link through the configured backend (the background step).

    A failure of the backend is stored in ``send_error`` (the link stays unsent); a
    link already sent, used or revoked, or a token that does not match, sends nothing.
    Runs inside the caller's audit context (the task opens the sender's).
    """
    link = QuestionnaireLink.objects.filter(pk=link_id).first()
    token = pii.decrypt(sealed_token) if sealed_token else None
    if link is None or token is None or token_digest(token) != link.token_sha256:
        return None
    if link.sent_at or link.used_at or link.revoked_at:
        return link
    task = Task.objects.select_related("branch").get(pk=link.task_id)
    link.task = task
    client = Client.objects.filter(pk=task.client_id).first() if task.client_id else None
    address = _address(client, link.channel) if client is not None else None
    error = ""
    if address is None:
        error = _("客户联系方式已不存在")
    else:
        try:
            messaging.backend().send(link.channel, address, message_text(link, token))
        except Exception as exc:  # noqa: BLE001 — any backend failure is stored, never raised
            error = _clean_error(exc, link.channel, address)
    now = clock.now()
    with transaction.atomic():
        if error:
            QuestionnaireLink.objects.filter(pk=link.pk).update(send_error=error)
        else:
            QuestionnaireLink.objects.filter(pk=link.pk).update(sent_at=now, send_error="")
        audit_record(
            action=ACTION_SEND_FAILED if error else ACTION_SENT,
            object_type=OBJECT_TYPE,
            object_id=str(link.pk),
            branch_code=task.branch_id,
            after={"channel": link.channel, "address": link.address_masked, "error": error},
        )
    link.refresh_from_db()
    return link


# --- the public side --------------------------------------------------------------------------


def open_link(token: str) -> QuestionnaireLink:
    """The usable link of ``token``, else one of the three refusals (EXE-6).

    ``link_invalid`` (404) for an unknown or forged token; ``link_used`` (410) for a
    used or revoked link or one whose task is closed; ``link_expired`` (410).
    """
    if not token or len(token) > TOKEN_MAX:
        raise WorkbenchRefused("link_invalid", _("链接无效"), status=404)
    link = (
        QuestionnaireLink.objects.filter(token_sha256=token_digest(token))
        .select_related("task", "task__client")
        .first()
    )
    if link is None:
        raise WorkbenchRefused("link_invalid", _("链接无效"), status=404)
    if link.used_at is not None or link.revoked_at is not None:
        raise WorkbenchRefused("link_used", _("该链接已使用"), status=410)
    if link.expires_at <= clock.now():
        raise WorkbenchRefused("link_expired", _("该链接已过期"), status=410)
    if link.task.status not in OPEN_STATUSES:
        raise WorkbenchRefused("link_used", _("该链接已使用"), status=410)
    record = _record_of(link.task)
    if record is not None and record.status != RecordStatus.DRAFT:
        raise WorkbenchRefused("link_used", _("该链接已使用"), status=410)
    return link


@dataclass(frozen=True)
class FormSection:
    """One part of the public form: a purpose's questionnaire, or the general F1/F2 (EXE-4)."""

    key: str  # "p<purpose id>" or "general": the key of its answers
    purpose_id: int | None
    questionnaire: Questionnaire

    @property
    def parts(self) -> list[dict[str, Any]]:
        return list(self.questionnaire.definition.get("sections", []))

    @property
    def items(self) -> list[dict[str, Any]]:
        return [item for part in self.parts for item in part.get("items", [])]


def _key(purpose_id: int | None) -> str:
    return f"p{purpose_id}" if purpose_id else "general"


def form_sections(task: Task) -> list[FormSection]:
    """The sections the record of ``task`` has or will have (the rule of ``records.open_record``).

    An opened record's own sections (plus those of purposes merged since); otherwise
    one per purpose with its questionnaire, then the general section F1 (new-account
    rules NEW-*) or F2 unless a purpose's section already uses it (EXE-4, CON-4).
    """
    sections: list[FormSection] = []
    record = _record_of(task)
    if record is not None:
        sections = [
            FormSection(_key(s.purpose_id), s.purpose_id, s.questionnaire)
            for s in record.sections.select_related("questionnaire").order_by("position", "id")
        ]
    have = {s.purpose_id for s in sections}
    for purpose in task.purposes.order_by("rule_code", "id"):
        if purpose.pk not in have:
            sections.append(
                FormSection(_key(purpose.pk), purpose.pk, questionnaires.for_purpose(purpose))
            )
    if record is None:
        general = questionnaires.general_code(task)
        if not any(s.questionnaire.code == general for s in sections):
            sections.append(FormSection(_key(None), None, questionnaires.current(general)))
    return sections


def _check_answers(
    sections: list[FormSection], answers: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The answers per section key, checked (EXE-4): unknown items dropped, required ones present."""
    problems: list[str] = []
    clean: dict[str, dict[str, dict[str, Any]]] = {}
    for section in sections:
        given = answers.get(section.key) or {}
        known = {str(item.get("id")) for item in section.items}
        entries = {
            str(item_id): dict(entry)
            for item_id, entry in given.items()
            if str(item_id) in known and isinstance(entry, Mapping)
        }
        problems += questionnaires.validate(section.questionnaire, entries)
        texts = {str(item.get("id")): str(item.get("text", "")) for item in section.items}
        problems += [
            _("请回答：%(item)s") % {"item": texts.get(item_id) or item_id}
            for item_id in questionnaires.missing_required(section.questionnaire, entries)
        ]
        clean[section.key] = entries
    if problems:
        raise WorkbenchRefused("bad_answer", *problems, status=400)
    return clean


def _system_actor(link: QuestionnaireLink) -> Actor:
    """The actor of the submission's writes, channel ``questionnaire``.

    The link's creator while he still holds the task; after a reassignment, the
    task's current assignee (the record's agent must hold the task, EXE-5).
    """
    from huifang.accounts.models import User

    task = link.task
    creator = User.objects.filter(username=link.created_by, is_active=True).first()
    if creator is not None and _holds(task, actor_of(creator, CHANNEL)):
        return actor_of(creator, CHANNEL)
    assignee = (
        User.objects.filter(staff_id=task.assignee_id, is_active=True).first()
        if task.assignee_id
        else None
    )
    if assignee is not None:
        return actor_of(assignee, CHANNEL)
    raise WorkbenchRefused("not_holder", _("该任务暂无回访人员，请联系客户服务人员"), status=403)


def submit(*, token: str, answers: Mapping[str, Mapping[str, Any]], ip: str, device: str) -> Record:
    """The client's answers become the task's record (EXE-6; evidence EXE-2; attempt EXE-3).

    ``answers`` maps a section key (``FormSection.key``) to ``{item id: {"value", "note"}}``.
    Refusals: the three of ``open_link``; ``bad_answer`` (400) with each problem. One
    transaction: the link is marked used by compare-and-set — a concurrent second
    submit finds it used and writes nothing (``link_used``, 410).
    """
    link = open_link(token)
    task = link.task
    sections = form_sections(task)
    clean = _check_answers(sections, answers)
    actor = _system_actor(link)
    device = (device or "")[:DEVICE_MAX]
    ip = (ip or "")[:64]
    outer = current_or_none()
    request_id = outer.request_id if outer else ""
    with audit_context(AUDIT_ACTOR, request_id=request_id), transaction.atomic():
        now = clock.now()
        won = QuestionnaireLink.objects.filter(
            pk=link.pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).update(used_at=now, used_ip=ip, used_device=device)
        if won != 1:
            raise WorkbenchRefused("link_used", _("该链接已使用"), status=410)
        record = _write_record(link, actor, sections, clean, now=now, ip=ip, device=device)
    return record


def _write_record(
    link: QuestionnaireLink,
    actor: Actor,
    sections: list[FormSection],
    clean: dict[str, dict[str, dict[str, Any]]],
    *,
    now: dt.datetime,
    ip: str,
    device: str,
) -> Record:
    task = link.task
    record = records.open_record(task=task, actor=actor, method=Method.QUESTIONNAIRE)
    by_slot = {(s.purpose_id, s.questionnaire_id): s.pk for s in record.sections.all()}
    by_answers: dict[int, dict[str, dict[str, Any]]] = {}
    for section in sections:
        section_id = by_slot.get((section.purpose_id, section.questionnaire.pk))
        if section_id is None:
            raise WorkbenchRefused("wrong_state", _("问卷内容已变更，请联系客户服务人员"))
        by_answers[section_id] = clean[section.key]
    record = records.save_answers(
        record=record,
        actor=actor,
        answers=by_answers,
        findings=[],
        notes=record.notes or _("客户通过电子问卷作答(EXE-6)。"),
        problem_handling=record.problem_handling,
        method=Method.QUESTIONNAIRE,
    )
    sheet = {
        "link": link.pk,
        "task": task.pk,
        "record": record.number,
        "submitted_at": now.isoformat(),
        "ip": ip,
        "device": device,
        "channel": link.channel,
        "answers": {
            section.key: {
                "questionnaire": section.questionnaire.code,
                "version": section.questionnaire.version,
                "purpose": section.purpose_id,
                "answers": clean[section.key],
            }
            for section in sections
        },
    }
    body = json.dumps(sheet, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")
    _log_attempt(task, actor, now)
    # The file is stored last: a refusal before it leaves no file behind the rollback.
    upload = ContentFile(body, name=f"questionnaire-{link.pk}.json")
    evidence.attach(task=task, actor=actor, kind=EvidenceKind.QUESTIONNAIRE_ANSWERS, upload=upload)
    audit_record(
        action=ACTION_SUBMIT,
        object_type=OBJECT_TYPE,
        object_id=str(link.pk),
        branch_code=task.branch_id,
        after={"task": task.pk, "record": record.number, "ip": ip, "device": device},
    )
    return record


def _log_attempt(task: Task, actor: Actor, now: dt.datetime) -> None:
    attempts.log_attempt(
        task=task,
        actor=actor,
        method=Method.QUESTIONNAIRE,
        outcome=Outcome.CONNECTED,
        note=_("客户提交电子问卷"),
        at=now,
    )
