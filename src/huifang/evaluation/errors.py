"""The one refusal of evaluation: a rule of REV-3/REV-4 said no; nothing was written.

``code`` is stable; ``reasons`` are the Chinese sentences the UI shows, each naming
its SPEC ID; ``status`` is the HTTP status a view answers with.
"""

from __future__ import annotations

from huifang.core.errors import Refused


class EvaluationRefused(Refused):
    """A service refused before writing anything."""

    # codes: invalid (400), forbidden (403), not_ended, calendar_missing, submitted,
    # not_submitted, unchanged, published, no_drafts, stale
