"""REV-1, REV-2, EXE-3: the reproducible review draw, the reviewer's queue, decisions, closures."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import override_settings

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Task
from huifang.clients.tests.factories import ClientFactory
from huifang.core import clock
from huifang.org.choices import Position
from huifang.org.tests.factories import RegionFactory, StaffFactory, UnitFactory
from huifang.policy.services import policy_default_ensure
from huifang.workbench import review as rv
from huifang.workbench.actors import actor_of
from huifang.workbench.errors import WorkbenchRefused
from huifang.workbench.models import Claim, Finding, Record, Review

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 10, 12)
NOW = dt.datetime(2026, 10, 14, 10, 0, tzinfo=clock.SHANGHAI)


@pytest.fixture
def w(db: None) -> Any:
    policy_default_ensure()
    r1, r2 = RegionFactory(code="R1"), RegionFactory(code="R2")
    a01 = UnitFactory(code="A01", region=r1)
    b01 = UnitFactory(code="B01", region=r2)

    def person(
        staff_id: str, unit: Any, position: str, role: str, *, all_scope: bool = False
    ) -> Any:
        staff = StaffFactory(staff_id=staff_id, unit=unit, position=position)
        user = user_with_role(
            role, unit=None if all_scope else unit, username=staff_id.lower(), staff=staff
        )
        return SimpleNamespace(staff=staff, user=user, actor=actor_of(user))

    with clock.frozen(NOW):
        yield SimpleNamespace(
            a01=a01,
            b01=b01,
            agent=person("S01", a01, Position.AGENT, Role.AGENT),
            leader=person("S02", a01, Position.OPS, Role.BRANCH_OPS),
            reviewer=person("S03", a01, Position.OPS, Role.REVIEWER),
            reviewer_b=person("S04", b01, Position.OPS, Role.REVIEWER),
            hq=person("S05", a01, Position.OTHER, Role.HQ_SERVICE, all_scope=True),
        )


_seq = iter(range(1, 10**6))


def _task(w: Any, *, unit: Any = None, status: str = "signed", level: str = "branch") -> Task:
    unit = unit or w.a01
    return Task.objects.create(
        client=ClientFactory(branch=unit), branch_id=unit.pk, level=level, kind="compliance",
        status=status, due_date=DAY, created_on=DAY, quarter="2026-Q4", assignee=w.agent.staff,
    )  # fmt: skip


def _record(w: Any, *, number: str | None = None, unit: Any = None, level: str = "branch",
            banned: list[str] | None = None, problem: bool = False, day: dt.date = DAY,
            agent: Any = None, leader: Any = None, status: str = "signed") -> Record:  # fmt: skip
    """A record made as a draft (findings may only be added then), then signed (EXE-5 triggers)."""
    task = _task(w, unit=unit, level=level)
    record = Record.objects.create(
        task=task, number=number or f"HF{day:%Y%m%d}{task.pk:08d}", branch_id=task.branch_id,
        client=task.client, level=level, kind="compliance", method="phone", status="draft",
        callback_date=day, banned_phrases=banned or [], agent=agent or w.agent.staff,
        leader=leader or w.leader.staff, leader_role="branch_ops", leader_signed_at=NOW, created_at=NOW,
    )  # fmt: skip
    if problem:
        Finding.objects.create(
            record=record,
            kind="problem",
            category="staff_conduct",
            text="营销人员承诺收益",
            created_at=NOW,
        )
    Record.objects.filter(pk=record.pk).update(status=status)
    record.refresh_from_db()
    return record


def _independent(prefix: str, branch: str, month: str, number: str, share: float) -> bool:
    digest = hashlib.sha256(f"{prefix}|{branch}|{month}|{number}".encode()).hexdigest()
    return int(digest[:15], 16) / 16**15 < share


def _review(w: Any, record: Record, reason: str = "problem", level: str = "branch") -> Review:
    return Review.objects.create(
        task_id=record.task_id, record=record, branch_id=record.branch_id, level=level,
        reason=reason, drawn_on=DAY,
    )  # fmt: skip


# --- the draw ----------------------------------------------------------------------------------


def test_sample_is_reproducible_by_an_independent_sha256(w: Any) -> None:
    records = [_record(w, number=f"HF20261012{n:08d}") for n in range(1, 61)]
    for record in records:
        rv.draw_for(record)
    drawn = set(Review.objects.filter(reason="sample").values_list("record__number", flat=True))
    expected = {
        r.number for r in records if _independent("REV-1", "A01", "2026-10", r.number, 0.10)
    }
    assert len(expected) == 7  # these 60 numbers: 7 below 10 %
    assert drawn == expected
    for review in Review.objects.filter(reason="sample"):
        assert (
            review.draw_key
            == hashlib.sha256(f"REV-1|A01|2026-10|{review.record.number}".encode()).hexdigest()
        )
    company = set(
        Review.objects.filter(reason="company_spot_check").values_list("record__number", flat=True)
    )
    expected_company = {
        r.number for r in records if _independent("REV-2", "A01", "2026-10", r.number, 0.10)
    }
    assert company == expected_company and expected_company != expected
    assert set(
        Review.objects.filter(reason="company_spot_check").values_list("level", flat=True)
    ) <= {"company"}


def test_sample_share_is_about_ten_percent() -> None:
    hits = sum(
        rv.drawn(rv.draw_key("REV-1", Record(branch_id="A01", callback_date=DAY, number=f"HF{n:012d}")),
                 Decimal("0.10"))
        for n in range(5000)
    )  # fmt: skip
    assert 0.085 < hits / 5000 < 0.115


def test_share_parameter_is_honoured(w: Any) -> None:
    record = _record(w)
    with override_settings(HUIFANG_REVIEW_SHARE="1"):
        assert "sample" in [r.reason for r in rv.draw_for(record)]
    other = _record(w)
    with override_settings(HUIFANG_REVIEW_SHARE="0"):
        assert "sample" not in [r.reason for r in rv.draw_for(other)]


def test_problem_and_banned_phrase_records_are_always_drawn(w: Any) -> None:
    with override_settings(HUIFANG_REVIEW_SHARE="0"):
        problem = _record(w, problem=True)
        banned = _record(w, banned=["你有完没完?"])
        plain = _record(w)
        assert [r.reason for r in rv.draw_for(problem) if r.level == "branch"] == ["problem"]
        assert [r.reason for r in rv.draw_for(banned) if r.level == "branch"] == ["banned_phrase"]
        assert [r.reason for r in rv.draw_for(plain) if r.level == "branch"] == []


def test_draw_is_idempotent_and_audited(w: Any) -> None:
    record = _record(w, problem=True)
    first = rv.draw_for(record)
    again = rv.draw_for(record)
    assert [r.pk for r in first] == [r.pk for r in again]
    assert Review.objects.filter(record=record).count() == len(first)
    assert (
        AuditEvent.objects.filter(action="workbench.review_draw", object_id=str(record.pk)).count()
        == 1
    )


def test_company_records_get_no_company_spot_check(w: Any) -> None:
    with override_settings(HUIFANG_REVIEW_SHARE="1"):
        records = [_record(w, level="company") for _ in range(30)]
        for record in records:
            reasons = {r.reason for r in rv.draw_for(record)}
            assert reasons == {"sample"}
    assert not Review.objects.filter(reason="company_spot_check").exists()


def test_unsigned_record_is_not_drawn(w: Any) -> None:
    record = _record(w, problem=True, status="agent_signed")
    assert rv.draw_for(record) == []


# --- queue and decisions ----------------------------------------------------------------------


def test_queue_by_scope_and_level(w: Any) -> None:
    record = _record(w, problem=True)
    branch_review = _review(w, record, "problem")
    company_review = _review(w, record, "company_spot_check", level="company")
    assert list(rv.queue(w.reviewer.actor)) == [branch_review]
    assert list(rv.queue(w.reviewer_b.actor)) == []  # other branch
    assert set(rv.queue(w.hq.actor)) == {branch_review, company_review}
    assert list(rv.queue(w.agent.actor)) == []  # not a reviewer


def test_reviewer_never_reviews_his_own_record(w: Any) -> None:
    # the reviewer signed this record as its leader (CON-1)
    record = _record(w, problem=True, leader=w.reviewer.staff)
    review = _review(w, record)
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide(review=review, actor=w.reviewer.actor, outcome="passed", findings="")
    assert refused.value.code == "own_record"
    assert list(rv.queue(w.reviewer.actor)) == []
    review.refresh_from_db()
    assert review.status == "pending"


def test_agent_reviewer_refused_on_his_own_record(w: Any) -> None:
    record = _record(w, agent=w.hq.staff)
    review = _review(w, record, "sample")
    with pytest.raises(WorkbenchRefused) as refused:
        rv.take(review=review, actor=w.hq.actor)
    assert refused.value.code == "own_record"


def test_reviewer_recused_from_his_client(w: Any) -> None:
    record = _record(w)
    record.client.introducer = w.reviewer.staff
    record.client.save(update_fields=["introducer"])
    review = _review(w, record, "sample")
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide(review=review, actor=w.reviewer.actor, outcome="passed")
    assert refused.value.code == "recused"


def test_non_reviewer_refused(w: Any) -> None:
    review = _review(w, _record(w))
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide(review=review, actor=w.leader.actor, outcome="passed")
    assert refused.value.code == "forbidden"
    assert refused.value.status == 403


def test_branch_reviewer_may_not_decide_company_spot_check(w: Any) -> None:
    review = _review(w, _record(w), "company_spot_check", level="company")
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide(review=review, actor=w.reviewer.actor, outcome="passed")
    assert refused.value.code == "forbidden"
    rv.decide(review=review, actor=w.hq.actor, outcome="passed")
    review.refresh_from_db()
    assert review.status == "passed"


def test_out_of_scope_review_is_404(w: Any) -> None:
    review = _review(w, _record(w))
    for action in (
        lambda: rv.take(review=review, actor=w.reviewer_b.actor),
        lambda: rv.decide(review=review, actor=w.reviewer_b.actor, outcome="passed"),
    ):
        with pytest.raises(WorkbenchRefused) as refused:
            action()
        assert refused.value.status == 404


def test_take_then_another_reviewer_is_refused(w: Any) -> None:
    other = StaffFactory(staff_id="S06", unit=w.a01, position=Position.OPS)
    other_actor = actor_of(user_with_role(Role.REVIEWER, unit=w.a01, username="s06", staff=other))
    review = _review(w, _record(w))
    rv.take(review=review, actor=w.reviewer.actor)
    review.refresh_from_db()
    assert review.reviewer_id == "S03"
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide(review=review, actor=other_actor, outcome="passed")
    assert refused.value.code == "taken"
    assert list(rv.queue(other_actor)) == []
    assert AuditEvent.objects.filter(
        action="workbench.review_take", object_id=str(review.pk)
    ).exists()


def test_all_passed_moves_the_task_to_reviewed(w: Any) -> None:
    record = _record(w, problem=True)
    first = _review(w, record, "problem")
    second = _review(w, record, "company_spot_check", level="company")
    rv.decide(review=first, actor=w.reviewer.actor, outcome="passed")
    assert Task.objects.get(pk=record.task_id).status == "signed"  # one still pending
    rv.decide(review=second, actor=w.hq.actor, outcome="passed")
    assert Task.objects.get(pk=record.task_id).status == "reviewed"
    event = AuditEvent.objects.filter(
        action="workbench.review_decide", object_id=str(second.pk)
    ).get()
    assert event.after["task_status"] == "reviewed"


def test_findings_go_back_to_the_agent_who_acknowledges(w: Any) -> None:
    record = _record(w, problem=True)
    review = _review(w, record)
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide(review=review, actor=w.reviewer.actor, outcome="findings", findings=" ")
    assert refused.value.code == "invalid"
    rv.decide(review=review, actor=w.reviewer.actor, outcome="findings", findings="未提示市场风险")
    assert Task.objects.get(pk=record.task_id).status == "signed"
    assert list(rv.for_agent(w.agent.actor)) == [review]
    assert list(rv.for_agent(w.reviewer.actor)) == []
    with pytest.raises(WorkbenchRefused) as refused:
        rv.acknowledge(review=review, actor=w.leader.actor)
    assert refused.value.code == "not_holder"
    rv.acknowledge(review=review, actor=w.agent.actor)
    review.refresh_from_db()
    assert review.acknowledged_at == NOW
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide(review=review, actor=w.reviewer.actor, outcome="passed")
    assert refused.value.code == "wrong_state"


def test_bad_outcome_refused(w: Any) -> None:
    review = _review(w, _record(w))
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide(review=review, actor=w.reviewer.actor, outcome="maybe")
    assert refused.value.code == "invalid"


# --- unreachable closures (EXE-3) ---------------------------------------------------------------


def _unreachable(w: Any) -> Review:
    task = _task(w, status="assigned")
    Claim.objects.create(task=task, staff=w.agent.staff, claimed_at=NOW)
    return Review.objects.create(
        task=task, branch_id=task.branch_id, level="branch", reason="unreachable", drawn_on=DAY
    )


def test_unreachable_approved_closes_the_task_and_releases_claims(w: Any) -> None:
    review = _unreachable(w)
    rv.decide_unreachable(review=review, actor=w.reviewer.actor, approve=True, note="")
    review.refresh_from_db()
    task = Task.objects.get(pk=review.task_id)
    assert (review.status, task.status) == ("approved", "unreachable")
    assert not Claim.objects.filter(task=task, released_at__isnull=True).exists()
    event = AuditEvent.objects.get(action="workbench.review_unreachable", object_id=str(review.pk))
    assert event.after["task_status"] == "unreachable"


def test_unreachable_rejected_goes_back_to_the_assignee(w: Any) -> None:
    review = _unreachable(w)
    Task.objects.filter(pk=review.task_id).update(status="in_progress")
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide_unreachable(review=review, actor=w.reviewer.actor, approve=False, note="")
    assert refused.value.code == "invalid"
    rv.decide_unreachable(review=review, actor=w.reviewer.actor, approve=False, note="请换时段再试")
    review.refresh_from_db()
    task = Task.objects.get(pk=review.task_id)
    assert (review.status, review.findings) == ("rejected", "请换时段再试")
    assert (task.status, task.assignee_id) == ("assigned", "S01")


def test_unreachable_refusals(w: Any) -> None:
    review = _unreachable(w)
    with pytest.raises(WorkbenchRefused) as refused:  # the asking agent is not his own reviewer
        Task.objects.filter(pk=review.task_id).update(assignee=w.reviewer.staff)
        rv.decide_unreachable(review=review, actor=w.reviewer.actor, approve=True)
    assert refused.value.code == "own_record"
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide(review=review, actor=w.hq.actor, outcome="passed")
    assert refused.value.code == "wrong_state"
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide_unreachable(review=review, actor=w.reviewer_b.actor, approve=True)
    assert refused.value.status == 404
    with pytest.raises(WorkbenchRefused) as refused:
        rv.decide_unreachable(review=_review(w, _record(w)), actor=w.hq.actor, approve=True)
    assert refused.value.code == "wrong_state"
    assert Task.objects.get(pk=review.task_id).status == "assigned"
