"""A SIGKILL anywhere in ``huifang import`` leaves, once recovered, exactly the state before
or exactly the state after a clean import of the same feed (SPEC §1 import rules).

The crash points and their hit counts are drawn with a fixed seed; each kill runs the
real console command in a subprocess on the test database and data dir.
"""

from __future__ import annotations

import random
import signal
from pathlib import Path
from typing import Any

import pytest

from huifang.feeds.services import recover
from huifang.feeds.tests import feedkit
from huifang.feeds.tests.feedkit import DAY1, DAY2

# Hits per crash point for day2_feed(): six files are written to the database,
# eight are archived and published.
DB_WRITES = 6
ARCHIVED = 8
_rng = random.Random(20261014)
CRASHES = [
    ("db_write", _rng.randint(1, DB_WRITES), "before"),
    ("archive_write", _rng.randint(1, ARCHIVED), "before"),
    ("before_commit", 1, "before"),
    ("after_commit", 1, "after"),
    ("archive_publish", _rng.randint(1, ARCHIVED), "after"),
]


def _state() -> tuple[dict[str, Any], dict[str, Any]]:
    return feedkit.db_state(), feedkit.archive_state()


def test_the_day2_feed_hits_each_crash_point_as_often_as_assumed():
    feed = feedkit.day2_feed()
    written = {
        "branches",
        "staff",
        "clients",
        "product_purchases",
        "margin_events",
        "account_events",
    }
    assert len(written & set(feed)) == DB_WRITES
    assert len(feed) == ARCHIVED


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """The clean before/after states, computed by the first test that needs them."""
    return {}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("point", "hit", "expected"), CRASHES, ids=[f"{p}:{n}" for p, n, _ in CRASHES]
)
def test_a_killed_import_recovers_to_exactly_before_or_after(
    tmp_path, reference, point, hit, expected
):
    day1 = feedkit.write_feed(tmp_path / "day1", feedkit.standard_feed())
    day2 = feedkit.write_feed(tmp_path / "day2", feedkit.day2_feed())

    def import_(directory: Path, day: object) -> str:
        code, out, err = feedkit.run_command(str(directory), "--date", str(day), "--quiet")
        assert code == 0, err
        return out

    if not reference:  # clean imports in this process; states carry no ids, times or nonces
        import_(day1, DAY1)
        reference["before"] = _state()
        import_(day2, DAY2)
        reference["after"] = _state()
        assert reference["before"] != reference["after"]
        feedkit.wipe()
    import_(day1, DAY1)
    assert _state() == reference["before"]

    killed = feedkit.run_subprocess(
        "import", str(day2), "--date", str(DAY2), "--quiet", HUIFANG_CRASHPOINT=f"{point}:{hit}"
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    recover()

    assert feedkit.staging_leftovers() == []
    assert _state() == reference[expected]
    # The scheduler's retry then finishes the job, whichever way the crash went.
    out = import_(day2, DAY2)
    assert ("already imported" in out) == (expected == "after")
    assert _state() == reference["after"]
