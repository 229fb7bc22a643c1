"""The columns of every report and of the ledger, shared by the pages and the Excel exports.

One ``Report`` per page (RPT-2): its title, the definition shown above the table and
on the export's notes sheet, the ``metrics`` function that computes its rows, and its
columns. A column reads one value from a row; the page formats it (``cell_text``),
the export writes it raw (shares as numbers formatted 0.0 %).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huifang.callbacks.choices import Level
from huifang.issues.choices import Source
from huifang.reports import metrics
from huifang.reports.excel import Column
from huifang.reports.ledger import LedgerRow

Names = Mapping[str, str]


@dataclass(frozen=True)
class Col:
    """A column: header, how to read its value from a row, number / share, Excel width."""

    header: str | Promise
    get: Callable[[Any, Names], Any]
    num: bool = False
    percent: bool = False
    width: int = 12

    def excel(self) -> Column:
        return Column(str(self.header), self.width, self.percent)


@dataclass(frozen=True)
class Report:
    """One report page and its export (RPT-2)."""

    slug: str
    title: str | Promise
    definition: str | Promise
    compute: Callable[..., list[Any]]
    columns: tuple[Col, ...]


def branch_label(code: str, names: Names) -> str:
    """ "A01 北京甲营业部"; a company-wide stratum is 全公司."""
    if code == metrics.COMPANY:
        return gettext("全公司")
    name = names.get(code, "")
    return f"{code} {name}".strip()


def _branch(row: Any, names: Names) -> str:
    return branch_label(row.branch_code, names)


def _choice(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def cell_text(col: Col, value: Any) -> str:
    """A value as the page shows it: shares as 85.0%, nothing as —."""
    if value is None:
        return "—"
    if col.percent:
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Cell:
    text: str
    num: bool


def table(report_columns: Sequence[Col], rows: Sequence[Any], names: Names) -> list[list[Cell]]:
    """The page's cells of ``rows``."""
    return [
        [
            Cell(cell_text(col, col.get(row, names)), col.num or col.percent)
            for col in report_columns
        ]
        for row in rows
    ]


def excel_rows(report_columns: Sequence[Col], rows: Sequence[Any], names: Names) -> list[list[Any]]:
    return [[col.get(row, names) for col in report_columns] for row in rows]


def _num(field: str, header: str | Promise, width: int = 10) -> Col:
    return Col(header, lambda row, _names: getattr(row, field), num=True, width=width)


def _share(field: str, header: str | Promise) -> Col:
    return Col(header, lambda row, _names: getattr(row, field), percent=True, width=10)


COVERAGE = Report(
    "coverage",
    _("覆盖率"),
    _(
        "抽样规则：期间与报表期间重叠的回访计划，应回访数为各计划应回访数之和（⌈比例 × 截至目前总体⌉，CON-8），"
        "已完成为计划内目的所在任务已签署或已复核；100%规则：报表期间内触发的回访目的，应回访数即其数量。"
        "无法联系结案不计为已完成，单列显示。全公司层的计划仅对全公司范围的用户显示。"
    ),
    metrics.coverage,
    (
        Col(_("规则"), lambda r, _n: r.rule_code, width=12),
        Col(_("营业部"), _branch, width=22),
        Col(_("级别"), lambda r, _n: _choice(Level, r.level), width=10),
        Col(_("类型"), lambda r, _n: gettext("抽样") if r.sampled else "100%", width=8),
        Col(_("抽样比例"), lambda r, _n: float(r.share), percent=True, width=10),
        _num("population", _("总体")),
        _num("required", _("应回访数")),
        _num("drawn", _("已生成")),
        _num("done", _("已完成")),
        _share("rate", _("覆盖率")),
        _num("unreachable", _("无法联系")),
        _num("open", _("未完成")),
        _num("cancelled", _("已取消")),
        Col(_("达标"), lambda r, _n: gettext("是") if r.met else gettext("否"), width=6),
    ),
)

TIMELINESS = Report(
    "timeliness",
    _("及时性"),
    _(
        "报表期间内到期的回访目的：按时＝任务已签署或已复核且回访人签字日不晚于截止日期；"
        "逾期完成＝签字晚于截止日期；逾期未完成＝今日仍未完成且已过截止日期；按时率＝按时 ÷（按时＋逾期完成＋逾期未完成）。"
    ),
    metrics.timeliness,
    (
        Col(_("规则"), lambda r, _n: r.rule_code, width=12),
        Col(_("营业部"), _branch, width=22),
        _num("due", _("到期数")),
        _num("on_time", _("按时完成")),
        _num("late", _("逾期完成")),
        _num("open_overdue", _("逾期未完成")),
        _num("open_not_due", _("未到期")),
        _num("unreachable", _("无法联系")),
        _num("cancelled", _("已取消")),
        _share("on_time_rate", _("按时率")),
    ),
)

PROBLEMS = Report(
    "problems",
    _("问题处理"),
    _(
        "报表期间内提出的问题、投诉和咨询（ISS-1..6）：已办结、未办结、答复超过2个工作日（ISS-2）、"
        "闭环超过15个工作日（ISS-4），以及已办结问题从提出到办结的工作日数（按工作日历，缺少年份时不估算）。"
    ),
    metrics.problems,
    (
        Col(_("营业部"), _branch, width=22),
        Col(_("来源"), lambda r, _n: _choice(Source, r.source), width=10),
        _num("found", _("发现数")),
        _num("closed", _("已办结")),
        _num("open", _("未办结")),
        _num("breached_answer", _("答复超时"), 10),
        _num("breached_loop", _("闭环超时"), 10),
        _num("breached", _("超时合计"), 10),
        Col(_("平均办结工作日"), lambda r, _n: r.avg_days, num=True, width=14),
        Col(_("办结工作日中位数"), lambda r, _n: r.median_days, num=True, width=14),
    ),
)

REACHABILITY = Report(
    "reachability",
    _("可联系性"),
    _(
        "报表期间内的回访尝试（EXE-3）按结果统计；接通率＝已接通 ÷ 尝试次数；"
        "联系上任务＝期间内至少接通一次的任务；无法联系结案＝期间内经复核批准的结案。"
    ),
    metrics.reachability,
    (
        Col(_("营业部"), _branch, width=22),
        _num("attempts", _("尝试次数")),
        _num("connected", _("已接通")),
        _num("no_answer", _("无人接听")),
        _num("busy", _("占线")),
        _num("wrong_number", _("号码错误")),
        _num("refused", _("拒绝回访")),
        _num("call_back_later", _("约定稍后")),
        _share("connect_rate", _("接通率")),
        _num("tasks_tried", _("尝试任务数")),
        _num("tasks_reached", _("联系上任务数")),
        _num("unreachable_closed", _("无法联系结案"), 12),
    ),
)

SATISFACTION = Report(
    "satisfaction",
    _("满意度"),
    _(
        "报表期间内负责人已签字的回访记录中各问卷评分项（EXE-4）的作答：平均分、满意（最高两档）、"
        "不满意（最低两档）及满意率。"
    ),
    metrics.satisfaction,
    (
        Col(_("问卷"), lambda r, _n: "/".join(r.codes), width=10),
        Col(_("评分项"), lambda r, _n: r.label, width=40),
        Col(_("营业部"), _branch, width=22),
        _num("answered", _("作答数")),
        Col(_("平均分"), lambda r, _n: r.average, num=True, width=8),
        _num("satisfied", _("满意")),
        _num("dissatisfied", _("不满意")),
        _share("satisfied_rate", _("满意率")),
    ),
)

WORKLOAD = Report(
    "workload",
    _("工作量与质量"),
    _(
        "报表期间内每位回访人员在可见营业部的工作：回访人签字的记录、回访尝试与接通、"
        "期间内对其记录作出的复核结论（通过／发现问题）、批准的无法联系结案、含疑似服务忌语的记录。"
    ),
    metrics.workload,
    (
        Col(_("员工号"), lambda r, _n: r.staff_id, width=12),
        Col(_("姓名"), lambda r, _n: r.name, width=12),
        Col(_("所属机构"), lambda r, names: branch_label(r.unit_code, names), width=22),
        _num("records_signed", _("签字记录数"), 12),
        _num("attempts", _("尝试次数")),
        _num("connected", _("接通次数")),
        _num("reviews_passed", _("复核通过")),
        _num("reviews_findings", _("复核发现问题"), 12),
        _share("findings_rate", _("问题率")),
        _num("unreachable_approved", _("无法联系结案"), 12),
        _num("banned_phrase_records", _("疑似忌语记录"), 12),
    ),
)

REPORTS: dict[str, Report] = {
    report.slug: report
    for report in (COVERAGE, TIMELINESS, PROBLEMS, REACHABILITY, SATISFACTION, WORKLOAD)
}


def _field(name: str) -> Callable[[LedgerRow, Names], Any]:
    return lambda row, _names: getattr(row, name)


LEDGER_COLUMNS = (
    Col(_("记录编号"), _field("number"), width=22),
    Col(_("回访日期"), _field("callback_date"), width=12),
    Col(_("营业部"), lambda r, _n: f"{r.branch_code} {r.branch_name}".strip(), width=22),
    Col(_("客户号"), _field("client_id"), width=14),
    Col(_("客户"), _field("client_name"), width=12),
    Col(_("客户类型"), _field("client_type"), width=8),
    Col(_("资金账号"), _field("fund_account"), width=16),
    Col(_("回访目的（规则）"), _field("rules"), width=18),
    Col(_("级别"), _field("level"), width=10),
    Col(_("类型"), _field("kind"), width=10),
    Col(_("回访方式"), _field("method"), width=10),
    Col(_("尝试次数"), _field("attempts"), num=True, width=8),
    Col(_("回访结果"), _field("result"), width=10),
    Col(_("回访人员工号"), _field("agent_id"), width=12),
    Col(_("回访人"), _field("agent_name"), width=12),
    Col(_("回访人签字时间"), _field("agent_signed_at"), width=18),
    Col(_("负责人员工号"), _field("leader_id"), width=12),
    Col(_("负责人"), _field("leader_name"), width=12),
    Col(_("负责人签字时间"), _field("leader_signed_at"), width=18),
    Col(_("记录状态"), _field("status"), width=12),
    Col(_("复核结果"), _field("review"), width=14),
    Col(_("留痕材料数"), _field("evidence"), num=True, width=10),
    Col(_("需求、建议与问题"), _field("findings"), width=40),
    Col(_("问题处理情况"), _field("problem_handling"), width=40),
    Col(_("反馈日期"), _field("feedback_date"), width=12),
    Col(_("回访记录说明"), _field("notes"), width=40),
)
