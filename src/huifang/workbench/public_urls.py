"""Stub: the owning helper replaces it."""

from django.urls import URLPattern

app_name = "questionnaire"
urlpatterns: list[URLPattern] = []
