"""Tries to reach the client (SPEC EXE-3, CON-5), unreachable closures, branch data corrections.

Every try is an ``Attempt`` row — append-only in the database: a row is never
updated, so everything about a try is decided before it is written. A failed try
(no answer, busy, wrong number, refused) or "call back later" gives the task back to
the queue until ``Task.retry_after``; a wrong number also opens a ``DataCorrection``
for the branch; a connected try makes the task ``in_progress`` and opens its record.
After ``params.unreachable_tries()`` failed tries on different days the agent may ask
to close the task as unreachable: a reviewer decides (``Review`` reason unreachable).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from huifang.audit.services import audit_record
from huifang.callbacks.choices import OPEN_STATUSES, TaskStatus
from huifang.callbacks.models import Task
from huifang.core import clock, tx
from huifang.org.models import Staff
from huifang.workbench import access, params, phrases, records
from huifang.workbench.actors import Actor
from huifang.workbench.choices import (
    FAILED_OUTCOMES,
    CorrectionStatus,
    Method,
    Outcome,
    ReviewReason,
    ReviewStatus,
)
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Attempt, DataCorrection, Review
from huifang.workbench.queue import (
    holds,
    in_call_hours,
    live_claims,
    release_live,
    require_call_hours,
    require_visible,
    require_worker,
    signed_records,
)

RETRY_OUTCOMES = FAILED_OUTCOMES | {Outcome.CALL_BACK_LATER}


def _local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.SHANGHAI)
    return moment.astimezone(clock.SHANGHAI)


def next_call_start(moment: dt.datetime) -> dt.datetime:
    """The start of the CON-5 call hours on the day after ``moment`` (local time)."""
    day = _local(moment).date() + dt.timedelta(days=1)
    start, _end = params.call_hours(day)
    return dt.datetime.combine(day, start, tzinfo=clock.SHANGHAI)


def _staff_for(task: Task, actor: Actor) -> Staff:
    """The agent logging the try; an e-questionnaire answer counts for the task's assignee."""
    if actor.channel == "questionnaire":
        staff = actor.staff or task.assignee
        if staff is None:
            raise WorkbenchRefused("no_staff", _("任务尚未分配回访人员"), status=403)
        return staff
    return require_worker(actor)


def _banned(note: str) -> list[str]:
    if not note.strip():
        return []
    return list(phrases.find_banned(note))


def log_attempt(
    *, task: Task, actor: Actor, method: str, outcome: str, call_id: str = "", note: str = "",
    at: dt.datetime | None = None, retry_after: dt.datetime | None = None,
) -> Attempt:  # fmt: skip
    """EXE-3: log one try of the task the actor holds; returns the attempt.

    Refusals (nothing written): ``not_holder`` (he holds no live claim of the task),
    ``call_hours`` (a phone try outside CON-5 hours), ``cooling_off`` (a try before the
    task opens, PROD-*), ``wrong_state`` (task closed), ``invalid`` (unknown method or
    outcome, a time in the future, a retry time not after now or on a connected try).
    The suspected banned phrases of the note (EXE-7) go to the audit row and to
    ``attempt.banned_phrases`` (not stored on the attempt: it is append-only).
    A ``call_id`` already logged for the task returns that attempt (``created`` False),
    checked under the task's lock; a unique index backs it.
    """
    staff = _staff_for(task, actor)
    if actor.channel != "questionnaire":
        require_visible(task, actor)
    now = clock.now()
    moment = _local(at) if at is not None else now
    banned = _banned(note)
    with tx.atomic():
        # every check reads the task under its lock: nobody changes it between check and write
        locked = (
            Task.objects.select_for_update(of=("self",)).select_related("client").get(pk=task.pk)
        )
        # then, in one statement read after the lock is granted (a sub-query of the locking
        # statement would see the snapshot taken before it waited): is its record signed,
        # does he hold it
        signed, held = (
            Task.objects.filter(pk=locked.pk)
            .annotate(
                signed=Exists(signed_records()), held=Exists(live_claims(OuterRef("pk"), staff))
            )
            .values_list("signed", "held")
            .get()
        )  # fmt: skip
        _check(
            locked, staff, actor, method=method, outcome=outcome, moment=moment, now=now,
            retry_after=retry_after, signed=signed, held=held,
        )  # fmt: skip
        retry: dt.datetime | None = None
        if outcome in RETRY_OUTCOMES:
            retry = _local(retry_after) if retry_after is not None else next_call_start(moment)
        if call_id:  # the call center may post a call twice: the first one stands (idempotent)
            known = Attempt.objects.filter(task=locked, call_id=call_id).first()
            if known is not None:
                known.banned_phrases = _banned(known.note)  # type: ignore[attr-defined]
                known.created = False  # type: ignore[attr-defined]
                return known
        attempt = Attempt.objects.create(
            task=locked, staff=staff, at=moment, method=method, outcome=outcome, call_id=call_id,
            note=note, channel=actor.channel, retry_after=retry,
        )  # fmt: skip
        after: dict[str, Any] = {
            "attempt": attempt.pk, "staff": staff.pk, "at": moment.isoformat(), "method": method,
            "outcome": outcome, "call_id": call_id, "channel": actor.channel,
        }  # fmt: skip
        before: dict[str, Any] = {"status": locked.status, "retry_after": _iso(locked.retry_after)}
        if banned:
            after["banned_phrases"] = banned
        if outcome == Outcome.CONNECTED:
            status = TaskStatus.IN_PROGRESS
            Task.objects.filter(pk=locked.pk).update(status=status, retry_after=None)
            locked.status, locked.retry_after = status, None
            after["status"] = status
        else:
            Task.objects.filter(pk=locked.pk).update(retry_after=retry)
            locked.retry_after = retry
            after["retry_after"] = _iso(retry)
            after["claims_released"] = release_live(locked, f"attempt:{outcome}", now)
        if outcome == Outcome.WRONG_NUMBER:
            correction = _open_correction(locked, attempt, actor, now)
            after["data_correction"] = correction.pk if correction else None
        if outcome == Outcome.CONNECTED:
            record = records.open_record(task=locked, actor=actor, method=method, locked=True)
            after["record"] = getattr(record, "pk", None)
            attempt.record_number = record.number  # type: ignore[attr-defined]
        audit_record(
            action="workbench.attempt", object_type="callbacks.Task", object_id=str(locked.pk),
            branch_code=locked.branch_id, before=before, after=after,
        )  # fmt: skip
    task.status, task.retry_after = locked.status, locked.retry_after  # as written above
    attempt.banned_phrases = banned  # type: ignore[attr-defined]
    attempt.created = True  # type: ignore[attr-defined]
    return attempt


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _check(
    task: Task, staff: Staff, actor: Actor, *, method: str, outcome: str, moment: dt.datetime,
    now: dt.datetime, retry_after: dt.datetime | None, signed: bool, held: bool,
) -> None:  # fmt: skip
    """The refusals of ``log_attempt``; ``signed``: the task's record is signed, ``held``: the
    staff member holds a live claim of it (both read with the locked task)."""
    if method not in Method.values:
        raise WorkbenchRefused(
            "invalid", _("未知的回访方式:%(m)s (EXE-1)") % {"m": method}, status=400
        )
    if outcome not in Outcome.values:
        raise WorkbenchRefused(
            "invalid", _("未知的回访结果:%(o)s (EXE-3)") % {"o": outcome}, status=400
        )
    if task.status not in OPEN_STATUSES:
        raise WorkbenchRefused("wrong_state", _("任务已结束,不能再登记回访尝试"))
    if signed:
        raise WorkbenchRefused("signed", _("回访记录已签字,不能再登记回访尝试 (EXE-5)"))
    if actor.channel != "questionnaire" and not held:
        raise WorkbenchRefused("not_holder", _("您未领取该任务,不能登记回访尝试 (EXE-3)"))
    if moment > now:
        raise WorkbenchRefused("invalid", _("回访时间不能晚于当前时间 (EXE-3)"), status=400)
    if task.opens_at is not None and moment < task.opens_at:
        raise WorkbenchRefused(
            "cooling_off",
            _("冷静期至 %(t)s,之前不得回访") % {"t": f"{_local(task.opens_at):%Y-%m-%d %H:%M}"},
        )
    if method == Method.PHONE and not in_call_hours(moment):
        require_call_hours(moment)
    if retry_after is not None:
        if outcome not in RETRY_OUTCOMES:
            raise WorkbenchRefused("invalid", _("只有未接通的尝试可以约定再次回访时间"), status=400)
        if _local(retry_after) <= now:
            raise WorkbenchRefused("invalid", _("再次回访时间须晚于当前时间"), status=400)


def _open_correction(
    task: Task, attempt: Attempt, actor: Actor, now: dt.datetime
) -> DataCorrection | None:
    """EXE-3: a wrong number opens one data-correction task for the branch (one open per task)."""
    if DataCorrection.objects.filter(task=task, status=CorrectionStatus.OPEN).exists():
        return None
    return DataCorrection.objects.create(
        task=task, client_id=task.client_id, branch_id=task.branch_id, attempt=attempt,
        reported_by=actor.name, reported_at=now,
    )  # fmt: skip


def failed_days(task: Task, since: dt.datetime | None = None) -> list[dt.date]:
    """The local days with at least one failed try (EXE-3) after ``since``, in order."""
    tries = Attempt.objects.filter(task=task, outcome__in=FAILED_OUTCOMES)
    if since is not None:
        tries = tries.filter(at__gt=since)
    return sorted({_local(m).date() for m in tries.values_list("at", flat=True)})


def request_unreachable(*, task: Task, actor: Actor) -> Review:
    """EXE-3: ask a reviewer to close the task as unreachable; returns the pending review.

    The task's assignee or holder asks, after ≥ ``params.unreachable_tries()`` failed
    tries on different days (``too_few_attempts``; after a rejected request, tries since
    the rejection); one live request per task (``wrong_state``). The claim is released.
    """
    staff = require_worker(actor)
    require_visible(task, actor)
    task.refresh_from_db()
    if task.status not in OPEN_STATUSES:
        raise WorkbenchRefused("wrong_state", _("任务已结束"))
    if task.assignee_id != staff.pk and not holds(staff, task):
        raise WorkbenchRefused("not_holder", _("只有该任务的回访人员可以申请无法联系结案"))
    # after a rejected request only the tries since the rejection count again
    rejected = (
        Review.objects.filter(task=task, reason=ReviewReason.UNREACHABLE, status=ReviewStatus.REJECTED)
        .order_by("-decided_at").values_list("decided_at", flat=True).first()
    )  # fmt: skip
    days = failed_days(task, since=rejected)
    needed = params.unreachable_tries()
    if len(days) < needed:
        raise WorkbenchRefused(
            "too_few_attempts",
            _("须在 %(n)s 个不同日期尝试联系未果后方可申请无法联系结案,目前 %(k)s 天 (EXE-3)")
            % {"n": needed, "k": len(days)},
        )
    existing = (
        Review.objects.filter(task=task, reason=ReviewReason.UNREACHABLE)
        .exclude(status=ReviewStatus.REJECTED).first()
    )  # fmt: skip
    if existing is not None:
        state = (
            _("待复核")
            if existing.status == ReviewStatus.PENDING
            else existing.get_status_display()
        )
        raise WorkbenchRefused("wrong_state", _("已提交过无法联系结案申请(%(s)s)") % {"s": state})
    now = clock.now()
    with tx.atomic():
        review = Review.objects.create(
            task=task, branch_id=task.branch_id, level=task.level, reason=ReviewReason.UNREACHABLE,
            drawn_on=now.date(),
        )  # fmt: skip
        released = release_live(task, "unreachable_requested", now)
        audit_record(
            action="workbench.request_unreachable", object_type="callbacks.Task",
            object_id=str(task.pk), branch_code=task.branch_id,
            after={"review": review.pk, "failed_days": [d.isoformat() for d in days],
                   "claims_released": released},
        )  # fmt: skip
    return review


def correction_done(*, correction: DataCorrection, actor: Actor, note: str) -> DataCorrection:
    """EXE-3: the branch (``access.CORRECTORS``, in scope) has corrected the client's data.

    The task may be tried again at once (its ``retry_after`` is cleared).
    """
    if not actor.has(*access.CORRECTORS):
        raise WorkbenchRefused(
            "forbidden", _("只有营运总监或营业部负责人可以处理资料更正"), status=403
        )
    if not DataCorrection.objects.visible_to(actor.user).filter(pk=correction.pk).exists():
        raise WorkbenchRefused("not_found", _("资料更正任务不存在"), status=404)
    correction.refresh_from_db()
    if correction.status != CorrectionStatus.OPEN:
        raise WorkbenchRefused("wrong_state", _("该资料更正任务已处理"))
    if not note.strip():
        raise WorkbenchRefused("invalid", _("请说明更正情况"), status=400)
    now = clock.now()
    with tx.atomic():
        DataCorrection.objects.filter(pk=correction.pk).update(
            status=CorrectionStatus.DONE, resolved_by=actor.name, resolved_at=now, note=note
        )
        cleared = Task.objects.filter(
            pk=correction.task_id, status__in=OPEN_STATUSES, retry_after__isnull=False
        ).update(retry_after=None)
        audit_record(
            action="workbench.correction_done", object_type="workbench.DataCorrection",
            object_id=str(correction.pk), branch_code=correction.branch_id,
            before={"status": CorrectionStatus.OPEN},
            after={"status": CorrectionStatus.DONE, "note": note, "task_retry_cleared": bool(cleared)},
        )  # fmt: skip
    correction.refresh_from_db()
    return correction
