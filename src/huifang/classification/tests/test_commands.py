"""``huifang classify``, ``huifang export classes`` and ``huifang policy`` (SPEC §12)."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from huifang.audit.models import AuditEvent
from huifang.classification.models import ClassificationRun, ClientClass
from huifang.classification.tests import archivekit as ak
from huifang.clients.tests.factories import ClientFactory
from huifang.policy.models import PolicyVersion


def run(*args: str) -> tuple[int, str, str]:
    """A management command in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def archive(default_policy: PolicyVersion, branches: SimpleNamespace) -> None:
    holdings = {"K2": 260_000, "K1": 12_000_000, "K3": 500}
    for client_id in holdings:
        ClientFactory(client_id=client_id, branch=branches.a01)
    ak.write(
        "assets", "2025-12-31", [{"client_id": c, "total_assets": a} for c, a in holdings.items()]
    )
    ak.write("clients", "2025-06-30", [ak.client(c) for c in holdings])


def test_classify_without_kind_runs_what_the_calendar_says_is_due(archive: None) -> None:
    code, out, err = run("classify", "--date", "2026-01-05")
    assert (code, err) == (0, "")
    assert out.startswith(
        "annual 2026: rated 3, changed 4 (statistical date 2025-12-31, policy version 1"
    )
    assert ClassificationRun.objects.get().actor == "system:classify"
    assert AuditEvent.objects.get(action="classification.annual").actor == "system:classify"
    code, out, _ = run("classify", "--date", "2026-01-06")  # already rated for 2026
    assert (code, out.strip()) == (0, "2026-01-06: no rating due")
    code, out, _ = run("classify", "--date", "2026-02-10")
    assert (code, out.strip()) == (0, "2026-02-10: no rating due")


def test_a_kind_outside_its_window_still_runs_and_warns(archive: None) -> None:
    code, out, err = run("classify", "--date", "2026-03-16", "--kind", "quarterly")
    assert code == 0 and out.startswith("quarterly 2026-Q1: rated 3")
    assert err.startswith(
        "warning: 2026-03-16 is outside the 季度评级 window (2026-01-04 … 2026-01-06)"
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--date", "2026-13-01"), 2, "not a date"),
        (("--date", "2031-01-02"), 1, "calendar year 2031 is not known"),
        (
            ("--date", "2025-06-02", "--kind", "new-accounts"),
            1,
            "no approved policy version is in force on 2025-06-02",
        ),
    ],
)
def test_classify_fails_with_its_exit_code(
    archive: None, args: tuple[str, ...], code: int, message: str
) -> None:
    got, out, err = run("classify", *args)
    assert (got, out) == (code, "")
    assert message in err


@pytest.mark.parametrize(
    "args", [("--date", "2026-01-05", "--kind", "monthly"), ("--kind", "annual")]
)
def test_classify_usage_errors_exit_2_on_the_command_line(args: tuple[str, ...]) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "huifang.settings.test"}
    result = subprocess.run([sys.executable, "-m", "huifang", "classify", *args], env=env,
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")


def test_export_classes_prints_the_primary_class_of_each_client(archive: None) -> None:
    run("classify", "--date", "2026-01-05")
    ClientClass.objects.filter(client_id="K3").update(class_code="")  # no class: not exported
    out = io.StringIO()
    call_command("export", "classes", "--format", "csv", stdout=out)
    assert out.getvalue() == (
        "client_id,class,since,policy_version,reason\n"
        "K1,vip,2026-01-05,1,annual\n"
        "K2,core,2026-01-05,1,annual\n"
    )


def test_export_classes_of_an_empty_database_is_the_header(default_policy: PolicyVersion) -> None:
    out = io.StringIO()
    call_command("export", "classes", stdout=out)
    assert out.getvalue() == "client_id,class,since,policy_version,reason\n"


def test_a_policy_round_trips_through_its_document(
    default_policy: PolicyVersion, branches: SimpleNamespace, tmp_path: Path
) -> None:
    code, out, _ = run("policy", "export")
    document = json.loads(out)
    assert code == 0 and document["version"]["number"] == 1 and len(document["rules"]) == 53
    document["version"]["effective_from"] = "2027-01-01"
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    code, out, err = run("policy", "load", str(path), "--author", "compliance_1")
    assert (code, out.strip(), err) == (0, "draft version 2 loaded (53 rules)", "")
    assert PolicyVersion.objects.get(number=2).effective_from == dt.date(2027, 1, 1)
    code, _, err = run("policy", "load", str(path), "--author", "manager_a")
    assert code == 1 and "not a compliance user" in err
