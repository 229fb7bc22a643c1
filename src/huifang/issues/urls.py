"""The screens of issues under /issues/ (issue 8)."""

from django.urls import URLPattern

app_name = "issues"
urlpatterns: list[URLPattern] = []
