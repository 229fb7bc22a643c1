"""A draft side by side with the version in force: rule by rule, parameter by parameter.

Pure functions over plain rule dictionaries (``code, title, citation, enabled, params``).
Parameters are flattened to paths such as ``classes[0].any_of[0][0].min`` so that a
reviewer sees exactly which number changed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

# The fields of a rule compared besides its parameters.
FIELDS = ("title", "citation", "kind", "enabled", "note")


@dataclass(frozen=True)
class Line:
    """One compared value: ``left`` in force, ``right`` in the draft ("" when absent)."""

    path: str
    left: str
    right: str

    @property
    def changed(self) -> bool:
        return self.left != self.right


@dataclass(frozen=True)
class RuleDiff:
    """How one rule differs: ``status`` is "added", "removed", "changed" or "same"."""

    code: str
    title: str
    status: str
    lines: tuple[Line, ...]

    @property
    def changed_lines(self) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.changed)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Leaf values by path, each as compact JSON."""
    if isinstance(value, dict):
        items: dict[str, str] = {}
        for key, inner in value.items():
            items.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return items or {prefix: "{}"}
    if isinstance(value, list):
        items = {}
        for index, inner in enumerate(value):
            items.update(flatten(inner, f"{prefix}[{index}]"))
        return items or {prefix: "[]"}
    return {prefix: json.dumps(value, ensure_ascii=False)}


def _leaves(rule: dict[str, Any] | None) -> dict[str, str]:
    if rule is None:
        return {}
    leaves = {field: json.dumps(rule.get(field), ensure_ascii=False) for field in FIELDS}
    leaves.update(flatten(rule.get("params", {}), "params"))
    return leaves


def rule_diff(left: dict[str, Any] | None, right: dict[str, Any] | None) -> RuleDiff:
    """The lines of one rule, in the draft's order of paths, then the removed ones."""
    old, new = _leaves(left), _leaves(right)
    paths = list(new) + [path for path in old if path not in new]
    lines = tuple(Line(path, old.get(path, ""), new.get(path, "")) for path in paths)
    if left is None:
        status = "added"
    elif right is None:
        status = "removed"
    else:
        status = "changed" if any(line.changed for line in lines) else "same"
    source = right or left or {}
    return RuleDiff(str(source.get("code", "")), str(source.get("title", "")), status, lines)


def version_diff(left: Sequence[dict[str, Any]], right: Sequence[dict[str, Any]]) -> list[RuleDiff]:
    """Every rule of both versions: the draft's order, then the rules it removed."""
    old = {rule["code"]: rule for rule in left}
    new = {rule["code"]: rule for rule in right}
    diffs = [rule_diff(old.get(code), rule) for code, rule in new.items()]
    diffs += [rule_diff(rule, None) for code, rule in old.items() if code not in new]
    return diffs
