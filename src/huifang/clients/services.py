"""State changes and audited actions on clients (CLI-4, NFR-2).

``client_pii_reveal`` is the one way to see a client's full personal data: it
checks the role in the client's scope, decrypts, and writes exactly one audit row
naming the reason and the fields shown — never the values.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from huifang.accounts.choices import PII_REVEAL_ROLES, ScopeKind
from huifang.audit.services import audit_record
from huifang.clients.models import PII_FIELDS, Client
from huifang.core import pii

REVEAL_ACTION = "client.pii_reveal"
REASON_MIN_LENGTH = 4
REASON_MAX_LENGTH = 200


def pii_reveal_allowed(*, user: Any, client: Client) -> bool:
    """True when one of the user's grants of a reveal role covers the client's branch (CLI-4).

    A reveal role held over another branch does not count, and neither does the
    superuser flag: personal data is shown on need only (SPEC §0: the admin sees no PII).
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    for grant in user.role_grants.all():
        if grant.role not in PII_REVEAL_ROLES:
            continue
        if grant.scope == ScopeKind.ALL:
            return True
        if grant.scope == ScopeKind.REGION and grant.region_id == _region_of(client):
            return True
        if grant.scope == ScopeKind.BRANCH and grant.unit_id == client.branch_id:
            return True
    return False


def _region_of(client: Client) -> str | None:
    return client.branch.region_id if client.branch_id else None


def clean_reveal_reason(reason: str) -> str:
    """The reason as it is audited: trimmed, at least 4 characters, any number in it masked."""
    text = " ".join((reason or "").split())
    if len(text) < REASON_MIN_LENGTH:
        raise ValidationError(
            _("请填写查看原因（至少 %(n)d 个字）") % {"n": REASON_MIN_LENGTH}, code="reason"
        )
    return pii.scrub(text[:REASON_MAX_LENGTH])


def client_pii_reveal(*, user: Any, client: Client, reason: str) -> dict[str, str | None]:
    """Decrypt the client's personal fields for ``user`` and audit the reveal (CLI-4, NFR-2).

    Returns every field of ``PII_FIELDS`` (``None`` when not held). The audit row
    records the reason and the names of the fields shown; the values are never
    stored, logged or put in a URL. Raises ``PermissionDenied`` without a reveal
    role over the client's branch, ``ValidationError`` without a reason.
    """
    if not pii_reveal_allowed(user=user, client=client):
        raise PermissionDenied
    audited_reason = clean_reveal_reason(reason)
    values = dict(
        zip(PII_FIELDS, pii.unpack(pii.decrypt(client.pii), len(PII_FIELDS)), strict=True)
    )
    shown = [name for name in PII_FIELDS if values[name]]
    with transaction.atomic():
        audit_record(
            action=REVEAL_ACTION,
            object_type="clients.Client",
            object_id=client.client_id,
            branch_code=client.branch_id,
            after={"reason": audited_reason, "fields": shown},
        )
    return values
