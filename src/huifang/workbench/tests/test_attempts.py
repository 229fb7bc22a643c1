"""Attempts (SPEC EXE-3, CON-5, EXE-7), unreachable requests and branch data corrections.

The clock stands at 2026-10-14 10:00 Asia/Shanghai (workbench conftest) unless a
test freezes another moment.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import DatabaseError, transaction

from huifang.accounts.choices import Role
from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Task
from huifang.core import clock
from huifang.workbench import attempts, queue, selectors
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Attempt, Claim, DataCorrection, Record, Review
from huifang.workbench.tests import factories as f

NOW = dt.datetime(2026, 10, 14, 10, 0, tzinfo=clock.SHANGHAI)
TODAY = NOW.date()


@pytest.fixture
def w(db: None) -> SimpleNamespace:
    """Branch A01: agent 甲 holding a task, agent 乙, 营运总监; branch B01's 营运总监."""
    f.policy()
    a01, b01 = f.branch("A01"), f.branch("B01")
    agent = f.agent_user(a01, username="agent1", staff_id="S01")
    task = f.open_task(branch=a01, assignee=agent)
    f.claim(task, agent)
    return SimpleNamespace(
        a01=a01, b01=b01, agent=agent, task=task,
        other=f.agent_user(a01, username="agent2", staff_id="S02"),
        ops=f.leader_user(Role.BRANCH_OPS, a01, username="ops_a"),
        ops_b=f.leader_user(Role.BRANCH_OPS, b01, username="ops_b"),
    )  # fmt: skip


def log(user: object, task: Task, outcome: str, method: str = "phone", **kw: object) -> Attempt:
    return attempts.log_attempt(
        task=task,
        actor=f.actor(user),
        method=method,
        outcome=outcome,
        **kw,  # type: ignore[arg-type]
    )


def refused(fn: object, *args: object, **kwargs: object) -> WorkbenchRefused:
    with pytest.raises(WorkbenchRefused) as caught:
        fn(*args, **kwargs)  # type: ignore[operator]
    return caught.value


def live(task: Task) -> list[str]:
    return list(
        Claim.objects.filter(task=task, released_at__isnull=True).values_list("staff_id", flat=True)
    )


# --- who may log, and when --------------------------------------------------------------------


def test_only_the_holder_logs_an_attempt(w: SimpleNamespace) -> None:
    error = refused(log, w.other, w.task, "no_answer")
    assert error.code == "not_holder"
    queue.release(task=w.task, actor=f.actor(w.agent))
    error = refused(log, w.agent, w.task, "no_answer")  # the assignee, but no longer holding it
    assert error.code == "not_holder"
    assert Attempt.objects.count() == 0
    assert not AuditEvent.objects.filter(action="workbench.attempt").exists()


def test_phone_attempts_only_inside_call_hours(w: SimpleNamespace) -> None:
    """CON-5: a phone try at 21:00 is refused; a visit at that hour is not a call."""
    evening = dt.datetime(2026, 10, 13, 21, 0, tzinfo=clock.SHANGHAI)
    error = refused(log, w.agent, w.task, "no_answer", at=evening)
    assert error.code == "call_hours" and "CON-5" in error.reasons[0]
    assert Attempt.objects.count() == 0
    visit = log(w.agent, w.task, "no_answer", method="visit", at=evening)
    assert visit.at == evening and visit.method == "visit"


def test_the_time_defaults_to_now_and_may_not_be_in_the_future(w: SimpleNamespace) -> None:
    error = refused(log, w.agent, w.task, "busy", at=NOW + dt.timedelta(minutes=5))
    assert error.code == "invalid" and error.status == 400
    assert refused(log, w.agent, w.task, "hung_up").code == "invalid"
    attempt = log(w.agent, w.task, "busy")
    assert attempt.at == NOW and attempt.staff_id == "S01" and attempt.channel == "ui"


def test_no_attempt_before_the_cooling_off_ends(w: SimpleNamespace) -> None:
    """PROD-*: a try before ``opens_at`` is refused."""
    Task.objects.filter(pk=w.task.pk).update(opens_at=NOW - dt.timedelta(hours=1))
    error = refused(log, w.agent, w.task, "connected", at=NOW - dt.timedelta(hours=2))
    assert error.code == "cooling_off"
    assert Attempt.objects.count() == 0


def test_a_closed_task_takes_no_attempt(w: SimpleNamespace) -> None:
    Task.objects.filter(pk=w.task.pk).update(status="signed")
    assert refused(log, w.agent, w.task, "no_answer").code == "wrong_state"


# --- outcomes -----------------------------------------------------------------------------------


def test_a_failed_try_waits_until_the_next_days_call_hours_and_frees_the_task(
    w: SimpleNamespace,
) -> None:
    attempt = log(w.agent, w.task, "no_answer", note="无人接听")
    tomorrow_9 = dt.datetime(2026, 10, 15, 9, 0, tzinfo=clock.SHANGHAI)
    task = Task.objects.get(pk=w.task.pk)
    assert task.retry_after == tomorrow_9 and attempt.retry_after == tomorrow_9
    assert task.status == "assigned" and live(task) == []
    assert Claim.objects.get(task=task).release_reason == "attempt:no_answer"
    assert queue.next_task(actor=f.actor(w.agent)) is None  # not before tomorrow 09:00
    with clock.frozen(tomorrow_9):
        assert queue.next_task(actor=f.actor(w.agent)) == task
    audit = AuditEvent.objects.get(action="workbench.attempt", object_id=str(task.pk))
    assert (
        audit.after["outcome"] == "no_answer"
        and audit.after["retry_after"] == tomorrow_9.isoformat()
    )


def test_call_back_later_keeps_the_agreed_time(w: SimpleNamespace) -> None:
    agreed = NOW + dt.timedelta(hours=3)
    log(w.agent, w.task, "call_back_later", retry_after=agreed)
    assert Task.objects.get(pk=w.task.pk).retry_after == agreed
    f.claim(w.task, w.agent)
    error = refused(log, w.agent, w.task, "busy", retry_after=NOW - dt.timedelta(minutes=1))
    assert error.code == "invalid"
    error = refused(log, w.agent, w.task, "connected", retry_after=agreed)
    assert error.code == "invalid"


def test_a_wrong_number_opens_one_data_correction_for_the_branch(w: SimpleNamespace) -> None:
    """EXE-3: a wrong number opens a data-correction task for the branch (one open per task)."""
    first = log(w.agent, w.task, "wrong_number")
    correction = DataCorrection.objects.get(task=w.task)
    assert correction.status == "open" and correction.branch_id == "A01"
    assert correction.client_id == w.task.client_id and correction.attempt_id == first.pk
    assert correction.reported_by == "agent1"
    f.claim(w.task, w.agent)
    log(w.agent, w.task, "wrong_number", at=NOW)
    assert DataCorrection.objects.filter(task=w.task).count() == 1
    assert list(selectors.corrections(w.ops)) == [correction]
    assert list(selectors.corrections(w.ops_b)) == []


def test_the_branch_marks_a_correction_done_and_the_task_may_be_tried_again(
    w: SimpleNamespace,
) -> None:
    log(w.agent, w.task, "wrong_number")
    correction = DataCorrection.objects.get(task=w.task)
    assert refused(attempts.correction_done, correction=correction, actor=f.actor(w.agent),
                   note="x").code == "forbidden"  # fmt: skip
    assert refused(attempts.correction_done, correction=correction, actor=f.actor(w.ops_b),
                   note="x").code == "not_found"  # fmt: skip
    assert refused(attempts.correction_done, correction=correction, actor=f.actor(w.ops),
                   note="  ").code == "invalid"  # fmt: skip
    done = attempts.correction_done(
        correction=correction, actor=f.actor(w.ops), note="已更新手机号"
    )
    assert done.status == "done" and done.resolved_by == "ops_a" and done.resolved_at == NOW
    assert Task.objects.get(pk=w.task.pk).retry_after is None
    assert queue.next_task(actor=f.actor(w.agent)) == w.task
    assert refused(attempts.correction_done, correction=done, actor=f.actor(w.ops),
                   note="again").code == "wrong_state"  # fmt: skip
    assert AuditEvent.objects.filter(action="workbench.correction_done").count() == 1


def test_a_connected_try_starts_the_task_and_opens_its_record(w: SimpleNamespace) -> None:
    attempt = log(w.agent, w.task, "connected", call_id="CC-1")
    task = Task.objects.get(pk=w.task.pk)
    assert task.status == "in_progress" and live(task) == ["S01"]
    assert attempt.call_id == "CC-1" and attempt.retry_after is None
    record = Record.objects.get(task=task)
    assert record.agent_id == "S01" and record.method == "phone"
    audit = AuditEvent.objects.get(action="workbench.attempt", object_id=str(task.pk))
    assert audit.after["record"] == record.pk and audit.after["status"] == "in_progress"


def test_banned_phrases_in_the_note_are_flagged_in_the_audit_trail(w: SimpleNamespace) -> None:
    """EXE-7: notes are checked; the attempt row itself stays as written."""
    attempt = log(w.agent, w.task, "refused", note="客户说:你有完没完")
    assert attempt.banned_phrases  # type: ignore[attr-defined]
    stored = Attempt.objects.get(pk=attempt.pk)
    assert stored.note == "客户说:你有完没完"
    audit = AuditEvent.objects.get(action="workbench.attempt")
    assert audit.after["banned_phrases"] == attempt.banned_phrases  # type: ignore[attr-defined]


def test_attempts_cannot_be_changed_or_deleted(w: SimpleNamespace) -> None:
    """EXE-3, NFR-2: the attempt table is append-only (database trigger)."""
    attempt = log(w.agent, w.task, "busy")
    with pytest.raises(DatabaseError), transaction.atomic():
        Attempt.objects.filter(pk=attempt.pk).update(outcome="connected")
    with pytest.raises(DatabaseError), transaction.atomic():
        Attempt.objects.filter(pk=attempt.pk).delete()
    assert Attempt.objects.get(pk=attempt.pk).outcome == "busy"


# --- unreachable ------------------------------------------------------------------------------


def test_three_failed_tries_on_one_day_are_not_enough(w: SimpleNamespace) -> None:
    for hour in (10, 11, 12):
        with clock.frozen(f.at(hour, 0, TODAY)):
            if not live(w.task):
                f.claim(w.task, w.agent)
            log(w.agent, w.task, "no_answer")
    error = refused(attempts.request_unreachable, task=w.task, actor=f.actor(w.agent))
    assert error.code == "too_few_attempts" and "EXE-3" in error.reasons[0]
    assert not Review.objects.exists()


def test_three_failed_tries_on_different_days_allow_the_unreachable_request(
    w: SimpleNamespace,
) -> None:
    for day, outcome in ((14, "no_answer"), (15, "busy"), (16, "refused")):
        with clock.frozen(f.at(10, 0, dt.date(2026, 10, day))):
            assert queue.next_task(actor=f.actor(w.agent)) == w.task
            if day < 16:  # two days are not enough yet
                log(w.agent, w.task, outcome)
                assert refused(attempts.request_unreachable, task=w.task,
                               actor=f.actor(w.agent)).code == "too_few_attempts"  # fmt: skip
            else:
                log(w.agent, w.task, outcome)
                assert refused(attempts.request_unreachable, task=w.task,
                               actor=f.actor(w.other)).code == "not_holder"  # fmt: skip
                review = attempts.request_unreachable(task=w.task, actor=f.actor(w.agent))
    assert review.reason == "unreachable" and review.status == "pending"
    assert review.level == "branch" and review.branch_id == "A01"
    assert review.drawn_on == dt.date(2026, 10, 16) and review.record_id is None
    assert live(w.task) == []
    assert attempts.failed_days(w.task) == [dt.date(2026, 10, d) for d in (14, 15, 16)]
    with clock.frozen(f.at(10, 0, dt.date(2026, 10, 16))):
        error = refused(attempts.request_unreachable, task=w.task, actor=f.actor(w.agent))
    assert error.code == "wrong_state"
    audit = AuditEvent.objects.get(action="workbench.request_unreachable")
    assert audit.after["review"] == review.pk


def test_call_back_later_does_not_count_as_a_failed_try(w: SimpleNamespace) -> None:
    for day in (12, 13, 14):
        f.claim(w.task, w.agent) if not live(w.task) else None
        log(w.agent, w.task, "call_back_later", at=f.at(10, 0, dt.date(2026, 10, day)))
    assert attempts.failed_days(w.task) == []
    assert refused(attempts.request_unreachable, task=w.task,
                   actor=f.actor(w.agent)).code == "too_few_attempts"  # fmt: skip


# --- selectors --------------------------------------------------------------------------------


def test_selectors_list_his_tasks_held_due_and_overdue(w: SimpleNamespace) -> None:
    due_now = f.open_task(branch=w.a01, assignee=w.agent, due=TODAY)
    late = f.open_task(branch=w.a01, assignee=w.agent, due=dt.date(2026, 10, 13))
    f.open_task(branch=w.a01, assignee=w.other, due=TODAY)
    actor = f.actor(w.agent)
    assert list(selectors.held_by(actor)) == [w.task]
    assert list(selectors.my_tasks(actor)) == [late, due_now, w.task]
    assert list(selectors.due_today(actor)) == [due_now]
    assert list(selectors.overdue(actor)) == [late]
    log(w.agent, w.task, "busy")
    assert list(selectors.attempts_of(w.task).values_list("outcome", flat=True)) == ["busy"]
    assert list(selectors.held_by(actor)) == []


def test_after_a_rejected_closure_three_new_failed_days_allow_asking_again(
    w: SimpleNamespace,
) -> None:
    """EXE-3: a reviewer's rejection sends the task back; only tries after it count again."""
    from huifang.workbench import review as reviews

    reviewer = f.reviewer_user(w.a01)

    def fail_on(day: int) -> None:
        with clock.frozen(f.at(10, 0, dt.date(2026, 10, day))):
            assert queue.next_task(actor=f.actor(w.agent)) == w.task
            log(w.agent, w.task, "no_answer")

    for day in (12, 13, 14):
        fail_on(day)
    with clock.frozen(f.at(11, 0, dt.date(2026, 10, 14))):
        first = attempts.request_unreachable(task=w.task, actor=f.actor(w.agent))
        reviews.decide_unreachable(
            review=first, actor=f.actor(reviewer), approve=False, note="再试"
        )
    fail_on(15)
    with clock.frozen(f.at(11, 0, dt.date(2026, 10, 15))):
        error = refused(attempts.request_unreachable, task=w.task, actor=f.actor(w.agent))
    assert error.code == "too_few_attempts"  # the days before the rejection do not count
    for day in (16, 19):
        fail_on(day)
    with clock.frozen(f.at(11, 0, dt.date(2026, 10, 19))):
        second = attempts.request_unreachable(task=w.task, actor=f.actor(w.agent))
    assert second.pk != first.pk and second.status == "pending"
    assert list(Review.objects.filter(task=w.task).values_list("status", flat=True).order_by("id")) == [
        "rejected", "pending"]  # fmt: skip
