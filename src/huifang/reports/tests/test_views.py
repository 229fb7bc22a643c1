"""The ledger, the reports and their exports (RPT-1, RPT-2, RPT-4): role, scope, masking, audit.

A branch reader sees only his branch (another branch's code → 404), a regional reader his
region, compliance everything. Every export opens in openpyxl with the rows the reader
may see, holds no formula from typed text, is audited with its filters and row count,
and past the row cap is refused with a Chinese message and no file.
"""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.audit.models import AuditEvent
from huifang.core.pii import mask_name
from huifang.core.testing import (
    assert_forbidden,
    assert_list_excludes,
    assert_login_required,
    assert_out_of_scope_404,
    assert_private,
    browser,
)
from huifang.reports import metrics, tables
from huifang.reports.tests.brokerage import (
    END,
    FORMULA_AGENT,
    FORMULA_CLIENT,
    FORMULA_FINDING,
    FORMULA_HANDLING,
    FORMULA_LEADER,
    FORMULA_NOTES,
    START,
    World,
)
from huifang.workbench.choices import FindingKind
from huifang.workbench.models import Record

pytestmark = pytest.mark.django_db

PAGES = ["reports:dashboard", "reports:ledger", *(f"reports:{slug}" for slug in tables.REPORTS)]
EXPORTS = ["ledger", *tables.REPORTS]
PERIOD = {"start": START.isoformat(), "end": END.isoformat()}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _xlsx(response: Any) -> openpyxl.Workbook:
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.content))


def _data(book: openpyxl.Workbook) -> list[tuple[Any, ...]]:
    return list(book.worksheets[0].iter_rows(values_only=True))[1:]


def _no_formula(book: openpyxl.Workbook) -> None:
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_START), cell.value


# ---------------------------------------------------------------- access


@pytest.mark.parametrize("name", PAGES)
def test_every_page_needs_a_sign_in_and_a_reporting_role(brokerage: World, name: str) -> None:
    url = reverse(name)
    client = browser()
    assert_login_required(client, url)
    assert_forbidden(client, brokerage.users["agent_a01"], url, method="get")
    adviser = user_with_role(Role.ADVISER, unit=brokerage.branches["A01"])
    assert_forbidden(client, adviser, url, method="get")


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("who", ["compliance", "hq_service", "regional_r1", "ops_a01",
                                 "manager_b01", "marketing_a02"])  # fmt: skip
def test_every_reporting_role_reads_every_page(brokerage: World, name: str, who: str) -> None:
    response = browser(brokerage.users[who]).get(reverse(name), PERIOD)
    assert response.status_code == 200
    assert_private(response)
    assert 'lang="zh-hans"' in response.content.decode()


def test_an_unknown_export_is_404(brokerage: World) -> None:
    client = browser(brokerage.users["compliance"])
    assert client.get(reverse("reports:export", args=["clients"])).status_code == 404


@pytest.mark.parametrize("report", EXPORTS)
def test_exports_need_the_role(brokerage: World, report: str) -> None:
    url = reverse("reports:export", args=[report])
    client = browser()
    assert_login_required(client, url)
    assert_forbidden(client, brokerage.users["agent_a01"], url, method="get")


# ---------------------------------------------------------------- scope


@pytest.mark.parametrize("name", PAGES)
def test_another_branch_code_is_404(brokerage: World, name: str) -> None:
    client = browser()
    assert_out_of_scope_404(client, brokerage.users["ops_a01"], f"{reverse(name)}?branch=B01")
    assert_out_of_scope_404(client, brokerage.users["regional_r1"], f"{reverse(name)}?branch=B01")
    client.force_login(brokerage.users["regional_r1"])
    assert client.get(reverse(name), {"branch": "A02"}).status_code == 200


@pytest.mark.parametrize("report", EXPORTS)
def test_another_branch_code_is_404_for_exports(brokerage: World, report: str) -> None:
    url = reverse("reports:export", args=[report])
    before = AuditEvent.objects.filter(action="report.export").count()
    assert_out_of_scope_404(browser(), brokerage.users["ops_a01"], f"{url}?branch=A02")
    assert AuditEvent.objects.filter(action="report.export").count() == before


def _all_pages(client: Any, url: str, params: dict[str, str]) -> str:
    html, page = "", 1
    while True:
        response = client.get(url, {**params, "page": page})
        assert response.status_code == 200
        html += response.content.decode()
        if not response.context["page"].has_next():
            return html
        page += 1


def test_a_branch_reader_sees_only_his_branchs_records_in_the_ledger(brokerage: World) -> None:
    client = browser(brokerage.users["ops_a01"])
    html = _all_pages(client, reverse("reports:ledger"), {})
    for number in brokerage.record_numbers("A01"):
        assert number in html
    response = client.get(reverse("reports:ledger"))
    assert_list_excludes(
        response, *brokerage.record_numbers("A02"), *brokerage.record_numbers("B01")
    )
    assert "B01" not in html and "A02" not in html


def test_a_regional_reader_sees_his_regions_branches(brokerage: World) -> None:
    client = browser(brokerage.users["regional_r1"])
    html = _all_pages(client, reverse("reports:ledger"), {})
    shown = {n for b in ("A01", "A02") for n in brokerage.record_numbers(b) if n in html}
    assert shown == set(brokerage.record_numbers("A01") + brokerage.record_numbers("A02"))
    assert not any(n in html for n in brokerage.record_numbers("B01"))


@pytest.mark.parametrize("slug", list(tables.REPORTS))
def test_a_branch_reader_sees_only_his_branch_in_every_report(brokerage: World, slug: str) -> None:
    response = browser(brokerage.users["ops_a01"]).get(reverse(f"reports:{slug}"), PERIOD)
    html = response.content.decode()
    assert "B01" not in html and "A02" not in html and "全公司" not in html.split("<tbody>")[-1]
    company = browser(brokerage.users["compliance"]).get(reverse(f"reports:{slug}"), PERIOD)
    body = company.content.decode()
    assert "B01" in body and "A02" in body  # the control: the other branches have rows


def test_the_ledger_filters_narrow_to_what_they_say(brokerage: World) -> None:
    client = browser(brokerage.users["compliance"])
    everything = client.get(reverse("reports:ledger")).context["page"].paginator.count
    assert everything == Record.objects.exclude(status="draft").count() > 0
    problems = client.get(reverse("reports:ledger"), {"result": "problem"}).context["page"]
    with_problem = {
        r.number for records in brokerage.records.values() for r in records
        if r.findings.filter(kind=FindingKind.PROBLEM).exists()
    }  # fmt: skip
    assert {r.number for r in problems.object_list} == with_problem
    completed = client.get(reverse("reports:ledger"), {"result": "completed"}).context["page"]
    assert completed.paginator.count == everything - len(with_problem)
    agent = brokerage.agents["B01"].staff.pk
    mine = client.get(reverse("reports:ledger"), {"agent": agent}).context["page"]
    assert {r.number for r in mine.object_list} == set(brokerage.record_numbers("B01"))
    day = brokerage.records["A01"][0].callback_date
    one_day = client.get(reverse("reports:ledger"), {"start": day, "end": day}).context["page"]
    assert {r.callback_date for r in one_day.object_list} == {day}
    rule = client.get(reverse("reports:ledger"), {"rule": "NEW-2"}).context["rows"]
    assert rule and all("NEW-2" in row.rules for row in rule)
    assert client.get(reverse("reports:ledger"), {"method": "visit"}).context["rows"] == []


def test_the_ledger_masks_the_clients_name(brokerage: World) -> None:
    record = next(r for r in brokerage.records["A01"] if r.client.name == FORMULA_CLIENT)
    client = browser(brokerage.users["ops_a01"], pii_values=[record.client.name])
    response = client.get(reverse("reports:ledger"), {"agent": record.agent_id})
    html = response.content.decode()
    assert mask_name(record.client.name) in html and record.number in html
    row = next(row for row in response.context["rows"] if row.number == record.number)
    assert row.client_name == mask_name(FORMULA_CLIENT) == "=**"


# ---------------------------------------------------------------- exports


def test_the_ledger_export_has_the_readers_rows_and_no_formula(brokerage: World) -> None:
    client = browser(brokerage.users["ops_a01"])
    book = _xlsx(client.get(reverse("reports:export", args=["ledger"])))
    rows = _data(book)
    assert {row[0] for row in rows} == set(brokerage.record_numbers("A01"))
    assert len(rows) == len(brokerage.record_numbers("A01"))
    _no_formula(book)
    cells = {value for row in rows for value in row if isinstance(value, str)}
    for typed in (mask_name(FORMULA_CLIENT), FORMULA_NOTES, FORMULA_HANDLING, FORMULA_AGENT,
                  FORMULA_LEADER):  # fmt: skip
        assert "'" + typed in cells
    assert any(cell.startswith("'" + FORMULA_FINDING) for cell in cells)
    assert FORMULA_CLIENT not in cells  # the name stays masked in the file


def test_every_export_is_audited_with_its_filters_and_row_count(brokerage: World) -> None:
    client = browser(brokerage.users["ops_a01"])
    before = AuditEvent.objects.filter(action="report.export").count()
    response = client.get(
        reverse("reports:export", args=["ledger"]), {"result": "problem", "branch": "A01"}
    )
    rows = _data(_xlsx(response))
    event = AuditEvent.objects.filter(action="report.export").latest("id")
    assert AuditEvent.objects.filter(action="report.export").count() == before + 1
    assert event.actor == "ops_a01" and event.object_id == "ledger" and event.branch_code == "A01"
    assert event.after["filters"] == {"branch": "A01", "result": "problem"}
    assert event.after["rows"] == len(rows) > 0
    import hashlib

    assert event.after["sha256"] == hashlib.sha256(response.content).hexdigest()


@pytest.mark.parametrize("slug", list(tables.REPORTS))
def test_each_report_exports_its_rows(brokerage: World, slug: str) -> None:
    report = tables.REPORTS[slug]
    client = browser(brokerage.users["regional_r1"])
    book = _xlsx(client.get(reverse("reports:export", args=[slug]), PERIOD))
    header = list(book.worksheets[0].iter_rows(values_only=True))[0]
    assert list(header) == [str(col.header) for col in report.columns]
    expected = report.compute(branches=frozenset({"A01", "A02"}), start=START, end=END)
    assert len(_data(book)) == len(expected) > 0
    _no_formula(book)
    event = AuditEvent.objects.filter(action="report.export").latest("id")
    assert event.object_id == slug and event.after["rows"] == len(expected)
    assert event.after["filters"] == PERIOD
    notes = dict(book["导出说明"].iter_rows(values_only=True))
    assert notes["数据范围"] == "regional_r1: A01, A02" and notes["行数"] == str(len(expected))


def test_the_coverage_export_equals_the_metrics(brokerage: World) -> None:
    client = browser(brokerage.users["compliance"])
    rows = _data(_xlsx(client.get(reverse("reports:export", args=["coverage"]), PERIOD)))
    expected = metrics.coverage(branches=None, start=START, end=END)
    assert [(r[0], r[7], r[8]) for r in rows] == [(e.rule_code, e.drawn, e.done) for e in expected]


def test_past_the_row_cap_the_export_is_refused_with_a_message(
    brokerage: World, settings: Any
) -> None:
    settings.HUIFANG_REPORT_EXPORT_MAX_ROWS = 3
    client = browser(brokerage.users["compliance"])
    before = AuditEvent.objects.filter(action="report.export").count()
    total = Record.objects.exclude(status="draft").count()
    response = client.get(
        reverse("reports:export", args=["ledger"]), {"method": "phone"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("reports:ledger") + "?method=phone"
    html = response.content.decode()
    assert f"导出共 {total:,} 行，超过单次导出上限 3 行，未生成文件" in html
    assert "请缩小筛选范围" in html
    assert AuditEvent.objects.filter(action="report.export").count() == before
    settings.HUIFANG_REPORT_EXPORT_MAX_ROWS = total
    assert len(_data(_xlsx(client.get(reverse("reports:export", args=["ledger"]))))) == total


def test_an_export_with_a_bad_filter_is_refused(brokerage: World) -> None:
    client = browser(brokerage.users["compliance"])
    response = client.get(
        reverse("reports:export", args=["timeliness"]), {"start": END, "end": START}, follow=True
    )
    assert "筛选条件有误，未生成文件" in response.content.decode()
    assert not AuditEvent.objects.filter(action="report.export").exists()


# ---------------------------------------------------------------- dashboard


def test_the_dashboard_draws_three_charts_with_the_readers_figures(brokerage: World) -> None:
    response = browser(brokerage.users["ops_a01"]).get(reverse("reports:dashboard"), PERIOD)
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3
    assert "各规则覆盖率" in html and "未完成回访任务（按营业部）" in html
    figures = response.context["figures"]
    own = metrics.coverage(branches=frozenset({"A01"}), start=START, end=END)
    assert (figures.required, figures.done) == (
        sum(r.required for r in own),
        sum(r.done for r in own),
    )
    assert "<script" not in html.split("</head>")[1]


def test_the_ledger_page_runs_the_same_queries_for_few_or_many_rows(brokerage: World) -> None:
    """Counts are sub-queries and purposes are prefetched: no query per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = browser(brokerage.users["compliance"])
    client.get(reverse("reports:ledger"))  # warm the session and the caches
    seen = []
    for params in ({"agent": brokerage.agents["A02"].staff.pk}, {}):
        with CaptureQueriesContext(connection) as queries:
            rows = client.get(reverse("reports:ledger"), params).context["rows"]
        seen.append((len(rows), len(queries)))
    (few, few_queries), (many, many_queries) = seen
    assert 0 < few < many
    assert few_queries == many_queries, seen
