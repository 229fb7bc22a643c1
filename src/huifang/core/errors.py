"""The one shape of a refusal: a validity gate or a rule said no, before anything was written.

``code`` is stable (the API and tests read it); ``reasons`` are the Chinese sentences the UI
shows, each naming its SPEC ID; ``status`` is the HTTP status a view or endpoint answers with.
Each app names its own subclass (``WorkbenchRefused``, ``IssueRefused``, ``OrderRefused``,
``EvaluationRefused``) so that a view catches only its services' refusals.
"""

from __future__ import annotations


class Refused(ValueError):
    """A service refused; nothing was written."""

    def __init__(self, code: str, *reasons: str, status: int = 409) -> None:
        self.code = code
        self.reasons = list(reasons) or [code]
        self.status = status
        super().__init__(f"{code}: " + "; ".join(self.reasons))
