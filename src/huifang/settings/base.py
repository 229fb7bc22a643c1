"""Settings shared by every mode. Mode modules import ``*`` from here and adjust."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

from huifang.settings.env import ConfigurationError, data_dir, database_config, flag, integer

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = data_dir()
ARCHIVE_DIR = DATA_DIR / "archive"
MEDIA_ROOT = DATA_DIR / "media"

HUIFANG_MODE = "embedded"

DATABASES = {"default": database_config(DATA_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "csp",
    "huifang.core",
    "huifang.audit",
    "huifang.accounts",
    "huifang.org",
    "huifang.calendars",
    "huifang.clients",
    "huifang.feeds",
    "huifang.synth",
    "huifang.policy",
    "huifang.classification",
    "huifang.callbacks",
    "huifang.api",
    "huifang.workbench",
    "huifang.issues",
    "huifang.orders",
    "huifang.evaluation",
    "huifang.reports",
    "huifang.evidencepack",
]

# Order matters: OTP after authentication; the audit context before anything that may
# log a user out; messages before the session checks that leave one; axes last.
MIDDLEWARE = [
    "huifang.core.middleware.MemoScopeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "huifang.core.middleware.DefaultLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "huifang.audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "huifang.accounts.middleware.SessionTimeoutMiddleware",
    "huifang.accounts.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "huifang.urls"
WSGI_APPLICATION = "huifang.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "huifang.core.context_processors.shell",
            ],
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise serves from the finders; it wants the folder
# Evidence files (SPEC EXE-2, NFR-3) go to the default storage: the filesystem under
# MEDIA_ROOT, or with HUIFANG_EVIDENCE_STORAGE=s3 an S3-compatible bucket (MinIO, Ceph, a
# cloud bucket) through django-storages — that backend needs `pip install boto3`, which
# huifang does not ship. Secrets may also come from HUIFANG_S3_ACCESS_KEY_FILE / _SECRET_KEY_FILE.
HUIFANG_EVIDENCE_STORAGE = os.environ.get("HUIFANG_EVIDENCE_STORAGE", "filesystem").strip().lower()


def _s3_setting(name: str) -> str | None:
    value = os.environ.get(name)
    if not value and os.environ.get(f"{name}_FILE"):
        value = Path(os.environ[f"{name}_FILE"]).read_text(encoding="utf-8").strip()
    return value or None


def _evidence_storage() -> dict[str, object]:
    if HUIFANG_EVIDENCE_STORAGE == "filesystem":
        # no fixed location: it follows MEDIA_ROOT, also when a mode module moves it
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    if HUIFANG_EVIDENCE_STORAGE != "s3":
        raise ConfigurationError(
            f"HUIFANG_EVIDENCE_STORAGE must be filesystem or s3, got {HUIFANG_EVIDENCE_STORAGE!r}"
        )
    bucket = _s3_setting("HUIFANG_S3_BUCKET")
    if not bucket:
        raise ConfigurationError("HUIFANG_S3_BUCKET must be set when HUIFANG_EVIDENCE_STORAGE=s3")
    options = {
        "bucket_name": bucket,
        "endpoint_url": _s3_setting("HUIFANG_S3_ENDPOINT_URL"),
        "access_key": _s3_setting("HUIFANG_S3_ACCESS_KEY"),
        "secret_key": _s3_setting("HUIFANG_S3_SECRET_KEY"),
        "region_name": _s3_setting("HUIFANG_S3_REGION"),
        "querystring_auth": True,  # links to evidence are signed and expire
        "file_overwrite": False,  # evidence is never replaced in place
    }
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {key: value for key, value in options.items() if value is not None},
    }


STORAGES = {
    "default": _evidence_storage(),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Sign-in (ASVS V2/V3): lockout, second factor, session limits -------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out username+IP pairs first
    "django.contrib.auth.backends.ModelBackend",
]

# django-axes: N failures of one username from one IP lock that pair for a cool-off;
# the same username from another IP still signs in (a guesser elsewhere cannot lock staff out).
AXES_ENABLED = True
AXES_FAILURE_LIMIT = integer("HUIFANG_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=integer("HUIFANG_LOGIN_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "huifang.accounts.lockout.lockout_response"
# Logs, attempt rows and the lockout page see a username with ID numbers/mobiles masked.
AXES_USERNAME_CALLABLE = "huifang.accounts.lockout.client_username"
AXES_CLIENT_STR_CALLABLE = "huifang.accounts.lockout.client_str"
AXES_CLIENT_IP_CALLABLE = "huifang.accounts.lockout.client_ip"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address"]  # masked in stored POST data
AXES_COOLOFF_MESSAGE = _("登录失败次数过多，账号已暂时锁定，请稍后再试。")
AXES_PERMALOCK_MESSAGE = _("登录失败次数过多，账号已锁定，请联系系统管理员。")
# Reverse proxies in front of huifang whose X-Forwarded-For may be trusted (0 = none).
HUIFANG_TRUSTED_PROXY_COUNT = integer("HUIFANG_TRUSTED_PROXY_COUNT", 0, minimum=0)

# Second factor (TOTP, django-otp). Each mode sets HUIFANG_REQUIRE_2FA.
HUIFANG_REQUIRE_2FA = True
OTP_TOTP_ISSUER = os.environ.get("HUIFANG_OTP_ISSUER", "huifang")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows an authenticator's secret

# Idle and absolute session limits, enforced by accounts.middleware.SessionTimeoutMiddleware.
HUIFANG_SESSION_IDLE_SECONDS = integer("HUIFANG_SESSION_IDLE_SECONDS", 30 * 60)
HUIFANG_SESSION_ABSOLUTE_SECONDS = integer("HUIFANG_SESSION_ABSOLUTE_SECONDS", 12 * 3600)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = HUIFANG_SESSION_ABSOLUTE_SECONDS  # the cookie never outlives the session
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy in every mode (django-csp 4): only our own scripts and styles,
# no inline code. htmx is told not to inject its indicator <style> (see base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
HUIFANG_MAX_UPLOAD_BYTES = int(os.environ.get("HUIFANG_MAX_UPLOAD_BYTES", str(2 * 1024**3)))

# Celery: a Redis broker in production; tasks run in-process in embedded mode.
CELERY_BROKER_URL = os.environ.get("HUIFANG_CELERY_BROKER_URL", "memory://")
CELERY_RESULT_BACKEND = os.environ.get("HUIFANG_CELERY_RESULT_BACKEND", None)
CELERY_TASK_ALWAYS_EAGER = not flag("HUIFANG_CELERY_WORKERS", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
HUIFANG_BACKGROUND = os.environ.get(
    "HUIFANG_BACKGROUND", "thread" if CELERY_TASK_ALWAYS_EAGER else "celery"
)
# Issues (ISS-5): warnings and escalations, idempotent. Celery beat runs the tick in
# production; the embedded mode ticks in-process (huifang.issues.ticker) at most once
# every HUIFANG_ISSUES_TICK_SECONDS (0: off; cron may call `huifang tick_issues` instead).
CELERY_BEAT_SCHEDULE = {
    "issues-tick": {"task": "huifang.issues.tasks.tick", "schedule": 3600.0},
}
HUIFANG_ISSUES_TICK_SECONDS = int(os.environ.get("HUIFANG_ISSUES_TICK_SECONDS", "3600"))

# The one clock: HUIFANG_TODAY (YYYY-MM-DD) pins "today" for demos and scripts.
HUIFANG_TODAY = os.environ.get("HUIFANG_TODAY") or None
# E-questionnaire links (EXE-6): the address clients open, and how messages are sent.
HUIFANG_PUBLIC_BASE_URL = os.environ.get("HUIFANG_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
HUIFANG_MESSAGE_BACKEND = os.environ.get(
    "HUIFANG_MESSAGE_BACKEND", "huifang.workbench.messaging.FileBackend"
)
# HUIFANG_NOW (YYYY-MM-DDTHH:MM) starts the clock at that moment, then it runs (CON-5 demos).
HUIFANG_NOW = os.environ.get("HUIFANG_NOW") or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"pii": {"()": "huifang.core.pii.PiiLogFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["pii"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("HUIFANG_LOG_LEVEL", "WARNING")},
}
