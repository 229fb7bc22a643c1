"""Celery application. In embedded mode tasks run in-process (``task_always_eager``)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huifang.settings.embedded")

app = Celery("huifang")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
