"""WSGI entry point (gunicorn ``huifang.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huifang.settings.embedded")
application = get_wsgi_application()
