"""The client's e-questionnaire (EXE-6), public: included at the site root as ``q/``."""

from django.urls import path

from huifang.workbench import public_views

app_name = "questionnaire"
urlpatterns = [
    path("<str:token>/", public_views.fill, name="fill"),
]
