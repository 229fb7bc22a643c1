"""The callback queue (SPEC EXE-3, CON-1, CON-2, CON-5, CON-6): who works which task now.

``next_task`` hands an agent one task at a time and holds it for him with a ``Claim``:
his live claim if he has one, else the most urgent task he may work — his own
assigned or in-progress tasks first, then the open unassigned tasks of his pool,
assigned to him through ``callbacks.services.task_assign`` (so recusal, CON-1,
independence, CON-2, and the level, CON-6, refuse whatever the caller, and the
recusal proof is kept). A task closed by a cooling-off (``opens_at``, PROD-*) or
waiting for its retry (``retry_after``, EXE-3) is skipped.

Two agents never get the same task: on PostgreSQL the candidate row is locked with
``SELECT … FOR UPDATE SKIP LOCKED`` inside the transaction (a row another agent is
claiming is skipped, never waited for); on SQLite every transaction is IMMEDIATE,
so claims serialise. The partial unique index ``one_live_claim_per_task`` refuses a
second live claim in any case: the claim's ``INSERT … ON CONFLICT … DO NOTHING`` then
writes nothing and the next candidate is tried.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from huifang.audit.services import audit_record
from huifang.callbacks.choices import OPEN_STATUSES, Level, TaskKind, TaskStatus
from huifang.callbacks.models import Task
from huifang.callbacks.services import AssignmentRefused, Constraints, task_assign
from huifang.clients.models import Client
from huifang.core import clock, joined, scope, tx
from huifang.org.choices import Position, UnitKind
from huifang.org.models import Staff
from huifang.policy.selectors import version_in_force
from huifang.workbench import access, params
from huifang.workbench.actors import Actor
from huifang.workbench.choices import RecordStatus
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Claim, Record

# How many candidates one ``next_task`` looks at per source (bounded on 1,000,000 tasks).
CANDIDATES = 50
WORKING = (TaskStatus.ASSIGNED, TaskStatus.IN_PROGRESS)


# ---------------------------------------------------------------- checks


def in_call_hours(moment: dt.datetime) -> bool:
    """CON-5: ``moment`` (any zone) falls inside the call hours of its local day."""
    local = moment.astimezone(clock.SHANGHAI)
    start, end = params.call_hours(local.date())
    return start <= local.time().replace(tzinfo=None) < end


def require_call_hours(moment: dt.datetime | None = None) -> None:
    """Refuse (``call_hours``) outside the CON-5 call hours."""
    moment = moment or clock.now()
    if not in_call_hours(moment):
        local = moment.astimezone(clock.SHANGHAI)
        start, end = params.call_hours(local.date())
        raise WorkbenchRefused(
            "call_hours",
            _("仅可在 %(start)s–%(end)s 之间电话回访,当前时间 %(now)s (CON-5)")
            % {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}", "now": f"{local:%H:%M}"},
        )


def require_worker(actor: Actor) -> Staff:
    """Only agents (``access.WORKERS``) with a staff record work callbacks."""
    if not actor.has(*access.WORKERS):
        raise WorkbenchRefused("forbidden", _("只有回访专员可以领取和办理回访任务"), status=403)
    return actor.need_staff()


def require_visible(task: Task, actor: Actor) -> None:
    """A task outside the actor's data scope does not exist for him (404, SPEC §0)."""
    if scope.read_in_scope(task, actor.user):  # read through his scope in this request
        return
    if not Task.objects.visible_to(actor.user).filter(pk=task.pk).exists():
        raise WorkbenchRefused("not_found", _("回访任务不存在"), status=404)


def live_claims(task: Task | int | OuterRef, staff: Staff | None = None) -> QuerySet[Claim]:
    """The live (unreleased) claims of ``task`` (a task, its id, or ``OuterRef("pk")`` in a
    sub-query), only ``staff``'s if given."""
    task_ref: Any = task.pk if isinstance(task, Task) else task
    claims = Claim.objects.filter(task_id=task_ref, released_at__isnull=True)
    return claims.filter(staff=staff) if staff is not None else claims


def live_claim(task: Task | int) -> Claim | None:
    """The task's live claim, if any."""
    return live_claims(task).first()


def holds(staff: Staff | None, task: Task | int) -> bool:
    """``staff`` holds a live claim of ``task``."""
    return staff is not None and live_claims(task, staff).exists()


def works_on(staff: Staff, task: Task) -> bool:
    """``staff`` works the task: its assignee, or the holder of a live claim (after a reassignment
    the draft is worked by whoever holds it now)."""
    return task.assignee_id == staff.pk or holds(staff, task)


def release_live(task: Task | int, reason: str, when: dt.datetime | None = None) -> list[int]:
    """Release every live claim of ``task`` (no audit: the caller's audit row names it); their
    ids. One ``UPDATE … RETURNING`` (PostgreSQL, SQLite ≥ 3.35); the unique index
    ``one_live_claim_per_task`` leaves at most one, so the ids need no order."""
    released_at = Claim._meta.get_field("released_at")
    values = [
        released_at.get_db_prep_save(when or clock.now(), connection),
        reason[:32],
        task.pk if isinstance(task, Task) else task,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_release_sql(connection.vendor), values)
        return sorted((row[0] for row in cursor.fetchall()), reverse=True)


@functools.cache
def _release_sql(vendor: str) -> str:
    c = Claim
    return (
        f"UPDATE {joined.table(c)} SET {joined.column(c, 'released_at')} = %s, "
        f"{joined.column(c, 'release_reason')} = %s "
        f"WHERE {joined.column(c, 'task')} = %s AND {joined.column(c, 'released_at')} IS NULL "
        f"RETURNING {joined.column(c, 'id')}"
    )


# ---------------------------------------------------------------- next task


def _eligible(now: dt.datetime) -> Any:
    """Open to a try now: cooling-off over (PROD-*), retry time reached (EXE-3), nobody holds it."""
    return (
        (Q(opens_at__isnull=True) | Q(opens_at__lte=now))
        & (Q(retry_after__isnull=True) | Q(retry_after__lte=now))
        & ~Exists(live_claims(OuterRef("pk")))
    )


def signed_records() -> QuerySet[Any]:
    return Record.objects.filter(task=OuterRef("pk")).exclude(status=RecordStatus.DRAFT)


def _urgent_first(qs: QuerySet[Task]) -> QuerySet[Task]:
    """Overdue first (``overdue_since`` set), then due date, then id."""
    late = ExpressionWrapper(Q(overdue_since__isnull=True), output_field=BooleanField())
    return qs.annotate(_not_late=late).order_by("_not_late", "due_date", "id")


def own_candidates(staff: Staff, now: dt.datetime) -> QuerySet[Task]:
    """His assigned or in-progress tasks he may try now, most urgent first (read in that order
    off the index ``task_queue_order``)."""
    return _urgent_first(
        Task.objects.filter(assignee=staff, status__in=WORKING)
        .filter(_eligible(now))
        .exclude(Exists(signed_records()))  # signed by him: waiting for the leader (EXE-5)
    )


def pool_candidates(
    staff: Staff, actor: Actor, now: dt.datetime, rules: Constraints
) -> QuerySet[Task]:
    """Open unassigned tasks of his pool (CON-6 level and unit, kind by position), urgent first.

    Tasks of clients he introduced, brokers or serves (the policy's CON-1 relations) or
    that target him are left out here already; ``task_assign`` checks again.
    """
    kind = TaskKind.SERVICE if staff.position == Position.SERVICE else TaskKind.COMPLIANCE
    qs = Task.objects.visible_to(actor.user).filter(
        status=TaskStatus.OPEN, assignee__isnull=True, kind=kind
    )
    if staff.unit.unit_kind == UnitKind.CALL_CENTER:
        qs = qs.filter(level=Level.COMPANY)
    else:
        qs = qs.filter(level=Level.BRANCH, branch_id=staff.unit_id)
    for relation in rules.recusal.relations:
        if relation in {"introducer", "broker", "adviser"}:
            qs = qs.exclude(**{f"client__{relation}_id": staff.pk})
    if staff.client_id:
        qs = qs.exclude(client_id=staff.client_id)
    qs = qs.exclude(target_staff_id=staff.pk)
    return _urgent_first(qs.filter(_eligible(now)))


_OWN_NEXT = joined.Joined(((Task, "t"), (Client, "c")))


@functools.cache
def _own_next_sql(vendor: str, tried: int) -> str:
    """``own_candidates`` as one hand-written statement: the first row, its client joined
    (``select_related``), locked ``FOR UPDATE OF t SKIP LOCKED`` on PostgreSQL (SQLite's
    transactions are IMMEDIATE), leaving out ``tried`` ids. The ORM compiled this queryset
    anew on every "next task" (about 1.9 ms, issue 7); a test holds both to the same answers.
    Its ORDER BY is the index ``task_queue_order``'s key, so PostgreSQL reads the index in
    order and stops at the first free row. The statuses are written into the statement, not
    bound: a plan PostgreSQL prepares once must still prove the index's ``status IN
    ('assigned', 'in_progress')``."""
    t, col = Task, functools.partial(joined.column, Task)
    working = ", ".join(_literal(s) for s in WORKING)
    claim, record = Claim, Record
    not_tried = f" AND t.{col('id')} NOT IN ({', '.join(['%s'] * tried)})" if tried else ""
    lock = " FOR UPDATE OF t SKIP LOCKED" if vendor == "postgresql" else ""
    return (
        f"SELECT {_OWN_NEXT.columns()} FROM {joined.table(t)} t "
        f"LEFT JOIN {joined.table(Client)} c "
        f"ON c.{joined.column(Client, 'client_id')} = t.{col('client')} "
        f"WHERE t.{col('assignee')} = %s AND t.{col('status')} IN ({working}) "
        f"AND (t.{col('opens_at')} IS NULL OR t.{col('opens_at')} <= %s) "
        f"AND (t.{col('retry_after')} IS NULL OR t.{col('retry_after')} <= %s) "
        f"AND NOT EXISTS (SELECT 1 FROM {joined.table(claim)} h "
        f"WHERE h.{joined.column(claim, 'task')} = t.{col('id')} "
        f"AND h.{joined.column(claim, 'released_at')} IS NULL) "
        f"AND NOT EXISTS (SELECT 1 FROM {joined.table(record)} r "
        f"WHERE r.{joined.column(record, 'task')} = t.{col('id')} "
        f"AND r.{joined.column(record, 'status')} <> {_literal(RecordStatus.DRAFT)})"
        f"{not_tried} "
        f"ORDER BY t.{col('overdue_since')} IS NULL, t.{col('due_date')}, t.{col('id')} "
        f"LIMIT 1{lock}"
    )


def _literal(choice: str) -> str:
    """A choice's value as an SQL string literal (our own constants: letters and ``_`` only)."""
    value = str(getattr(choice, "value", choice))
    if not value.replace("_", "").isalpha() or not value.isascii():
        raise ValueError(f"not a plain choice value: {value!r}")
    return f"'{value}'"


def _own_next_params(staff: Staff, now: dt.datetime, tried: list[int]) -> list[Any]:
    moment = Task._meta.get_field("opens_at").get_db_prep_value(now, connection)
    return [staff.pk, moment, moment, *tried]


def _lock_first(staff: Staff, now: dt.datetime, tried: list[int]) -> Task | None:
    """His most urgent task of ``own_candidates`` that no other transaction has locked and
    that is not in ``tried``, locked, with its client."""
    with connection.cursor() as cursor:
        cursor.execute(
            _own_next_sql(connection.vendor, len(tried)), _own_next_params(staff, now, tried)
        )
        row = cursor.fetchone()
    if row is None:
        return None
    task, client = _OWN_NEXT.instances(row)
    assert isinstance(task, Task)
    joined.relate(task, client=client)
    return task


def _lock(task_id: int, base: QuerySet[Task]) -> Task | None:
    """Lock one candidate, still matching ``base``; ``None`` if another agent holds the row now."""
    return (
        base.filter(pk=task_id)
        .select_for_update(skip_locked=True, of=("self",))
        .select_related("client")
        .first()
    )


_CLAIM_FIELDS = [f for f in Claim._meta.concrete_fields if not f.primary_key]


@functools.cache
def _claim_sql(vendor: str) -> str:
    columns = ", ".join(joined.column(Claim, f.name) for f in _CLAIM_FIELDS)
    marks = ", ".join(["%s"] * len(_CLAIM_FIELDS))
    return (
        f"INSERT INTO {joined.table(Claim)} ({columns}) VALUES ({marks}) "
        f"ON CONFLICT ({joined.column(Claim, 'task')}) WHERE {joined.column(Claim, 'released_at')} "
        f"IS NULL DO NOTHING RETURNING {joined.column(Claim, 'id')}"
    )


def _claim(task: Task, staff: Staff, now: dt.datetime) -> Claim | None:
    """The claim row, or ``None`` when the unique index says someone holds the task already:
    ``INSERT … ON CONFLICT (task) WHERE released_at IS NULL DO NOTHING`` (the partial index
    ``one_live_claim_per_task``; any other constraint still fails), on PostgreSQL and SQLite
    (≥ 3.35 for RETURNING) alike, so the refusal needs no savepoint to roll back to."""
    claim = Claim(task=task, staff=staff, claimed_at=now, released_at=None, release_reason="")
    fields = _CLAIM_FIELDS
    values = [f.get_db_prep_save(getattr(claim, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(connection.vendor), values)
        row = cursor.fetchone()
    if row is None:
        return None
    claim.pk = row[0]
    claim._state.adding, claim._state.db = False, connection.alias
    return claim


def next_task(*, actor: Actor) -> Task | None:
    """EXE-3: the task the agent works now, held for him by a claim; ``None`` when nothing is due.

    Refused outside the CON-5 call hours (``call_hours``) and for anyone but an agent
    with a staff record. Claiming leaves the status ``assigned``: the first connected
    attempt makes the task ``in_progress``.
    """
    staff = require_worker(actor)
    now = clock.now()
    require_call_hours(now)
    held = (
        Claim.objects.filter(staff=staff, released_at__isnull=True)
        .select_related("task")
        .order_by("claimed_at", "id")
        .first()
    )
    if held is not None and held.task.status in OPEN_STATUSES:
        return held.task
    rules = Constraints.of(version_in_force(on=now.date()))
    with tx.atomic():
        if held is not None:  # a claim left on a closed task: free it
            release_live(held.task_id, "closed", now)
        # his most urgent eligible task nobody else is locking, locked in the statement that
        # finds it: read off the index ``task_queue_order`` in urgency order (SKIP LOCKED passes
        # a row another agent holds), so no statement sorts his thousands of tasks
        tried: list[int] = []
        for _attempt in range(CANDIDATES):
            task = _lock_first(staff, now, tried)
            if task is None:
                break
            claim = _claim(task, staff, now)
            if claim is not None:
                _audit_claim(task, staff, claim, source="own")
                return task
            tried.append(task.pk)  # claimed meanwhile by someone else: the next one
        # the pool: the candidates' ids first (a top-N sort of narrow rows), then each row
        # locked on its own (no index orders a pool's open tasks)
        pool = pool_candidates(staff, actor, now, rules)
        for task_id in list(pool.values_list("id", flat=True)[:CANDIDATES]):
            task = _lock(task_id, pool)
            if task is None:
                continue
            try:
                with transaction.atomic():
                    task_assign(task=task, agent=staff, actor=actor.name)
                    claim = _claim(task, staff, now)
                    if claim is None:
                        raise _Taken
            except (AssignmentRefused, _Taken):
                continue
            task.refresh_from_db()
            _audit_claim(task, staff, claim, source="pool")
            return task
    return None


def take(*, task: Task, actor: Actor) -> Task:
    """Hold one task of the agent's own list now (the client called back, a booked time).

    The same gates as ``next_task`` (agent with staff, CON-5 hours, cooling-off,
    retry time, nobody else holding it) and the task must be assigned to him; he may
    hold one task at a time (``wrong_state`` while another is held).
    """
    staff = require_worker(actor)
    require_visible(task, actor)
    now = clock.now()
    require_call_hours(now)
    if holds(staff, task):
        return task
    if Claim.objects.filter(
        staff=staff, released_at__isnull=True, task__status__in=OPEN_STATUSES
    ).exists():
        raise WorkbenchRefused("wrong_state", _("您正在办理另一个任务,请先完成或释放该任务"))
    if task.assignee_id != staff.pk or task.status not in WORKING:
        raise WorkbenchRefused("not_holder", _("只能领取分配给您本人的未完成任务"))
    with tx.atomic():
        for stale in Claim.objects.filter(staff=staff, released_at__isnull=True):  # closed tasks
            release_live(stale.task_id, "closed", now)
        locked = _lock(task.pk, own_candidates(staff, now))
        if locked is None:
            if task.opens_at is not None and task.opens_at > now:
                raise WorkbenchRefused("cooling_off", _("冷静期未满,暂不能回访 (PROD-*)"))
            if task.retry_after is not None and task.retry_after > now:
                raise WorkbenchRefused("wrong_state", _("约定的再次回访时间未到"))
            raise WorkbenchRefused("taken", _("该任务正由他人办理"))
        claim = _claim(locked, staff, now)
        if claim is None:
            raise WorkbenchRefused("taken", _("该任务正由他人办理"))
        _audit_claim(locked, staff, claim, source="take")
    return locked


class _Taken(Exception):
    """The claim index refused: roll the assignment back and try the next candidate."""


def _audit_claim(task: Task, staff: Staff, claim: Claim, *, source: str) -> None:
    audit_record(
        action="workbench.claim", object_type="callbacks.Task", object_id=str(task.pk),
        branch_code=task.branch_id,
        after={"claim": claim.pk, "staff": staff.pk, "source": source, "status": task.status},
    )  # fmt: skip


# ---------------------------------------------------------------- release, reassign


def release(*, task: Task, actor: Actor, reason: str = "released") -> Claim | None:
    """Give a held task back to the queue: by its holder, or by a supervisor in scope.

    Returns the released claim; ``None`` (nothing written) when nobody holds the task.
    """
    require_visible(task, actor)
    claim = live_claim(task)
    if claim is None:
        return None
    mine = actor.staff is not None and claim.staff_id == actor.staff.pk
    if not mine and not actor.has(*access.SUPERVISORS):
        raise WorkbenchRefused("not_holder", _("该任务不由您领取,不能释放"))
    now = clock.now()
    with tx.atomic():
        ids = release_live(task, reason or "released", now)
        audit_record(
            action="workbench.release", object_type="callbacks.Task", object_id=str(task.pk),
            branch_code=task.branch_id, before={"claims": ids, "staff": claim.staff_id},
            after={"released_at": now.isoformat(), "reason": reason},
        )  # fmt: skip
    claim.refresh_from_db()
    return claim


_REFUSAL_CODES = (
    ("CON-1", "recused", "回访人员与客户或回访对象存在关联关系,须回避 (CON-1)"),
    ("CON-2", "marketing_sequence", "营销序列或客户服务人员不得办理该回访 (CON-2)"),
    ("CON-6", "wrong_level", "回访人员所属机构与任务级别不符 (CON-6)"),
    ("pool", "wrong_position", "回访人员岗位与任务类型不符"),
    ("staff left", "staff_left", "回访人员已离职"),
)


def refusal_of(exc: AssignmentRefused) -> WorkbenchRefused:
    """A ``task_assign`` refusal as the workbench's: the first rule's code, a sentence per reason."""
    codes: list[str] = []
    reasons: list[str] = []
    for raw in exc.reasons:
        for prefix, code, sentence in _REFUSAL_CODES:
            if raw.startswith(prefix):
                codes.append(code)
                reasons.append(f"{_(sentence)}: {raw}")
                break
        else:
            codes.append("not_eligible")
            reasons.append(raw)
    return WorkbenchRefused(codes[0] if codes else "not_eligible", *reasons)


def reassign(*, task: Task, to_staff: Staff, actor: Actor) -> Task:
    """A supervisor (``access.SUPERVISORS``) in scope gives the task to another staff member.

    ``task_assign`` refuses recusal (CON-1), independence (CON-2) and the wrong unit
    (CON-6) as ``recused`` / ``marketing_sequence`` / ``wrong_level``; live claims are
    released; an in-progress task stays in progress. Audited.
    """
    if not actor.has(*access.SUPERVISORS):
        raise WorkbenchRefused(
            "forbidden", _("只有营运总监或总部客户服务中心可以改派任务"), status=403
        )
    require_visible(task, actor)
    task.refresh_from_db()
    if task.status not in OPEN_STATUSES:
        raise WorkbenchRefused("wrong_state", _("任务已结束,不能改派"))
    before: dict[str, Any] = {"assignee": task.assignee_id, "status": task.status}
    now = clock.now()
    with tx.atomic():
        try:
            task_assign(task=task, agent=to_staff, actor=actor.name)
        except AssignmentRefused as exc:
            raise refusal_of(exc) from exc
        if before["status"] == TaskStatus.IN_PROGRESS:
            Task.objects.filter(pk=task.pk).update(status=TaskStatus.IN_PROGRESS)
        released = release_live(task, "reassigned", now)
        task.refresh_from_db()
        audit_record(
            action="workbench.reassign", object_type="callbacks.Task", object_id=str(task.pk),
            branch_code=task.branch_id, before=before,
            after={"assignee": to_staff.pk, "status": task.status, "claims_released": released},
        )  # fmt: skip
    return task
