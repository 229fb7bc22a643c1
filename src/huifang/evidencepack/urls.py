"""The evidence pack under /evidence-pack/ (issue 8, NFR-2)."""

from django.urls import path

from huifang.evidencepack import views

app_name = "evidencepack"
urlpatterns = [
    path("<str:client_id>/", views.EvidencePackView.as_view(), name="build"),
]
