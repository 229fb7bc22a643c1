"""The screens of orders under /orders/ (issue 8)."""

from django.urls import URLPattern

app_name = "orders"
urlpatterns: list[URLPattern] = []
