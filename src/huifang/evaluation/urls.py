"""The screens of evaluation under /evaluation/ (issue 8)."""

from django.urls import URLPattern

app_name = "evaluation"
urlpatterns: list[URLPattern] = []
