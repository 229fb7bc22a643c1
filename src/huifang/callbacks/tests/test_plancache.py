"""The sampled members kept between runs equal the table's, and are used only when the guard holds
(``plancache``, CON-7, CON-8).

Ten new accounts a day in one branch over four days (NEW-2, 30 % cumulative per branch
and month): the first night reads the members from the table and keeps them; the later
nights read the files. A tampered plan, a lost file or a run that rolled back after
writing its files makes the next run read the table again, and the results are the
same as a run that never kept anything.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.conf import settings

from huifang.callbacks import plancache
from huifang.callbacks.models import Plan, PlanEntry, Purpose
from huifang.callbacks.tests import runkit
from huifang.feeds.tests import feedkit
from huifang.policy.models import PolicyVersion
from huifang.policy.services import policy_default_ensure

pytestmark = pytest.mark.django_db

LOAD = plancache.load  # the real one, for reading the files in the assertions
DAYS = [dt.date(2026, 10, 12) + dt.timedelta(days=i) for i in range(4)]  # Monday … Thursday


def feed(i: int) -> dict[str, list[runkit.Row]]:
    rows: dict[str, list[runkit.Row]] = {
        "clients": [
            runkit.client(f"N{i:02d}{j:02d}", "A01", DAYS[i].isoformat()) for j in range(10)
        ]
    }
    if i == 0:
        rows["branches"] = runkit.branches("A01")
        rows["staff"] = [runkit.staff("S02", "A01", "agent"), runkit.staff("C01", "HQCC", "agent")]
    return rows


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every ``plancache.load`` of a rule that has plans: (rule, whether the files were used)."""
    seen: list[tuple[str, bool]] = []

    def spy(con: Any, state_dir: Path, rule_code: str, period: str, stored: Any) -> bool:
        used = LOAD(con, state_dir, rule_code, period, stored)
        if stored:
            seen.append((rule_code, used))
        return used

    monkeypatch.setattr(plancache, "load", spy)
    return seen


def state_dir() -> Path:
    return Path(settings.DATA_DIR) / "state" / "plans"


def kept(rule: str, period: str) -> set[tuple[str, str, bool, bool]]:
    """What the files hold for the rule's plans, read under the guard of the stored plans."""
    stored = plancache.counts(list(Plan.objects.filter(rule_code=rule, period=period).values()))
    con = duckdb.connect()
    assert LOAD(con, state_dir(), rule, period, stored), "the guard holds after a run"
    rows = con.execute("SELECT stratum, client_id, sampled, skipped FROM known_entries").fetchall()
    return {(s, c, bool(a), bool(b)) for s, c, a, b in rows}


def table(rule: str, period: str) -> set[tuple[str, str, bool, bool]]:
    return {
        (e.plan.stratum, e.client_id, e.sampled, e.skipped_at_cap)
        for e in PlanEntry.objects.select_related("plan").filter(
            plan__rule_code=rule, plan__period=period
        )
    }


def sample() -> list[tuple[str, str]]:
    return sorted(Purpose.objects.filter(rule_code="NEW-2").values_list("task__client_id", "key"))


def test_the_kept_members_equal_the_table_after_every_night_and_later_nights_use_them(
    policy: PolicyVersion, tmp_path: Path, loads: list[tuple[str, bool]]
) -> None:
    for i, day in enumerate(DAYS):
        code, _out, err = runkit.run(tmp_path, day, feed(i))
        assert code == 0, err
        assert kept("NEW-2", "2026-10") == table("NEW-2", "2026-10")
        assert len(table("NEW-2", "2026-10")) == 10 * (i + 1)

    assert [used for rule, used in loads if rule == "NEW-2"] == [True, True, True]
    plan = Plan.objects.get(rule_code="NEW-2", period="2026-10", stratum="A01")
    assert (plan.population, plan.required, plan.sampled) == (40, 12, 12)


def test_without_the_files_the_run_reads_the_table_and_draws_the_same(
    policy: PolicyVersion, tmp_path: Path, loads: list[tuple[str, bool]]
) -> None:
    """The same four nights, the files removed before each: the same sample and members."""
    for i, day in enumerate(DAYS):
        shutil.rmtree(state_dir(), ignore_errors=True)
        code, _out, err = runkit.run(tmp_path, day, feed(i))
        assert code == 0, err
    assert [used for rule, used in loads if rule == "NEW-2"] == [False, False, False]
    without = (sample(), table("NEW-2", "2026-10"))

    runkit.wipe()
    shutil.rmtree(state_dir())
    loads.clear()
    for i, day in enumerate(DAYS):
        code, _out, err = runkit.run(tmp_path, day, feed(i))
        assert code == 0, err
    assert [used for rule, used in loads if rule == "NEW-2"] == [True, True, True]
    assert (sample(), table("NEW-2", "2026-10")) == without


@pytest.mark.parametrize("tamper", ["plan_count", "plan_date", "lost_file", "extra_member"])
def test_files_that_disagree_with_the_table_are_not_used(
    policy: PolicyVersion, tmp_path: Path, loads: list[tuple[str, bool]], tamper: str
) -> None:
    for i in range(2):
        code, _out, err = runkit.run(tmp_path, DAYS[i], feed(i))
        assert code == 0, err
    folder = next(state_dir().iterdir())
    if tamper == "plan_count":  # the table changed behind the files' back
        Plan.objects.filter(rule_code="NEW-2").update(sampled=5)
    elif tamper == "plan_date":  # the same counts, written by another run than the files'
        Plan.objects.filter(rule_code="NEW-2").update(as_of=DAYS[0])
    elif tamper == "lost_file":
        next(folder.glob("*.delta.parquet")).unlink()
    else:  # a member the table does not have, under the stored guard
        con = duckdb.connect()
        con.execute(
            "COPY (SELECT 'A01' AS stratum, 'X9999' AS client_id, TRUE AS sampled, FALSE AS skipped) "
            f"TO '{folder / 'extra.parquet'}' (FORMAT parquet)"
        )
        meta_path = next(folder.glob("*.json"))
        meta = json.loads(meta_path.read_text())
        meta["deltas"].append("extra.parquet")
        meta_path.write_text(json.dumps(meta))
    before = loads.copy()

    code, _out, err = runkit.run(tmp_path, DAYS[2], feed(2))

    assert code == 0, err
    assert [used for rule, used in loads[len(before) :] if rule == "NEW-2"] == [False]
    assert kept("NEW-2", "2026-10") == table("NEW-2", "2026-10")  # read again, kept again


@pytest.mark.django_db(transaction=True)
def test_a_run_killed_after_writing_its_files_leaves_files_the_retry_does_not_use(
    tmp_path: Path, loads: list[tuple[str, bool]]
) -> None:
    policy_default_ensure()
    for i in range(2):
        code, _out, err = runkit.run(tmp_path, DAYS[i], feed(i))
        assert code == 0, err
    directory = feedkit.write_feed(tmp_path / "feed-killed", feed(2))
    code, _out, err = feedkit.run_command(str(directory), "--date", DAYS[2].isoformat(), "--quiet")
    assert code == 0, err  # the feed is imported; the run is killed before it commits
    killed = feedkit.run_subprocess("run", "--date", DAYS[2].isoformat(),
                                    HUIFANG_CRASHPOINT="run_before_commit")  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(table("NEW-2", "2026-10")) == 20  # nothing of night three is in the table

    code, _out, err = runkit.run(tmp_path, DAYS[2])  # the scheduler's retry

    assert code == 0, err
    assert [used for rule, used in loads if rule == "NEW-2"] == [True, False]
    assert kept("NEW-2", "2026-10") == table("NEW-2", "2026-10")
    assert len(table("NEW-2", "2026-10")) == 30


def test_a_sampled_rule_run_in_two_parts_keeps_no_files(
    policy: PolicyVersion, tmp_path: Path, loads: list[tuple[str, bool]]
) -> None:
    """TX-1 (trades, lost clients) is two parts writing one plan: neither part's files are
    kept, and nothing piles up night after night; the members come from the table."""
    runkit.policy_variant(
        {"TX-1": {"coverage": {"share": "0.5", "period": "month"}}}, enable=("TX-1",)
    )
    old = "2020-03-02"  # opened long ago
    clients = [runkit.client(f"T{i}", "A01", old, last_trade_date="2026-09-01") for i in range(4)]
    clients += [runkit.client(f"L{i}", "A01", old, last_trade_date="2026-04-11") for i in range(4)]
    trades = [{"client_id": f"T{i}", "trade_amount": "1000", "trade_count": "1"} for i in range(4)]
    first: dict[str, list[runkit.Row]] = {"branches": runkit.branches("A01"), "clients": clients,
                                          "trades": trades, "staff": feed(0)["staff"]}  # fmt: skip
    for day, rows in ((DAYS[0], first), (DAYS[1], {"trades": trades})):
        code, _out, err = runkit.run(tmp_path, day, rows)
        assert code == 0, err
        assert not (state_dir() / plancache._name("TX-1")).exists()
    plan = Plan.objects.get(rule_code="TX-1", period="2026-10", stratum="A01")
    assert plan.population == len(table("TX-1", "2026-10")) > 0
    assert [used for rule, used in loads if rule == "TX-1"] == [False, False]  # night 2, both parts
