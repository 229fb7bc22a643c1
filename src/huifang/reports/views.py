"""The screens of reports under /reports/ (RPT-1, RPT-2, RPT-4).

- ``reports:dashboard`` 合规看板: key figures and three SVG charts (coverage per rule,
  open backlog per branch, records signed per day);
- ``reports:ledger`` 回访台账 with its filters, paginated;
- ``reports:coverage`` … ``reports:workload``: one page per RPT-2 report;
- ``reports:export`` the Excel file of any of them, audited.

Every page checks the role (403, ``access.REPORT_VIEWERS``) and reads only the reader's
branches (``core.scope.unit_scope``); ``?branch=`` outside them answers 404. Pages carry
client numbers and masked names: never cached (``private_page``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views import View

from huifang.accounts.permissions import user_has_role
from huifang.callbacks.selectors import obligation_rule_codes
from huifang.clients.selectors import units_in_scope
from huifang.core.context_processors import with_grants
from huifang.core.scope import get_visible_or_404, unit_scope
from huifang.core.views import private_page
from huifang.org.choices import UnitKind
from huifang.org.models import Unit
from huifang.reports import charts, exports, ledger, metrics, tables
from huifang.reports.access import EXPORTERS, REPORT_VIEWERS
from huifang.reports.forms import LedgerFilterForm, PeriodForm

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _reader(request: HttpRequest, roles: tuple[str, ...] = REPORT_VIEWERS) -> Any:
    user = with_grants(request.user)
    if not user_has_role(user, *roles):
        raise PermissionDenied
    return user


def _branches(request: HttpRequest, user: Any) -> metrics.Branches:
    """The reader's branches, or the one ``?branch=`` names (404 outside the scope)."""
    code = request.GET.get("branch", "").strip()
    if code:
        get_visible_or_404(Unit.objects.all(), user, code=code, unit_kind=UnitKind.BRANCH)
        return frozenset({code})
    return unit_scope(user)


def _names(codes: Any) -> dict[str, str]:
    return dict(Unit.objects.filter(code__in=set(codes)).values_list("code", "name"))


def _query(request: HttpRequest, drop: tuple[str, ...] = ("page",)) -> str:
    query: QueryDict = request.GET.copy()
    for key in drop:
        query.pop(key, None)
    return query.urlencode()


def _period_text(start: dt.date, end: dt.date) -> str:
    return _("%(start)s 至 %(end)s") % {"start": start.isoformat(), "end": end.isoformat()}


class ReportsView(LoginRequiredMixin, View):
    """Role, scope and the period form, common to every page."""

    def setup_reader(self, request: HttpRequest) -> tuple[Any, metrics.Branches, PeriodForm]:
        user = _reader(request)
        branches = _branches(request, user)
        form = PeriodForm(request.GET or None, branches=units_in_scope(user=user))
        return user, branches, form


@method_decorator(private_page, name="dispatch")
class DashboardView(ReportsView):
    """合规看板 (RPT-4): key figures and charts of the reader's branches for the period."""

    def get(self, request: HttpRequest) -> HttpResponse:
        _user, branches, form = self.setup_reader(request)
        start, end = form.period()
        coverage = metrics.coverage(branches=branches, start=start, end=end)
        timeliness = metrics.timeliness(branches=branches, start=start, end=end)
        problems = metrics.problems(branches=branches, start=start, end=end)
        reach = metrics.reachability(branches=branches, start=start, end=end)
        trend = metrics.signed_per_day(branches=branches, start=start, end=end)
        backlog = metrics.backlog(branches=branches)
        figures = metrics.key_figures(
            coverage_rows=coverage, timeliness_rows=timeliness, problem_rows=problems,
            reachability_rows=reach, trend=trend,
        )  # fmt: skip
        context = {
            "form": form,
            "start": start,
            "end": end,
            "figures": figures,
            "coverage_chart": coverage_chart(metrics.coverage_by_rule(coverage), start, end),
            "backlog_chart": backlog_chart(backlog),
            "trend_chart": trend_chart(trend, start, end),
            "query": _query(request),
        }
        return render(request, "reports/dashboard.html", context)


def coverage_chart(rules: list[metrics.RuleCoverage], start: dt.date, end: dt.date) -> str:
    bars = [
        charts.Bar(
            label=rule.rule_code,
            value=rule.rate or 0.0,
            text=f"{(rule.rate or 0) * 100:.0f}%  {rule.done}/{rule.required}",
            short=rule.done < rule.required,
        )
        for rule in rules
        if rule.required
    ]
    return charts.bar_chart(
        chart_id="chart-coverage",
        title=_("各规则覆盖率"),
        desc=_("%(period)s，各回访规则已完成数占应回访数的比例；虚线为应达到的 100%%。")
        % {"period": _period_text(start, end)},
        bars=bars,
        target=1.0,
        target_label="100%",
    )


def backlog_chart(rows: list[metrics.BacklogRow]) -> str:
    return charts.stacked_bar_chart(
        chart_id="chart-backlog",
        title=_("未完成回访任务（按营业部）"),
        desc=_("当前未完成的回访任务数，按营业部分列：逾期、待分配、已分配、进行中。"),
        categories=[row.branch_code for row in rows],
        series=[
            charts.Series(_("逾期"), [row.overdue for row in rows], charts.PALETTE[0]),
            charts.Series(_("待分配"), [row.open for row in rows], charts.PALETTE[1]),
            charts.Series(_("已分配"), [row.assigned for row in rows], charts.PALETTE[2]),
            charts.Series(_("进行中"), [row.in_progress for row in rows], charts.PALETTE[3]),
        ],
    )


def trend_chart(days: list[metrics.DayCount], start: dt.date, end: dt.date) -> str:
    return charts.line_chart(
        chart_id="chart-trend",
        title=_("每日签字的回访记录"),
        desc=_("%(period)s，每天回访人签字的回访记录数。") % {"period": _period_text(start, end)},
        points=[(day.day.strftime("%m-%d"), day.count) for day in days],
    )


@method_decorator(private_page, name="dispatch")
class ReportView(ReportsView):
    """One RPT-2 report: definition, filters, table, export link."""

    report: str = ""

    def get(self, request: HttpRequest) -> HttpResponse:
        _user, branches, form = self.setup_reader(request)
        report = tables.REPORTS[self.report]
        start, end = form.period()
        rows = report.compute(branches=branches, start=start, end=end)
        names = _names(_codes(rows))
        context = {
            "report": report,
            "form": form,
            "start": start,
            "end": end,
            "columns": report.columns,
            "cells": tables.table(report.columns, rows, names),
            "action": reverse(f"reports:{report.slug}"),
            "export_url": _export_url(report.slug, request),
        }
        return render(request, "reports/report.html", context)


def _codes(rows: list[Any]) -> set[str]:
    return {
        getattr(row, field)
        for row in rows
        for field in ("branch_code", "unit_code")
        if getattr(row, field, "")
    }


def _export_url(slug: str, request: HttpRequest) -> str:
    query = _query(request)
    url = reverse("reports:export", kwargs={"report": slug})
    return f"{url}?{query}" if query else url


@method_decorator(private_page, name="dispatch")
class LedgerView(LoginRequiredMixin, View):
    """回访台账 (RPT-1): the EXE-5 fields of every record in scope, filtered, paginated."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = _reader(request)
        branches = _branches(request, user)
        form = LedgerFilterForm(
            request.GET or None, branches=units_in_scope(user=user), rules=obligation_rule_codes()
        )
        records = ledger.ledger_records(branches=branches, filters=form.filters())
        page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
        context = {
            "form": form,
            "page": page,
            "rows": ledger.page_rows(page.object_list),
            "query": _query(request),
            "export_url": _export_url("ledger", request),
        }
        return render(request, "reports/ledger.html", context)


@method_decorator(private_page, name="dispatch")
class ExportView(LoginRequiredMixin, View):
    """The Excel file of the ledger or of one report (RPT-1), audited; refused past the cap."""

    def get(self, request: HttpRequest, report: str) -> HttpResponse:
        if report != "ledger" and report not in tables.REPORTS:
            raise Http404
        user = _reader(request, EXPORTERS)
        branches = _branches(request, user)
        try:
            if report == "ledger":
                made = _ledger_export(request, user, branches)
            else:
                made = _report_export(request, user, branches, tables.REPORTS[report])
        except exports.ExportRefused as refused:
            messages.error(request, refused.message)
            page = reverse(f"reports:{report}")
            query = _query(request)
            return redirect(f"{page}?{query}" if query else page)
        response = HttpResponse(made.content, content_type=XLSX)
        response["Content-Disposition"] = content_disposition_header(True, made.filename) or ""
        return response


def _check(form: PeriodForm) -> None:
    """An export never silently drops a filter the reader gave."""
    if form.is_bound and not form.is_valid():
        raise exports.ExportRefused(_("筛选条件有误，未生成文件；请更正后再导出。"))


def _scope_note(user: Any, branches: metrics.Branches) -> tuple[str, str]:
    text = _("全公司") if branches is None else ", ".join(sorted(branches)) or _("无")
    return (_("数据范围"), f"{user.get_username()}: {text}")


def _ledger_export(request: HttpRequest, user: Any, branches: metrics.Branches) -> Any:
    form = LedgerFilterForm(
        request.GET or None, branches=units_in_scope(user=user), rules=obligation_rule_codes()
    )
    _check(form)
    filters = form.filters()
    records = ledger.ledger_records(branches=branches, filters=filters)
    count = records.count()
    columns = tables.LEDGER_COLUMNS
    return exports.report_export(
        report="ledger",
        title=_("回访台账"),
        columns=[col.excel() for col in columns],
        rows=([col.get(row, {}) for col in columns] for row in ledger.all_rows(records)),
        count=count,
        filters=filters.as_dict(),
        notes=[
            _scope_note(user, branches),
            (_("说明"), _("客户姓名已脱敏；记录说明中的证件号和手机号已脱敏。")),
        ],
    )


def _report_export(
    request: HttpRequest, user: Any, branches: metrics.Branches, report: tables.Report
) -> Any:
    form = PeriodForm(request.GET or None, branches=units_in_scope(user=user))
    _check(form)
    start, end = form.period()
    rows = report.compute(branches=branches, start=start, end=end)
    filters = {"start": start.isoformat(), "end": end.isoformat()}
    if request.GET.get("branch"):
        filters["branch"] = request.GET["branch"].strip()
    return exports.report_export(
        report=report.slug,
        title=str(report.title),
        columns=[col.excel() for col in report.columns],
        rows=tables.excel_rows(report.columns, rows, _names(_codes(rows))),
        count=len(rows),
        filters=filters,
        notes=[_scope_note(user, branches), (_("口径"), str(report.definition))],
    )
