"""API fixtures: an isolated data dir, the default policy, a small brokerage imported from a feed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from huifang.callbacks.tests import runkit
from huifang.core.testing import isolated_data_dir
from huifang.feeds.services import feed_import
from huifang.feeds.tests import feedkit
from huifang.policy.models import PolicyVersion
from huifang.policy.services import policy_default_ensure

SETUP_DAY = dt.date(2026, 9, 28)


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    return isolated_data_dir(settings, tmp_path)


@pytest.fixture
def policy(db: None) -> PolicyVersion:
    return policy_default_ensure()


def old(client_id: str, branch: str, **extra: Any) -> runkit.Row:
    """An existing client who traded recently: no NEW-*, no SMALL-1 by dormancy."""
    return runkit.client(client_id, branch, "2020-03-02", last_trade_date="2026-09-25", **extra)


def office() -> dict[str, list[runkit.Row]]:
    """Branches A01 and B01 with two agents each, two call-center agents, an adviser in A01.

    ``SA1`` introduced client ``A1``: recusal (CON-1) keeps him off A1's callbacks.
    """
    return {
        "branches": runkit.branches("A01", "B01"),
        "staff": [
            runkit.staff("SA1", "A01", "agent"), runkit.staff("SA2", "A01", "agent"),
            runkit.staff("SB1", "B01", "agent"), runkit.staff("SB2", "B01", "agent"),
            runkit.staff("C01", "HQCC", "agent"), runkit.staff("C02", "HQCC", "agent"),
            runkit.staff("AD1", "A01", "adviser"),
        ],
        "clients": [
            old("A1", "A01", introducer_staff_id="SA1", adviser_staff_id="AD1"),
            old("A2", "A01"), old("B1", "B01"),
        ],
    }  # fmt: skip


@pytest.fixture
def brokerage(policy: PolicyVersion, tmp_path: Path) -> dict[str, list[runkit.Row]]:
    """The office imported on ``SETUP_DAY`` (no nightly run: no task yet)."""
    feed = office()
    result = feed_import(
        directory=feedkit.write_feed(tmp_path / "setup", feed),
        business_date=SETUP_DAY,
        actor="system:test",
    )
    assert result.status == "imported", result.errors
    return feed
