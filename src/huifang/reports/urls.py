"""The screens of reports under /reports/ (issue 8)."""

from django.urls import URLPattern

app_name = "reports"
urlpatterns: list[URLPattern] = []
