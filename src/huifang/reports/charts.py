"""Charts drawn as SVG on the server (RPT-4, NFR-4): no JavaScript, no CDN, no inline style.

Three kinds: horizontal bars (coverage per rule against 100 %), stacked columns (the
open backlog per branch by status, overdue first) and a line (records signed per day).
Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` named by
``aria-labelledby`` (screen readers read them), and each bar or point carries its own
``<title>`` (the browser shows it on hover). Colours and sizes are SVG presentation
attributes, which the strict CSP (``style-src 'self'``) allows; every text is escaped.
Callers pass the labels already translated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

FONT = 12
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#d9e2ec"
BAR = "#0b5cad"
BAR_SHORT = "#b42318"
TARGET = "#17663a"
PALETTE = ("#b42318", "#9aa5b1", "#0b5cad", "#17663a", "#c47f00", "#6b1313")


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: ``value`` on the chart's scale, ``text`` written after it."""

    label: str
    value: float
    text: str
    short: bool = False  # below target: drawn in the warning colour


@dataclass(frozen=True)
class Series:
    """One layer of a stacked chart, one value per category."""

    name: str
    values: Sequence[int]
    color: str = ""


def _open(chart_id: str, title: str, desc: str, width: int, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-size="{FONT}" fill="{INK}">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>',
    ]


def _close(parts: list[str]) -> SafeString:
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 every text above went through escape()


def _empty(chart_id: str, title: str, desc: str) -> SafeString:
    parts = _open(chart_id, title, desc, 480, 60)
    parts.append(f'<text x="12" y="34" fill="{MUTED}">{escape(_("暂无数据"))}</text>')
    return _close(parts)


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ not below ``value`` (axis ends); 1 for nothing."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    return f"{value:g}"


def axis(max_value: float, *, integer: bool = True) -> tuple[float, float]:
    """(top, step) of a value axis: at most five round steps (1, 2 or 5 × 10ⁿ) up to ``top``;
    counts never get a fractional step."""
    step = nice_ceiling(max_value / 4) if max_value > 0 else 1.0
    if integer:
        step = max(step, 1.0)
    return step * math.ceil(max_value / step) if max_value > 0 else step, step


# ---------------------------------------------------------------- horizontal bars


def bar_chart(
    *,
    chart_id: str,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    target: float | None = None,
    target_label: str = "",
    scale_max: float | None = None,
    percent: bool = True,
) -> SafeString:
    """Horizontal bars, one per label; a dashed line at ``target`` (e.g. 100 %)."""
    if not bars:
        return _empty(chart_id, title, desc)
    label_w, plot_w, text_w, row_h, top = 110, 380, 150, 26, 26
    width, height = label_w + plot_w + text_w, top + row_h * len(bars) + 24
    top_value = max([scale_max or 0.0, target or 0.0, *(b.value for b in bars)])
    top_value = top_value if percent and top_value <= 1 else nice_ceiling(top_value)
    parts = _open(chart_id, title, desc, width, height)
    parts.append(_axis_ticks_horizontal(label_w, plot_w, top, height - 20, top_value, percent))
    for n, bar in enumerate(bars):
        y = top + n * row_h
        length = plot_w * min(bar.value, top_value) / top_value
        color = BAR_SHORT if bar.short else BAR
        parts.append(
            f'<g class="bar"><title>{escape(bar.label)}: {escape(bar.text)}</title>'
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect x="{label_w}" y="{y + 5}" width="{length:.1f}" height="{row_h - 10}" '
            f'fill="{color}"/>'
            f'<text x="{label_w + length + 6:.1f}" y="{y + 17}" fill="{MUTED}">'
            f"{escape(bar.text)}</text></g>"
        )
    if target is not None:
        x = label_w + plot_w * target / top_value
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 20}" '
            f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="4 3"/>'
            f'<text x="{x:.1f}" y="{top - 8}" text-anchor="middle" fill="{TARGET}">'
            f"{escape(target_label)}</text>"
        )
    return _close(parts)


def _axis_ticks_horizontal(
    left: int, width: int, top: int, bottom: int, top_value: float, percent: bool
) -> str:
    parts = []
    for n in range(5):
        value = top_value * n / 4
        x = left + width * n / 4
        text = f"{value * 100:.0f}%" if percent else _fmt(value)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{GRID}"/>'
            f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" fill="{MUTED}">'
            f"{escape(text)}</text>"
        )
    return "".join(parts)


# ---------------------------------------------------------------- stacked columns


def stacked_bar_chart(
    *, chart_id: str, title: str, desc: str, categories: Sequence[str], series: Sequence[Series]
) -> SafeString:
    """Vertical columns per category, each stacked from ``series`` (first at the bottom)."""
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    if not categories or not any(totals):
        return _empty(chart_id, title, desc)
    left, plot_h, top, legend_h = 48, 220, 14, 24
    col_w = max(28, min(64, 640 // len(categories)))
    width = left + col_w * len(categories) + 16
    width = max(width, 420)
    height = legend_h + top + plot_h + 40
    top_value, step = axis(max(totals))
    base = legend_h + top + plot_h
    parts = _open(chart_id, title, desc, width, height)
    parts.append(_legend(series, left))
    parts.append(_axis_ticks_vertical(left, width - 8, legend_h + top, base, top_value, step))
    for i, category in enumerate(categories):
        x = left + i * col_w + 4
        y = float(base)
        for n, layer in enumerate(series):
            value = layer.values[i]
            if not value:
                continue
            h = plot_h * value / top_value
            y -= h
            color = layer.color or PALETTE[n % len(PALETTE)]
            parts.append(
                f'<rect x="{x}" y="{y:.1f}" width="{col_w - 8}" height="{h:.1f}" fill="{color}">'
                f"<title>{escape(category)} · {escape(layer.name)}: {value}</title></rect>"
            )
        parts.append(
            f'<text x="{x + (col_w - 8) / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
            f'fill="{MUTED}">{totals[i]}</text>'
            f'<text x="{x + (col_w - 8) / 2:.1f}" y="{base + 16}" text-anchor="middle">'
            f"{escape(category)}</text>"
        )
    return _close(parts)


def _legend(series: Sequence[Series], left: int) -> str:
    parts, x = [], left
    for n, layer in enumerate(series):
        color = layer.color or PALETTE[n % len(PALETTE)]
        parts.append(
            f'<rect x="{x}" y="4" width="12" height="12" fill="{color}"/>'
            f'<text x="{x + 16}" y="15">{escape(layer.name)}</text>'
        )
        x += 28 + FONT * len(layer.name)
    return "".join(parts)


def _axis_ticks_vertical(
    left: int, right: int, top: int, bottom: int, top_value: float, step: float
) -> str:
    parts = []
    for n in range(round(top_value / step) + 1):
        value = step * n
        y = bottom - (bottom - top) * value / top_value
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{escape(_fmt(value))}</text>"
        )
    return "".join(parts)


# ---------------------------------------------------------------- line


def line_chart(
    *, chart_id: str, title: str, desc: str, points: Sequence[tuple[str, float]]
) -> SafeString:
    """A line through ``points`` (label, value), e.g. records signed per day."""
    if not points:
        return _empty(chart_id, title, desc)
    left, plot_w, plot_h, top = 48, 600, 200, 16
    width, height = left + plot_w + 20, top + plot_h + 40
    top_value, tick = axis(max(value for _label, value in points))
    base = top + plot_h
    step = plot_w / max(len(points) - 1, 1)
    coords = [
        (left + n * step, base - plot_h * value / top_value)
        for n, (_label, value) in enumerate(points)
    ]
    parts = _open(chart_id, title, desc, width, height)
    parts.append(_axis_ticks_vertical(left, left + plot_w, top, base, top_value, tick))
    path = " ".join(f"{'M' if n == 0 else 'L'}{x:.1f},{y:.1f}" for n, (x, y) in enumerate(coords))
    parts.append(f'<path d="{path}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    every = max(1, math.ceil(len(points) / 10))
    for n, ((label, value), (x, y)) in enumerate(zip(points, coords, strict=True)):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{BAR}">'
            f"<title>{escape(label)}: {escape(_fmt(value))}</title></circle>"
        )
        if n % every == 0 or n == len(points) - 1:
            parts.append(
                f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" fill="{MUTED}">'
                f"{escape(label)}</text>"
            )
    return _close(parts)
