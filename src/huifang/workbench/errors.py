"""The one refusal of the workbench: a validity gate or a rule said no (SPEC §5, §6, CON-*).

``code`` is stable (the API returns it); ``reasons`` are the Chinese sentences the UI
shows, each naming its SPEC ID. Services raise it before writing anything.
"""

from __future__ import annotations

from huifang.core.errors import Refused


class WorkbenchRefused(Refused):
    """A service refused; nothing was written."""

    # codes: not_holder, call_hours, cooling_off, no_evidence, incomplete, recused,
    # marketing_sequence, not_leader, own_record, signed, not_signed, too_few_attempts,
    # bad_file, too_large, retention, wrong_state, no_task, bad_answer, link_invalid
