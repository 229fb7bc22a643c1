"""Statements per call of one whole callback through the call-center API (issue 7 load).

Each call runs in one transaction with its ``api.call`` audit row, reads the task, the record
and the policy once, and reuses the rows a service has just read for its answer. The budget
is what the calls need on PostgreSQL (advisory chain locks included): a change that reads the
same rows again shows up here before it shows up in ``bench/workbench_load.py``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from huifang.accounts.models import User
from huifang.api.services import token_create
from huifang.core import clock
from huifang.workbench.tests import factories as f

pytestmark = pytest.mark.django_db

BASE = "/api/v1/workbench"
# the most statements each call may take, transaction control and audit rows included
BUDGET = {"next": 13, "attempt": 20, "task": 7, "recording": 8, "answers": 13, "sign": 15}


@pytest.fixture(autouse=True)
def _policy(db: None) -> None:
    f.policy()


@pytest.fixture
def agent() -> User:
    return f.agent_user(f.branch("A01"), username="cc_agent")


def _answers(sections: list[dict[str, Any]]) -> dict[str, Any]:
    values = {"check": "matches", "yesno": "yes", "text": "已核对"}
    out: dict[str, dict[str, Any]] = {}
    for section in sections:
        items = {}
        for item in section["items"]:
            if not item["required"]:
                continue
            if item["type"] == "score":
                value: Any = max(int(o) for o in item["options"] or [5])
            elif item["type"] == "choice":
                value = str(item["options"][0])
            else:
                value = values[item["type"]]
            items[item["id"]] = {"value": value, "note": ""}
        out[str(section["section_id"])] = items
    return {"sections": out, "findings": [], "notes": "客户确认开户资料无误。"}


def test_a_whole_callback_stays_within_its_statement_budget(agent: User) -> None:
    token = token_create(user=agent, name="callcenter")[1]
    task = f.open_task(assignee=agent, branch=agent.staff.unit)  # type: ignore[union-attr]
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    used: dict[str, int] = {}

    def call(name: str, method: str, path: str, body: Any = None) -> Any:
        with CaptureQueriesContext(connection) as queries:
            if method == "get":
                response = client.get(BASE + path, **headers)
            else:
                response = client.post(BASE + path, data=json.dumps(body or {}),
                                       content_type="application/json", **headers)  # fmt: skip
        assert response.status_code in (200, 201), (name, response.content)
        used[name] = len(queries)
        return response.json()

    with clock.frozen(f.at(10)):
        assert call("next", "post", "/next")["id"] == task.pk
        call("attempt", "post", f"/tasks/{task.pk}/attempts",
             {"method": "phone", "outcome": "connected", "call_id": "CC-1"})  # fmt: skip
        sections = call("task", "get", f"/tasks/{task.pk}")["sections"]
        call("recording", "post", f"/tasks/{task.pk}/recording", {"call_id": "CC-1"})
        call("answers", "post", f"/tasks/{task.pk}/answers", _answers(sections))
        assert call("sign", "post", f"/tasks/{task.pk}/sign")["status"] == "agent_signed"
    over = {name: (n, BUDGET[name]) for name, n in used.items() if n > BUDGET[name]}
    assert not over, f"statements over budget (used, budget): {over}"
