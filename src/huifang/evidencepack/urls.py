"""The screens of evidencepack under /evidencepack/ (issue 8)."""

from django.urls import URLPattern

app_name = "evidencepack"
urlpatterns: list[URLPattern] = []
