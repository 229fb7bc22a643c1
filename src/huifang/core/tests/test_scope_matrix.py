"""A user of branch B sees nothing of branch A: every scoped model × detail, list, search (SPEC §0).

Every model with ``visible_to`` must appear in ``BRANCH_A_OBJECTS`` (a test checks
it), so a later model joins the matrix the day it is added. Where a page exists the
check goes through HTTP (the client page, the search, the change history on the
client page, the reveal; the plan, task and verification list pages); everywhere else through ``Model.objects.visible_to(user)``,
which every future view must read through. When a type gets a page, add its HTTP
check to ``HTTP_CHECKS``.

Export: there is no user-facing export yet. ``huifang export`` (SPEC §12) is the
auditors' command: it has no user and exports everything, masked; its personal
data is checked in test_pii_never_leaks. ``test_there_is_no_user_facing_export_yet``
fails when a web export appears, to add it here.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import models
from django.http import Http404
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.callbacks.tests.factories import listed_for, plan_for, task_for
from huifang.classification.tests.factories import (
    AdviserAssignmentFactory,
    ClassChangeFactory,
    ClientClassFactory,
    YearlyVisitFactory,
)
from huifang.clients.selectors import client_changes, client_search
from huifang.clients.tests.conftest import ID_NUMBER_A, MOBILE_A
from huifang.clients.tests.factories import (
    AccountEventFactory,
    ClientChangeFactory,
    MarginEventFactory,
    ProductPurchaseFactory,
)
from huifang.core.scope import get_visible_or_404
from huifang.core.testing import (
    PiiScanningClient,
    assert_list_excludes,
    assert_out_of_scope_404,
    browser,
    scoped_models,
    url_cases,
)
from huifang.evaluation.tests.factories import closing_row, evaluation_row
from huifang.orders.tests.factories import order_of, target_of
from huifang.org.tests.factories import StaffFactory

BRANCH_A_OBJECTS: dict[str, Callable[[SimpleNamespace], models.Model]] = {
    "org.Unit": lambda w: w.a01,
    "org.Staff": lambda w: StaffFactory(staff_id="E100", name="张三", unit=w.a01),
    "clients.Client": lambda w: w.client_a,
    "clients.ClientChange": lambda w: ClientChangeFactory(client=w.client_a),
    "clients.ProductPurchase": lambda w: ProductPurchaseFactory(client=w.client_a),
    "clients.MarginEvent": lambda w: MarginEventFactory(client=w.client_a),
    "clients.AccountEvent": lambda w: AccountEventFactory(client=w.client_a),
    "classification.ClientClass": lambda w: ClientClassFactory(client=w.client_a),
    "classification.ClassChange": lambda w: ClassChangeFactory(client=w.client_a),
    "classification.AdviserAssignment": lambda w: AdviserAssignmentFactory(client=w.client_a),
    "classification.YearlyVisit": lambda w: YearlyVisitFactory(client=w.client_a),
    "callbacks.Plan": lambda w: plan_for(w.a01),
    "callbacks.Task": lambda w: task_for(w.client_a),
    "callbacks.VerificationListEntry": lambda w: listed_for(w.client_a),
    "workbench.Record": lambda w: record_for(task_for(w.client_a)),
    "workbench.Review": lambda w: review_for(record_for(task_for(w.client_a))),
    "workbench.DataCorrection": lambda w: correction_for(task_for(w.client_a)),
    "issues.Issue": lambda w: issue_for(w.client_a),
    "evaluation.MonthlyClosing": lambda w: closing_row(w.a01),
    "evaluation.Evaluation": lambda w: evaluation_row(w.a01),
    "orders.Order": lambda w: order_of(w.client_a),
    "orders.OrderTarget": lambda w: target_of(w.client_a),
}


def issue_for(client: Any) -> Any:
    from huifang.core import clock
    from huifang.issues.models import Issue

    return Issue.objects.create(
        number=f"WT-M-{client.pk}", source="complaint", channel="phone", client=client,
        branch_id=client.branch_id, kind="complaint", category="complaint", summary="m",
        raised_on=clock.today(), loop_due=clock.today(), created_at=clock.now(),
    )  # fmt: skip


def record_for(task: Any) -> Any:
    """A draft callback record of ``task`` (EXE-5), made directly: the matrix checks scope only."""
    from huifang.core import clock
    from huifang.workbench.models import Record

    return Record.objects.create(
        task=task, number=f"HF-MATRIX-{task.pk}", branch_id=task.branch_id, client=task.client,
        level=task.level, kind=task.kind, method="phone", callback_date=clock.today(),
        agent_id="E100", created_at=clock.now(),
    )  # fmt: skip


def review_for(record: Any) -> Any:
    from huifang.workbench.models import Review

    return Review.objects.create(
        task=record.task, record=record, branch_id=record.branch_id, level=record.level,
        reason="sample", drawn_on=record.callback_date,
    )  # fmt: skip


def correction_for(task: Any) -> Any:
    from huifang.core import clock
    from huifang.workbench.models import Attempt, DataCorrection

    attempt = Attempt.objects.create(task=task, staff_id="E100", at=clock.now(), method="phone",
                                     outcome="wrong_number")  # fmt: skip
    return DataCorrection.objects.create(
        task=task, client=task.client, branch_id=task.branch_id, attempt=attempt,
        reported_by="matrix", reported_at=clock.now(),
    )  # fmt: skip


# Users of branch B01 or region R2, who must see nothing of branch A01.
OUTSIDERS: dict[str, Callable[[SimpleNamespace], Any]] = {
    "agent_b": lambda w: w.agent_b,
    "manager_b": lambda w: user_with_role(Role.BRANCH_MANAGER, unit=w.b01, username="manager_b"),
    "regional_r2": lambda w: user_with_role(Role.REGIONAL, region=w.r2, username="regional_r2"),
}
ACTIONS = ("detail", "list", "search")


def search(http: PiiScanningClient, query: str) -> str:
    response = http.post(reverse("clients:search"), {"q": query})
    assert response.status_code == 200
    return response.content.decode()


def client_detail_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    assert_out_of_scope_404(http, user, reverse("clients:detail", args=[obj.client_id]))
    reveal = reverse("clients:reveal", args=[obj.client_id])
    assert_out_of_scope_404(http, user, reveal, method="post", data={"purpose": "监管或审计检查"})


def client_list_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    http.force_login(user)
    response = http.post(reverse("clients:search"), {"q": "王"})
    assert_list_excludes(response, reverse("clients:detail", args=[obj.client_id]))
    # Not empty for a broken search: the outsider's own client is listed.
    assert reverse("clients:detail", args=[w.client_b.client_id]) in response.content.decode()


def client_search_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    http.force_login(user)
    for query in (obj.client_id, obj.fund_account, ID_NUMBER_A, MOBILE_A, obj.name):
        assert "找到 0 位客户" in search(http, query), query
    assert not client_search(user=user, query=obj.client_id).exists()


def change_detail_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    """The change history is shown on the client page only, which answers 404."""
    assert_out_of_scope_404(http, user, reverse("clients:detail", args=[obj.client_id]))


def change_list_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    assert_list_excludes(client_changes(user=user, client=obj.client), obj)


def class_detail_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    """Classes, their history, advisers and visits are shown on the client page only (404),
    and the client's rating and visit actions answer 404 too."""
    assert_out_of_scope_404(http, user, reverse("clients:detail", args=[obj.client_id]))
    for name in ("classification:rate", "classification:visit"):
        assert_out_of_scope_404(http, user, reverse(name, args=[obj.client_id]), method="post")


def adviser_list_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    """The branch's adviser page answers 404 outside the scope."""
    assert_out_of_scope_404(http, user, reverse("classification:advisers", args=[w.a01.code]))
    assert_out_of_scope_404(
        http, user, reverse("classification:advisers", args=[w.a01.code]), method="post"
    )


def _listed_or_refused(http: PiiScanningClient, user: Any, url: str, *shown: str) -> None:
    """A list page never shows ``shown``; a user whose role does not read it gets 403."""
    http.force_login(user)
    response = http.get(url)
    if response.status_code == 403:
        return
    assert_list_excludes(response, *shown)


def plan_detail_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    assert_out_of_scope_404(http, user, reverse("callbacks:plan", args=[obj.pk]))


def plan_list_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    plan_url = reverse("callbacks:plan", args=[obj.pk])
    for query in ("", f"?rule={obj.rule_code}", f"?period={obj.period}"):
        _listed_or_refused(http, user, reverse("callbacks:plans") + query, plan_url)


def task_detail_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    assert_out_of_scope_404(http, user, reverse("callbacks:task", args=[obj.pk]))


def task_list_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    task_url = reverse("callbacks:task", args=[obj.pk])
    for query in ("", "?status=open", "?overdue=yes", f"?due_from={obj.due_date}"):
        _listed_or_refused(http, user, reverse("callbacks:tasks") + query, task_url)


def _hidden(http: PiiScanningClient, user: Any, url: str, method: str = "get") -> None:
    """404 outside the scope; 403 when the user's role never has that page (role before object,
    so neither answer tells whether the object exists)."""
    http.force_login(user)
    response = http.post(url) if method == "post" else http.get(url)
    assert response.status_code in (403, 404), f"{method.upper()} {url}: {response.status_code}"


def record_detail_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    """The workbench's record and task pages and their actions are hidden outside the scope."""
    _hidden(http, user, reverse("workbench:record", args=[obj.pk]))
    _hidden(http, user, reverse("workbench:task", args=[obj.task_id]))
    for name in ("workbench:leader_sign", "workbench:archive", "workbench:amend"):
        _hidden(http, user, reverse(name, args=[obj.pk]), method="post")
    for name in ("workbench:sign", "workbench:attempt", "workbench:answers"):
        _hidden(http, user, reverse(name, args=[obj.task_id]), method="post")


def record_list_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    _listed_or_refused(http, user, reverse("workbench:sign_list"), obj.number)


def review_detail_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    _hidden(http, user, reverse("workbench:review", args=[obj.pk]))
    _hidden(http, user, reverse("workbench:review_decide", args=[obj.pk]), method="post")


def review_list_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    _listed_or_refused(http, user, reverse("workbench:reviews"), obj.record.number)


def correction_list_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    _listed_or_refused(http, user, reverse("workbench:corrections"), obj.client_id)


def listing_detail_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    """Branch A01's list answers 404; listing its client is refused and saves nothing."""
    url = reverse("callbacks:verification")
    assert_out_of_scope_404(http, user, f"{url}?branch={w.a01.code}")
    before = type(obj).objects.count()
    response = http.post(url, {"client_id": obj.client_id, "reason": "核实证件"})
    assert response.status_code in (400, 403), response.status_code
    assert type(obj).objects.count() == before


def listing_list_http(http: PiiScanningClient, user: Any, w: SimpleNamespace, obj: Any) -> None:
    _listed_or_refused(http, user, reverse("callbacks:verification"), obj.reason)


HTTP_CHECKS: dict[
    tuple[str, str], Callable[[PiiScanningClient, Any, SimpleNamespace, Any], None]
] = {
    ("clients.Client", "detail"): client_detail_http,
    ("clients.Client", "list"): client_list_http,
    ("clients.Client", "search"): client_search_http,
    ("clients.ClientChange", "detail"): change_detail_http,
    ("clients.ClientChange", "list"): change_list_http,
    ("classification.ClientClass", "detail"): class_detail_http,
    ("classification.ClassChange", "detail"): class_detail_http,
    ("classification.AdviserAssignment", "detail"): class_detail_http,
    ("classification.AdviserAssignment", "list"): adviser_list_http,
    ("classification.YearlyVisit", "detail"): class_detail_http,
    ("callbacks.Plan", "detail"): plan_detail_http,
    ("callbacks.Plan", "list"): plan_list_http,
    ("callbacks.Task", "detail"): task_detail_http,
    ("callbacks.Task", "list"): task_list_http,
    ("callbacks.VerificationListEntry", "detail"): listing_detail_http,
    ("callbacks.VerificationListEntry", "list"): listing_list_http,
    ("workbench.Record", "detail"): record_detail_http,
    ("workbench.Record", "list"): record_list_http,
    ("workbench.Review", "detail"): review_detail_http,
    ("workbench.Review", "list"): review_list_http,
    ("workbench.DataCorrection", "list"): correction_list_http,
}


def test_every_scoped_model_is_in_the_matrix() -> None:
    labels = {model._meta.label for model in scoped_models()}
    assert labels == set(BRANCH_A_OBJECTS), "add the new model to BRANCH_A_OBJECTS"


# Downloads of client material: scoped (404 outside) and audited where they are tested.
EXPORTS_CHECKED = {
    "workbench:evidence": "workbench/tests/test_views.py (scope 404, audit row)",
    "evidencepack:build": "evidencepack/tests/test_views.py (scope 404, audit row)",
    "reports:export": "reports/tests/test_views.py (scope 404, audit row report.export, row cap)",
}


def test_there_is_no_unchecked_user_facing_export() -> None:
    exports = [
        str(case) for case in url_cases()
        if any(word in (case.name or case.route) for word in ("export", "download", "evidence"))
        and case.name not in EXPORTS_CHECKED
    ]  # fmt: skip
    assert not exports, f"add {exports} to the scope matrix (export column)"


@pytest.mark.parametrize("label", sorted(BRANCH_A_OBJECTS))
def test_branch_a_sees_its_own_objects(world: SimpleNamespace, label: str) -> None:
    """The control: the objects are really in branch A's scope, so the matrix proves something."""
    obj = BRANCH_A_OBJECTS[label](world)
    model = type(obj)
    assert model.objects.visible_to(world.agent_a).filter(pk=obj.pk).exists()  # type: ignore[attr-defined]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("label", sorted(BRANCH_A_OBJECTS))
@pytest.mark.parametrize("outsider", sorted(OUTSIDERS))
def test_branch_b_sees_nothing_of_branch_a(
    world: SimpleNamespace, outsider: str, label: str, action: str
) -> None:
    obj = BRANCH_A_OBJECTS[label](world)
    user = OUTSIDERS[outsider](world)
    queryset = type(obj).objects.all()  # type: ignore[attr-defined]
    if action == "detail":
        with pytest.raises(Http404):
            get_visible_or_404(queryset, user, pk=obj.pk)
    else:
        assert_list_excludes(queryset.visible_to(user), obj)
        branch_a = _in_branch_a(queryset.visible_to(user), world)
        assert not branch_a.exists(), f"{label}: {branch_a.count()} row(s) of branch A"
    check = HTTP_CHECKS.get((label, action))
    if check is not None:
        check(browser(pii_values=(ID_NUMBER_A, MOBILE_A)), user, world, obj)


def _in_branch_a(queryset: Any, world: SimpleNamespace) -> Any:
    field = queryset.branch_field
    lookup = field if field.endswith("code") else f"{field}_id"
    return queryset.filter(**{lookup: world.a01.code})
