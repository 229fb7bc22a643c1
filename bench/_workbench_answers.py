"""A valid answer set for a task's sections (EXE-4), shared by the workbench benchmarks."""

from __future__ import annotations

from typing import Any


def answer_for(item: dict[str, Any]) -> Any:
    """A valid answer of one questionnaire item (EXE-4: "matches" for a check)."""
    kind = item.get("type")
    options = item.get("options") or []
    if kind == "check":
        return "matches"
    if kind == "yesno":
        return "yes"
    if kind == "score":
        return max(int(o) for o in options) if options else 5
    if kind == "choice":
        return options[0] if options else ""
    return "无"


def answers_payload(sections: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"sections": {section_id: {item_id: {value, note}}}, "findings": [], "notes": …}``."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for section in sections:
        if section.get("section_id") is None:
            continue
        out[str(section["section_id"])] = {
            item["id"]: {"value": answer_for(item), "note": ""}
            for item in section.get("items", [])
            if item.get("required") or item.get("type") in ("check", "score")
        }
    return {"sections": out, "findings": [], "notes": "客户确认开户资料无误，已提示市场风险。"}
