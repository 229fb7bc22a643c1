"""Every change to the policy: draft, edit, approve, discard, load (CLS-5, SPEC preamble).

Compliance owns the policy (SPEC §0): only a ``compliance`` user drafts, edits and
approves, and never approves his own draft. Approved versions are frozen (here, in
the models and by triggers). Each change writes one audit row (NFR-2), and clears the
request's memo of policy reads (``core.memo``), so what follows in the request reads
the policy as changed.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from huifang.accounts.choices import Role
from huifang.accounts.permissions import user_has_role
from huifang.audit.services import audit_record
from huifang.core import clock, memo
from huifang.policy import kinds
from huifang.policy.choices import VersionStatus
from huifang.policy.defaults import POLICY_CODE
from huifang.policy.install import frozen_default_document, install_document
from huifang.policy.models import Policy, PolicyVersion, Rule
from huifang.policy.rules import standards_differ, version_problems
from huifang.policy.selectors import (
    approved_versions,
    rule_data,
    rule_documents,
    version_in_force_or_none,
)

OBJECT = "policy.PolicyVersion"
# A rule's code is its SPEC ID, optionally with a variant; it names class standards in data.
RULE_CODE = re.compile(r"[A-Z][A-Z0-9]*-[0-9]+(\.[a-z][a-z0-9_]*)?")

P = ParamSpec("P")
R = TypeVar("R")


def _writes(service: Callable[P, R]) -> Callable[P, R]:
    """A change to the policy: the request's memoized policy reads are forgotten before and
    after it (also when it fails: its transaction may have rolled back what was read)."""

    @functools.wraps(service)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        memo.clear()
        try:
            return service(*args, **kwargs)
        finally:
            memo.clear()

    return wrapper


def _require_compliance(user: Any) -> None:
    if not user_has_role(user, Role.COMPLIANCE):
        raise PermissionDenied("only compliance may change the policy (合规人员方可修订制度)")


def _require_draft(version: PolicyVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise ValidationError("已批准的制度版本不能修改，请起草新版本。", code="frozen")


def _audit(action: str, version: PolicyVersion, **fields: Any) -> None:
    audit_record(action=action, object_type=OBJECT, object_id=str(version.pk), **fields)


def rules_sha256(version: PolicyVersion) -> str:
    """SHA-256 of the version's rules as canonical JSON: what the approval vouches for."""
    text = json.dumps(rule_documents(version), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@_writes
def policy_version_draft(
    *, base: PolicyVersion, author: Any, effective_from: dt.date, reason: str
) -> PolicyVersion:
    """A new draft holding a copy of ``base``'s rules."""
    _require_compliance(author)
    with transaction.atomic():
        version = PolicyVersion.objects.create(
            policy=base.policy,
            number=_next_number(base.policy),
            effective_from=effective_from,
            reason=reason.strip(),
            based_on=base,
            author=author.get_username(),
            author_user=author,
            created_at=clock.now(),
        )
        Rule.objects.bulk_create(
            Rule(version=version, position=position, **doc)
            for position, doc in enumerate(rule_documents(base), start=1)
        )
        _audit(
            "policy.version_draft",
            version,
            after={
                "number": version.number,
                "based_on": base.number,
                "effective_from": effective_from,
                "reason": version.reason,
            },
        )
    return version


def _next_number(policy: Policy) -> int:
    last = PolicyVersion.objects.filter(policy=policy).order_by("-number").first()
    return (last.number + 1) if last else 1


@_writes
def policy_version_update(
    *, version: PolicyVersion, actor: Any, effective_from: dt.date, reason: str
) -> PolicyVersion:
    """Change a draft's effective date and reason."""
    _require_compliance(actor)
    _require_draft(version)
    before = {"effective_from": version.effective_from, "reason": version.reason}
    with transaction.atomic():
        version.effective_from, version.reason = effective_from, reason.strip()
        version.save(update_fields=["effective_from", "reason"])
        _audit("policy.version_update", version, before=before,
               after={"effective_from": effective_from, "reason": version.reason})  # fmt: skip
    return version


@_writes
def policy_rule_update(*, rule: Rule, actor: Any, params: Any, enabled: bool) -> Rule:
    """Change a draft rule's parameters (validated by its kind) and whether it is enabled."""
    _require_compliance(actor)
    _require_draft(rule.version)
    try:
        normalised = kinds.normalise(rule.kind, params)
    except kinds.ParamsInvalid as invalid:
        raise ValidationError(invalid.problems, code="params") from None
    before = {"enabled": rule.enabled, "params": rule.params}
    with transaction.atomic():
        rule.params, rule.enabled = normalised, enabled
        rule.save(update_fields=["params", "enabled"])
        audit_record(
            action="policy.rule_update",
            object_type="policy.Rule",
            object_id=str(rule.pk),
            before={"version": rule.version.number, "code": rule.code, **before},
            after={
                "version": rule.version.number,
                "code": rule.code,
                "enabled": enabled,
                "params": normalised,
            },
        )
    return rule


@_writes
def policy_version_approve(
    *, version: PolicyVersion, approver: Any, note: str = "", override_reason: str = ""
) -> PolicyVersion:
    """Approve a draft: a compliance user who is not its author; it takes effect on its date.

    Refused when a rule is invalid, when the date is past, or (CLS-5) when it would
    change the class standard more often a year than the policy in force allows,
    unless ``override_reason`` says why.
    """
    _require_compliance(approver)
    with transaction.atomic():
        version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
        _require_draft(version)
        if version.author_user_id == approver.pk or version.author == approver.get_username():
            raise ValidationError(
                "起草人不能批准自己起草的版本（须由另一名合规人员批准）。", code="own_draft"
            )
        if version.effective_from < clock.today():
            raise ValidationError(
                "生效日期不能早于今天：已产生的结果须能追溯到当时的制度版本。", code="past"
            )
        problems = version_problems(rule_data(version))
        if problems:
            raise ValidationError(problems, code="invalid")
        changes = _changes_standard(version)
        if changes and _standard_limit_reached(version) and not override_reason.strip():
            raise ValidationError(
                "本年度分类标准调整次数已达上限（CLS-5），如确需调整，请填写超限理由。",
                code="standard_limit",
            )
        version.status = VersionStatus.APPROVED
        version.approved_by, version.approved_at = approver, clock.now()
        version.approval_note = note.strip()
        version.changes_standard = changes
        version.standard_override_reason = override_reason.strip() if changes else ""
        version.save()
        _audit(
            "policy.version_approve",
            version,
            after={
                "number": version.number,
                "effective_from": version.effective_from,
                "author": version.author,
                "changes_standard": changes,
                "standard_override_reason": version.standard_override_reason,
                "rules_sha256": rules_sha256(version),
            },
        )
    return version


def _predecessor(version: PolicyVersion) -> PolicyVersion | None:
    """The version that will be in force the day before the draft takes effect."""
    return (
        approved_versions(version.policy_id)
        .filter(effective_from__lte=version.effective_from)
        .exclude(pk=version.pk)
        .order_by("-effective_from", "-number")
        .first()
    )


def _changes_standard(version: PolicyVersion) -> bool:
    before = _predecessor(version)
    return before is not None and standards_differ(rule_data(before), rule_data(version))


def _standard_limit_reached(version: PolicyVersion) -> bool:
    """CLS-5: the year of the draft's date already holds as many standard changes as allowed."""
    from huifang.policy.selectors import rule_params

    before = _predecessor(version)
    limit_rule = rule_params(before, "CLS-5") if before is not None else None
    limit = (
        limit_rule.max_changes_per_year if isinstance(limit_rule, kinds.StandardChangeLimit) else 1
    )
    done = approved_versions(version.policy_id).filter(
        changes_standard=True, effective_from__year=version.effective_from.year
    )
    return done.exclude(pk=version.pk).count() >= limit


@_writes
def policy_version_discard(*, version: PolicyVersion, actor: Any) -> None:
    """Delete a draft and its rules (an approved version is never deleted)."""
    _require_compliance(actor)
    _require_draft(version)
    with transaction.atomic():
        _audit("policy.version_discard", version,
               before={"number": version.number, "rules_sha256": rules_sha256(version)})  # fmt: skip
        version.rules.all().delete()
        version.delete()


@_writes
def policy_version_load(*, document: dict[str, Any], author: Any) -> PolicyVersion:
    """A draft from a policy document (``huifang policy load``): a whole new rule set as data.

    Every rule is validated by its kind; nothing is written when one is refused.
    """
    _require_compliance(author)
    problems: list[str] = []
    rules = []
    for position, raw in enumerate(document.get("rules", []), start=1):
        try:
            params = kinds.normalise(raw["kind"], raw["params"])
        except kinds.ParamsInvalid as invalid:
            problems += [f"{raw.get('code', position)}: {p}" for p in invalid.problems]
            continue
        except (KeyError, TypeError):
            problems.append(f"rule {position}: needs code, kind and params")
            continue
        if not RULE_CODE.fullmatch(str(raw["code"])):
            problems.append(
                f"rule {position}: code {raw['code']!r} is not like CLS-1 or CLS-8.important"
            )
            continue
        rules.append(_rule_fields(raw, params, position))
    if problems:
        raise ValidationError(problems, code="params")
    meta = document.get("version", {})
    policy = Policy.objects.get(code=document.get("policy", {}).get("code", POLICY_CODE))
    with transaction.atomic():
        base = version_in_force_or_none()
        version = PolicyVersion.objects.create(
            policy=policy,
            number=_next_number(policy),
            effective_from=dt.date.fromisoformat(meta["effective_from"]),
            reason=str(meta.get("reason", "")).strip() or "载入制度文件",
            based_on=base,
            author=author.get_username(),
            author_user=author,
            created_at=clock.now(),
        )
        Rule.objects.bulk_create(Rule(version=version, **fields) for fields in rules)
        _audit("policy.version_load", version,
               after={"number": version.number, "effective_from": version.effective_from,
                      "rules": len(rules), "rules_sha256": rules_sha256(version)})  # fmt: skip
    return version


def _rule_fields(raw: dict[str, Any], params: dict[str, Any], position: int) -> dict[str, Any]:
    code = str(raw["code"])
    return {
        "position": position,
        "code": code,
        "spec_id": str(raw.get("spec_id") or code.split(".")[0]),
        "kind": raw["kind"],
        "title": str(raw.get("title", code)),
        "citation": str(raw.get("citation", "")),
        "note": str(raw.get("note", "")),
        "enabled": bool(raw.get("enabled", True)),
        "params": params,
    }


@_writes
def policy_default_ensure() -> PolicyVersion:
    """The default policy as migration 0003 installs it, installed again if it is missing.

    A database flushed by a transactional test has lost the migration's rows; tests
    and ``huifang classify`` on such a database call this.
    """
    found = approved_versions().order_by("number").first()
    if found is not None:
        return found
    with transaction.atomic():
        version = install_document(
            Policy, PolicyVersion, Rule, frozen_default_document(), now=clock.now(), note="默认制度"
        )
        _audit("policy.default_install", version, after={"number": version.number})
    return version  # type: ignore[no-any-return]
