"""The workbench answers an order's purpose with the order's questionnaire (EXE-4, SPC-1):
``codes_for_purpose`` prefers the installed code named in the purpose's facts."""

from __future__ import annotations

import json

import pytest

from huifang.callbacks.models import Purpose, Task
from huifang.orders import services
from huifang.orders.tests.factories import clients, dept_user, draft, upload
from huifang.workbench import questionnaires, records
from huifang.workbench.models import Questionnaire
from huifang.workbench.tests.factories import actor, agent_user, claim, open_task

pytestmark = pytest.mark.django_db

QUESTIONS = [
    {"id": "order_q1", "text": "是否收到佣金调整通知", "type": "yesno", "required": True,
     "options": [], "script": ""},
    {"id": "order_q2", "text": "对调整说明的满意程度", "type": "score", "required": True,
     "options": [1, 2, 3, 4, 5], "script": ""},
]  # fmt: skip


def test_an_spc_1_purpose_is_answered_with_the_orders_own_questionnaire() -> None:
    user = dept_user()
    order = draft(user, questions=QUESTIONS, level="branch")
    agent = agent_user()
    client = clients(agent.staff.unit, 1)[0]
    upload(user, order, [client.client_id])
    services.order_issue(user=user, order=order)
    purpose = Purpose.objects.get(key=f"SPC-1:order{order.pk}:{client.client_id}")

    assert questionnaires.codes_for_purpose(purpose) == [f"SPC{order.pk}"]
    chosen = questionnaires.for_purpose(purpose)
    assert (chosen.code, chosen.version) == (f"SPC{order.pk}", 1)
    own = {item["id"] for item in questionnaires.iter_items(chosen)}
    f3 = {item["id"] for item in questionnaires.iter_items(questionnaires.current("F3"))}
    assert own == f3 | {"order_q1", "order_q2"}
    assert chosen.sha256 == questionnaires.definition_sha256(chosen.definition)

    task = Task.objects.get(pk=purpose.task_id)
    Task.objects.filter(pk=task.pk).update(assignee=agent.staff, status="assigned")
    claim(task, agent)
    record = records.open_record(task=task, actor=actor(agent), method="phone")
    section = record.sections.get(purpose=purpose)
    assert section.questionnaire_id == chosen.pk


def test_issuing_again_keeps_the_same_questionnaire_version() -> None:
    user = dept_user()
    order = draft(user, questions=QUESTIONS)
    upload(user, order, [c.client_id for c in clients(agent_user().staff.unit, 1)])
    services.order_issue(user=user, order=order)
    services.order_issue(user=user, order=order)
    assert Questionnaire.objects.filter(code=f"SPC{order.pk}").count() == 1


def test_a_purpose_without_an_installed_questionnaire_fact_keeps_its_rules_forms() -> None:
    plain = open_task(purposes=("CMP-1",)).purposes.get()
    assert questionnaires.codes_for_purpose(plain) == ["F3", "complaint"]
    unknown = open_task(purposes=("CMP-1",), facts={"questionnaire": "SPC999999"}).purposes.get()
    assert questionnaires.codes_for_purpose(unknown) == ["F3", "complaint"]
    named = open_task(purposes=("CMP-1",), facts={"questionnaire": "F2"}).purposes.get()
    assert questionnaires.codes_for_purpose(named) == ["F2"]
    assert questionnaires.for_purpose(named).code == "F2"
    Purpose.objects.filter(pk=plain.pk).update(facts=json.dumps({"questionnaire": 7}))
    plain.refresh_from_db()
    assert questionnaires.codes_for_purpose(plain) == ["F3", "complaint"]
