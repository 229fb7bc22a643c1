"""Pure functions of orders: numbers, the ordering department's questions, the MRG-8 draw.

No ORM here: plain values in, plain values out (STYLE "rules.py").

- ``order_number``: ``ZX2026-0001`` (专项, year, sequence of the year).
- ``parse_questions``: the department's own items (SPC-1, 004 §10 "由需求部门制定"), one per
  line as ``类型：问题`` (types 文字 text, 是否 yes/no, 评分 score 1–5, 选择 choice with
  ``|选项一/选项二``, 核对 check); a line without a type is a text item.
- ``spc_definition``: F3's definition plus a section with those items (EXE-4: a new
  questionnaire, never an edit of F3).
- ``draw``: MRG-8's reproducible sample of a service staff member's margin clients
  (the lowest SHA-256 of seed, staff and client, like CON-7's draws).
- ``score_items``: the score items of a questionnaire's section 三 (F-MRG: the client
  scores the service staff, 002 §16–17).
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

NUMBER_PREFIX = "ZX"
MAX_QUESTIONS = 30
MAX_QUESTION_LENGTH = 200
MAX_OPTIONS = 10
SCORE_SCALE = [1, 2, 3, 4, 5]
ITEM_PREFIX = "order_q"
SECTION_THREE = "三"

# 类型 word (Chinese or English) → questionnaire item type (workbench.questionnaires.ITEM_TYPES)
TYPE_WORDS = {
    "文字": "text",
    "text": "text",
    "是否": "yesno",
    "yesno": "yesno",
    "评分": "score",
    "score": "score",
    "选择": "choice",
    "choice": "choice",
    "核对": "check",
    "check": "check",
}
TYPE_LABELS = {"text": "文字", "yesno": "是否", "score": "评分", "choice": "选择", "check": "核对"}
_HEAD = re.compile(r"^\s*([^:：|｜]{1,8})\s*[:：]\s*(.*)$")
_OPTION_SPLIT = re.compile(r"[/／、]")


def order_number(year: int, sequence: int) -> str:
    """``ZX2026-0001``: the ``sequence``-th order of ``year``."""
    return f"{NUMBER_PREFIX}{year}-{sequence:04d}"


def number_sequence(number: str) -> int:
    """The sequence part of an order number (0 when it is not one)."""
    tail = number.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def parse_questions(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Items from the department's lines and the problems (``第 N 行: …``); see the module."""
    items: list[dict[str, Any]] = []
    problems: list[str] = []
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    for n, line in lines:
        if not line:
            continue
        item, problem = _question(line, len(items) + 1)
        if problem:
            problems.append(_("第 %(line)d 行: %(reason)s") % {"line": n, "reason": problem})
        elif item is not None:
            items.append(item)
    if len(items) > MAX_QUESTIONS:
        problems.append(_("专项问题最多 %(n)d 项") % {"n": MAX_QUESTIONS})
    return items, problems


def _question(line: str, number: int) -> tuple[dict[str, Any] | None, str]:
    kind, text = "text", line
    head = _HEAD.match(line)
    if head and head.group(1).strip().lower() in TYPE_WORDS:
        kind, text = TYPE_WORDS[head.group(1).strip().lower()], head.group(2).strip()
    options: list[Any] = []
    if kind == "choice":
        text, _sep, tail = text.replace("｜", "|").partition("|")
        options = [o.strip() for o in _OPTION_SPLIT.split(tail) if o.strip()]
        if len(options) < 2 or len(options) > MAX_OPTIONS:
            return None, _("选择题须在“|”后给出 2 至 %(n)d 个选项,以“/”分隔") % {"n": MAX_OPTIONS}
    elif kind == "score":
        options = list(SCORE_SCALE)
    text = text.strip()
    if not text:
        return None, _("问题内容为空")
    if len(text) > MAX_QUESTION_LENGTH:
        return None, _("问题超过 %(n)d 个字") % {"n": MAX_QUESTION_LENGTH}
    item = {"id": f"{ITEM_PREFIX}{number}", "text": text, "type": kind, "required": True,
            "options": options, "script": text}  # fmt: skip
    return item, ""


def item_problems(items: Any) -> list[str]:
    """What is wrong with a list of own items given directly (not parsed from lines)."""
    from huifang.workbench.questionnaires import ITEM_TYPES

    if not isinstance(items, list) or len(items) > MAX_QUESTIONS:
        return [_("专项问题最多 %(n)d 项") % {"n": MAX_QUESTIONS}]
    problems, ids = [], set()
    for n, item in enumerate(items, start=1):
        text = item.get("text") if isinstance(item, dict) else None
        kind = item.get("type") if isinstance(item, dict) else None
        good = (
            isinstance(text, str) and 0 < len(text.strip()) <= MAX_QUESTION_LENGTH
            and kind in ITEM_TYPES and str(item.get("id", "")).startswith(ITEM_PREFIX)
            and item["id"] not in ids
            and (kind not in {"choice", "score"} or bool(item.get("options")))
        )  # fmt: skip
        if not good:
            problems.append(_("第 %(n)d 项专项问题无效") % {"n": n})
        else:
            ids.add(item["id"])
    return problems


def questions_text(items: Iterable[dict[str, Any]]) -> str:
    """The lines that ``parse_questions`` reads back into ``items`` (for editing a draft)."""
    lines = []
    for item in items:
        kind = item.get("type", "text")
        line = f"{TYPE_LABELS.get(kind, '文字')}：{item['text']}"
        if kind == "choice":
            line += "|" + "/".join(str(o) for o in item.get("options", []))
        lines.append(line)
    return "\n".join(lines)


def spc_definition(
    base: dict[str, Any], *, code: str, number: str, title: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    """F3 (``base``) with the order's own items as a section before its closing notes (SPC-1)."""
    definition = copy.deepcopy(base)
    definition["code"] = code
    definition["title"] = f"{base.get('title', '')}:{title}"[:200]
    definition["source"] = f"{base.get('source', '')};{number}"[:200]
    definition["order"] = number
    sections = definition.setdefault("sections", [])
    own = {"title": _("需求部门专项事项(%(number)s)") % {"number": number}, "items": items}
    sections.insert(max(len(sections) - 1, 0), own)
    return definition


def draw(seed: str, staff_id: str, client_ids: Iterable[str], n: int) -> list[str]:
    """The ``n`` clients with the lowest SHA-256 of ``seed:staff:client`` (reproducible, MRG-8)."""

    def key(client_id: str) -> str:
        return hashlib.sha256(f"{seed}:{staff_id}:{client_id}".encode()).hexdigest()

    return sorted(set(client_ids), key=lambda c: (key(c), c))[: max(n, 0)]


def score_items(definition: dict[str, Any]) -> list[str]:
    """Ids of the score items of the section whose title starts with 三 (F-MRG 三、服务评价)."""
    for section in definition.get("sections", []):
        if str(section.get("title", "")).startswith(SECTION_THREE):
            return [i["id"] for i in section.get("items", []) if i.get("type") == "score"]
    return []
