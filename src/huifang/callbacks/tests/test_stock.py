"""STOCK-1: existing clients listed for data verification (SPEC §4 row STOCK-1, 004 §12(2)).

Calendar facts (2026, NFR-1): from Monday 2026-09-28, ten working days skip the
National Day holiday (10-01 … 10-07) and count the adjusted working Saturday
10-10: 09-29, 09-30, 10-08, 10-09, 10-10, 10-12, 10-13, 10-14, 10-15, 10-16.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from huifang.callbacks.models import Plan, Purpose, Task, VerificationListEntry
from huifang.callbacks.tests import runkit
from huifang.policy.models import PolicyVersion

pytestmark = pytest.mark.django_db


def office() -> dict[str, list[runkit.Row]]:
    return {
        "branches": runkit.branches("A01"),
        "staff": [runkit.staff("S02", "A01", "agent"), runkit.staff("C01", "HQCC", "agent")],
        "clients": [
            runkit.client("K0002", "A01", "2020-01-06", last_trade_date="2026-09-25"),
            runkit.client("K0004", "A01", "2021-05-10", last_trade_date="2026-09-25"),
        ],
    }


def listed(client_id: str, on: str, reason: str) -> VerificationListEntry:
    return VerificationListEntry.objects.create(
        client_id=client_id, branch_id="A01", listed_on=dt.date.fromisoformat(on), reason=reason,
        listed_by="a01_ops", source="营业部核查",
    )  # fmt: skip


def test_a_listed_client_gets_stock1_due_ten_working_days_after_listing(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    entry = listed("K0002", "2026-09-28", "身份证件已过期，需更新")
    later = listed("K0004", "2026-09-30", "联系电话缺失")
    code, out, err = runkit.run(tmp_path, "2026-09-28", office())
    assert code == 0, err
    assert runkit.of_rule("STOCK-1") == {("K0002", "branch", "2026-10-16")}
    purpose = Purpose.objects.get(rule_code="STOCK-1")
    assert purpose.key == f"STOCK-1:{entry.pk}"
    assert purpose.facts_dict == {
        "entry_id": entry.pk, "reason": "身份证件已过期，需更新", "listed_on": "2026-09-28",
        "listed_by": "a01_ops",
    }  # fmt: skip
    task = purpose.task
    assert (task.level, task.kind, task.branch_id, task.assignee_id) == (
        "branch", "compliance", "A01", "S02",
    )  # fmt: skip
    assert "STOCK-1" in out

    code, _out, err = runkit.run(tmp_path, "2026-09-30")  # the entry listed on 09-30 joins
    assert code == 0, err
    assert runkit.of_rule("STOCK-1") == {
        ("K0002", "branch", "2026-10-16"),
        ("K0004", "branch", "2026-10-20"),
    }
    assert Purpose.objects.get(key=f"STOCK-1:{later.pk}").facts_dict["reason"] == "联系电话缺失"


def test_a_rerun_or_a_later_date_adds_nothing_for_an_entry_already_served(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    listed("K0002", "2026-09-28", "身份证件已过期，需更新")
    code, _out, err = runkit.run(tmp_path, "2026-09-28", office())
    assert code == 0, err
    served = Purpose.objects.get(rule_code="STOCK-1")
    for day in ("2026-09-28", "2026-09-29", "2026-10-08"):
        code, _out, err = runkit.run(tmp_path, day)
        assert code == 0, err
    assert list(Purpose.objects.filter(rule_code="STOCK-1")) == [served]
    assert Task.objects.filter(client_id="K0002", kind="compliance").count() == 1
    assert sum(p.population for p in Plan.objects.filter(rule_code="STOCK-1")) == 1


def test_an_entry_listed_in_the_past_is_due_from_its_listing_and_marked_overdue(
    policy: PolicyVersion, tmp_path: Path
) -> None:
    listed("K0004", "2026-09-01", "职业信息待补齐")
    code, _out, err = runkit.run(tmp_path, "2026-09-28", office())
    assert code == 0, err
    # 10 working days after 2026-09-01 (Tuesday): 09-15
    assert runkit.of_rule("STOCK-1") == {("K0004", "branch", "2026-09-15")}
    task = Task.objects.get(purposes__rule_code="STOCK-1")
    assert task.overdue_since == dt.date(2026, 9, 28)
