"""SPEC §12: settings from the environment, one clock, background work by mode."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.test import override_settings

from huifang.core import clock
from huifang.settings.env import ConfigurationError, database_config, secret


def test_sqlite_urls_with_four_slashes_are_absolute(tmp_path: Path) -> None:
    with mock.patch.dict(
        os.environ, {"HUIFANG_DATABASE_URL": f"sqlite:///{tmp_path}/a/db.sqlite3"}
    ):
        assert database_config(tmp_path)["NAME"] == str(tmp_path / "a" / "db.sqlite3")


def test_sqlite_urls_with_three_slashes_are_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUIFANG_DATABASE_URL", "sqlite:///rel/db.sqlite3")
    assert database_config(tmp_path)["NAME"] == str(tmp_path / "rel" / "db.sqlite3")


def test_the_default_database_lives_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUIFANG_DATABASE_URL", raising=False)
    assert database_config(tmp_path)["NAME"] == str(tmp_path / "huifang.sqlite3")


def test_postgresql_urls_select_the_postgresql_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUIFANG_DATABASE_URL", "postgresql://u:p@db.example:5433/huifang")
    config = database_config(tmp_path)
    assert (config["ENGINE"], config["NAME"], config["PORT"]) == (
        "django.db.backends.postgresql",
        "huifang",
        5433,
    )


def test_postgresql_prepares_repeated_statements_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 7: off by default (client-side binding); N binds on the server and prepares a
    statement after N runs; anything else refused with the variable's name."""
    monkeypatch.setenv("HUIFANG_DATABASE_URL", "postgresql://u:p@db.example:5433/huifang")
    monkeypatch.delenv("HUIFANG_DB_PREPARE_THRESHOLD", raising=False)
    assert "server_side_binding" not in database_config(tmp_path).get("OPTIONS", {})
    monkeypatch.setenv("HUIFANG_DB_PREPARE_THRESHOLD", "off")
    assert "server_side_binding" not in database_config(tmp_path).get("OPTIONS", {})
    monkeypatch.setenv("HUIFANG_DB_PREPARE_THRESHOLD", "5")
    options = database_config(tmp_path)["OPTIONS"]
    assert (options["server_side_binding"], options["prepare_threshold"]) == (True, 5)
    for bad in ("-1", "five", "1.5"):
        monkeypatch.setenv("HUIFANG_DB_PREPARE_THRESHOLD", bad)
        with pytest.raises(ConfigurationError, match="HUIFANG_DB_PREPARE_THRESHOLD"):
            database_config(tmp_path)


def test_other_database_urls_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIFANG_DATABASE_URL", "mysql://root@localhost/x")
    with pytest.raises(ConfigurationError, match="HUIFANG_DATABASE_URL"):
        database_config(tmp_path)


def test_embedded_mode_generates_a_missing_key_once_readable_only_by_its_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUIFANG_FIELD_KEY", raising=False)
    monkeypatch.delenv("HUIFANG_FIELD_KEY_FILE", raising=False)
    first = secret("HUIFANG_FIELD_KEY", generate_into=tmp_path)
    assert secret("HUIFANG_FIELD_KEY", generate_into=tmp_path) == first
    mode = stat.S_IMODE((tmp_path / "keys" / "huifang_field_key").stat().st_mode)
    assert mode == 0o600


def test_a_key_may_come_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "k").write_text("from-file\n")
    monkeypatch.delenv("HUIFANG_HASH_KEY", raising=False)
    monkeypatch.setenv("HUIFANG_HASH_KEY_FILE", str(tmp_path / "k"))
    assert secret("HUIFANG_HASH_KEY", generate_into=None) == "from-file"


def test_the_data_dir_is_created_and_used_by_the_command(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "var"
    env = {
        **os.environ,
        "HUIFANG_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "huifang.settings.embedded",
    }
    env.pop("HUIFANG_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "huifang", "migrate", "--noinput", "-v0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (data / "huifang.sqlite3").exists()
    assert {p.name for p in (data / "keys").iterdir()} >= {
        "huifang_secret_key",
        "huifang_field_key",
    }


def test_the_pinned_clock_gives_today_in_shanghai() -> None:
    with override_settings(HUIFANG_TODAY="2026-02-13"):
        assert clock.today() == dt.date(2026, 2, 13)
        assert clock.now().tzinfo is not None and clock.now().utcoffset() == dt.timedelta(hours=8)


def test_frozen_wins_over_the_setting_and_pins_the_time_of_day() -> None:
    with clock.frozen(dt.date(2026, 10, 9)) as moment:
        assert clock.today() == dt.date(2026, 10, 9)
        assert clock.now() == moment
    assert clock.today() == dt.date.fromisoformat(settings.HUIFANG_TODAY)


def test_background_work_runs_inline_in_tests_and_through_celery_in_production() -> None:
    from huifang.core.background import dispatch

    task = mock.Mock()
    with override_settings(HUIFANG_BACKGROUND="celery"):
        dispatch(task, a=1)
    task.delay.assert_called_once_with(a=1)
    task = mock.Mock()
    with override_settings(HUIFANG_BACKGROUND="inline"):
        dispatch(task, a=2)
    task.apply.assert_called_once_with(kwargs={"a": 2})


def test_the_celery_app_knows_the_import_task() -> None:
    from huifang.celery import app

    app.loader.import_default_modules()
    assert "huifang.feeds.tasks.import_uploaded" in app.tasks
