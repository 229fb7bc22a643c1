"""Pure checks on a whole version: what one rule's schema cannot see alone (CLS-1..8).

Rules are given as plain ``RuleData``; nothing here touches the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from huifang.policy import kinds

PRIMARY_STANDARD = "CLS-1"


@dataclass(frozen=True)
class RuleData:
    """A rule as plain values."""

    code: str
    kind: str
    enabled: bool
    params: dict[str, Any]


def standards(rules: Iterable[RuleData]) -> dict[str, kinds.ClassStandard]:
    """The enabled class standards of a version by rule code (CLS-1, CLS-8.*)."""
    found: dict[str, kinds.ClassStandard] = {}
    for rule in rules:
        if rule.enabled and rule.kind == "class_standard":
            parsed = kinds.parse(rule.kind, rule.params)
            assert isinstance(parsed, kinds.ClassStandard)
            found[rule.code] = parsed
    return found


def version_problems(rules: Sequence[RuleData]) -> list[str]:
    """Every reason the version cannot be approved; empty when it can."""
    problems: list[str] = []
    codes = [rule.code for rule in rules]
    problems += [
        f"{code}: rule code repeated" for code in sorted({c for c in codes if codes.count(c) > 1})
    ]
    valid: list[RuleData] = []
    for rule in rules:
        try:
            kinds.parse(rule.kind, rule.params)
        except kinds.ParamsInvalid as invalid:
            problems += [f"{rule.code}: {problem}" for problem in invalid.problems]
        else:
            valid.append(rule)
    found = standards(valid)
    if PRIMARY_STANDARD not in found:
        problems.append(f"{PRIMARY_STANDARD}: the primary class standard must be enabled")
    problems += _window_problems(valid)
    for rule in valid:
        if rule.enabled:
            problems += [f"{rule.code}: {p}" for p in _reference_problems(rule, found)]
    return problems


def _window_problems(rules: Sequence[RuleData]) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for rule in rules:
        if rule.enabled and rule.kind == "rating_window":
            rating = rule.params["rating"]
            if rating in seen:
                problems.append(f"{rule.code}: {rating} rating already set by {seen[rating]}")
            seen[rating] = rule.code
    return problems


def _reference_problems(rule: RuleData, found: dict[str, kinds.ClassStandard]) -> list[str]:
    """Classes named by packages, advisers, visits and class callbacks must exist."""
    params = kinds.parse(rule.kind, rule.params)
    refs: list[tuple[str, list[str]]] = []
    if isinstance(params, kinds.ServicePackages):
        refs = [(PRIMARY_STANDARD, p.classes) for p in params.packages]
    elif isinstance(params, kinds.AdviserCoverage):
        refs = [(params.standard, params.adviser_classes)]
        refs += [(visit.standard, visit.classes) for visit in params.visits]
    elif isinstance(params, kinds.ClassCallback):
        refs = [(params.standard, params.classes)]
    elif isinstance(params, kinds.SmallDormantCallback):
        refs = [(params.standard, params.small_classes)]
    problems = []
    for standard, classes in refs:
        if standard not in found:
            problems.append(f"class standard {standard} is not enabled in this version")
            continue
        unknown = sorted(set(classes) - set(found[standard].codes()))
        if unknown:
            problems.append(f"{standard} has no class {', '.join(unknown)}")
    return problems


def standards_differ(old: Iterable[RuleData], new: Iterable[RuleData]) -> bool:
    """True when the class standards (which, enabled, parameters) differ (CLS-5)."""

    def shape(rules: Iterable[RuleData]) -> dict[str, dict[str, Any]]:
        return {
            rule.code: kinds.normalise(rule.kind, rule.params)
            for rule in rules
            if rule.enabled and rule.kind == "class_standard"
        }

    return shape(old) != shape(new)


def citation_text(spec_id: str, citation: str) -> str:
    """How the UI cites a rule: "规则 NEW-1 · 来源 004 第十二条(一)1"."""
    return f"规则 {spec_id} · 来源 {citation}"
