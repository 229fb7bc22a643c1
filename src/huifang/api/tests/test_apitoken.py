"""``huifang apitoken create|revoke|list``: tokens shown once, kept as SHA-256, audited."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.api.models import ApiToken
from huifang.audit.models import AuditEvent
from huifang.org.models import Unit

pytestmark = pytest.mark.django_db


def command(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("apitoken", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def test_create_prints_the_token_once_and_keeps_only_its_sha256(brokerage: Any) -> None:
    user_with_role(Role.BRANCH_OPS, unit=Unit.objects.get(pk="A01"), username="core_system")
    code, out, err = command("create", "--user", "core_system", "--name", "core")
    assert code == 0, err
    raw = out.strip()
    assert raw.startswith("hf_") and len(raw) == 46 and "not shown again" in err
    token = ApiToken.objects.get()
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest() and token.prefix == raw[:11]
    stored = [str(v) for v in ApiToken.objects.values_list(flat=False).get()]
    assert raw not in stored
    audit = AuditEvent.objects.get(action="api.token_create")
    assert raw not in str(audit.after) and audit.actor == "system:apitoken"
    # one active token per name; listed by prefix, never in full
    assert command("create", "--user", "core_system", "--name", "core")[0] == 1
    listing = command("list")[1]
    assert "core_system\tcore\t" + raw[:11] in listing and raw not in listing


def test_create_refuses_a_user_without_a_posting_role_or_unknown(brokerage: Any) -> None:
    user_with_role(Role.AGENT, unit=Unit.objects.get(pk="A01"), username="agent1")
    code, _out, err = command("create", "--user", "agent1", "--name", "core")
    assert code == 1 and "branch_ops" in err
    assert command("create", "--user", "nobody", "--name", "core")[0] == 1
    assert not ApiToken.objects.exists()


def test_revoke_ends_the_token_and_frees_its_name(brokerage: Any) -> None:
    user_with_role(Role.HQ_SERVICE, username="core_system")
    command("create", "--user", "core_system", "--name", "core")
    code, out, _err = command("revoke", "--user", "core_system", "--name", "core")
    assert code == 0 and "revoked" in out
    assert ApiToken.objects.get().revoked_at is not None
    assert command("revoke", "--user", "core_system", "--name", "core")[0] == 1
    assert command("create", "--user", "core_system", "--name", "core")[0] == 0
    assert ApiToken.objects.active().count() == 1
    assert "revoked" in command("list")[1]


def test_usage_errors_are_refused_by_the_parser() -> None:
    """``call_command`` raises what ``huifang apitoken …`` turns into exit code 2."""
    for args in (("create", "--user", "x"), ("rotate",)):
        with pytest.raises(CommandError):
            command(*args)
