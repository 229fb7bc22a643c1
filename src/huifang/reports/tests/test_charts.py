"""Server-side SVG charts (RPT-4): accessible, escaped, no script, no external reference."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from huifang.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 our own output


def _accessible(root: ET.Element, chart_id: str) -> None:
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{chart_id}-title {chart_id}-desc"
    assert root.find(f"{SVG}title").get("id") == f"{chart_id}-title"
    assert root.find(f"{SVG}desc").get("id") == f"{chart_id}-desc"


def test_a_bar_per_rule_with_its_share_and_the_target_line() -> None:
    bars = [
        charts.Bar("NEW-1", 1.0, "100%  5/5"),
        charts.Bar("NEW-2", 0.5, "50%  3/6", short=True),
        charts.Bar("DEP-1", 0.0, "0%  0/2", short=True),
    ]
    svg = charts.bar_chart(
        chart_id="c1", title="各规则覆盖率", desc="说明", bars=bars, target=1.0, target_label="100%"
    )
    root = _parse(svg)
    _accessible(root, "c1")
    rects = root.findall(f".//{SVG}g/{SVG}rect")
    widths = [float(r.get("width")) for r in rects]
    assert len(rects) == 3 and widths[0] == 2 * widths[1] and widths[2] == 0
    assert [r.get("fill") for r in rects] == [charts.BAR, charts.BAR_SHORT, charts.BAR_SHORT]
    assert root.find(f"{SVG}title").text == "各规则覆盖率"
    assert "NEW-2: 50%  3/6" in [t.text for t in root.iter(f"{SVG}title")]
    assert root.find(f"{SVG}line[@stroke-dasharray]") is not None


def test_labels_are_escaped_and_nothing_is_scripted() -> None:
    svg = charts.bar_chart(
        chart_id="x", title="<script>alert(1)</script>", desc="a & b",
        bars=[charts.Bar('"><script>', 0.3, "<b>")],
    )  # fmt: skip
    assert "<script" not in svg and "&lt;script&gt;" in svg
    _parse(svg)  # still well-formed
    assert not re.search(r"\bstyle=|\bon[a-z]+=|href=|https?://(?!www\.w3\.org/2000/svg)", svg)


def test_stacked_columns_add_up_per_branch() -> None:
    svg = charts.stacked_bar_chart(
        chart_id="b", title="未完成", desc="d", categories=["A01", "A02"],
        series=[charts.Series("逾期", [2, 0]), charts.Series("待分配", [3, 1])],
    )  # fmt: skip
    root = _parse(svg)
    _accessible(root, "b")
    segments = [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    titles = [r.find(f"{SVG}title").text for r in segments]
    assert titles == ["A01 · 逾期: 2", "A01 · 待分配: 3", "A02 · 待分配: 1"]
    heights = [float(r.get("height")) for r in segments]
    assert heights[0] * 3 == pytest.approx(heights[1] * 2, abs=0.5)


def test_a_line_through_every_day() -> None:
    points = [(f"10-{d:02d}", d % 3) for d in range(1, 15)]
    root = _parse(charts.line_chart(chart_id="t", title="趋势", desc="d", points=points))
    _accessible(root, "t")
    path = root.find(f"{SVG}path").get("d")
    assert path.startswith("M") and path.count("L") == len(points) - 1
    assert len(root.findall(f"{SVG}circle")) == len(points)


@pytest.mark.parametrize(
    "svg",
    [
        charts.bar_chart(chart_id="e", title="t", desc="d", bars=[]),
        charts.stacked_bar_chart(chart_id="e", title="t", desc="d", categories=[], series=[]),
        charts.line_chart(chart_id="e", title="t", desc="d", points=[]),
    ],
)
def test_no_data_says_so(svg: str) -> None:
    root = _parse(svg)
    assert root.get("role") == "img" and "暂无数据" in svg


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (0.7, 1), (3, 5), (12, 20), (50, 50), (51, 100)]
)
def test_axis_ends_on_a_round_number(value: float, ceiling: float) -> None:
    assert charts.nice_ceiling(value) == ceiling


@pytest.mark.parametrize(
    ("value", "top", "step"),
    [(0, 1, 1), (1, 1, 1), (7, 8, 2), (13, 15, 5), (20, 20, 5), (130, 150, 50)],
)
def test_count_axes_have_whole_round_steps(value: float, top: float, step: float) -> None:
    assert charts.axis(value) == (top, step)
