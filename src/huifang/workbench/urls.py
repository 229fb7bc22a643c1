"""Stub: the owning helper replaces it."""

from django.urls import URLPattern

app_name = "workbench"
urlpatterns: list[URLPattern] = []
