"""REV-3 monthly closing: the window over the 2026 calendar, on time and late, who may submit,
the records digest, corrections, the append-only table, the audit row."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.db import DatabaseError, transaction

from huifang.accounts.choices import Role
from huifang.audit.models import AuditEvent
from huifang.calendars.service import first_working_days, is_working_day
from huifang.core import clock
from huifang.evaluation import closing
from huifang.evaluation.choices import ClosingState
from huifang.evaluation.errors import EvaluationRefused
from huifang.evaluation.models import MonthlyClosing
from huifang.evaluation.periods import closing_window_end, previous_month
from huifang.evaluation.tests.factories import branch, leader_user, signed_record
from huifang.workbench.actors import actor_of

pytestmark = pytest.mark.django_db

SEP = dt.date(2026, 9, 15)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=clock.SHANGHAI)


# ---------------------------------------------------------------- the window (calendar)


def test_the_window_of_september_2026_skips_the_national_day_holiday() -> None:
    window = closing_window_end("2026-09")
    assert window == dt.date(2026, 10, 20)
    october = first_working_days(dt.date(2026, 10, 1), dt.date(2026, 10, 31), 10)
    assert window == october[-1]
    assert not any(dt.date(2026, 10, d) in october for d in range(1, 8))  # 国庆 10-01..07
    assert dt.date(2026, 10, 10) in october  # the adjusted working Saturday (调休) counts
    assert len(october) == 10 and all(is_working_day(d) for d in october)


@pytest.mark.parametrize("month", ["2026-01", "2026-04", "2026-06", "2026-11"])
def test_the_window_is_the_tenth_working_day_of_the_next_month(month: str) -> None:
    year, number = map(int, month.split("-"))
    start = dt.date(year, number + 1, 1)
    end = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    assert closing_window_end(month) == first_working_days(start, end, 10)[9]


def test_a_month_whose_next_year_is_unknown_is_refused_not_guessed() -> None:
    ops = leader_user(Role.BRANCH_OPS)
    unit = ops.staff.unit
    with clock.frozen(dt.date(2030, 2, 3)), pytest.raises(EvaluationRefused) as refused:
        closing.submit(branch=unit, month="2029-12", actor=actor_of(ops))
    assert refused.value.code == "calendar_missing"
    assert not MonthlyClosing.objects.exists()


def test_last_month_is_the_one_closed_now() -> None:
    assert previous_month(dt.date(2026, 10, 14)) == "2026-09"
    assert previous_month(dt.date(2026, 1, 5)) == "2025-12"


# ---------------------------------------------------------------- submitting


def test_a_submission_inside_the_window_is_on_time() -> None:
    ops = leader_user(Role.BRANCH_OPS)
    unit = ops.staff.unit
    signed_record(unit, SEP)
    with clock.frozen(at(dt.date(2026, 10, 20), 17)):  # the last day of the window
        row = closing.submit(branch=unit, month="2026-09", actor=actor_of(ops))
    assert (row.late, row.window_end, row.record_count) == (False, dt.date(2026, 10, 20), 1)
    assert row.submitted_by == ops.username and not row.correction


def test_a_submission_after_the_window_is_late() -> None:
    ops = leader_user(Role.BRANCH_OPS)
    unit = ops.staff.unit
    with clock.frozen(at(dt.date(2026, 10, 21), 9)):
        row = closing.submit(branch=unit, month="2026-09", actor=actor_of(ops))
    assert row.late is True
    assert closing.state(row, "2026-09", dt.date(2026, 10, 21)) == ClosingState.LATE


def test_the_branch_manager_may_submit_too() -> None:
    manager = leader_user(Role.BRANCH_MANAGER)
    row = closing.submit(branch=manager.staff.unit, month="2026-09", actor=actor_of(manager))
    assert row.pk is not None


def test_a_month_not_yet_ended_is_refused() -> None:
    ops = leader_user(Role.BRANCH_OPS)
    with pytest.raises(EvaluationRefused) as refused:
        closing.submit(branch=ops.staff.unit, month="2026-10", actor=actor_of(ops))
    assert refused.value.code == "not_ended"
    with pytest.raises(EvaluationRefused) as refused:
        closing.submit(branch=ops.staff.unit, month="2026-13", actor=actor_of(ops))
    assert refused.value.code == "invalid"
    assert not MonthlyClosing.objects.exists()


def test_another_branch_ops_may_not_submit() -> None:
    ops_a = leader_user(Role.BRANCH_OPS)
    ops_b = leader_user(Role.BRANCH_OPS)
    with pytest.raises(EvaluationRefused) as refused:
        closing.submit(branch=ops_a.staff.unit, month="2026-09", actor=actor_of(ops_b))
    assert (refused.value.code, refused.value.status) == ("forbidden", 403)
    assert not MonthlyClosing.objects.exists()


@pytest.mark.parametrize("role", [Role.AGENT, Role.BRANCH_MARKETING, Role.REVIEWER])
def test_other_roles_of_the_branch_may_not_submit(role: str) -> None:
    unit = branch()
    user = leader_user(role, unit)
    with pytest.raises(EvaluationRefused) as refused:
        closing.submit(branch=unit, month="2026-09", actor=actor_of(user))
    assert refused.value.code == "forbidden"


def test_a_regional_supervisor_holding_branch_ops_over_the_region_may_not_submit() -> None:
    from huifang.accounts.tests.factories import user_with_role

    unit = branch()
    regional = user_with_role(Role.BRANCH_OPS, region=unit.region)
    with pytest.raises(EvaluationRefused):
        closing.submit(branch=unit, month="2026-09", actor=actor_of(regional))


def test_submitting_twice_is_refused() -> None:
    ops = leader_user(Role.BRANCH_OPS)
    closing.submit(branch=ops.staff.unit, month="2026-09", actor=actor_of(ops))
    with pytest.raises(EvaluationRefused) as refused:
        closing.submit(branch=ops.staff.unit, month="2026-09", actor=actor_of(ops))
    assert refused.value.code == "submitted"
    assert MonthlyClosing.objects.count() == 1


def test_a_correction_is_a_new_row_and_late_stays_as_first_submitted() -> None:
    ops = leader_user(Role.BRANCH_OPS)
    unit = ops.staff.unit
    signed_record(unit, SEP)
    with clock.frozen(at(dt.date(2026, 10, 22))):
        first = closing.submit(branch=unit, month="2026-09", actor=actor_of(ops))
        with pytest.raises(EvaluationRefused) as refused:  # nothing changed
            closing.submit(branch=unit, month="2026-09", actor=actor_of(ops), correction=True,
                           note="补报")  # fmt: skip
        assert refused.value.code == "unchanged"
        signed_record(unit, dt.date(2026, 9, 30))  # signed after the submission
        with pytest.raises(EvaluationRefused) as refused:
            closing.submit(branch=unit, month="2026-09", actor=actor_of(ops), correction=True)
        assert refused.value.code == "invalid"  # a reason is required
        second = closing.submit(branch=unit, month="2026-09", actor=actor_of(ops),
                                correction=True, note="补签记录")  # fmt: skip
    assert second.correction and second.supersedes_id == first.pk and second.record_count == 2
    assert second.records_sha256 != first.records_sha256
    first.refresh_from_db()
    assert (first.late, first.record_count) == (True, 1)
    assert closing.state(
        MonthlyClosing.objects.firsts().get(branch=unit, month="2026-09"), "2026-09",
        dt.date(2026, 10, 22),
    ) == ClosingState.LATE  # fmt: skip


def test_a_correction_without_a_first_submission_is_refused() -> None:
    ops = leader_user(Role.BRANCH_OPS)
    with pytest.raises(EvaluationRefused) as refused:
        closing.submit(branch=ops.staff.unit, month="2026-09", actor=actor_of(ops),
                       correction=True, note="x")  # fmt: skip
    assert refused.value.code == "not_submitted"


def test_submitting_writes_one_audit_row() -> None:
    ops = leader_user(Role.BRANCH_OPS)
    before = AuditEvent.objects.count()
    row = closing.submit(branch=ops.staff.unit, month="2026-09", actor=actor_of(ops))
    event = AuditEvent.objects.order_by("-id").first()
    assert AuditEvent.objects.count() == before + 1
    assert event is not None and event.action == "evaluation.closing_submit"
    assert event.object_id == str(row.pk) and event.branch_code == ops.staff.unit_id
    assert event.after["records_sha256"] == row.records_sha256


def test_a_closing_row_cannot_be_changed_in_the_database() -> None:
    ops = leader_user(Role.BRANCH_OPS)
    row = closing.submit(branch=ops.staff.unit, month="2026-09", actor=actor_of(ops))
    with pytest.raises(DatabaseError), transaction.atomic():
        MonthlyClosing.objects.filter(pk=row.pk).update(late=True)
    with pytest.raises(DatabaseError), transaction.atomic():
        MonthlyClosing.objects.filter(pk=row.pk).delete()


# ---------------------------------------------------------------- the records digest


def test_the_digest_is_the_sha256_of_the_sorted_lines() -> None:
    lines = [("HF2", "b" * 64), ("HF1", "a" * 64)]
    expected = hashlib.sha256(f"HF1\t{'a' * 64}\nHF2\t{'b' * 64}\n".encode()).hexdigest()
    assert closing.records_digest(lines) == expected
    assert closing.records_digest(reversed(lines)) == expected
    assert closing.records_digest([]) == hashlib.sha256(b"").hexdigest()


def test_the_records_sha256_is_reproducible_and_changes_when_a_record_is_added() -> None:
    unit = branch()
    mine = [signed_record(unit, SEP), signed_record(unit, dt.date(2026, 9, 1))]
    # none of these belongs to the branch's closing of September:
    signed_record(unit, dt.date(2026, 10, 1))  # another month
    signed_record(unit, SEP, status="agent_signed")  # not signed by the leader yet
    signed_record(unit, SEP, status="draft")
    signed_record(unit, SEP, level="company")  # head office's own callback
    signed_record(branch(), SEP)  # another branch
    first = closing.summary(unit.code, "2026-09")
    assert first.count == 2
    expected = closing.records_digest((r.number, r.content_sha256) for r in mine)
    assert first.sha256 == expected == closing.summary(unit.code, "2026-09").sha256
    signed_record(unit, dt.date(2026, 9, 30), status="archived")
    second = closing.summary(unit.code, "2026-09")
    assert second.count == 3 and second.sha256 != first.sha256
