"""The pure parts of orders: the department's questions, the SPC questionnaire, the MRG-8 draw."""

from __future__ import annotations

import json
from pathlib import Path

from huifang.orders import rules
from huifang.workbench import questionnaires

F3 = json.loads((Path(questionnaires.__file__).parent / "questionnaires" / "F3.json").read_text())
F_MRG = json.loads(
    (Path(questionnaires.__file__).parent / "questionnaires" / "F-MRG.json").read_text()
)


def test_each_line_is_one_item_of_the_type_its_prefix_names() -> None:
    items, problems = rules.parse_questions(
        "近期是否收到通知\n是否：是否本人办理\n\n评分:满意程度\n选择：获知渠道|短信/电话\n核对：地址"
    )
    assert problems == []
    assert [(i["id"], i["type"]) for i in items] == [
        ("order_q1", "text"), ("order_q2", "yesno"), ("order_q3", "score"),
        ("order_q4", "choice"), ("order_q5", "check"),
    ]  # fmt: skip
    assert items[3]["options"] == ["短信", "电话"] and items[3]["text"] == "获知渠道"
    assert items[2]["options"] == [1, 2, 3, 4, 5]


def test_bad_lines_are_reported_with_their_line_numbers() -> None:
    items, problems = rules.parse_questions("好问题\n选择：只有一个|甲\n是否：\n" + "长" * 201)
    assert [i["text"] for i in items] == ["好问题"]
    assert [p.split(":")[0] for p in problems] == ["第 2 行", "第 3 行", "第 4 行"]


def test_questions_read_back_from_their_text() -> None:
    items, _ = rules.parse_questions("文字题\n是否：甲\n评分：乙\n选择：丙|一/二")
    again, problems = rules.parse_questions(rules.questions_text(items))
    assert problems == [] and again == items


def test_the_spc_definition_is_f3_plus_a_section_of_the_orders_items() -> None:
    items, _ = rules.parse_questions("是否：是否本人办理\n评分：满意程度")
    definition = rules.spc_definition(
        F3, code="SPC7", number="ZX2026-0007", title="佣金", items=items
    )
    f3_ids = [i["id"] for i in questionnaires.iter_items(F3)]
    ids = [i["id"] for i in questionnaires.iter_items(definition)]
    assert set(f3_ids) < set(ids) and len(ids) == len(f3_ids) + 2
    assert definition["code"] == "SPC7" and len(definition["sections"]) == len(F3["sections"]) + 1
    assert definition["sections"][-1] == F3["sections"][-1]  # the closing notes stay last
    answers = {"order_q1": {"value": "yes"}, "order_q2": {"value": 4}}
    assert questionnaires.validate(definition, answers) == []
    assert questionnaires.validate(definition, {"order_q2": {"value": 9}}) != []
    assert F3["code"] == "F3"  # the base is not changed


def test_the_draw_is_reproducible_and_depends_on_the_seed() -> None:
    pool = [f"K{n:03d}" for n in range(40)]
    first = rules.draw("ZX2026-0001", "E1", pool, 5)
    assert first == rules.draw("ZX2026-0001", "E1", list(reversed(pool)), 5)
    assert len(set(first)) == 5 and set(first) <= set(pool)
    assert first != rules.draw("ZX2026-0002", "E1", pool, 5)
    assert sorted(rules.draw("s", "E1", pool[:3], 5)) == pool[:3]  # fewer than asked: all


def test_section_three_of_f_mrg_holds_the_service_staff_score() -> None:
    assert rules.score_items(F_MRG) == ["service_staff_score"]
    assert rules.score_items(F3) == []


def test_items_given_directly_are_checked() -> None:
    items, _ = rules.parse_questions("是否：甲\n选择：乙|一/二")
    assert rules.item_problems(items) == []
    assert rules.item_problems([{"id": "x1", "text": "甲", "type": "text"}]) != []
    assert rules.item_problems([{"id": "order_q1", "text": "甲", "type": "essay"}]) != []
    assert rules.item_problems([items[0], items[0]]) == ["第 2 项专项问题无效"]
    assert rules.item_problems([{"id": "order_q1", "text": "甲", "type": "choice"}]) != []
