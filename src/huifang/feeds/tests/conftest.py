"""Each feed test gets its own data dir (archive, scratch, progress files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from huifang.core.testing import isolated_data_dir
from huifang.feeds.tests import feedkit


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    """A fresh ``DATA_DIR``/``ARCHIVE_DIR``; subprocesses get the same through the environment."""
    return isolated_data_dir(settings, tmp_path)


@pytest.fixture
def feed_dir(tmp_path: Path) -> Path:
    return tmp_path / "feed"


@pytest.fixture
def day1(db: None, tmp_path: Path) -> feedkit.Feed:
    """The standard feed imported for DAY1 (in this process)."""
    feed = feedkit.standard_feed()
    directory = feedkit.write_feed(tmp_path / "day1", feed)
    code, _out, err = feedkit.run_command(str(directory), "--date", str(feedkit.DAY1), "--quiet")
    assert code == 0, err
    return feed
