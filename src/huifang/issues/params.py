"""The clock of issues (SPEC §7): working-day counts, in one place."""

from __future__ import annotations

ANSWER_WORKING_DAYS = 2  # ISS-2: the department answers within 2 working days of receiving it
LOOP_WORKING_DAYS = 15  # ISS-4: raising to final feedback within 15 working days
WARN_WORKING_DAYS_BEFORE = 1  # a warning one working day before a due date (practice)
COMPLIANCE_AFTER_WORKING_DAYS = 2  # ISS-5: still open 2 working days after a breach → compliance
CMP1_DEFAULT_WORKING_DAYS = 2  # CMP-1: follow-up 2 working days after closure (rule param wins)
