"""Callback fixtures: an empty data dir and archive per test, the default policy in force."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from huifang.core.testing import isolated_data_dir
from huifang.policy.models import PolicyVersion
from huifang.policy.services import policy_default_ensure


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    return isolated_data_dir(settings, tmp_path)


@pytest.fixture
def policy(db: None) -> PolicyVersion:
    """Version 1, the default policy (SPEC §3, §4)."""
    return policy_default_ensure()
