"""MRG-8 supervisor plans: the service staff to rate and a sample of each one's margin clients;
the scorecards (REV-5) from the signed F-MRG records' section 三 scores (002 §16–17)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from huifang.core import clock
from huifang.orders import selectors, services
from huifang.orders.models import Order, OrderTarget
from huifang.orders.services import OrderRefused
from huifang.orders.tests.factories import clients, dept_user, draft
from huifang.org.choices import Position
from huifang.org.tests.factories import StaffFactory, UnitFactory
from huifang.workbench import questionnaires
from huifang.workbench.models import Finding, Record, Section
from huifang.workbench.tests.factories import open_task

pytestmark = pytest.mark.django_db
START, END = dt.date(2026, 10, 1), dt.date(2026, 10, 31)


@pytest.fixture
def branch_a() -> dict[str, Any]:
    unit = UnitFactory(code="MA01")
    service = [StaffFactory(unit=unit, position=Position.SERVICE) for _ in range(2)]
    margin = clients(unit, 6, has_margin_account=True)
    margin += clients(unit, 2, credit_open_date=dt.date(2025, 5, 6))
    clients(unit, 3)  # no credit account
    served = margin[:3]
    for client in served:  # MRG-7 service callbacks of the first service staff member
        open_task(client=client, purposes=("MRG-7",), kind="service", assignee=service[0])
    return {"unit": unit, "service": service, "margin": margin, "served": served}


def plan(user: Any, staff: list[Any], per_staff: int = 2) -> Order:
    order = draft(user, rule_code="MRG-8", title="四季度督导回访")
    services.order_staff_plan(
        user=user, order=order, staff_ids=[s.staff_id for s in staff], per_staff=per_staff
    )
    return order


def test_each_service_staff_member_gets_a_sample_of_his_margin_clients(
    branch_a: dict[str, Any],
) -> None:
    user = dept_user()
    first, second = branch_a["service"]
    order = plan(user, [first, second])
    mine = {t.client_id for t in order.targets.filter(staff=first)}
    theirs = {t.client_id for t in order.targets.filter(staff=second)}
    assert len(mine) == len(theirs) == 2 and not mine & theirs
    assert mine <= {c.client_id for c in branch_a["served"]}  # his MRG-7 clients
    assert theirs <= {c.client_id for c in branch_a["margin"]}  # the branch's margin clients
    services.order_staff_plan(user=user, order=order, staff_ids=[first.staff_id,
                              second.staff_id], per_staff=2)  # fmt: skip
    assert {t.client_id for t in order.targets.all()} == mine | theirs  # the seed: the number


def test_only_active_service_staff_can_be_rated(branch_a: dict[str, Any]) -> None:
    user = dept_user()
    order = draft(user, rule_code="MRG-8")
    marketing = StaffFactory(unit=branch_a["unit"], position=Position.MARKETING)
    gone = StaffFactory(unit=branch_a["unit"], position=Position.SERVICE,
                        leave_date=dt.date(2026, 9, 30))  # fmt: skip
    with pytest.raises(OrderRefused) as refused:
        services.order_staff_plan(user=user, order=order, per_staff=2, staff_ids=[
            branch_a["service"][0].staff_id, marketing.staff_id, gone.staff_id, "E404"])  # fmt: skip
    assert len(refused.value.reasons) == 3
    assert not order.targets.exists()


def record_for(
    target: OrderTarget, *, score: Any, on: dt.date, status: str = "signed",
    findings: tuple[tuple[str, Any], ...] = (),
) -> Record:  # fmt: skip
    """A record of the target's task with its F-MRG section (and findings), then signed."""
    task, purpose = target.task, target.purpose
    assert task is not None and purpose is not None
    at = dt.datetime.combine(on, dt.time(16), tzinfo=clock.SHANGHAI)
    record = Record.objects.create(
        task=task, number=f"HF-M-{task.pk}", branch_id=task.branch_id, client=task.client,
        level=task.level, kind=task.kind, method="phone", callback_date=on,
        agent=StaffFactory(unit=task.branch), created_at=at,
    )  # fmt: skip
    answers = {} if score is None else {"service_staff_score": {"value": score}}
    Section.objects.create(record=record, purpose=purpose, answers=answers,
                           questionnaire=questionnaires.current("F-MRG"))  # fmt: skip
    for kind, about in findings:
        Finding.objects.create(record=record, purpose=about, kind=kind, category="service",
                               text="服务人员未及时告知追保", created_at=at)  # fmt: skip
    Record.objects.filter(pk=record.pk).update(
        status=status, leader_signed_at=None if status == "agent_signed" else at
    )
    return record


def test_scorecards_come_from_the_signed_f_mrg_records_of_the_period(
    branch_a: dict[str, Any],
) -> None:
    user = dept_user()
    first, second = branch_a["service"]
    other_unit = UnitFactory(code="MB01")
    elsewhere = StaffFactory(unit=other_unit, position=Position.SERVICE)
    clients(other_unit, 2, has_margin_account=True)
    order = plan(user, [first, second, elsewhere], per_staff=2)
    services.order_issue(user=user, order=order)
    mine = list(order.targets.filter(staff=first).order_by("id"))
    theirs = list(order.targets.filter(staff=second).order_by("id"))
    away = list(order.targets.filter(staff=elsewhere).order_by("id"))
    other = open_task(purposes=("MRG-5",)).purposes.get()
    problems = (("problem", mine[1].purpose), ("problem", other), ("need", None))
    record_for(mine[0], score=5, on=dt.date(2026, 10, 12), findings=(("need", None),))
    record_for(mine[1], score="2", on=dt.date(2026, 10, 13), findings=problems)
    record_for(theirs[0], score=4, on=dt.date(2026, 10, 12), status="agent_signed")  # not signed
    record_for(theirs[1], score=1, on=dt.date(2026, 11, 2))  # after the period
    record_for(away[0], score=None, on=dt.date(2026, 10, 12), status="archived")
    record_for(away[1], score=3, on=dt.date(2026, 10, 14), findings=(("problem", None),))

    cards = {card.staff_id: card for card in selectors.scorecards(START, END)}

    assert set(cards) == {first.staff_id, elsewhere.staff_id}
    card = cards[first.staff_id]
    assert (card.records, card.average_score, card.lowest_score, card.problems) == (2, 3.5, 2, 1)
    assert (card.staff_name, card.branch) == (first.name, "MA01")
    away_card = cards[elsewhere.staff_id]
    assert (away_card.records, away_card.average_score, away_card.lowest_score) == (2, 3.0, 3)
    assert away_card.problems == 1  # a problem of no particular purpose concerns the rating
    only_a = selectors.scorecards(START, END, frozenset({"MA01"}))
    assert [c.staff_id for c in only_a] == [first.staff_id]
    assert selectors.scorecards(START, END, frozenset()) == []
