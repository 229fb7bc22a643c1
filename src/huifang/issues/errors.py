"""The refusal of issue services: raised before anything is written (like the workbench's)."""

from __future__ import annotations

from huifang.workbench.errors import WorkbenchRefused


class IssueRefused(WorkbenchRefused):
    """An issue service refused; nothing was written.

    Codes: forbidden (403), not_found (404), invalid (400), wrong_state, not_department,
    feedback_missing, first_question, no_client, no_staff, calendar_missing (503, NFR-1).
    """
