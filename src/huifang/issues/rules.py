"""The clock of an issue as pure functions of dates (ISS-2, ISS-4, ISS-5); no ORM."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from huifang.calendars.service import add_working_days, working_days_between
from huifang.issues import params

ONE_DAY = dt.timedelta(days=1)


def answer_due(received_on: dt.date) -> dt.date:
    """ISS-2: the department answers within 2 working days of receiving the issue."""
    return add_working_days(received_on, params.ANSWER_WORKING_DAYS)


def loop_due(raised_on: dt.date) -> dt.date:
    """ISS-4: from raising to final feedback at most 15 working days."""
    return add_working_days(raised_on, params.LOOP_WORKING_DAYS)


def warn_from(due: dt.date) -> dt.date:
    """The first day a warning is due: one working day before the due date."""
    return add_working_days(due, -params.WARN_WORKING_DAYS_BEFORE)


def compliance_from(due: dt.date) -> dt.date:
    """ISS-5: the breach is the first working day after ``due``; still unresolved
    ``COMPLIANCE_AFTER_WORKING_DAYS`` working days after it, compliance takes it (level 2)."""
    return add_working_days(due, 1 + params.COMPLIANCE_AFTER_WORKING_DAYS)


def working_days_left(today: dt.date, due: dt.date) -> int:
    """Working days after today up to the due date; negative: working days overdue."""
    if due >= today:
        return len(working_days_between(today + ONE_DAY, due)) if due > today else 0
    return -len(working_days_between(due + ONE_DAY, today))


@dataclass(frozen=True)
class ClockState:
    """What ``tick`` owes one clock (answer or loop) on ``today``: each item happens once."""

    warn: bool
    breach: bool
    compliance: bool


def clock_state(today: dt.date, due: dt.date | None, resolved: bool) -> ClockState:
    """Warning in [warn_from(due), due]; breach after due; compliance from compliance_from(due)."""
    if due is None or resolved:
        return ClockState(False, False, False)
    breach = today > due
    return ClockState(
        warn=not breach and today >= warn_from(due),
        breach=breach,
        compliance=breach and today >= compliance_from(due),
    )
