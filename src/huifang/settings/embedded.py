"""Embedded mode (the default): SQLite, keys generated into the data dir, tasks in-process."""

from huifang.settings.base import *  # noqa: F403
from huifang.settings.base import DATA_DIR
from huifang.settings.env import flag, secret

DEBUG = flag("HUIFANG_DEBUG", False)
SECRET_KEY = secret("HUIFANG_SECRET_KEY", generate_into=DATA_DIR, nbytes=48)
HUIFANG_FIELD_KEY = secret("HUIFANG_FIELD_KEY", generate_into=DATA_DIR)
HUIFANG_HASH_KEY = secret("HUIFANG_HASH_KEY", generate_into=DATA_DIR)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]", "testserver"]
HUIFANG_DEMO = flag("HUIFANG_DEMO", False)
# The second factor is on unless the demo (or an explicit HUIFANG_REQUIRE_2FA=0) turns it
# off; the login page then says so.
HUIFANG_REQUIRE_2FA = flag("HUIFANG_REQUIRE_2FA", not HUIFANG_DEMO)
