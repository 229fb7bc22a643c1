"""``selectors.task_view``: a task with its client, target staff, record, the actor's claim and
the client's class in one hand-written query (issue 7 load), equal to what the ORM reads, and
scoped as ``get_visible_or_404`` is (SPEC §0: 404 outside the actor's branches)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from huifang.accounts.choices import Role
from huifang.callbacks.models import Task
from huifang.classification.tests.factories import ClientClassFactory
from huifang.core import scope
from huifang.core.scope import get_visible_or_404
from huifang.workbench import queue
from huifang.workbench.models import Record
from huifang.workbench.selectors import task_view
from huifang.workbench.tests import factories as f

pytestmark = pytest.mark.django_db

SCHEME = "CLS-1"


def fields(obj: Any) -> dict[str, Any]:
    return {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}


def orm_read(user: Any, task_id: int) -> Task:
    return get_visible_or_404(
        Task.objects.select_related("client", "target_staff"), user, pk=task_id
    )


def test_the_view_equals_the_orm_s_rows_typed_alike_in_one_query() -> None:
    """Task (dates, times with zone, booleans), client, target staff and the opened record."""
    branch = f.branch("A01")
    agent, target = f.agent_user(branch), f.agent_user(branch).staff
    task = f.connected_task(
        agent, record=True, client=f.client_of(branch), target_staff=target, opens_at=f.at(9)
    )
    ClientClassFactory(client=task.client, scheme=SCHEME, class_code="core")
    actor = f.actor(agent)
    scope.unit_scope(actor.user)  # his grants: the API reads them with the token
    with CaptureQueriesContext(connection) as queries:
        view = task_view(actor, task.pk, scheme=SCHEME)
        client, staff, record_task = view.task.client, view.task.target_staff, view.record
        assert record_task is not None
        _ = record_task.task  # cached: no query
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    orm = orm_read(agent, task.pk)
    assert fields(view.task) == fields(orm)
    assert fields(client) == fields(orm.client) and fields(staff) == fields(orm.target_staff)
    assert fields(view.record) == fields(Record.objects.get(task=task))
    assert view.held is True and view.class_code == "core"
    assert scope.read_in_scope(view.task, agent)


def test_no_record_no_claim_no_class_no_target() -> None:
    agent = f.agent_user(f.branch("A01"))
    task = f.open_task(branch=agent.staff.unit, assignee=agent)
    view = task_view(f.actor(agent), task.pk, scheme=SCHEME)
    assert view.record is None and view.held is False and view.class_code == ""
    assert view.task.target_staff is None and fields(view.task) == fields(orm_read(agent, task.pk))


def test_held_is_the_actor_s_own_live_claim_only() -> None:
    branch = f.branch("A01")
    agent, other = f.agent_user(branch), f.agent_user(branch)
    task = f.open_task(branch=branch, assignee=agent)
    claim = f.claim(task, other)
    assert task_view(f.actor(agent), task.pk, scheme=SCHEME).held is False
    assert task_view(f.actor(other), task.pk, scheme=SCHEME).held is True
    queue.release_live(task, "test")
    claim.refresh_from_db()
    assert claim.released_at is not None
    assert task_view(f.actor(other), task.pk, scheme=SCHEME).held is False


def test_the_class_of_another_scheme_is_not_shown() -> None:
    agent = f.agent_user(f.branch("A01"))
    task = f.open_task(branch=agent.staff.unit, assignee=agent)
    ClientClassFactory(client=task.client, scheme="CLS-X", class_code="vip")
    assert task_view(f.actor(agent), task.pk, scheme=SCHEME).class_code == ""


def test_outside_the_scope_or_unknown_is_404_as_with_the_orm() -> None:
    agent = f.agent_user(f.branch("A01"))
    elsewhere = f.open_task(branch=f.branch("B02"))
    with pytest.raises(Http404):
        task_view(f.actor(agent), elsewhere.pk, scheme=SCHEME)
    with pytest.raises(Http404):
        orm_read(agent, elsewhere.pk)
    with pytest.raises(Http404):
        task_view(f.actor(agent), elsewhere.pk + 1000, scheme=SCHEME)


def test_a_user_without_grants_sees_nothing_and_a_company_wide_user_everything() -> None:
    branch = f.branch("A01")
    agent = f.agent_user(branch)
    task = f.open_task(branch=f.branch("B02"))
    agent.role_grants.all().delete()
    with pytest.raises(Http404):
        task_view(f.actor(agent), task.pk, scheme=SCHEME)
    f.grant_role(agent, Role.AGENT)  # over every unit
    view = task_view(f.actor(agent), task.pk, scheme=SCHEME)
    assert fields(view.task) == fields(orm_read(f.actor(agent).user, task.pk))


def test_a_task_without_client_targets_a_staff_member() -> None:
    agent = f.agent_user(f.branch("A01"))
    target = f.agent_user(f.branch("A01")).staff
    task = f.open_task(target_staff=target, purposes=("BRK-1",))
    view = task_view(f.actor(agent), task.pk, scheme=SCHEME)
    assert view.task.client is None and fields(view.task.target_staff) == fields(target)


def test_a_scope_of_several_branches_binds_each_code() -> None:
    """A regional user's scope: every branch of his region, none outside it."""
    north, south = f.branch("N01"), f.branch("S01")
    sibling = f.branch("N02", region=north.region)
    agent = f.agent_user(north)
    f.grant_role(agent, Role.REVIEWER, sibling)
    in_north, in_sibling, in_south = (f.open_task(branch=b) for b in (north, sibling, south))
    actor = f.actor(agent)
    assert scope.unit_scope(actor.user) == {"N01", "N02"}
    for task in (in_north, in_sibling):
        assert task_view(actor, task.pk, scheme=SCHEME).task.pk == task.pk
    with pytest.raises(Http404):
        task_view(actor, in_south.pk, scheme=SCHEME)


def test_unscoped_reads_a_task_handed_over_by_a_service_without_marking_it() -> None:
    """``next`` re-reads the task ``next_task`` gave the agent (his own, whatever his grants)."""
    agent = f.agent_user(f.branch("A01"))
    task = f.open_task(branch=f.branch("B02"), assignee=agent)
    with pytest.raises(Http404):
        task_view(f.actor(agent), task.pk, scheme=SCHEME)
    view = task_view(f.actor(agent), task.pk, scheme=SCHEME, scoped=False)
    assert view.task.pk == task.pk and not scope.read_in_scope(view.task, agent)


# --- a task's purposes and a record's sections, each in one query ------------------------------


def test_purposes_equal_the_orm_s_in_section_order_with_their_versions_in_one_query() -> None:
    """Several purposes (facts as JSON text, dates, booleans), ordered by rule code then id,
    each with its policy version (times with zone, JSON) loaded, linked to the caller's task."""
    from huifang.callbacks.models import Purpose
    from huifang.workbench.selectors import purposes_of

    task = f.open_task(purposes=("PROD-1", "NEW-1", "NEW-1"), facts={"产品": "甲", "amount": 3})
    Purpose.objects.filter(task=task, rule_code="PROD-1").update(cap_exempt=True)
    orm = list(
        Purpose.objects.filter(task_id=task.pk)
        .select_related("policy_version")
        .order_by("rule_code", "id")
    )
    with CaptureQueriesContext(connection) as queries:
        found = purposes_of(task.pk, task)
        versions = [p.policy_version for p in found]  # cached: no query
        tasks = [p.task for p in found]
    assert len(queries) == 1
    assert [fields(p) for p in found] == [fields(p) for p in orm]
    assert [p.rule_code for p in found] == ["NEW-1", "NEW-1", "PROD-1"]
    assert [fields(v) for v in versions] == [fields(p.policy_version) for p in orm]
    assert all(t is task for t in tasks)
    assert found[0].facts_dict == {"产品": "甲", "amount": 3} and found[2].cap_exempt is True
    assert purposes_of(task.pk + 1000) == []
    unlinked = purposes_of(task.pk)[0]
    with CaptureQueriesContext(connection) as queries:
        assert unlinked.task == task  # without the caller's task: read when asked
    assert len(queries) == 1


def test_sections_equal_the_orm_s_in_their_order_with_questionnaires_in_one_query() -> None:
    """The record's sections (answers as JSON) by position then id, each with its
    questionnaire (definition as JSON) loaded and linked to the record."""
    from huifang.workbench.models import Section
    from huifang.workbench.selectors import sections_of

    branch = f.branch("A01")
    agent = f.agent_user(branch)
    task = f.connected_task(agent, record=True, purposes=("NEW-1", "PROD-1"))
    record = Record.objects.get(task=task)
    first = record.sections.order_by("id").first()
    assert first is not None
    Section.objects.filter(pk=first.pk).update(
        answers={"name": {"value": "differs", "note": "改名"}}, position=9
    )
    orm = list(record.sections.select_related("questionnaire").order_by("position", "id"))
    assert len(orm) >= 2
    with CaptureQueriesContext(connection) as queries:
        found = sections_of(record)
        forms = [s.questionnaire for s in found]
        owners = [s.record for s in found]
    assert len(queries) == 1
    assert [fields(s) for s in found] == [fields(s) for s in orm]
    assert found[-1].pk == first.pk and found[-1].answers["name"]["note"] == "改名"
    assert [fields(q) for q in forms] == [fields(s.questionnaire) for s in orm]
    assert isinstance(forms[0].definition, dict) and all(o is record for o in owners)
    assert sections_of(Record(pk=record.pk + 1000)) == []
