"""The queue (SPEC EXE-3, CON-1, CON-2, CON-5, CON-6): next task, claims, release, reassign.

The clock stands at 2026-10-14 10:00 Asia/Shanghai (workbench conftest) unless a
test freezes another moment.
"""

from __future__ import annotations

import datetime as dt
import threading
from types import SimpleNamespace

import pytest
from django.db import IntegrityError, connection, connections, transaction

from huifang.accounts.choices import Role
from huifang.audit.context import audit_context
from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Task, TaskEvent
from huifang.core import clock
from huifang.org.choices import Position
from huifang.workbench import queue
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Claim
from huifang.workbench.tests import factories as f

NOW = dt.datetime(2026, 10, 14, 10, 0, tzinfo=clock.SHANGHAI)


@pytest.fixture
def w(db: None) -> SimpleNamespace:
    """Branch A01 with agents 甲 and 乙, branch B01 with agent 丙, a 营运总监 of A01."""
    f.policy()
    a01, b01 = f.branch("A01"), f.branch("B01")
    return SimpleNamespace(
        a01=a01, b01=b01,
        agent1=f.agent_user(a01, username="agent1", staff_id="S01"),
        agent2=f.agent_user(a01, username="agent2", staff_id="S02"),
        agent_b=f.agent_user(b01, username="agent_b", staff_id="S03"),
        ops=f.leader_user(Role.BRANCH_OPS, a01, username="ops_a"),
        ops_b=f.leader_user(Role.BRANCH_OPS, b01, username="ops_b"),
    )  # fmt: skip


def nxt(user: object) -> Task | None:
    return queue.next_task(actor=f.actor(user))  # type: ignore[arg-type]


def live_claims(task: Task) -> list[str]:
    return list(
        Claim.objects.filter(task=task, released_at__isnull=True).values_list("staff_id", flat=True)
    )


# --- order and eligibility ------------------------------------------------------------------


@pytest.mark.django_db
def test_own_tasks_come_overdue_first_then_by_due_date_then_id(w: SimpleNamespace) -> None:
    later = f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 20))
    sooner = f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 16))
    same_day = f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 16))
    late = f.open_task(
        branch=w.a01,
        assignee=w.agent1,
        due=dt.date(2026, 10, 25),
        overdue_since=dt.date(2026, 10, 13),
    )  # an overdue mark beats an earlier due date
    got = []
    for _ in range(4):
        task = nxt(w.agent1)
        assert task is not None
        got.append(task.pk)
        assert live_claims(task) == ["S01"]
        # a claim keeps the status: the first connected attempt makes it in_progress
        assert task.status == "assigned"
        Task.objects.filter(pk=task.pk).update(retry_after=NOW + dt.timedelta(hours=1))
        queue.release(task=task, actor=f.actor(w.agent1), reason="test")
    assert got == [late.pk, sooner.pk, same_day.pk, later.pk]
    assert nxt(w.agent1) is None  # everything waits for its retry time


@pytest.mark.django_db
def test_next_tasks_statement_picks_in_the_order_and_under_the_gates_of_own_candidates(
    w: SimpleNamespace,
) -> None:
    """ "Next task" finds and locks his task with one hand-written statement (``_own_next_sql``,
    issue 7); ``own_candidates``, the queryset ``take`` uses, says the same in the ORM. Over
    tasks of every case — overdue, due dates, a cooling-off over or not (PROD-*), a retry time
    reached or not (EXE-3), a live or an ended claim, a draft or a signed record (EXE-5),
    another agent's, a closed one, one about a staff member (no client) — taking the first and
    leaving it out, again and again, gives exactly ``own_candidates``' tasks in its order,
    each as the ORM reads it, with its client."""
    from huifang.workbench.models import Record

    me, hour = w.agent1.staff, dt.timedelta(hours=1)

    def mine(**kwargs: object) -> Task:
        return f.open_task(branch=w.a01, assignee=me, **kwargs)  # type: ignore[arg-type]

    def day(n: int) -> dt.date:
        return dt.date(2026, 10, n)

    draft = f.connected_task(w.agent1, record=True, due=day(20))
    signed = f.connected_task(w.agent1, record=True, due=day(15))
    Record.objects.filter(task=signed).update(status="agent_signed")
    Claim.objects.update(released_at=NOW - hour, release_reason="test")  # both claims ended
    held = mine(due=day(15))
    f.claim(held, w.agent2.staff)
    closed = mine(due=day(15))
    Task.objects.filter(pk=closed.pk).update(status="completed")
    expected = {
        "late": mine(due=day(25), overdue_since=day(13)).pk,
        "soon": mine(due=day(16)).pk,
        "same_day": mine(due=day(16)).pk,
        "cooling_over": mine(due=day(17), opens_at=NOW - hour).pk,
        "retry_now": mine(due=day(18), retry_after=NOW).pk,
        "about_staff": mine(due=day(19), target_staff=w.agent_b.staff).pk,
        "draft": draft.pk,
    }
    mine(due=day(15), opens_at=NOW + hour)  # cooling off
    mine(due=day(15), retry_after=NOW + hour)  # its retry time not reached
    f.open_task(branch=w.a01, assignee=w.agent2.staff, due=day(14))  # another agent's
    ordered = list(queue.own_candidates(me, NOW).values_list("id", flat=True))
    assert set(ordered) == set(expected.values())
    got: list[int] = []
    with transaction.atomic():
        while (task := queue._lock_first(me, NOW, got)) is not None:
            orm = Task.objects.select_related("client").get(pk=task.pk)
            fields = Task._meta.concrete_fields
            assert [getattr(task, x.attname) for x in fields] == [
                getattr(orm, x.attname) for x in fields
            ]
            assert Task.client.is_cached(task)  # type: ignore[attr-defined]
            if orm.client is None:
                assert task.client is None
            else:
                assert task.client is not None
                assert [
                    getattr(task.client, x.attname) for x in orm.client._meta.concrete_fields
                ] == [getattr(orm.client, x.attname) for x in orm.client._meta.concrete_fields]
            got.append(task.pk)
            assert len(got) <= len(expected)
    assert got == ordered
    assert got[0] == expected["late"] and got[1:3] == [expected["soon"], expected["same_day"]]


@pytest.mark.django_db
def test_a_live_claim_is_returned_again_and_nothing_new_is_claimed(w: SimpleNamespace) -> None:
    first = f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 16))
    f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 15))
    f.claim(first, w.agent1)
    assert nxt(w.agent1) == first
    assert Claim.objects.filter(staff_id="S01").count() == 1


@pytest.mark.django_db
def test_a_claim_left_on_a_closed_task_is_freed(w: SimpleNamespace) -> None:
    done = f.open_task(branch=w.a01, assignee=w.agent1)
    f.claim(done, w.agent1)
    Task.objects.filter(pk=done.pk).update(status="signed")
    todo = f.open_task(branch=w.a01, assignee=w.agent1)
    assert nxt(w.agent1) == todo
    assert live_claims(done) == [] and live_claims(todo) == ["S01"]


@pytest.mark.django_db
def test_own_tasks_come_before_a_more_urgent_pool_task(w: SimpleNamespace) -> None:
    f.open_task(branch=w.a01, due=dt.date(2026, 10, 15), overdue_since=dt.date(2026, 10, 13))
    own = f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 30))
    assert nxt(w.agent1) == own


@pytest.mark.django_db
def test_cooling_off_and_retry_time_keep_a_task_out_of_the_queue(w: SimpleNamespace) -> None:
    """PROD-* cooling-off (``opens_at``) and EXE-3 retry (``retry_after``) are respected."""
    cooling = f.open_task(branch=w.a01, assignee=w.agent1, opens_at=NOW + dt.timedelta(hours=2))
    waiting = f.open_task(branch=w.a01, due=dt.date(2026, 10, 15))
    Task.objects.filter(pk=waiting.pk).update(retry_after=NOW + dt.timedelta(hours=1))
    assert nxt(w.agent1) is None
    assert Claim.objects.count() == 0
    with clock.frozen(NOW + dt.timedelta(hours=1)):
        assert nxt(w.agent1) == waiting  # retry time reached (pool task, now assigned to him)
        queue.release(task=waiting, actor=f.actor(w.agent1))
        Task.objects.filter(pk=waiting.pk).update(retry_after=NOW + dt.timedelta(days=3))
    with clock.frozen(NOW + dt.timedelta(hours=2)):
        assert nxt(w.agent1) == cooling  # cooling-off over


@pytest.mark.django_db
@pytest.mark.parametrize("hour,minute", [(21, 0), (20, 0), (8, 59)])
def test_outside_call_hours_the_queue_refuses(w: SimpleNamespace, hour: int, minute: int) -> None:
    """CON-5: calls only 09:00–20:00 (default policy)."""
    f.open_task(branch=w.a01, assignee=w.agent1)
    moment = f.at(hour, minute, dt.date(2026, 10, 14))
    with clock.frozen(moment), pytest.raises(WorkbenchRefused) as refused:
        nxt(w.agent1)
    assert refused.value.code == "call_hours" and "CON-5" in refused.value.reasons[0]
    assert Claim.objects.count() == 0
    with clock.frozen(f.at(19, 59, dt.date(2026, 10, 14))):
        assert nxt(w.agent1) is not None


@pytest.mark.django_db
def test_only_agents_with_a_staff_record_take_tasks(w: SimpleNamespace) -> None:
    f.open_task(branch=w.a01)
    with pytest.raises(WorkbenchRefused) as refused:
        nxt(w.ops)
    assert refused.value.code == "forbidden" and refused.value.status == 403
    from huifang.accounts.tests.factories import user_with_role

    no_staff = user_with_role(Role.AGENT, unit=w.a01, username="nostaff")
    with pytest.raises(WorkbenchRefused) as refused:
        nxt(no_staff)
    assert refused.value.code == "no_staff"
    assert Claim.objects.count() == 0


# --- the pool -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_pool_task_is_assigned_through_task_assign_with_the_recusal_proof(
    w: SimpleNamespace,
) -> None:
    task = f.open_task(branch=w.a01)
    f.open_task(branch=w.b01)  # another branch's task is not his pool (CON-6)
    got = nxt(w.agent1)
    assert got == task
    assert got.assignee_id == "S01" and got.status == "assigned"
    event = TaskEvent.objects.get(task=task, event="assigned")
    assert event.staff_id == "S01" and event.detail_dict["found"] == []
    assert set(event.detail_dict["relations_checked"]) == {"introducer", "broker", "adviser"}
    actions = list(
        AuditEvent.objects.filter(object_id=str(task.pk)).values_list("action", flat=True)
    )
    assert actions == ["callbacks.task_assign", "workbench.claim"]
    assert nxt(w.agent_b) is not None and nxt(w.agent2) is None


@pytest.mark.django_db
def test_an_agent_never_gets_a_client_he_introduced_and_cannot_be_given_it(
    w: SimpleNamespace,
) -> None:
    """CON-1: the pool skips the introducer's client; a supervisor's reassign is refused."""
    client = f.client_of(w.a01, introducer=w.agent1.staff)
    task = f.open_task(client=client, due=dt.date(2026, 10, 15))
    assert nxt(w.agent1) is None
    assert Task.objects.get(pk=task.pk).assignee_id is None
    with pytest.raises(WorkbenchRefused) as refused:
        queue.reassign(task=task, to_staff=w.agent1.staff, actor=f.actor(w.ops))
    assert refused.value.code == "recused" and "CON-1" in refused.value.reasons[0]
    assert Task.objects.get(pk=task.pk).assignee_id is None
    assert nxt(w.agent2) == task


@pytest.mark.django_db
def test_service_staff_take_service_tasks_and_not_broker_clients_compliance_ones(
    w: SimpleNamespace,
) -> None:
    """CON-2: service callbacks go to service staff; compliance ones to agents."""
    service = f.agent_user(w.a01, Position.SERVICE, username="svc", staff_id="S09")
    compliance = f.open_task(branch=w.a01)
    service_task = f.open_task(branch=w.a01, kind="service", purposes=("CORE-1",))
    assert nxt(service) == service_task
    assert nxt(w.agent1) == compliance


@pytest.mark.django_db
def test_the_call_center_takes_company_level_tasks_of_every_branch(w: SimpleNamespace) -> None:
    """CON-6: company-level callbacks are the call center's; branch agents never see them."""
    center = f.call_center()
    seat = f.agent_user(center, username="seat", staff_id="S10")
    from huifang.accounts.tests.factories import grant

    grant(seat, Role.AGENT)  # the call center works for every branch
    company = f.open_task(branch=w.b01, level="company")
    f.open_task(branch=w.b01)
    assert nxt(w.agent_b) is not None and Task.objects.get(pk=company.pk).assignee_id is None
    assert nxt(seat) == company


# --- two agents, one task -------------------------------------------------------------------


@pytest.mark.django_db
def test_two_agents_one_after_the_other_get_different_tasks(w: SimpleNamespace) -> None:
    one, two = f.open_task(branch=w.a01), f.open_task(branch=w.a01)
    got1, got2 = nxt(w.agent1), nxt(w.agent2)
    assert {got1, got2} == {one, two} and got1 != got2
    third = f.agent_user(w.a01, username="agent3", staff_id="S04")
    assert nxt(third) is None


@pytest.mark.django_db
def test_the_database_refuses_a_second_live_claim(w: SimpleNamespace) -> None:
    task = f.open_task(branch=w.a01, assignee=w.agent1)
    f.claim(task, w.agent1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Claim.objects.create(task=task, staff=w.agent2.staff, claimed_at=NOW)
    Claim.objects.filter(task=task).update(released_at=NOW, release_reason="test")
    Claim.objects.create(task=task, staff=w.agent2.staff, claimed_at=NOW)  # released: fine
    assert live_claims(task) == ["S02"]


@pytest.mark.django_db
def test_a_claim_the_unique_index_refuses_writes_nothing_and_leaves_the_transaction_usable(
    w: SimpleNamespace,
) -> None:
    """``_claim`` is ``INSERT … ON CONFLICT DO NOTHING``: no savepoint, no aborted transaction
    (on PostgreSQL a failed INSERT without one would abort the caller's whole transaction)."""
    task = f.open_task(branch=w.a01, assignee=w.agent1)
    other = f.open_task(branch=w.a01, assignee=w.agent2)
    from django.test.utils import CaptureQueriesContext

    with transaction.atomic():
        first = queue._claim(task, w.agent1.staff, NOW)
        assert first is not None and first.pk and not first._state.adding
        with CaptureQueriesContext(connection) as queries:
            assert queue._claim(task, w.agent2.staff, NOW) is None  # the task is held
        assert len(queries) == 1  # one INSERT: no savepoint taken, none rolled back to
        claimed = queue._claim(other, w.agent2.staff, NOW)  # the transaction goes on
        assert claimed is not None
    assert live_claims(task) == ["S01"] and live_claims(other) == ["S02"]
    stored = Claim.objects.get(pk=first.pk)
    assert (stored.task_id, stored.staff_id, stored.claimed_at, stored.released_at) == (
        task.pk, "S01", NOW, None,
    )  # fmt: skip
    # stored as the ORM stores it (UTC on SQLite's text): found by the ORM's own comparison
    assert Claim.objects.filter(pk=first.pk, claimed_at=NOW).exists()
    assert Claim.objects.filter(pk=first.pk, claimed_at__lt=NOW + dt.timedelta(seconds=1)).exists()


@pytest.mark.django_db
def test_a_task_claimed_meanwhile_is_passed_for_the_next_most_urgent(
    w: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race ``next_task`` loses when another claim lands between its read and its insert:
    the claim writes nothing and the next most urgent task is locked and claimed instead."""
    first = f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 15))
    second = f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 16))
    f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 17))
    real, tried = queue._claim, []

    def racing(task: Task, staff: object, now: dt.datetime) -> Claim | None:
        tried.append(task.pk)
        return None if task.pk == first.pk else real(task, staff, now)  # type: ignore[arg-type]

    monkeypatch.setattr(queue, "_claim", racing)
    got = nxt(w.agent1)
    assert got is not None and got.pk == second.pk
    assert tried == [first.pk, second.pk]
    assert live_claims(second) == ["S01"] and live_claims(first) == []


@pytest.mark.django_db
def test_release_live_ends_the_task_s_live_claim_only_in_one_statement(w: SimpleNamespace) -> None:
    from django.test.utils import CaptureQueriesContext

    task = f.open_task(branch=w.a01, assignee=w.agent1)
    other = f.open_task(branch=w.a01, assignee=w.agent2)
    old = f.claim(task, w.agent2, NOW - dt.timedelta(hours=1))
    Claim.objects.filter(pk=old.pk).update(
        released_at=NOW - dt.timedelta(minutes=30), release_reason="api"
    )
    live = f.claim(task, w.agent1, NOW - dt.timedelta(minutes=5))
    kept = f.claim(other, w.agent2, NOW - dt.timedelta(minutes=5))
    with CaptureQueriesContext(connection) as queries:
        assert queue.release_live(task.pk, "signed-and-a-reason-longer-than-32-chars", NOW) == [
            live.pk
        ]
    assert len(queries) == 1
    got = Claim.objects.get(pk=live.pk)
    assert (got.released_at, got.release_reason) == (NOW, "signed-and-a-reason-longer-than-")
    assert Claim.objects.filter(pk=live.pk, released_at=NOW).exists()  # stored as the ORM would
    assert Claim.objects.get(pk=old.pk).release_reason == "api"  # an ended claim stays as it was
    assert Claim.objects.get(pk=kept.pk).released_at is None  # another task's claim stays live
    assert queue.release_live(task, "again", NOW) == []  # nothing live: nothing written


@pytest.mark.postgres  # SKIP LOCKED races; SQLite serialises writers (IMMEDIATE)
@pytest.mark.django_db(transaction=True)
def test_concurrent_agents_never_claim_the_same_task() -> None:
    """PostgreSQL: 8 agents in 8 threads (own connections) race for 5 pool tasks."""
    f.policy()
    a01 = f.branch("A01")
    agents = [f.agent_user(a01, username=f"race{i}", staff_id=f"R{i:02d}") for i in range(8)]
    tasks = [f.open_task(branch=a01, due=dt.date(2026, 10, 15 + i)) for i in range(5)]
    barrier = threading.Barrier(len(agents))
    got: dict[str, int | None] = {}
    errors: list[BaseException] = []

    def work(user: object) -> None:
        try:
            with audit_context("race"):
                actor = f.actor(user)  # type: ignore[arg-type]
                barrier.wait()
                task = queue.next_task(actor=actor)
                got[actor.name] = task.pk if task else None
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(u,)) for u in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    claimed = [pk for pk in got.values() if pk is not None]
    assert len(got) == 8
    assert sorted(claimed) == sorted(t.pk for t in tasks)  # every task once, none twice
    assert Claim.objects.filter(released_at__isnull=True).count() == 5
    for task in Task.objects.filter(pk__in=claimed):
        holder = Claim.objects.get(task=task, released_at__isnull=True).staff_id
        assert task.assignee_id == holder
    assert TaskEvent.objects.filter(event="assigned").count() == 5


# --- release and reassign -------------------------------------------------------------------


@pytest.mark.django_db
def test_release_by_the_holder_or_a_supervisor_only(w: SimpleNamespace) -> None:
    task = f.open_task(branch=w.a01, assignee=w.agent1)
    f.claim(task, w.agent1)
    with pytest.raises(WorkbenchRefused) as refused:
        queue.release(task=task, actor=f.actor(w.agent2), reason="x")
    assert refused.value.code == "not_holder"
    with pytest.raises(WorkbenchRefused) as refused:
        queue.release(task=task, actor=f.actor(w.ops_b), reason="x")
    assert refused.value.code == "not_found" and refused.value.status == 404
    assert live_claims(task) == ["S01"]
    claim = queue.release(task=task, actor=f.actor(w.ops), reason="stuck")
    assert claim is not None and claim.release_reason == "stuck" and claim.released_at == NOW
    assert live_claims(task) == []
    assert (
        AuditEvent.objects.filter(action="workbench.release", object_id=str(task.pk)).count() == 1
    )
    assert queue.release(task=task, actor=f.actor(w.agent1)) is None  # nothing held: no-op


@pytest.mark.django_db
def test_reassign_moves_the_task_and_frees_its_claim(w: SimpleNamespace) -> None:
    task = f.open_task(branch=w.a01, assignee=w.agent1)
    Task.objects.filter(pk=task.pk).update(status="in_progress")
    f.claim(task, w.agent1)
    with pytest.raises(WorkbenchRefused) as refused:
        queue.reassign(task=task, to_staff=w.agent2.staff, actor=f.actor(w.agent1))
    assert refused.value.code == "forbidden"
    with pytest.raises(WorkbenchRefused) as refused:
        queue.reassign(task=task, to_staff=w.agent2.staff, actor=f.actor(w.ops_b))
    assert refused.value.code == "not_found"
    with pytest.raises(WorkbenchRefused) as refused:  # CON-6: a B01 agent for an A01 task
        queue.reassign(task=task, to_staff=w.agent_b.staff, actor=f.actor(w.ops))
    assert refused.value.code == "wrong_level"
    assert live_claims(task) == ["S01"]
    moved = queue.reassign(task=task, to_staff=w.agent2.staff, actor=f.actor(w.ops))
    assert moved.assignee_id == "S02" and moved.status == "in_progress"
    assert live_claims(task) == []
    assert Claim.objects.get(task=task).release_reason == "reassigned"
    audit = AuditEvent.objects.get(action="workbench.reassign", object_id=str(task.pk))
    assert audit.before["assignee"] == "S01" and audit.after["assignee"] == "S02"
    assert nxt(w.agent2) == moved and nxt(w.agent1) is None


# --- scale ----------------------------------------------------------------------------------


@pytest.mark.postgres  # PostgreSQL query plans
@pytest.mark.django_db
def test_an_agents_own_tasks_are_read_off_the_queue_index_in_urgency_order(
    w: SimpleNamespace,
) -> None:
    """30 agents, 30,000 assigned tasks (1,000 each, some overdue): next task's statement reads
    the top of his list off ``task_queue_order`` in urgency order — no table scan, no sort of
    his tasks — and locks the most urgent free one."""
    from huifang.org.tests.factories import StaffFactory

    staff = [StaffFactory(staff_id=f"X{i:03d}", unit=w.a01) for i in range(30)]
    Task.objects.bulk_create(
        [
            Task(client_id=f"C{i:07d}", branch_id="A01", level="branch", kind="compliance",
                 status="assigned" if i % 3 else "in_progress", assignee=staff[i % 30],
                 due_date=dt.date(2026, 10, 15) + dt.timedelta(days=(i * 7919) % 60),
                 overdue_since=dt.date(2026, 10, 13) if i % 97 == 0 else None,
                 created_on=f.DAY, quarter="2026-Q4")
            for i in range(30_000)
        ],
        batch_size=5000,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE callbacks_task")
    own = queue.own_candidates(staff[7], NOW)
    mine = Task.objects.filter(assignee=staff[7]).values_list("overdue_since", "due_date", "id")
    urgent = [t[2] for t in sorted(mine, key=lambda t: (t[0] is None, t[1], t[2]))]
    with transaction.atomic():
        # the statement next_task runs: the first free row, locked, with its client joined;
        # again with the ids a lost race excluded; as planned for these values and as the one
        # generic plan PostgreSQL keeps for a statement prepared on the server (the statuses
        # are in the text, so that plan still proves the index's predicate)
        for tried in ([], urgent[:3]):
            for plan in _own_next_plans(staff[7], tried):
                assert "Seq Scan on callbacks_task" not in plan, plan
                assert "task_queue_order" in plan and "Sort" not in plan, plan
            task = queue._lock_first(staff[7], NOW, tried)
            assert task is not None and task.pk == urgent[len(tried)]
    top = list(own.values_list("id", flat=True)[: queue.CANDIDATES])
    assert top == urgent[: queue.CANDIDATES]


def _own_next_plans(staff: object, tried: list[int]) -> list[str]:
    """EXPLAIN of next task's statement: the custom plan for these values, then the generic
    plan of the statement prepared with ``$n`` parameters."""
    sql = queue._own_next_sql(connection.vendor, len(tried))
    params = queue._own_next_params(staff, NOW, tried)  # type: ignore[arg-type]
    numbered = sql
    for n in range(1, len(params) + 1):
        numbered = numbered.replace("%s", f"${n}", 1)
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE own_next AS {numbered}")
        marks = ", ".join(["%s"] * len(params))
        cursor.execute(f"EXPLAIN EXECUTE own_next ({marks})", params)
        plans.append("\n".join(row[0] for row in cursor.fetchall()))
        cursor.execute("DEALLOCATE own_next")
        cursor.execute("RESET plan_cache_mode")
    return plans


@pytest.mark.django_db
def test_take_holds_a_chosen_task_of_his_own_list_under_the_same_gates(w: SimpleNamespace) -> None:
    """An agent may take a specific task of his own (a booked time), never someone else's."""
    urgent = f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 15))
    chosen = f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 30))
    theirs = f.open_task(branch=w.a01, assignee=w.agent2)
    cooling = f.open_task(branch=w.a01, assignee=w.agent1, opens_at=NOW + dt.timedelta(hours=2))

    def refused(task: Task, user: object) -> str:
        with pytest.raises(WorkbenchRefused) as error:
            queue.take(task=task, actor=f.actor(user))  # type: ignore[arg-type]
        return error.value.code

    assert refused(theirs, w.agent1) == "not_holder"
    assert refused(cooling, w.agent1) == "cooling_off"
    assert queue.take(task=chosen, actor=f.actor(w.agent1)) == chosen
    assert live_claims(chosen) == ["S01"] and live_claims(urgent) == []
    assert refused(urgent, w.agent1) == "wrong_state"  # one task at a time
    queue.reassign(task=chosen, to_staff=w.agent2.staff, actor=f.actor(w.ops))
    assert queue.take(task=chosen, actor=f.actor(w.agent2)) == chosen
    with clock.frozen(NOW.replace(hour=21)):
        assert refused(urgent, w.agent1) == "call_hours"


@pytest.mark.django_db
def test_a_task_he_signed_does_not_come_back_while_it_waits_for_the_leader(
    w: SimpleNamespace,
) -> None:
    """EXE-5: after the agent's signature the task stays in progress for the leader, but it is
    no longer his to call: the queue moves on and a further try is refused (``signed``)."""
    from huifang.workbench import attempts
    from huifang.workbench.models import Record

    signed = f.connected_task(w.agent1, record=True, due=dt.date(2026, 10, 15))
    Record.objects.filter(task=signed).update(status="agent_signed")
    queue.release(task=signed, actor=f.actor(w.agent1))
    later = f.open_task(branch=w.a01, assignee=w.agent1, due=dt.date(2026, 10, 30))
    assert nxt(w.agent1) == later
    f.claim(signed, w.agent1.staff)  # even holding it, he may not call again
    with pytest.raises(WorkbenchRefused) as error:
        attempts.log_attempt(
            task=signed, actor=f.actor(w.agent1), method="phone", outcome="connected"
        )
    assert error.value.code == "signed"
