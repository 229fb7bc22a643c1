"""Orders' services: drafts, targets all or nothing, issuing one purpose per target (SPC-1,
PLAN-1, IB-1, MRG-8), CON-4 merge, idempotent re-issue, records due over the 2026 holidays."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from huifang.audit.models import AuditEvent
from huifang.callbacks.models import Purpose, Task
from huifang.classification.tests.factories import ClientClassFactory
from huifang.clients.choices import ClientStatus, ClientType
from huifang.orders import services
from huifang.orders.choices import OrderStatus
from huifang.orders.models import Order, OrderTarget
from huifang.orders.services import OrderRefused, TargetFilter
from huifang.orders.tests.factories import (
    END,
    branch_user,
    clients,
    csv_bytes,
    department,
    dept_user,
    draft,
    hq_user,
    upload,
    xlsx_bytes,
)
from huifang.org.tests.factories import UnitFactory
from huifang.workbench.tests.factories import open_task

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 10, 14)


def targets_of(order: Order) -> list[str]:
    return sorted(order.targets.values_list("client_id", flat=True))


# --- drafts ----------------------------------------------------------------------------------


def test_a_draft_gets_a_yearly_number_the_rules_level_and_form() -> None:
    user = dept_user()
    first, second = draft(user), draft(user, rule_code="IB-1")
    assert (first.number, second.number) == ("ZX2026-0001", "ZX2026-0002")
    assert (first.level, first.kind, first.questionnaire_code) == ("company", "compliance", "F3")
    assert (second.level, second.questionnaire_code) == ("company", "F-IB")
    assert draft(user, rule_code="MRG-8").questionnaire_code == "F-MRG"
    assert AuditEvent.objects.filter(action="orders.create", object_id=str(first.pk)).count() == 1


def test_spc_1_records_are_due_five_working_days_after_the_end_over_the_2026_holidays() -> None:
    """Ends Mon 28 Sept: 29, 30 Sept, then the National Day holiday 1–7 Oct, then 8, 9 Oct and
    Saturday 10 Oct, a make-up working day (调休) — the fifth working day is 10 Oct 2026."""
    user = dept_user()
    order = draft(user, start=dt.date(2026, 9, 1), end=dt.date(2026, 9, 28))
    assert order.records_due == dt.date(2026, 10, 10)
    # ends Wed 30 Sept: 8, 9, 10 (Sat, make-up day), 12, 13 Oct (Sun 11 Oct is a rest day)
    later = draft(user, start=dt.date(2026, 9, 1), end=dt.date(2026, 9, 30))
    assert later.records_due == dt.date(2026, 10, 13)
    plan = draft(user, rule_code="PLAN-1", end=dt.date(2026, 9, 28), start=dt.date(2026, 9, 1))
    assert plan.records_due == dt.date(2026, 9, 28)  # no records-back rule: the end date


def test_a_draft_is_refused_for_a_level_the_rule_does_not_have_or_reversed_dates() -> None:
    user = dept_user()
    with pytest.raises(OrderRefused) as refused:
        draft(user, rule_code="IB-1", level="branch")
    assert refused.value.code == "invalid"
    with pytest.raises(OrderRefused):
        draft(user, start=dt.date(2026, 10, 20), end=dt.date(2026, 10, 19))
    with pytest.raises(OrderRefused):
        draft(user, rule_code="PLAN-1", questions=[{"id": "order_q1", "text": "x", "type": "text"}])
    assert not Order.objects.exists()


def test_a_department_orders_only_for_its_own_department() -> None:
    user = dept_user(department("HQMK"))
    with pytest.raises(PermissionDenied):
        draft(user, unit=department("HQCR"))
    order = draft(hq_user(), unit=department("HQCR"))
    with pytest.raises(PermissionDenied):
        upload(user, order, [])


# --- targets ---------------------------------------------------------------------------------


def test_an_upload_with_bad_lines_reports_every_line_and_writes_nothing() -> None:
    user = dept_user()
    order = draft(user)
    branch = UnitFactory()
    good, closed = clients(branch, 2)
    closed.status = ClientStatus.CLOSED
    closed.save()
    upload(user, order, [good.client_id])
    audit_rows = AuditEvent.objects.count()
    raw = csv_bytes(["客户号", good.client_id, "K9999999", good.client_id, f"{good.client_id},x",
                     closed.client_id])  # fmt: skip
    with pytest.raises(OrderRefused) as refused:
        services.order_targets_from_upload(user=user, order=order, raw=raw, name="bad.csv")
    lines = [reason.split(":")[0] for reason in refused.value.reasons]
    assert lines == ["第 3 行", "第 4 行", "第 5 行", "第 6 行"]
    assert "K9999999" in refused.value.reasons[0] and "第 2 行重复" in refused.value.reasons[1]
    assert "列" in refused.value.reasons[2] and "销户" in refused.value.reasons[3]
    assert targets_of(order) == [good.client_id]  # the earlier list stands
    assert AuditEvent.objects.count() == audit_rows


def test_an_xlsx_upload_replaces_the_targets_with_their_branches() -> None:
    user = dept_user()
    order = draft(user)
    a, b = UnitFactory(), UnitFactory()
    first = clients(a, 2)
    upload(user, order, [c.client_id for c in first])
    second = clients(b, 3)
    raw = xlsx_bytes([["client_id"], *([c.client_id] for c in second)])
    assert services.order_targets_from_upload(user=user, order=order, raw=raw) == 3
    assert targets_of(order) == sorted(c.client_id for c in second)
    assert set(order.targets.values_list("branch_id", flat=True)) == {b.code}


def test_targets_from_a_filter_of_branch_class_and_client_type() -> None:
    user = dept_user()
    order = draft(user)
    a, b = UnitFactory(), UnitFactory()
    vip = clients(a, 2)
    for client in vip:
        ClientClassFactory(client=client, scheme="CLS-1", class_code="vip")
    clients(a, 1)  # no class
    clients(a, 1, client_type=ClientType.INSTITUTION)
    ClientClassFactory(client=clients(b, 1)[0], scheme="CLS-1", class_code="vip")
    criteria = TargetFilter(branches=(a.code,), class_code="vip")
    assert services.order_targets_from_filter(user=user, order=order, criteria=criteria) == 2
    assert targets_of(order) == sorted(c.client_id for c in vip)
    typed = TargetFilter(branches=(a.code,), client_type=ClientType.INSTITUTION)
    assert services.order_targets_from_filter(user=user, order=order, criteria=typed) == 1
    with pytest.raises(OrderRefused) as refused:
        services.order_targets_from_filter(
            user=user, order=order, criteria=TargetFilter(branches=("NOPE",))
        )
    assert refused.value.code == "no_targets"


# --- issue -----------------------------------------------------------------------------------


def test_issuing_gives_one_purpose_per_target_merging_into_an_open_task() -> None:
    user = dept_user()
    questions = [{"id": "order_q1", "text": "是否收到通知", "type": "yesno", "required": True,
                  "options": [], "script": ""}]  # fmt: skip
    order = draft(user, title="佣金调整专项回访", questions=questions)
    branch = UnitFactory()
    targets = clients(branch, 3)
    busy = open_task(client=targets[0], purposes=("NEW-1",), level="company", kind="compliance")
    upload(user, order, [c.client_id for c in targets])

    issued = services.order_issue(user=user, order=order)

    assert (issued.created, issued.merged, issued.existing) == (2, 1, 0)
    order.refresh_from_db()
    assert order.status == OrderStatus.ISSUED and order.questionnaire_code == f"SPC{order.pk}"
    purposes = Purpose.objects.filter(rule_code="SPC-1")
    assert purposes.count() == 3
    for client in targets:
        purpose = purposes.get(key=f"SPC-1:order{order.pk}:{client.client_id}")
        target = OrderTarget.objects.get(order=order, client=client)
        assert (target.purpose_id, target.task_id) == (purpose.pk, purpose.task_id)
        assert purpose.task.client_id == client.client_id and purpose.task.level == "company"
        assert (purpose.due_date, purpose.business_date, purpose.cap_exempt) == (END, TODAY, True)
        assert purpose.facts_dict == {
            "order": order.number, "title": "佣金调整专项回访",
            "questionnaire": f"SPC{order.pk}", "ordered_by": order.ordered_by_unit.name,
            "records_due": order.records_due.isoformat(),
        }  # fmt: skip
    merged = purposes.get(task__client=targets[0])
    assert merged.task_id == busy.pk  # CON-4: the open task of the same client, level and kind
    assert Task.objects.filter(client__in=targets).count() == 3


def test_issuing_again_adds_nothing_and_writes_nothing() -> None:
    user = dept_user()
    order = draft(user)
    upload(user, order, [c.client_id for c in clients(UnitFactory(), 2)])
    services.order_issue(user=user, order=order)
    rows, purposes = AuditEvent.objects.count(), Purpose.objects.count()
    again = services.order_issue(user=user, order=order)
    assert (again.created, again.merged, again.existing) == (0, 0, 2)
    assert (AuditEvent.objects.count(), Purpose.objects.count()) == (rows, purposes)
    with pytest.raises(OrderRefused):
        upload(user, order, [])  # an issued order's targets are fixed


def test_issue_is_refused_without_targets_or_after_the_end() -> None:
    user = dept_user()
    order = draft(user)
    with pytest.raises(OrderRefused) as refused:
        services.order_issue(user=user, order=order)
    assert refused.value.code == "no_targets"
    late = draft(user, start=dt.date(2026, 10, 1), end=dt.date(2026, 10, 13))
    upload(user, late, [clients(UnitFactory(), 1)[0].client_id])
    with pytest.raises(OrderRefused) as refused:
        services.order_issue(user=user, order=late)
    assert refused.value.code == "ended" and not Purpose.objects.exists()


def test_a_plan_1_order_uses_its_chosen_form_and_level() -> None:
    user = dept_user()
    order = draft(user, rule_code="PLAN-1", title="港股通客户回访", level="branch",
                  kind="service", questionnaire_code="F2", scope="已开通港股通的客户")  # fmt: skip
    client = clients(UnitFactory(), 1)[0]
    upload(user, order, [client.client_id])
    services.order_issue(user=user, order=order)
    purpose = Purpose.objects.get(key=f"PLAN-1:order{order.pk}:{client.client_id}")
    assert (purpose.task.level, purpose.task.kind) == ("branch", "service")
    assert purpose.facts_dict["questionnaire"] == "F2"


def test_closing_an_issued_order() -> None:
    user = dept_user()
    order = draft(user)
    with pytest.raises(OrderRefused):
        services.order_close(user=user, order=order)
    upload(user, order, [clients(UnitFactory(), 1)[0].client_id])
    services.order_issue(user=user, order=order)
    services.order_close(user=user, order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.CLOSED
    with pytest.raises(OrderRefused):
        services.order_issue(user=user, order=order)


def test_a_branch_leader_cannot_manage_orders() -> None:
    branch = UnitFactory()
    order = draft(dept_user())
    with pytest.raises(PermissionDenied):
        upload(branch_user(branch), order, [])


def test_an_order_issued_meanwhile_keeps_its_targets() -> None:
    """The upload re-reads the order under the row lock that issuing takes (no race)."""
    user = dept_user()
    order = draft(user)
    first = clients(UnitFactory(), 2)
    upload(user, order, [c.client_id for c in first])
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.ISSUED)  # another request issued it
    raw = xlsx_bytes([["client_id"], *([c.client_id] for c in clients(UnitFactory(), 1))])
    audit_rows = AuditEvent.objects.count()
    with pytest.raises(OrderRefused) as refused:
        services.order_targets_from_upload(user=user, order=order, raw=raw)  # a stale draft
    assert refused.value.code == "wrong_state"
    assert targets_of(order) == sorted(c.client_id for c in first)
    assert AuditEvent.objects.count() == audit_rows
