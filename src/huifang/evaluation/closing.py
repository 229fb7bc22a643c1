"""Monthly closing (REV-3, 004 §15): a branch submits last month's records to HQ within the
first 10 working days of the month; HQ sees who is on time, late or missing.

What is submitted: the branch's leader-signed, branch-level records dated in the month
(``inputs.signed_records``), fixed by their count and ``records_digest``. Who: the
branch's 营运总监 or 负责人, holding that role over that very branch. When: once the
month has ended; after ``closing_window_end`` the submission is ``late``.

Twice: the first submission is the one that counts; ``submit(..., correction=True)``
with a reason adds a correction row (records signed after the submission, for
instance) that supersedes the last one — only when the records changed. Rows are
never updated (append-only in the database): late stays late.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from huifang.accounts.models import User
from huifang.audit.services import audit_record
from huifang.calendars.service import CalendarYearMissing
from huifang.core import clock
from huifang.core.scope import unit_scope
from huifang.evaluation import inputs
from huifang.evaluation.access import CLOSING_SUBMITTERS
from huifang.evaluation.choices import ClosingState
from huifang.evaluation.errors import EvaluationRefused
from huifang.evaluation.models import MonthlyClosing
from huifang.evaluation.periods import closing_window_end, month_bounds
from huifang.org.choices import UnitKind
from huifang.org.models import Unit
from huifang.workbench.actors import Actor

CLOSING = "evaluation.MonthlyClosing"


def records_digest(lines: Iterable[tuple[str, str]]) -> str:
    """SHA-256 of ``"{number}\\t{content_sha256}\\n"`` per record, sorted by number (REV-3).

    The same records give the same digest whatever order they are read in; one
    record more, less or re-signed changes it.
    """
    digest = hashlib.sha256()
    for number, sha in sorted(lines):
        digest.update(f"{number}\t{sha}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class RecordsSummary:
    """What a branch would submit for a month now: count and digest of its signed records."""

    branch: str
    month: str
    count: int
    sha256: str


def summary(branch: str, month: str) -> RecordsSummary:
    start, end = month_bounds(month)
    lines = inputs.record_lines([branch], start, end).get(branch, [])
    return RecordsSummary(branch, month, len(lines), records_digest(lines))


def may_submit(user: User, branch: Unit) -> bool:
    """REV-3: the user holds a submitting role over this very branch (not via region or HQ)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return any(
        grant.role in CLOSING_SUBMITTERS and grant.unit_id == branch.code
        for grant in user.role_grants.all()
    )


def submitter_branches(user: User) -> list[str]:
    """The branches ``user`` may submit for, by code."""
    codes = {
        g.unit_id for g in user.role_grants.all() if g.role in CLOSING_SUBMITTERS and g.unit_id
    }
    return sorted(code for code in codes if code)


def submit(
    *, branch: Unit, month: str, actor: Actor, note: str = "", correction: bool = False
) -> MonthlyClosing:
    """REV-3: record the branch's submission of ``month``; refusals before anything is written."""
    try:
        month_bounds(month)
    except ValueError:
        raise EvaluationRefused("invalid", _("月份格式应为 YYYY-MM"), status=400) from None
    if not may_submit(actor.user, branch):
        raise EvaluationRefused(
            "forbidden", _("只有本营业部的营运总监或负责人可以报送本营业部的月度记录(REV-3)"),
            status=403,
        )  # fmt: skip
    today = clock.today()
    _require_ended(month, today)
    window_end = _window_end(month)
    with transaction.atomic():
        previous = _latest(branch, month)
        _check_repeat(previous, correction, note)
        now_summary = summary(branch.code, month)
        if previous is not None and previous.records_sha256 == now_summary.sha256:
            raise EvaluationRefused("unchanged", _("记录与上次报送一致,无需更正报送(REV-3)"))
        return _create(branch, month, window_end, actor, now_summary, note, previous)


def _require_ended(month: str, today: dt.date) -> None:
    end = month_bounds(month)[1]
    if end >= today:
        raise EvaluationRefused(
            "not_ended", _("%(month)s 尚未结束,月末之后才能报送(REV-3)") % {"month": month}
        )


def _window_end(month: str) -> dt.date:
    try:
        return closing_window_end(month)
    except CalendarYearMissing as exc:
        raise EvaluationRefused(
            "calendar_missing", _("%(year)s 年工作日历未载入,无法确定报送截止日(NFR-1)")
            % {"year": exc.year},
        ) from exc  # fmt: skip


def _latest(branch: Unit, month: str) -> MonthlyClosing | None:
    rows = MonthlyClosing.objects.select_for_update().filter(branch=branch, month=month)
    return rows.order_by("-submitted_at", "-id").first()


def _check_repeat(previous: MonthlyClosing | None, correction: bool, note: str) -> None:
    if previous is not None and not correction:
        raise EvaluationRefused(
            "submitted", _("%(month)s 已于 %(at)s 报送;如需更正,请填写原因后更正报送(REV-3)")
            % {"month": previous.month, "at": f"{previous.submitted_at:%Y-%m-%d %H:%M}"},
        )  # fmt: skip
    if correction and previous is None:
        raise EvaluationRefused("not_submitted", _("尚未报送,不能更正报送(REV-3)"))
    if correction and not note.strip():
        raise EvaluationRefused("invalid", _("更正报送须说明原因"), status=400)


def _create(
    branch: Unit, month: str, window_end: dt.date, actor: Actor, now_summary: RecordsSummary,
    note: str, previous: MonthlyClosing | None,
) -> MonthlyClosing:  # fmt: skip
    at = clock.now()
    try:
        with transaction.atomic():
            row = MonthlyClosing.objects.create(
                branch=branch, month=month, window_end=window_end, submitted_at=at,
                submitted_by=actor.name, record_count=now_summary.count,
                records_sha256=now_summary.sha256, late=at.astimezone(clock.SHANGHAI).date() > window_end,
                correction=previous is not None, supersedes=previous, note=note.strip(),
            )  # fmt: skip
    except IntegrityError:  # another submission of the same month won the race
        raise EvaluationRefused(
            "submitted", _("%(month)s 已报送(REV-3)") % {"month": month}
        ) from None
    audit_record(
        action="evaluation.closing_correct" if row.correction else "evaluation.closing_submit",
        object_type=CLOSING, object_id=str(row.pk), branch_code=branch.code,
        after={"month": month, "window_end": window_end, "record_count": row.record_count,
               "records_sha256": row.records_sha256, "late": row.late,
               "supersedes": previous.pk if previous else None, "note": row.note},
    )  # fmt: skip
    return row


# ---------------------------------------------------------------- what HQ sees


def state(
    first: MonthlyClosing | None, month: str, today: dt.date, window_end: dt.date | None = None
) -> ClosingState:
    """Where a branch stands with ``month`` on ``today`` (REV-3: HQ sees who is late).

    Needs the calendar of the next month once the month has ended (``CalendarYearMissing``).
    """
    if first is not None:
        return ClosingState.LATE if first.late else ClosingState.ON_TIME
    end = month_bounds(month)[1]
    if end >= today:
        return ClosingState.NOT_DUE
    window_end = window_end or closing_window_end(month)
    return ClosingState.MISSING if today > window_end else ClosingState.PENDING


@dataclass(frozen=True)
class OverviewRow:
    """One branch in HQ's overview of a month."""

    branch: Unit
    state: ClosingState
    first: MonthlyClosing | None
    corrections: int
    submitted_count: int | None  # the latest submission's record count
    current_count: int  # signed records of the month now
    changed_since: bool  # the records now differ from the latest submission

    @property
    def alarm(self) -> bool:
        return self.state == ClosingState.MISSING


def overview(*, user: User | None, month: str, today: dt.date | None = None) -> list[OverviewRow]:
    """Every branch in the user's scope for ``month``: on time, late, pending or missing.

    ``user=None`` is every branch, for commands that act without a user (the demo).
    """
    today = today or clock.today()
    units = Unit.objects.all() if user is None else Unit.objects.visible_to(user)
    branches = list(units.filter(unit_kind=UnitKind.BRANCH).order_by("code"))
    scope = None if user is None else unit_scope(user)
    codes = None if scope is None else [b.code for b in branches]
    start, end = month_bounds(month)
    firsts = inputs.first_closings(codes, [month])
    latest = _latest_by_branch(codes, month)
    corrections = inputs.corrections_count(codes, month)
    ended = end < today
    lines = inputs.record_lines(codes, start, end) if ended else {}
    window_end = closing_window_end(month) if ended else None
    rows = []
    for branch in branches:
        first, last = firsts.get((branch.code, month)), latest.get(branch.code)
        current = lines.get(branch.code, [])
        rows.append(OverviewRow(
            branch=branch, state=state(first, month, today, window_end), first=first,
            corrections=corrections.get(branch.code, 0),
            submitted_count=last.record_count if last else None, current_count=len(current),
            changed_since=last is not None and last.records_sha256 != records_digest(current),
        ))  # fmt: skip
    return rows


def _latest_by_branch(codes: list[str] | None, month: str) -> dict[str, MonthlyClosing]:
    rows = MonthlyClosing.objects.filter(month=month)
    if codes is not None:
        rows = rows.filter(branch_id__in=codes)
    latest: dict[str, MonthlyClosing] = {}
    for row in rows.order_by("submitted_at", "id"):
        latest[row.branch_id] = row
    return latest


def history(branch: str) -> list[MonthlyClosing]:
    """Every submission of a branch, latest month first."""
    return list(
        MonthlyClosing.objects.filter(branch_id=branch).order_by("-month", "submitted_at", "id")
    )
