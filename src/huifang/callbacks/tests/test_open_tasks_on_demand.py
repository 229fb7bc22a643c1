"""The nightly run reads the open tasks of the drawn clients only (CON-4 merge, issue 6).

``Evaluator._ensure_open`` loads a drawn client's stored open tasks the first time a
rule draws him; more than ``OPEN_WHOLE_AT`` unloaded clients at once read every open
task instead. Both ways must merge exactly alike.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from huifang.callbacks import engine, services
from huifang.callbacks.models import Task
from huifang.callbacks.tests import runkit
from huifang.callbacks.tests.test_merge_and_assignment import broker_client, office
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db


def spy(monkeypatch: pytest.MonkeyPatch) -> list[tuple[list[str] | None, int]]:
    """Each ``_open_tasks`` call of the runs: the targets asked for (None: all) and rows read."""
    calls: list[tuple[list[str] | None, int]] = []
    real = services._open_tasks

    def recorded(targets: pa.Array | None) -> pa.Table:
        rows = real(targets)
        calls.append((None if targets is None else sorted(targets.to_pylist()), rows.num_rows))
        return rows

    monkeypatch.setattr(services, "_open_tasks", recorded)
    return calls


def two_dates(tmp_path: Path) -> None:
    """Monday: DEP-1 for K1 (BR1 left), NEW-1 for five new clients of BR2; Friday: K1's inflow (ABN-1)."""
    feed = office(
        ["SA1"], broker_client("K1", opened="2020-03-02"),
        *[broker_client(f"N{i}", broker="BR2") for i in range(1, 6)],
    )  # fmt: skip
    feed["staff"] = [
        s if s["staff_id"] != "BR1" else {**s, "leave_date": "2026-10-09"} for s in feed["staff"]
    ]
    code, _out, err = runkit.run(tmp_path, "2026-10-12", feed)
    assert code == 0, err
    flows = [{"client_id": "K1", "kind": "deposit", "amount": "5000000"}]
    code, _out, err = runkit.run(tmp_path, "2026-10-16", {"flows": flows})
    assert code == 0, err


EXPECTED = {
    ("K1", "branch", "compliance", "2026-10-21", "ABN-1;DEP-1"),
    ("K1", "company", "compliance", "2026-10-21", "ABN-1"),
    *{(f"N{i}", "branch", "compliance", "2026-10-19", "NEW-1") for i in range(1, 6)},
    ("N5", "company", "compliance", "2026-10-25", "NEW-3"),  # Friday's week-end draw
}


def test_a_later_date_reads_only_the_drawn_clients_open_tasks_and_merges_into_them(
    policy: PolicyVersion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = spy(monkeypatch)
    two_dates(tmp_path)
    assert runkit.tasks() == EXPECTED
    # Monday reads the drawn clients (none has an open task yet); Friday, of the six open tasks
    # Monday left, K1's (ABN-1 draws him at two levels: one read) and N5's (NEW-3's week-end draw)
    assert Task.objects.filter(status__in=["open", "assigned"]).count() == 8
    assert calls == [(["N1", "N2", "N3", "N4", "N5"], 0), (["K1"], 0), (["K1"], 1), (["N5"], 1)]
    assert all(targets is not None for targets, _n in calls)


def test_reading_every_open_task_at_once_merges_the_same(
    policy: PolicyVersion, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = spy(monkeypatch)
    monkeypatch.setattr(engine, "OPEN_WHOLE_AT", 0)
    two_dates(tmp_path)
    assert runkit.tasks() == EXPECTED
    # each date reads every open task once, at its first draw, and never again: Friday the six
    # Monday left
    reads: list[Any] = [targets for targets, _n in calls]
    assert reads == [None, None]
    assert calls[-1][1] == 6
