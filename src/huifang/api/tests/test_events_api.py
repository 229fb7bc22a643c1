"""Intraday events through the API (SPEC §4 MRG-3/MRG-4 "intraday through the API", SPC-2, CON-1..4).

2026 calendar facts (NFR-1): Friday 2026-10-16's next trading day is Monday 10-19;
Wednesday 2026-09-30 is the last trading day before National Day, trading resumes
Thursday 10-08; three working days after Friday 10-16 is Wednesday 10-21.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from huifang.accounts.choices import Role
from huifang.accounts.models import RoleGrant
from huifang.accounts.tests.factories import user_with_role
from huifang.api.models import ApiToken
from huifang.api.services import token_create
from huifang.audit.models import AuditEvent
from huifang.audit.verify import verify
from huifang.callbacks.models import NightlyRun, Purpose, Task, TaskEvent
from huifang.callbacks.tests import runkit
from huifang.clients.models import AccountEvent, MarginEvent
from huifang.core import clock
from huifang.org.models import Unit

pytestmark = pytest.mark.django_db(transaction=False)

FRIDAY = dt.datetime(2026, 10, 16, 10, 30, tzinfo=clock.SHANGHAI)
MARGIN, ACCOUNT = "/api/v1/events/margin", "/api/v1/events/account"


def ops_token(unit: str | None = "A01", username: str = "core_system") -> str:
    """A system account of branch operations over ``unit`` (None: all), and its token."""
    user = user_with_role(
        Role.BRANCH_OPS if unit else Role.HQ_SERVICE,
        unit=Unit.objects.get(pk=unit) if unit else None,
        username=username,
    )
    return token_create(user=user, name="core")[1]


def post(token: str | None, path: str, body: dict[str, Any], client: Client | None = None) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return (client or Client()).post(
        path, data=json.dumps(body), content_type="application/json", **headers
    )


def margin_call(event_id: str = "EV1", client_id: str = "A1", **extra: Any) -> dict[str, Any]:
    return {"event_id": event_id, "client_id": client_id, "event_type": "margin_call",
            "security_code": "600000", "detail": "维持担保比例低于130%", **extra}  # fmt: skip


def written() -> tuple[int, int, int, int, int]:
    return (Task.objects.count(), Purpose.objects.count(), TaskEvent.objects.count(),
            MarginEvent.objects.count(), AccountEvent.objects.count())  # fmt: skip


def calls(status: int) -> list[dict[str, Any]]:
    return [
        e.after for e in AuditEvent.objects.filter(action="api.call") if e.after["status"] == status
    ]


# ---------------------------------------------------------------- MRG-3, due dates, assignment


def test_a_margin_call_posted_on_friday_gets_mrg3_due_monday_assigned_to_an_eligible_agent(
    brokerage: Any,
) -> None:
    token = ops_token()
    with clock.frozen(FRIDAY):
        response = post(token, MARGIN, margin_call())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] and body["business_date"] == "2026-10-16" and body["rules"] == ["MRG-3"]
    [task] = body["tasks"]
    assert (task["level"], task["kind"], task["due_date"], task["status"]) == (
        "branch", "compliance", "2026-10-19", "assigned",
    )  # fmt: skip
    assert task["purposes"] == [
        {"rule_id": "MRG-3", "rule_code": "MRG-3", "key": "MRG-3:EV1", "due_date": "2026-10-19"}
    ]
    # SA1 introduced A1 (CON-1), AD1 is an adviser (CON-2): SA2 is the one eligible agent
    assert task["assignee"] == "SA2"
    row = Task.objects.get(pk=task["task_id"])
    assert row.run_id is None and not row.counts_to_cap and row.created_on == dt.date(2026, 10, 16)
    assert not NightlyRun.objects.exists()  # the intraday path never writes a run
    events = list(row.events.order_by("id").values_list("event", "run_id", "actor"))
    assert events == [("created", None, "api:core_system"), ("assigned", None, "api:core_system")]
    proof = row.events.get(event="assigned").detail_dict
    assert proof["staff_id"] == "SA2" and proof["found"] == []
    facts = json.loads(row.purposes.get().facts)  # the nightly run's facts (population_sales)
    assert {k: facts[k] for k in ("event_id", "event_type", "source", "security_code", "follow_until")} == {
        "event_id": "EV1", "event_type": "margin_call", "source": "margin_events",
        "security_code": "600000", "follow_until": "margin_call_resolved",
    }  # fmt: skip
    event = MarginEvent.objects.get(pk="EV1")
    assert (event.business_date, event.batch_id, event.security_code) == (
        dt.date(2026, 10, 16), None, "600000",
    )  # fmt: skip
    assert verify().ok


def test_a_margin_call_before_national_day_is_due_after_the_holiday(brokerage: Any) -> None:
    token = ops_token()
    with clock.frozen(dt.datetime(2026, 9, 30, 14, 0, tzinfo=clock.SHANGHAI)):
        response = post(token, MARGIN, margin_call())
    assert response.status_code == 201, response.content
    assert response.json()["tasks"][0]["due_date"] == "2026-10-08"


def test_the_deadline_counts_from_the_event_time_a_naive_one_in_shanghai(brokerage: Any) -> None:
    token = ops_token()
    with clock.frozen(dt.datetime(2026, 10, 19, 9, 0, tzinfo=clock.SHANGHAI)):
        # posted Monday morning (today's feed) for a call made Friday evening: due Monday
        response = post(token, MARGIN, margin_call(event_time="2026-10-16T21:15:00"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["business_date"], body["tasks"][0]["due_date"]) == ("2026-10-19", "2026-10-19")
    stored = MarginEvent.objects.get(pk="EV1").event_time
    assert stored == dt.datetime(2026, 10, 16, 21, 15, tzinfo=clock.SHANGHAI)


def test_a_second_event_of_the_client_joins_the_open_task(brokerage: Any) -> None:
    """CON-4: MRG-4 after MRG-3 on the same client, level and kind: one task, two purposes."""
    token = ops_token()
    with clock.frozen(FRIDAY):
        first = post(token, MARGIN, margin_call()).json()["tasks"][0]
        second = post(token, MARGIN, margin_call("EV2", event_type="forced_liquidation"))
    assert second.status_code == 201, second.content
    [task] = second.json()["tasks"]
    assert task["task_id"] == first["task_id"]
    assert [p["key"] for p in task["purposes"]] == ["MRG-3:EV1", "MRG-4:EV2"]
    assert Task.objects.count() == 1
    kinds = list(TaskEvent.objects.order_by("id").values_list("event", flat=True))
    assert kinds == ["created", "assigned", "purpose_added"]


def test_an_abnormal_trade_makes_a_company_and_a_branch_task(brokerage: Any) -> None:
    """abnormal_trade triggers ABN-4 (company, call center) and MRG-6 (branch): two tasks."""
    token = ops_token()
    with clock.frozen(FRIDAY):
        response = post(token, MARGIN, {"event_id": "AB1", "client_id": "A2",
                                        "event_type": "abnormal_trade"})  # fmt: skip
    assert response.status_code == 201, response.content
    tasks = {t["level"]: t for t in response.json()["tasks"]}
    assert {lvl: (t["due_date"], t["purposes"][0]["rule_code"]) for lvl, t in tasks.items()} == {
        "company": ("2026-10-21", "ABN-4"), "branch": ("2026-10-21", "MRG-6"),
    }  # fmt: skip
    assert tasks["company"]["assignee"] in {"C01", "C02"}
    assert tasks["branch"]["assignee"] in {"SA1", "SA2"}


def test_an_account_event_gets_spc2_due_three_working_days_later(brokerage: Any) -> None:
    token = ops_token()
    body = {"event_id": "AC1", "client_id": "A2", "event_type": "password_reset",
            "amount": "0.50", "staff_id": "SA2"}  # fmt: skip
    with clock.frozen(FRIDAY):
        response = post(token, ACCOUNT, body)
    assert response.status_code == 201, response.content
    [task] = response.json()["tasks"]
    assert (task["due_date"], task["purposes"][0]["rule_id"]) == ("2026-10-21", "SPC-2")
    event = AccountEvent.objects.get(pk="AC1")
    assert (str(event.amount), event.staff_id) == ("0.50", "SA2")


def test_a_task_nobody_may_hold_is_flagged_not_dropped(brokerage: Any) -> None:
    token = ops_token()
    # SA2 introduced A2 now: both A01 agents are recused
    from huifang.clients.models import Client as ClientRow

    ClientRow.objects.filter(pk="A2").update(introducer_id="SA1", broker_id="SA2")
    with clock.frozen(FRIDAY):
        response = post(token, MARGIN, margin_call(client_id="A2"))
    assert response.status_code == 201, response.content
    [task] = response.json()["tasks"]
    assert task["assignee"] is None and "CON-1" in task["unassigned_reason"]
    assert TaskEvent.objects.filter(task_id=task["task_id"], event="unassigned").count() == 1
    assert verify().ok


# ---------------------------------------------------------------- idempotency


def test_posting_the_same_event_again_answers_200_with_the_same_task(brokerage: Any) -> None:
    token = ops_token()
    with clock.frozen(FRIDAY):
        first = post(token, MARGIN, margin_call())
        before = written()
        again = post(token, MARGIN, margin_call())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["tasks"] == first.json()["tasks"]
    assert not again.json()["created"]
    assert written() == before


def test_the_same_event_id_with_other_content_is_refused_with_409(brokerage: Any) -> None:
    token = ops_token()
    with clock.frozen(FRIDAY):
        post(token, MARGIN, margin_call())
        before = written()
        changed = post(token, MARGIN, margin_call(security_code="600036"))
        other_kind = post(token, ACCOUNT, {"event_id": "EV1", "client_id": "A1",
                                           "event_type": "password_reset"})  # fmt: skip
    assert changed.status_code == 409 and "security_code" in changed.json()["detail"]
    assert other_kind.status_code == 409
    assert written() == before
    assert len(calls(409)) == 2


# ---------------------------------------------------------------- authentication and scope


def test_a_missing_or_wrong_token_answers_401(brokerage: Any) -> None:
    good = ops_token()
    with clock.frozen(FRIDAY):
        answers = [
            post(None, MARGIN, margin_call()).status_code,
            post("hf_" + "x" * 43, MARGIN, margin_call()).status_code,
            post("not-a-token", MARGIN, margin_call()).status_code,
            Client().post(MARGIN, data=json.dumps(margin_call()), content_type="application/json",
                          HTTP_AUTHORIZATION=f"Token {good}").status_code,
        ]  # fmt: skip
    assert answers == [401, 401, 401, 401]
    assert written()[:4] == (0, 0, 0, 0)
    refused = calls(401)
    assert len(refused) == 4
    assert refused[1]["refused"] == {"reason": "unknown token", "prefix": "hf_xxxxxxxx"}
    assert not any(good in json.dumps(e.after) for e in AuditEvent.objects.all())


def test_a_revoked_token_answers_401(brokerage: Any) -> None:
    token = ops_token()
    out = io.StringIO()
    call_command("apitoken", "revoke", "--user", "core_system", "--name", "core", stdout=out)
    with clock.frozen(FRIDAY):
        response = post(token, MARGIN, margin_call())
    assert response.status_code == 401
    assert calls(401)[0]["refused"]["reason"] == "revoked token"
    assert not MarginEvent.objects.exists()


def test_a_deactivated_user_or_a_lost_role_shuts_the_token(brokerage: Any) -> None:
    token = ops_token()
    RoleGrant.objects.filter(user__username="core_system").update(role=Role.AGENT)
    with clock.frozen(FRIDAY):
        assert post(token, MARGIN, margin_call()).status_code == 403
    ApiToken.objects.get().user.__class__.objects.filter(username="core_system").update(
        is_active=False
    )
    with clock.frozen(FRIDAY):
        assert post(token, MARGIN, margin_call()).status_code == 401
    assert not MarginEvent.objects.exists()


def test_a_client_outside_the_tokens_scope_answers_404_and_nothing_is_written(
    brokerage: Any,
) -> None:
    token = ops_token("A01")
    with clock.frozen(FRIDAY):
        outside = post(token, MARGIN, margin_call(client_id="B1"))
        unknown = post(token, MARGIN, margin_call(client_id="ZZ9"))
    assert (outside.status_code, unknown.status_code) == (404, 404)
    assert outside.json() == {"detail": "client B1 not found"}
    assert written() == (0, 0, 0, 0, 0)
    # a head-office account sees every branch
    with clock.frozen(FRIDAY):
        assert (
            post(ops_token(None, "hq_system"), MARGIN, margin_call(client_id="B1")).status_code
            == 201
        )


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        (MARGIN, margin_call(event_type="password_reset"), "event_type"),
        (MARGIN, margin_call(event_type="margin-call"), "event_type"),
        (MARGIN, {"client_id": "A1", "event_type": "margin_call"}, "event_id"),
        (MARGIN, margin_call(amount="5"), "amount"),  # not a margin-event field
        (MARGIN, margin_call(security_code="6" * 17), "security_code"),
        (MARGIN, margin_call(event_id="E 1"), "event_id"),
        (ACCOUNT, {"event_id": "AC1", "client_id": "A1", "event_type": "margin_call"}, "event_type"),
        (ACCOUNT, {"event_id": "AC1", "client_id": "A1", "event_type": "agent_changed",
                   "amount": "-1"}, "amount"),
        (ACCOUNT, {"event_id": "AC1", "client_id": "A1", "event_type": "agent_changed",
                   "amount": "1.234"}, "amount"),
    ],
)  # fmt: skip
def test_invalid_input_answers_422_naming_the_field_and_nothing_is_written(
    brokerage: Any, path: str, body: dict[str, Any], where: str
) -> None:
    token = ops_token()
    with clock.frozen(FRIDAY):
        response = post(token, path, body)
    assert response.status_code == 422, response.content
    assert any(where in map(str, error["loc"]) for error in response.json()["detail"])
    assert written() == (0, 0, 0, 0, 0)
    [audited] = calls(422)
    assert audited["token"]["name"] == "core" and '"input":' not in json.dumps(audited["error"])


def test_rules_the_schema_cannot_see_answer_422_too(brokerage: Any) -> None:
    token = ops_token()
    with clock.frozen(FRIDAY):
        future = post(token, MARGIN, margin_call(event_time="2026-10-16T11:00:00+08:00"))
        staff = post(token, ACCOUNT, {"event_id": "AC1", "client_id": "A1",
                                      "event_type": "agent_changed", "staff_id": "NOBODY"})  # fmt: skip
        garbled = Client().post(MARGIN, data="{not json", content_type="application/json",
                                HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert future.status_code == 422 and "future" in future.json()["detail"][0]["msg"]
    assert staff.status_code == 422 and "NOBODY" in staff.json()["detail"][0]["msg"]
    assert garbled.status_code in (400, 422)
    assert written() == (0, 0, 0, 0, 0)


def test_a_client_without_a_session_or_csrf_token_may_post(brokerage: Any) -> None:
    token = ops_token()
    with clock.frozen(FRIDAY):
        response = post(token, MARGIN, margin_call(), client=Client(enforce_csrf_checks=True))
    assert response.status_code == 201, response.content


# ---------------------------------------------------------------- the nightly run of the date


def test_the_nightly_run_of_the_date_with_the_same_events_in_its_feed_creates_nothing_new(
    brokerage: Any, tmp_path: Path
) -> None:
    token = ops_token()
    feed_events = [
        {"event_id": "EV1", "client_id": "A1", "event_type": "margin_call",
         "security_code": "600000", "detail": "维持担保比例低于130%"},
        {"event_id": "AB1", "client_id": "A2", "event_type": "abnormal_trade"},
    ]  # fmt: skip
    with clock.frozen(FRIDAY):
        for event in feed_events:
            assert post(token, MARGIN, event).status_code == 201
    tasks, purposes = runkit.tasks(), runkit.purposes()
    assert ("A2", "company", "compliance", "2026-10-21", "ABN-4") in tasks
    code, _out, err = runkit.run(tmp_path, "2026-10-16", {"margin_events": feed_events})
    assert code == 0, err
    assert runkit.tasks() == tasks and runkit.purposes() == purposes
    run = NightlyRun.objects.get()
    assert not TaskEvent.objects.filter(run=run).exists()
    assert MarginEvent.objects.get(pk="EV1").batch_id is not None  # the feed's row now
    with clock.frozen(FRIDAY):  # the imported event is the same event
        assert post(token, MARGIN, feed_events[0]).status_code == 200
    result = verify()
    assert result.ok, result.reason


def test_every_intraday_post_is_an_audited_change_set(brokerage: Any) -> None:
    token = ops_token()
    with clock.frozen(FRIDAY):
        post(token, MARGIN, margin_call())
    row = AuditEvent.objects.get(action="callbacks.intraday_event")
    assert (row.object_id, row.branch_code, row.changeset_table) == (
        "EV1",
        "A01",
        "callbacks.TaskEvent",
    )
    assert row.changeset_rows == 1  # ``created``; the assignment has its own audit row
    assert AuditEvent.objects.filter(action="callbacks.task_assign").count() == 1
    assert (
        AuditEvent.objects.get(action="clients.margin_event_post").after["detail"]
        == "维持担保比例低于130%"
    )
    [call] = calls(201)
    assert call["tasks"] == [Task.objects.get().pk] and call["event_id"] == "EV1"
    assert verify().ok
    # an altered intraday task event breaks the chain at that row
    from huifang.audit.triggers import maintenance

    with maintenance():
        TaskEvent.objects.filter(event="created").update(detail="{}")
    assert verify().broken_id == row.pk


# ---------------------------------------------------------------- schema and docs


def test_the_openapi_schema_lists_the_endpoints_and_no_api_page_uses_a_cdn(brokerage: Any) -> None:
    browser = Client()
    assert browser.get("/api/openapi.json").status_code == 302  # sign in first
    browser.force_login(user_with_role(Role.COMPLIANCE, username="reader"))
    schema = browser.get("/api/openapi.json").json()
    assert {"/api/v1/events/margin", "/api/v1/events/account"} <= set(schema["paths"])
    margin = schema["paths"]["/api/v1/events/margin"]["post"]
    assert {"200", "201", "404", "409", "422"} <= set(margin["responses"])
    assert (
        "BearerAuth" in json.dumps(schema["components"]["securitySchemes"]) or schema["components"]
    )
    docs = browser.get("/api/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/api/v1/events/margin" in html and "margin_call" in html
    for page in (html, json.dumps(schema)):
        assert not re.search(r"(src|href)=\"(https?:)?//", page)
        assert "cdn" not in page.lower()
    assert browser.get("/api/docs/").status_code == 404  # no ninja Swagger page


def test_the_intraday_state_tables_are_the_nightly_runs(brokerage: Any) -> None:
    """Guards ``intraday.STATE_TABLES`` against a change of ``services._state_tables``."""
    from huifang.callbacks import intraday, services
    from huifang.core import duck

    nightly, one = duck.connect(), duck.connect()
    try:
        services._state_tables(nightly, "2026-Q4")
        intraday._client_state(one, "A1", [], "2026-Q4")
        for table in intraday.STATE_TABLES:
            described = [nightly.execute(f"DESCRIBE {table}").fetchall(),
                         one.execute(f"DESCRIBE {table}").fetchall()]  # fmt: skip
            assert described[0] == described[1], table
    finally:
        nightly.close()
        one.close()
