from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from huifang.clients.choices import ClientStatus, ClientType, IdType
from huifang.clients.tests.factories import ClientFactory
from huifang.org.tests.factories import UnitFactory

EXPECTED = (
    "client_id,branch_code,client_type,open_date,status,id_number,mobile\n"
    "K001,SH01,individual,2019-05-20,normal,310***********001X,138****5678\n"
    "K002,SH01,institution,2020-01-02,dormant,913***********7808,\n"
    "K010,BJ01,individual,2026-10-14,closed,,\n"
    "K011,BJ01,individual,2021-07-01,normal,*******,139****0000\n"
)


@pytest.fixture
def exported_clients(db: None) -> None:
    sh01, bj01 = UnitFactory(code="SH01"), UnitFactory(code="BJ01")
    # Created out of order: the export sorts by client_id.
    ClientFactory(
        client_id="K011",
        branch=bj01,
        open_date=dt.date(2021, 7, 1),
        id_type=IdType.PASSPORT,
        id_number="E123456",
        mobile="13900000000",
    )
    ClientFactory(
        client_id="K001",
        branch=sh01,
        open_date=dt.date(2019, 5, 20),
        id_number="31010119880715001X",
        mobile="13812345678",
    )
    ClientFactory(
        client_id="K010",
        branch=bj01,
        open_date=dt.date(2026, 10, 14),
        status=ClientStatus.CLOSED,
        id_number=None,
        mobile=None,
    )
    ClientFactory(
        client_id="K002",
        branch=sh01,
        client_type=ClientType.INSTITUTION,
        open_date=dt.date(2020, 1, 2),
        status=ClientStatus.DORMANT,
        id_type=IdType.BUSINESS_LICENSE,
        id_number="913100006073527808",
        mobile=None,
    )


def test_it_exports_clients_exactly(exported_clients: None) -> None:
    out = io.StringIO()
    call_command("export", "clients", "--format", "csv", stdout=out)
    assert out.getvalue() == EXPECTED


def test_it_writes_utf8_bytes_with_lf_whatever_the_stdout_encoding(
    exported_clients: None,
) -> None:
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="ascii", newline="\r\n")
    call_command("export", "clients", format="csv", stdout=stdout)
    raw = stdout.buffer.getvalue()
    assert raw == EXPECTED.encode("utf-8")
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in raw


def test_an_empty_database_exports_the_header_only(db: None) -> None:
    out = io.StringIO()
    call_command("export", "clients", stdout=out)
    assert out.getvalue() == EXPECTED.splitlines(keepends=True)[0]


@pytest.mark.parametrize("kind", ["tasks", "plans"])
def test_tasks_and_plans_export_a_header_on_an_empty_database(db: None, kind: str) -> None:
    out = io.StringIO()
    call_command("export", kind, stdout=out)
    assert out.getvalue().startswith(("task_id,", "plan_id,"))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "huifang.settings.test"}
    return subprocess.run(
        [sys.executable, "-m", "huifang", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("export", "tasks", "--format", "json"), "invalid choice"),
        (("export", "nonsense", "--format", "csv"), "invalid choice"),
        (("export", "clients", "--format", "xlsx"), "invalid choice"),
    ],
)
def test_usage_errors_exit_2_with_nothing_on_stdout(
    args: tuple[str, ...], message: str, tmp_path: object
) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr


def test_the_command_line_prints_only_the_data(
    transactional_db: None, exported_clients: None, settings: SimpleNamespace
) -> None:
    from huifang.core.testing import database_url

    env_url = database_url()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "huifang.settings.embedded",
        "HUIFANG_DATABASE_URL": env_url,
        "PYTHONIOENCODING": "ascii",
    }
    result = subprocess.run(
        [sys.executable, "-m", "huifang", "export", "clients", "--format", "csv"],
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == EXPECTED.encode()
    assert result.stderr == b""
