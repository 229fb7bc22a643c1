"""Reads of the policy: versions, the version in force on a day, typed rules (CLS-5, §4).

The policy is the firm's regulation, not client data: every signed-in user may read it.

Within a request (``core.memo`` scope) the version in force and a version's enabled
rules are read once however often the services ask (issue 7 load); ``policy.services``
clears the memo on every write. The returned instances are shared: do not mutate them.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast

from huifang.core import clock, memo
from huifang.core.joined import Joined, column, table
from huifang.policy import kinds
from huifang.policy.choices import VersionState, VersionStatus
from huifang.policy.defaults import POLICY_CODE
from huifang.policy.models import Policy, PolicyVersion, Rule
from huifang.policy.rules import RuleData, citation_text


class NoPolicyInForce(LookupError):
    """No approved policy version is effective on the day asked for."""

    def __init__(self, day: dt.date) -> None:
        self.day = day
        super().__init__(f"no approved policy version is in force on {day} (无生效的制度版本)")


def approved_versions(code: str = POLICY_CODE) -> QuerySet[PolicyVersion]:
    return PolicyVersion.objects.filter(policy_id=code, status=VersionStatus.APPROVED)


def version_in_force(*, on: dt.date | None = None, code: str = POLICY_CODE) -> PolicyVersion:
    """The approved version with the latest effective date on or before ``on`` (today)."""
    day = on or clock.today()
    found = memo.get_or_compute(
        ("policy.version_in_force", code, day), lambda: _in_force(code, day)
    )
    if found is None:
        raise NoPolicyInForce(day)
    return found


def _in_force(code: str, day: dt.date) -> PolicyVersion | None:
    """The version in force; in a memo scope with its enabled rules in the same query, kept in
    the memo for ``rule_params`` (the call-center API asks for both on most calls, issue 7)."""
    if not memo.active():
        return (
            approved_versions(code)
            .filter(effective_from__lte=day)
            .order_by("-effective_from", "-number")
            .first()
        )
    with connection.cursor() as cursor:
        cursor.execute(
            _in_force_sql(connection.vendor),
            [True, code, VersionStatus.APPROVED, connection.ops.adapt_datefield_value(day)],
        )
        rows = cursor.fetchall()
    if not rows:
        return None
    version = _VERSION.instances(rows[0])[0]
    assert isinstance(version, PolicyVersion)
    rules = {row[-3]: (row[-2], row[-1]) for row in rows if row[-3] is not None}
    memo.get_or_compute(("policy.enabled_rules", version.pk), lambda: rules)
    return version


_VERSION = Joined(((PolicyVersion, "v"),))


@functools.cache
def _in_force_sql(vendor: str) -> str:
    v, r = PolicyVersion, Rule
    params = f"r.{column(r, 'params')}" + ("::text" if vendor == "postgresql" else "")
    latest = (
        f"SELECT n.{column(v, 'id')} FROM {table(v)} n WHERE n.{column(v, 'policy')} = %s"
        f" AND n.{column(v, 'status')} = %s AND n.{column(v, 'effective_from')} <= %s"
        f" ORDER BY n.{column(v, 'effective_from')} DESC, n.{column(v, 'number')} DESC LIMIT 1"
    )
    return (
        f"SELECT {_VERSION.columns()}, r.{column(r, 'code')}, r.{column(r, 'kind')}, {params} "
        f"FROM {table(v)} v LEFT JOIN {table(r)} r ON r.{column(r, 'version')} = v.{column(v, 'id')}"
        f" AND r.{column(r, 'enabled')} = %s "
        f"WHERE v.{column(v, 'id')} = ({latest})"
    )


def version_in_force_or_none(*, on: dt.date | None = None) -> PolicyVersion | None:
    try:
        return version_in_force(on=on)
    except NoPolicyInForce:
        return None


def version_state(version: PolicyVersion, *, in_force: PolicyVersion | None, today: dt.date) -> str:
    """Draft, scheduled, in force or superseded, on ``today``."""
    if version.status == VersionStatus.DRAFT:
        return VersionState.DRAFT
    if in_force is not None and version.pk == in_force.pk:
        return VersionState.IN_FORCE
    if version.effective_from > today:
        return VersionState.SCHEDULED
    return VersionState.SUPERSEDED


@dataclass(frozen=True)
class VersionRow:
    version: PolicyVersion
    state: str

    @property
    def state_label(self) -> str:
        return str(VersionState(self.state).label)


def version_list(*, code: str = POLICY_CODE) -> list[VersionRow]:
    """Every version of the policy, newest first, with its state today."""
    today = clock.today()
    in_force = version_in_force_or_none(on=today)
    versions = PolicyVersion.objects.filter(policy_id=code).select_related(
        "approved_by", "based_on"
    )
    return [
        VersionRow(v, version_state(v, in_force=in_force, today=today))
        for v in versions.order_by("-number")
    ]


def version_detail(*, pk: int) -> PolicyVersion:
    from django.shortcuts import get_object_or_404

    return get_object_or_404(PolicyVersion.objects.select_related("policy", "based_on"), pk=pk)


def version_rules(version: PolicyVersion) -> QuerySet[Rule]:
    return version.rules.order_by("position")


def rule_data(version: PolicyVersion) -> list[RuleData]:
    return [RuleData(r.code, r.kind, r.enabled, r.params) for r in version_rules(version)]


def rule_documents(version: PolicyVersion) -> list[dict[str, Any]]:
    """The rules as plain dictionaries (diffs, exports)."""
    fields = ("code", "spec_id", "kind", "title", "citation", "note", "enabled", "params")
    return [{f: getattr(rule, f) for f in fields} for rule in version_rules(version)]


def version_document(version: PolicyVersion) -> dict[str, Any]:
    """A version as the document ``huifang policy load`` reads back."""
    policy: Policy = version.policy
    return {
        "policy": {"code": policy.code, "name": policy.name},
        "version": {
            "number": version.number,
            "status": version.status,
            "effective_from": version.effective_from.isoformat(),
            "reason": version.reason,
            "author": version.author,
        },
        "rules": rule_documents(version),
    }


def rule_params(version: PolicyVersion, code: str) -> kinds.Params | None:
    """The typed parameters of an enabled rule of the version, None if absent or disabled.

    In a memo scope, one query reads every enabled rule of the version (the workbench
    asks for five in a request); without one, one query reads the rule asked for.
    """
    if memo.active():
        found = memo.get_or_compute(
            ("policy.enabled_rules", version.pk), lambda: _enabled_rules(version.pk)
        ).get(code)
    else:
        rule = version.rules.filter(code=code, enabled=True).values_list("kind", "params").first()
        found = (rule[0], json.dumps(rule[1], sort_keys=True)) if rule is not None else None
    return _parsed(*found) if found is not None else None


def _enabled_rules(version_pk: int) -> dict[str, tuple[str, str]]:
    """Code → (kind, parameters as JSON text) of the version's enabled rules."""
    rows = (
        Rule.objects.filter(version_id=version_pk, enabled=True)
        .order_by()
        .values_list("code", "kind", Cast("params", output_field=TextField()))
    )
    return {code: (kind, params_json) for code, kind, params_json in rows}


@functools.lru_cache(maxsize=512)
def _parsed(kind: str, params_json: str) -> kinds.Params:
    """Parsing is keyed by the parameters' content (JSON text), so a cached value is never stale.

    Callers must not mutate the returned model (issue 7 load: the workbench read the
    call hours and the constraints on every request, each a pydantic validation).
    """
    return kinds.parse(kind, json.loads(params_json))


def enabled_of_kind(version: PolicyVersion, kind: str) -> list[Rule]:
    return list(version.rules.filter(kind=kind, enabled=True).order_by("position"))


@dataclass(frozen=True)
class RuleView:
    """A rule as a page shows it, with its citation and readable parameters."""

    rule: Rule
    kind_title: str
    citation: str

    @property
    def params_json(self) -> str:
        import json

        return json.dumps(self.rule.params, ensure_ascii=False, indent=1)


def rule_views(version: PolicyVersion) -> list[RuleView]:
    views = []
    for rule in version_rules(version):
        kind = kinds.KINDS.get(rule.kind)
        views.append(
            RuleView(
                rule, kind.title if kind else rule.kind, citation_text(rule.spec_id, rule.citation)
            )
        )
    return views
