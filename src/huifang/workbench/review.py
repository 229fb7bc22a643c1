"""Review and spot-checks of signed records (REV-1, REV-2) and unreachable closures (EXE-3).

After the leader signs (``records.sign_leader``) ``draw_for(record)`` puts the record in
a reviewer's queue when

- ``sample`` (REV-1): a reproducible draw — ``key = sha256("REV-1|branch|yyyy-mm|number")``
  (the month of the callback date), drawn when ``int(key[:15], 16) / 16**15`` is below
  ``params.review_share()`` (10 %); anyone can recompute it from the record;
- ``problem`` (REV-1): the record has a finding of kind *problem*;
- ``banned_phrase`` (EXE-7): its notes seemed to contain a 服务忌语;
- ``company_spot_check`` (REV-2, CON-6): a branch-level record drawn the same way with
  prefix ``REV-2`` below ``params.company_spot_check_share(callback date)``; reviewed at
  company level (head office call center).

A reviewer (``access.REVIEWERS``) takes a review and decides: *passed*, or *findings*
which go back to the agent (``for_agent``), who acknowledges them. A reviewer never
reviews a record he made or signed, nor one of a client he is recused from (CON-1).
When every review of a record has passed the task is ``reviewed``. Unreachable
closures (reason ``unreachable``, asked for by ``attempts.request_unreachable``) are
approved — the task closes ``unreachable`` and its claims are released — or rejected,
back to the assignee. Every change writes one audit row.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from huifang.accounts.choices import Role
from huifang.audit.services import audit_record
from huifang.callbacks.choices import OPEN_STATUSES, Level, TaskStatus
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.org.models import Staff
from huifang.workbench import access, params
from huifang.workbench.actors import Actor
from huifang.workbench.choices import FindingKind, RecordStatus, ReviewReason, ReviewStatus
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Finding, Record, Review
from huifang.workbench.queue import release_live

SAMPLE_PREFIX = "REV-1"
COMPANY_PREFIX = "REV-2"
SIGNED_STATUSES = (RecordStatus.SIGNED, RecordStatus.ARCHIVED)
OUTCOMES = {"passed": ReviewStatus.PASSED, "findings": ReviewStatus.FINDINGS}
_SCALE = Decimal(16**15)


# --- the draw ------------------------------------------------------------------------------


def draw_key(prefix: str, record: Record) -> str:
    """SHA-256 of ``prefix|branch|yyyy-mm|number``: the reproducible key of a draw."""
    month = record.callback_date.strftime("%Y-%m")
    return hashlib.sha256(
        f"{prefix}|{record.branch_id}|{month}|{record.number}".encode()
    ).hexdigest()


def key_fraction(key: str) -> Decimal:
    """The key's first 15 hex digits as a number in [0, 1)."""
    return Decimal(int(key[:15], 16)) / _SCALE


def drawn(key: str, share: Decimal) -> bool:
    return key_fraction(key) < Decimal(share)


def draw_reasons(record: Record) -> list[tuple[str, str, str]]:
    """The ``(reason, level, draw_key)`` the record is drawn for; nothing is written."""
    reasons: list[tuple[str, str, str]] = []
    level = record.level
    key = draw_key(SAMPLE_PREFIX, record)
    if drawn(key, params.review_share()):
        reasons.append((ReviewReason.SAMPLE, level, key))
    if Finding.objects.filter(record=record, kind=FindingKind.PROBLEM).exists():
        reasons.append((ReviewReason.PROBLEM, level, ""))
    if record.banned_phrases:
        reasons.append((ReviewReason.BANNED_PHRASE, level, ""))
    if record.level == Level.BRANCH:
        company_key = draw_key(COMPANY_PREFIX, record)
        if drawn(company_key, params.company_spot_check_share(record.callback_date)):
            reasons.append((ReviewReason.COMPANY_SPOT_CHECK, Level.COMPANY, company_key))
    return reasons


def draw_for(record: Record) -> list[Review]:
    """REV-1/REV-2: the reviews of a just-signed record (idempotent: one per task and reason)."""
    if record.status not in SIGNED_STATUSES:
        return []
    today = clock.today()
    existing = {
        r.reason: r
        for r in Review.objects.filter(task_id=record.task_id).exclude(
            reason=ReviewReason.UNREACHABLE
        )
    }
    reviews: list[Review] = []
    created: list[Review] = []
    with transaction.atomic():
        for reason, level, key in draw_reasons(record):
            if reason in existing:
                reviews.append(existing[reason])
                continue
            try:
                with transaction.atomic():
                    review = Review.objects.create(
                        task_id=record.task_id, record=record, branch_id=record.branch_id,
                        level=level, reason=reason, drawn_on=today, draw_key=key,
                    )  # fmt: skip
            except IntegrityError:  # drawn concurrently: the unique (task, reason) kept one
                review = Review.objects.get(task_id=record.task_id, reason=reason)
            else:
                created.append(review)
            reviews.append(review)
        if created:
            audit_record(
                action="workbench.review_draw", object_type="workbench.Record",
                object_id=str(record.pk), branch_code=record.branch_id,
                after={"record": record.number, "reviews": [
                    {"id": r.pk, "reason": r.reason, "level": r.level, "draw_key": r.draw_key}
                    for r in created
                ]},
            )  # fmt: skip
    return reviews


# --- who may review -----------------------------------------------------------------------------


def _levels(actor: Actor) -> set[str]:
    """REV-1: reviewers review branch-level reviews; REV-2: the head office all levels."""
    levels: set[str] = set()
    if actor.has(Role.HQ_SERVICE):
        levels |= {Level.BRANCH, Level.COMPANY}
    if actor.has(Role.REVIEWER):
        levels.add(Level.BRANCH)
    return levels


def _require_reviewer(actor: Actor) -> Staff:
    if not actor.has(*access.REVIEWERS):
        raise WorkbenchRefused("forbidden", _("只有复核员可以复核回访记录 (REV-1)"), status=403)
    return actor.need_staff()


def _visible(review: Review, actor: Actor) -> Review:
    """The review re-read inside the actor's scope (404 outside, SPEC §0)."""
    found = Review.objects.visible_to(actor.user).filter(pk=review.pk).first()
    if found is None:
        raise WorkbenchRefused("not_found", _("复核任务不存在"), status=404)
    return found


def _own(review: Review, staff: Staff) -> list[str]:
    """CON-1: why ``staff`` may not review this (empty when he may)."""
    from huifang.callbacks.rules import recusal_conflicts
    from huifang.callbacks.services import _relations

    found: list[str] = []
    record = review.record
    if record is not None and staff.pk in {record.agent_id, record.leader_id}:
        found.append("own_record")
    task = review.task
    if task.assignee_id == staff.pk:
        found.append("own_record")
    client = task.client if task.client_id else None
    if recusal_conflicts(
        _relations(client), staff_id=staff.pk, staff_client_id=staff.client_id,
        relations=("introducer", "broker", "adviser"),
    ) or (task.target_staff_id is not None and task.target_staff_id == staff.pk):  # fmt: skip
        found.append("recused")
    return found


def _check_may_review(review: Review, actor: Actor) -> Staff:
    staff = _require_reviewer(actor)
    if review.level not in _levels(actor):
        raise WorkbenchRefused(
            "forbidden", _("公司级抽检由总部客户服务中心复核 (REV-2)"), status=403
        )
    problems = _own(review, staff)
    if "own_record" in problems:
        raise WorkbenchRefused("own_record", _("复核员不得复核本人回访或签字的记录 (CON-1)"))
    if "recused" in problems:
        raise WorkbenchRefused("recused", _("复核员与该客户存在关联,须回避 (CON-1)"))
    return staff


def _check_pending(review: Review, staff: Staff) -> None:
    if review.status != ReviewStatus.PENDING:
        raise WorkbenchRefused("wrong_state", _("该复核已处理"))
    if review.reviewer_id is not None and review.reviewer_id != staff.pk:
        raise WorkbenchRefused("taken", _("该复核已由其他复核员领取"))


def _locked(review: Review) -> Review:
    return (
        Review.objects.select_related("record", "task", "task__client")
        .select_for_update(of=("self",))
        .get(pk=review.pk)
    )


# --- queues -------------------------------------------------------------------------------------


def queue(actor: Actor) -> QuerySet[Review]:
    """Pending reviews the actor may work: his scope and level, not his own records (CON-1)."""
    levels = _levels(actor)
    if not levels or actor.staff is None:
        return Review.objects.none()
    staff = actor.staff
    return (
        Review.objects.visible_to(actor.user)
        .filter(status=ReviewStatus.PENDING, level__in=sorted(levels))
        .filter(Q(reviewer__isnull=True) | Q(reviewer=staff))
        .exclude(record__agent=staff)
        .exclude(record__leader=staff)
        .exclude(task__assignee=staff)
        .select_related("record", "task")
        .order_by("drawn_on", "id")
    )


def for_agent(actor: Actor) -> QuerySet[Review]:
    """The findings of reviews of the agent's records (REV-1: they go back to him), newest first."""
    if actor.staff is None:
        return Review.objects.none()
    return (
        Review.objects.filter(status=ReviewStatus.FINDINGS, record__agent=actor.staff)
        .select_related("record")
        .order_by("-decided_at", "-id")
    )


# --- actions ------------------------------------------------------------------------------------


def _audit(review: Review, action: str, *, before: object = None, after: object = None) -> None:
    audit_record(
        action=action, object_type="workbench.Review", object_id=str(review.pk),
        branch_code=review.branch_id, before=before, after=after,
    )  # fmt: skip


def take(*, review: Review, actor: Actor) -> Review:
    """The reviewer takes a pending review (idempotent for himself)."""
    _visible(review, actor)
    with transaction.atomic():
        review = _locked(review)
        staff = _check_may_review(review, actor)
        _check_pending(review, staff)
        if review.reviewer_id == staff.pk:
            return review
        review.reviewer = staff
        review.save(update_fields=["reviewer"])
        _audit(review, "workbench.review_take", before={"reviewer": None},
               after={"reviewer": staff.pk})  # fmt: skip
    return review


def decide(*, review: Review, actor: Actor, outcome: str, findings: str = "") -> Review:
    """REV-1: passed, or findings back to the agent; all passed → the task is ``reviewed``."""
    _visible(review, actor)
    status = OUTCOMES.get(outcome)
    if status is None:
        raise WorkbenchRefused("invalid", _("复核结论只能是“通过”或“发现问题”"), status=400)
    findings = (findings or "").strip()
    if status == ReviewStatus.FINDINGS and not findings:
        raise WorkbenchRefused("invalid", _("发现问题时须填写复核意见"), status=400)
    with transaction.atomic():
        review = _locked(review)
        if review.reason == ReviewReason.UNREACHABLE:
            raise WorkbenchRefused("wrong_state", _("无法联系结案申请请用批准/不批准办理"))
        staff = _check_may_review(review, actor)
        _check_pending(review, staff)
        now = clock.now()
        review.status, review.reviewer, review.findings, review.decided_at = (
            status,
            staff,
            findings,
            now,
        )
        review.save(update_fields=["status", "reviewer", "findings", "decided_at"])
        task_after = _close_if_all_passed(review)
        _audit(
            review, "workbench.review_decide", before={"status": ReviewStatus.PENDING},
            after={"status": status, "reviewer": staff.pk, "findings": findings,
                   "task_status": task_after},
        )  # fmt: skip
    return review


def _close_if_all_passed(review: Review) -> str | None:
    """The task becomes ``reviewed`` when every review of its signed record has passed."""
    if review.record_id is None or review.status != ReviewStatus.PASSED:
        return None
    others = Review.objects.filter(record_id=review.record_id).exclude(
        reason=ReviewReason.UNREACHABLE
    )
    if others.exclude(status=ReviewStatus.PASSED).exists():
        return None
    changed = Task.objects.filter(pk=review.task_id, status=TaskStatus.SIGNED).update(
        status=TaskStatus.REVIEWED
    )
    return TaskStatus.REVIEWED if changed else None


def acknowledge(*, review: Review, actor: Actor) -> Review:
    """The agent confirms he has read the reviewer's findings (REV-1)."""
    staff = actor.need_staff()
    _visible(review, actor)
    with transaction.atomic():
        review = _locked(review)
        if review.record is None or review.record.agent_id != staff.pk:
            raise WorkbenchRefused(
                "not_holder", _("只有该记录的回访人可以确认复核意见"), status=403
            )
        if review.status != ReviewStatus.FINDINGS:
            raise WorkbenchRefused("wrong_state", _("该复核没有待确认的复核意见"))
        if review.acknowledged_at is not None:
            return review
        review.acknowledged_at = clock.now()
        review.save(update_fields=["acknowledged_at"])
        _audit(review, "workbench.review_acknowledge", before={"acknowledged_at": None},
               after={"acknowledged_at": review.acknowledged_at, "by": staff.pk})  # fmt: skip
    return review


def decide_unreachable(*, review: Review, actor: Actor, approve: bool, note: str = "") -> Review:
    """EXE-3: approve (task ``unreachable``, claims released) or reject (back to the assignee)."""
    _visible(review, actor)
    note = (note or "").strip()
    if not approve and not note:
        raise WorkbenchRefused("invalid", _("不批准时须说明理由"), status=400)
    with transaction.atomic():
        review = _locked(review)
        if review.reason != ReviewReason.UNREACHABLE:
            raise WorkbenchRefused("wrong_state", _("这不是无法联系结案申请"))
        staff = _check_may_review(review, actor)
        _check_pending(review, staff)
        task = Task.objects.select_for_update().get(pk=review.task_id)
        if task.status not in OPEN_STATUSES:
            raise WorkbenchRefused("wrong_state", _("任务已结束"))
        now = clock.now()
        before_task = task.status
        released: list[int] = []
        if approve:
            review.status, new_status = ReviewStatus.APPROVED, TaskStatus.UNREACHABLE
            released = release_live(task, "unreachable", now)
        else:
            review.status = ReviewStatus.REJECTED
            new_status = TaskStatus.ASSIGNED if task.assignee_id else TaskStatus.OPEN
        Task.objects.filter(pk=task.pk).update(status=new_status)
        review.reviewer, review.findings, review.decided_at = staff, note, now
        review.save(update_fields=["status", "reviewer", "findings", "decided_at"])
        _audit(
            review, "workbench.review_unreachable",
            before={"status": ReviewStatus.PENDING, "task_status": before_task},
            after={"status": review.status, "reviewer": staff.pk, "note": note,
                   "task_status": new_status, "claims_released": released},
        )  # fmt: skip
    return review
