"""Workbench parameters (SPEC *(param)* values of §5, §6, NFR-3), from settings with defaults.

Call hours (CON-5) and the company spot-check share (CON-6) come from the policy in
force; the rest are practice parameters the brokerage may set in its environment.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings

from huifang.policy import kinds
from huifang.policy.selectors import rule_params, version_in_force


def _setting(name: str, default: object) -> object:
    return getattr(settings, name, default)


def unreachable_tries() -> int:
    """EXE-3: failed tries on different days before a task may close as unreachable."""
    return int(str(_setting("HUIFANG_UNREACHABLE_TRIES", 3)))


def review_share() -> Decimal:
    """REV-1: share of signed records a reviewer spot-checks."""
    return Decimal(str(_setting("HUIFANG_REVIEW_SHARE", "0.10")))


def link_hours() -> int:
    """EXE-6: hours an e-questionnaire link stays valid."""
    return int(str(_setting("HUIFANG_QUESTIONNAIRE_LINK_HOURS", 72)))


def retention_years() -> int:
    """NFR-3: records and evidence kept ≥ 20 years (suitability rules; recordings ≥ 15)."""
    return int(str(_setting("HUIFANG_RETENTION_YEARS", 20)))


def max_upload_bytes() -> int:
    """EXE-2: the largest evidence file accepted (default 200 MB, a long recording)."""
    return int(str(_setting("HUIFANG_EVIDENCE_MAX_BYTES", 200 * 1024 * 1024)))


def retention_until(day: dt.date) -> dt.date:
    years = retention_years()
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def call_hours(on: dt.date) -> tuple[dt.time, dt.time]:
    """CON-5 of the policy in force (default 09:00–20:00)."""
    params = rule_params(version_in_force(on=on), "CON-5")
    hours = (
        params
        if isinstance(params, kinds.CallHours)
        else kinds.CallHours(start="09:00", end="20:00")
    )
    return dt.time.fromisoformat(hours.start), dt.time.fromisoformat(hours.end)


def company_spot_check_share(on: dt.date) -> Decimal:
    """CON-6 / REV-2: share of branch-level records the company level spot-checks."""
    params = rule_params(version_in_force(on=on), "CON-6")
    if isinstance(params, kinds.CallbackLevels):
        return Decimal(str(params.company_spot_check_share))
    return Decimal("0.1")
