"""Evidence pack tests: the workbench's moment (10:00 on Monday 2026-10-12, inside call hours),
evidence in a fresh MEDIA_ROOT and a fresh DATA_DIR per test; ``scenario`` builds two clients
of one branch whose callbacks interleave in the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from huifang.core import clock
from huifang.core.testing import isolated_data_dir
from huifang.evidencepack.tests.kit import Scenario, make_scenario
from huifang.workbench.tests import factories as f


@pytest.fixture(autouse=True)
def _at_ten() -> Iterator[dt.datetime]:
    with clock.frozen(f.at(10)) as moment:
        yield moment


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return Path(settings.MEDIA_ROOT)


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    return Path(isolated_data_dir(settings, tmp_path))


@pytest.fixture
def scenario(db: None) -> Scenario:
    return make_scenario()
