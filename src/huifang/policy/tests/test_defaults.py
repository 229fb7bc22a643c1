"""The default policy: every rule ID of SPEC §3 and §4 with its citation, installed by migration."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from huifang.policy import kinds
from huifang.policy.defaults import default_document
from huifang.policy.install import frozen_default_document
from huifang.policy.rules import RuleData, version_problems

SECTION_3 = [f"CLS-{n}" for n in range(1, 9)]
SECTION_4_TABLE = [
    "NEW-1", "NEW-2", "NEW-3", "KEY-1", "CORE-1", "SMALL-1", "STOCK-1",
    "ABN-1", "ABN-2", "ABN-3", "ABN-4", "DEP-1",
    "PROD-1", "PROD-2", "PROD-3", "PROD-4", "PROD-5", "PROD-6", "PROD-7",
    "MRG-1", "MRG-2", "MRG-3", "MRG-4", "MRG-5", "MRG-6", "MRG-7", "MRG-8",
    "CMP-1", "SPC-1", "SPC-2", "IMP-1", "ADV-1", "IB-1", "PLAN-1", "TX-1",
]  # fmt: skip
CONSTRAINTS = [f"CON-{n}" for n in range(1, 9)]


def test_the_migration_installs_exactly_the_default_document() -> None:
    assert frozen_default_document() == default_document(), (
        "defaults.py changed: a changed default is a new policy version (a new data migration), "
        "never an edited 0003"
    )


def test_every_rule_id_of_sections_3_and_4_is_in_the_default_policy() -> None:
    spec_ids = {rule["spec_id"] for rule in default_document()["rules"]}
    assert spec_ids == set(SECTION_3 + SECTION_4_TABLE + CONSTRAINTS)


def test_every_rule_cites_its_seed_and_validates() -> None:
    for rule in default_document()["rules"]:
        assert rule["citation"], rule["code"]
        kinds.parse(rule["kind"], rule["params"])


def test_the_default_policy_can_be_approved() -> None:
    rules = [
        RuleData(r["code"], r["kind"], r["enabled"], r["params"])
        for r in default_document()["rules"]
    ]
    assert version_problems(rules) == []


def test_the_seed_numbers_are_the_defaults() -> None:
    rules = {rule["code"]: rule for rule in default_document()["rules"]}
    assert rules["NEW-1"]["citation"] == "004 第十二条(一)1；004 经纪人 第三条、第五条"
    assert rules["NEW-1"]["params"]["deadline"] == {
        "unit": "working_days",
        "count": 5,
        "start": "opening",
        "period": None,
    }
    assert rules["NEW-2"]["params"]["coverage"]["share"] == 0.3
    assert rules["KEY-1"]["params"]["min_assets"] == 10_000_000
    assert rules["CON-3"]["params"]["max_per_quarter"] == 2
    assert (rules["CON-5"]["params"]["start"], rules["CON-5"]["params"]["end"]) == (
        "09:00",
        "20:00",
    )
    assert rules["CLS-2"]["params"]["first_working_days"] == 10
    assert rules["TX-1"]["enabled"] is False


@pytest.mark.slow
def test_huifang_migrate_installs_the_default_policy(tmp_path: Path) -> None:
    """A fresh database, migrated by the console command: version 1, approved, by "system"."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUIFANG_", "DJANGO_"))}
    env.update(HUIFANG_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="huifang.settings.embedded")
    result = subprocess.run(
        [sys.executable, "-m", "huifang", "migrate", "--noinput"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(tmp_path / "huifang.sqlite3") as db:
        versions = db.execute(
            "SELECT number, status, effective_from, author FROM policy_policyversion"
        ).fetchall()
        rules = dict(db.execute("SELECT code, citation FROM policy_rule").fetchall())
    assert versions == [(1, "approved", "2026-01-01", "system")]
    assert rules["CLS-1"] == "003 第三条"
    assert len(rules) == len(default_document()["rules"])
