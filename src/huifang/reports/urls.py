"""The screens of reports under /reports/ (RPT-1, RPT-2, RPT-4)."""

from django.urls import path

from huifang.reports import views
from huifang.reports.tables import REPORTS

app_name = "reports"
urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("ledger/", views.LedgerView.as_view(), name="ledger"),
    path("export/<slug:report>/", views.ExportView.as_view(), name="export"),
    *(path(f"{slug}/", views.ReportView.as_view(report=slug), name=slug) for slug in REPORTS),
]
