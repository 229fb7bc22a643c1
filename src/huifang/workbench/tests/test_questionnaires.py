"""EXE-4: questionnaires as data — installed by migration, versioned, picked per purpose, validated."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest

from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Purpose, Task
from huifang.clients.tests.factories import ClientFactory
from huifang.org.tests.factories import UnitFactory
from huifang.policy.models import PolicyVersion
from huifang.policy.services import policy_default_ensure
from huifang.workbench import questionnaires as qn
from huifang.workbench.models import Questionnaire

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 10, 12)
SHIPPED = {
    "F1",
    "F2",
    "F3",
    "F4",
    "F5",
    "F-PROD",
    "F-BRK",
    "F-MRG",
    "F-IB",
    "retention",
    "complaint",
}


@pytest.fixture
def policy() -> PolicyVersion:
    return policy_default_ensure()


def _task(**client_kw: Any) -> Task:
    unit = UnitFactory(code="A01")
    client = ClientFactory(branch=unit, **client_kw)
    return Task.objects.create(
        client=client, branch_id=unit.pk, level="branch", kind="compliance", due_date=DAY,
        created_on=DAY, quarter="2026-Q4",
    )  # fmt: skip


def _purpose(task: Task, rule: str, policy: PolicyVersion) -> Purpose:
    return Purpose.objects.create(
        task=task, key=f"{rule}:{task.pk}", rule_code=rule, rule_id=rule.split(".")[0],
        policy_version=policy, business_date=DAY, due_date=DAY,
    )  # fmt: skip


# --- installation ---------------------------------------------------------------------------


def test_migration_installed_every_shipped_questionnaire_as_version_1() -> None:
    rows = Questionnaire.objects.all()
    assert {r.code for r in rows} == SHIPPED
    for row in rows:
        assert row.version == 1
        assert row.sha256 == qn.definition_sha256(row.definition)
        assert row.title == row.definition["title"]


def test_install_is_idempotent_and_a_changed_definition_is_a_new_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert qn.install_defaults() == []  # migration already did it
    before = Questionnaire.objects.count()
    f2_v1 = qn.current("F2")
    original = qn.load_definitions

    def changed() -> list[dict[str, Any]]:
        defs = copy.deepcopy(original())
        for d in defs:
            if d["code"] == "F2":
                d["sections"][0]["items"][0]["text"] += "(修订)"
        return defs

    monkeypatch.setattr(qn, "load_definitions", changed)
    installed = qn.install_defaults()
    assert [(r.code, r.version) for r in installed] == [("F2", 2)]
    assert Questionnaire.objects.count() == before + 1
    f2_v1.refresh_from_db()
    assert f2_v1.version == 1 and "(修订)" not in json.dumps(f2_v1.definition, ensure_ascii=False)
    assert qn.current("F2").version == 2
    assert AuditEvent.objects.filter(action="questionnaire.install", object_id=str(installed[0].pk))
    assert qn.install_defaults() == []  # the same change again installs nothing


def test_current_unknown_code_raises() -> None:
    with pytest.raises(Questionnaire.DoesNotExist):
        qn.current("F9")


def test_f1_and_f2_cover_the_exe4_common_items() -> None:
    for code in ("F1", "F2"):
        ids = set(qn.items_by_id(qn.current(code)))
        assert {"name", "address", "phones"} <= ids  # key data
        assert {"sat_research", "sat_staff_attitude", "sat_staff_competence"} <= ids
        assert {"sat_system_function", "sat_system_security", "promotion"} <= ids
    f1 = set(qn.items_by_id(qn.current("F1")))
    assert {"powers_restated", "market_risk_reminded"} <= f1
    assert "powers_restated" not in qn.items_by_id(qn.current("F2"))


def test_prod_form_lists_each_improper_sales_behaviour_of_000_daixiao_6() -> None:
    items = qn.items_by_id(qn.current("F-PROD"))
    improper = [i for i in items if i.startswith("improper_")]
    assert len(improper) == 9
    assert {"id_number", "subscription", "risk_disclosed"} <= set(items)


def test_brk_and_ib_have_the_seven_items() -> None:
    brk = [i["text"] for i in qn.iter_items(qn.current("F-BRK"))]
    assert {t[0] for t in brk if t[0].isdigit()} == set("1234567")
    ib = [i["text"] for i in qn.iter_items(qn.current("F-IB"))]
    assert {t[0] for t in ib if t[0].isdigit()} == set("1234567")


# --- which questionnaire ------------------------------------------------------------------


def test_for_purpose_prod_gives_f_prod(policy: PolicyVersion) -> None:
    task = _task()
    assert qn.for_purpose(_purpose(task, "PROD-3", policy)).code == "F-PROD"


def test_for_purpose_prefers_the_specific_form(policy: PolicyVersion) -> None:
    task = _task()
    assert qn.for_purpose(_purpose(task, "NEW-1", policy)).code == "F-BRK"  # ["F1", "F-BRK"]
    assert qn.for_purpose(_purpose(task, "NEW-2", policy)).code == "F1"
    assert qn.for_purpose(_purpose(task, "DEP-1", policy)).code == "retention"
    assert qn.for_purpose(_purpose(task, "CMP-1", policy)).code == "complaint"
    assert qn.for_purpose(_purpose(task, "ABN-1", policy)).code == "F3"
    assert qn.for_purpose(_purpose(task, "MRG-8", policy)).code == "F-MRG"  # scorecard
    assert qn.for_purpose(_purpose(task, "IB-1", policy)).code == "F-IB"


def test_archive_depends_on_the_client_type(policy: PolicyVersion) -> None:
    person = _task(client_type="individual")
    assert qn.for_purpose(_purpose(person, "CORE-1", policy)).code == "F5"
    org = Task.objects.create(
        client=ClientFactory(branch=UnitFactory(code="A01"), client_type="institution"),
        branch_id="A01", level="branch", kind="service", due_date=DAY, created_on=DAY, quarter="2026-Q4",
    )  # fmt: skip
    assert qn.for_purpose(_purpose(org, "CORE-1", policy)).code == "F4"


def test_for_purpose_falls_back_to_f2(policy: PolicyVersion) -> None:
    task = _task()
    assert qn.for_purpose(_purpose(task, "NO-SUCH-RULE", policy)).code == "F2"


def test_general_code(policy: PolicyVersion) -> None:
    task = _task()
    _purpose(task, "KEY-1", policy)
    assert qn.general_code(task) == "F2"
    _purpose(task, "NEW-2", policy)
    assert qn.general_code(task) == "F1"


# --- answers ------------------------------------------------------------------------------------


def test_validate_accepts_good_answers() -> None:
    f1 = qn.current("F1")
    answers = {
        "name": {"value": "matches"},
        "address": {"value": "differs", "note": "已搬家至朝阳区"},
        "has_proxy": {"value": "no"},
        "other_agreements": {"value": False},
        "sat_staff_attitude": {"value": 5},
        "sat_research": {"value": "4"},
        "needs": {"value": "希望增加研究报告推送"},
    }
    assert qn.validate(f1, answers) == []


@pytest.mark.parametrize(
    ("answers", "fragment"),
    [
        ({"nonsense": {"value": "x"}}, "没有项目"),
        ({"name": {"value": "ok"}}, "相符"),
        ({"address": {"value": "differs"}}, "须说明"),
        ({"address": {"value": "differs", "note": "  "}}, "须说明"),
        ({"sat_staff_attitude": {"value": 6}}, "1至5"),
        ({"sat_staff_attitude": {"value": 0}}, "1至5"),
        ({"sat_staff_attitude": {"value": True}}, "1至5"),
        ({"has_proxy": {"value": "maybe"}}, "是"),
        ({"needs": {"value": 12}}, "文字"),
        ({"name": {"value": "matches", "note": 3}}, "说明须为文字"),
    ],
)
def test_validate_errors(answers: dict[str, Any], fragment: str) -> None:
    errors = qn.validate(qn.current("F1"), answers)
    assert len(errors) == 1
    assert fragment in errors[0]


def test_validate_choice_and_multiple_choice() -> None:
    f4 = qn.current("F4")
    assert qn.validate(f4, {"risk_attitude": {"value": "一般"}}) == []
    assert qn.validate(f4, {"risk_attitude": {"value": "随便"}})
    assert qn.validate(f4, {"trading_channels": {"value": ["电话", "上网"]}}) == []
    assert qn.validate(f4, {"trading_channels": {"value": ["电话", "飞鸽"]}})
    assert qn.validate(f4, {"risk_attitude": {"value": ["一般"]}})  # single choice


def test_missing_required() -> None:
    f_ib = qn.current("F-IB")
    required = [i["id"] for i in qn.iter_items(f_ib) if i["required"]]
    assert qn.missing_required(f_ib, {}) == required
    answers = {i: {"value": "yes"} for i in required}
    answers["satisfaction"] = {"value": 4}
    assert qn.missing_required(f_ib, answers) == []
    answers["ethics"] = {"value": ""}
    assert qn.missing_required(f_ib, answers) == ["ethics"]


def test_every_shipped_item_is_well_formed() -> None:
    for definition in qn.load_definitions():
        assert definition["title"] and definition["source"]
        for item in qn.iter_items(definition):
            assert set(item) >= {"id", "text", "type", "required", "options", "script"}
            assert item["type"] in qn.ITEM_TYPES
