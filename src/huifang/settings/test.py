"""Test mode: embedded settings with a throw-away data dir and a pinned clock.

``HUIFANG_TEST_DATABASE=postgres`` runs the same suite on PostgreSQL
(``HUIFANG_TEST_PG_URL``, default ``postgresql://postgres@127.0.0.1:5432/postgres``).
"""

import os
import tempfile
from pathlib import Path

if "HUIFANG_DATA_DIR" not in os.environ:
    os.environ["HUIFANG_DATA_DIR"] = tempfile.mkdtemp(prefix="huifang-test-")

from huifang.settings.embedded import *  # noqa: E402,F403
from huifang.settings.embedded import DATA_DIR, DATABASES  # noqa: E402
from huifang.settings.env import database_config  # noqa: E402

if os.environ.get("HUIFANG_TEST_DATABASE") == "postgres":
    os.environ.setdefault(
        "HUIFANG_DATABASE_URL",
        os.environ.get("HUIFANG_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    DATABASES = {"default": database_config(Path(DATA_DIR))}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # One test database per test process, so that parallel runs never collide.
    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("HUIFANG_TEST_PG_DBNAME", f"test_huifang_{os.getpid()}")
    }
else:
    # A file, not :memory:, so that subprocesses (crash tests) see the same database.
    DATABASES["default"]["TEST"] = {"NAME": str(Path(DATA_DIR) / "test.sqlite3")}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
HUIFANG_TODAY = "2026-10-14"
HUIFANG_BACKGROUND = "inline"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Two-factor sign-in is off by default here; tests of it use override_settings.
HUIFANG_REQUIRE_2FA = False
