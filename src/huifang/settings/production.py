"""Production mode: PostgreSQL, secrets from the environment (never generated), TLS headers.

``huifang check --deploy`` reports no issue with these settings (a test proves it).
"""

import os

from huifang.settings.base import *  # noqa: F403
from huifang.settings.env import ConfigurationError, flag, secret

HUIFANG_MODE = "production"
DEBUG = False
SECRET_KEY = secret("HUIFANG_SECRET_KEY", generate_into=None)
HUIFANG_FIELD_KEY = secret("HUIFANG_FIELD_KEY", generate_into=None)
HUIFANG_HASH_KEY = secret("HUIFANG_HASH_KEY", generate_into=None)
ALLOWED_HOSTS = [h for h in os.environ.get("HUIFANG_ALLOWED_HOSTS", "").split(",") if h]
if not ALLOWED_HOSTS:
    raise ConfigurationError("HUIFANG_ALLOWED_HOSTS must list the host names in production")
CSRF_TRUSTED_ORIGINS = [f"https://{h}" for h in ALLOWED_HOSTS]
CELERY_TASK_ALWAYS_EAGER = False
HUIFANG_BACKGROUND = "celery"
CELERY_BROKER_URL = os.environ.get("HUIFANG_CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# __Host- cookies: only over HTTPS, for this exact host, never set by a sibling domain.
SESSION_COOKIE_NAME = "__Host-huifang-session"
CSRF_COOKIE_NAME = "__Host-huifang-csrftoken"
HUIFANG_DEMO = False
# The second factor cannot be switched off in production: saying so is a mistake, not a choice.
if not flag("HUIFANG_REQUIRE_2FA", True):
    raise ConfigurationError("HUIFANG_REQUIRE_2FA cannot be switched off in production")
HUIFANG_REQUIRE_2FA = True
