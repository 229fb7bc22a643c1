"""Chinese labels of the raw figures an evaluation keeps (REV-4); the JSON keys stay English."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from huifang.evaluation.choices import Criterion

FIGURE_LABELS: dict[str, dict[str, Promise]] = {
    Criterion.COVERAGE: {
        "due": _("到期回访"),
        "done": _("已完成"),
        "unreachable": _("无法联系结案"),
        "open": _("未完成"),
    },
    Criterion.TIMELINESS: {
        "judged": _("应计(不含无法联系)"),
        "on_time": _("按时完成"),
        "late": _("逾期完成"),
        "open_overdue": _("逾期未完成"),
    },
    Criterion.REVIEW: {"decided": _("已复核"), "passed": _("通过"), "findings": _("发现问题")},
    Criterion.ISSUES: {
        "raised": _("问题数"),
        "breached": _("超时"),
        "breached_answer": _("答复超时(ISS-2)"),
        "breached_loop": _("办结超时(ISS-4)"),
    },
    Criterion.CLOSING: {
        "due": _("应报送月数"),
        "on_time": _("按时报送"),
        "late": _("逾期报送月份"),
        "missing": _("未报送月份"),
    },
}


def figure_rows(criterion: str, figures: Mapping[str, Any]) -> list[tuple[Any, Any]]:
    """``(label, value)`` pairs of one criterion's figures; a list of months is shown joined."""
    labels = FIGURE_LABELS.get(criterion, {})
    rows = []
    for key, value in figures.items():
        shown = value
        if isinstance(value, list):
            shown = "、".join(str(v) for v in value) if value else "—"
        rows.append((labels.get(key, key), shown))
    return rows
