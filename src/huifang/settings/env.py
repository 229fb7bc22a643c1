"""Reading settings from the environment (SPEC §12).

``HUIFANG_DATA_DIR`` (default ``./var``) and ``HUIFANG_DATABASE_URL`` (default
``sqlite:///$HUIFANG_DATA_DIR/huifang.sqlite3``) are the only two a brokerage must
know. Secrets may also come from ``*_FILE`` paths (Healthchecks' habit).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def data_dir() -> Path:
    """The data directory, created if missing."""
    path = Path(os.environ.get("HUIFANG_DATA_DIR", "./var")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_config(default_dir: Path) -> dict[str, Any]:
    """Parse ``HUIFANG_DATABASE_URL``.

    ``sqlite:////abs/path`` is absolute and ``sqlite:///rel/path`` relative to
    the current directory, as SPEC §12 says; ``postgresql://…`` for production.
    """
    url = os.environ.get("HUIFANG_DATABASE_URL") or f"sqlite:///{default_dir / 'huifang.sqlite3'}"
    if url.startswith("sqlite:///"):
        raw = url[len("sqlite:///") :]
        path = Path(raw) if raw.startswith("/") else Path.cwd() / raw
        return sqlite_config(path)
    if not url.startswith(("postgres://", "postgresql://")):
        raise ConfigurationError(
            f"HUIFANG_DATABASE_URL must be sqlite:/// or postgresql://, got {url.split(':')[0]}:"
        )
    config = dict(dj_database_url.parse(url, conn_max_age=60))
    config["ENGINE"] = "django.db.backends.postgresql"
    # Opt-in for the web service (issue 7): HUIFANG_DB_PREPARE_THRESHOLD=N binds parameters
    # on the server and keeps a statement run N times on a connection prepared there, so
    # PostgreSQL skips parsing and planning the call-center API's few statements. Off by
    # default (client-side binding, Django's default): server-side binding limits a statement
    # to 65,535 parameters (the nightly and bulk commands pass long lists), and a pooler in
    # transaction mode cannot keep prepared statements. psycopg forgets them on a rollback.
    threshold = os.environ.get("HUIFANG_DB_PREPARE_THRESHOLD", "off").strip()
    if threshold != "off":
        if not (threshold.isdigit() and int(threshold) >= 0):
            raise ConfigurationError(
                f"HUIFANG_DB_PREPARE_THRESHOLD must be a whole number or off, got {threshold!r}"
            )
        options: dict[str, Any] = {**(config.get("OPTIONS") or {})}  # type: ignore[dict-item]
        options["server_side_binding"] = True
        options["prepare_threshold"] = int(threshold)
        config["OPTIONS"] = options
    return config


def sqlite_config(path: Path) -> dict[str, Any]:
    """SQLite tuned for one writer and many readers (WAL, immediate transactions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;"
            ),
        },
    }


def secret(name: str, *, generate_into: Path | None, nbytes: int = 32) -> str:
    """A secret from ``NAME``, ``NAME_FILE`` or, in embedded mode only, a generated file.

    Production passes ``generate_into=None`` and so refuses to start without it.
    """
    value = os.environ.get(name)
    if value:
        return value
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text(encoding="utf-8").strip()
    if generate_into is None:
        raise ConfigurationError(f"{name} (or {name}_FILE) must be set in production")
    keys = generate_into / "keys"
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = keys / name.lower()
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(nbytes))
    return path.read_text(encoding="utf-8").strip()


def flag(name: str, default: bool = False) -> bool:
    """A boolean environment variable (1/true/yes/on)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def integer(name: str, default: int, *, minimum: int = 1) -> int:
    """A whole-number environment variable; a malformed or too small value is an error."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value
