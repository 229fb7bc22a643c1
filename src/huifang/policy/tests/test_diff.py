"""The side-by-side comparison of two versions (pure)."""

from __future__ import annotations

from huifang.policy.diff import flatten, version_diff


def rule(code: str, **params: object) -> dict[str, object]:
    return {"code": code, "title": code, "citation": "c", "kind": "k", "enabled": True, "note": "",
            "params": params}  # fmt: skip


def test_parameters_flatten_to_paths() -> None:
    assert flatten({"a": [{"b": 1}, {"c": None}], "d": []}) == {
        "a[0].b": "1",
        "a[1].c": "null",
        "d": "[]",
    }


def test_the_diff_names_each_changed_number_added_and_removed_rules() -> None:
    left = [rule("CON-3", max_per_quarter=2), rule("TX-1"), rule("NEW-2", share=0.3)]
    right = [rule("CON-3", max_per_quarter=3), rule("NEW-2", share=0.3), rule("NEW-9", share=1)]
    diffs = {d.code: d for d in version_diff(left, right)}
    assert [(line.path, line.left, line.right) for line in diffs["CON-3"].changed_lines] == [
        ("params.max_per_quarter", "2", "3")
    ]
    assert (diffs["NEW-2"].status, diffs["NEW-9"].status, diffs["TX-1"].status) == (
        "same",
        "added",
        "removed",
    )
    assert [d.code for d in version_diff(left, right)] == ["CON-3", "NEW-2", "NEW-9", "TX-1"]
