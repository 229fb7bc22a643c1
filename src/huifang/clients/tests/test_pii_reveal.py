"""显示完整信息 (CLI-4, NFR-2): reason first, POST only, one audit row per reveal, no values kept."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import model_to_dict
from django.test import Client as HttpClient
from django.urls import reverse

from huifang.accounts.choices import HQ_ROLES, PII_REVEAL_ROLES, Role
from huifang.accounts.tests.factories import grant, user_with_role
from huifang.audit.models import AuditEvent
from huifang.audit.verify import verify
from huifang.clients.services import REVEAL_ACTION, client_pii_reveal, pii_reveal_allowed
from huifang.clients.tests.conftest import ID_NUMBER_A, MOBILE_A
from huifang.clients.tests.factories import ClientFactory
from huifang.core.pii import mask_id_number
from huifang.core.testing import (
    assert_forbidden,
    assert_login_required,
    assert_no_pii,
    assert_out_of_scope_404,
    assert_private,
    browser,
)

REASON = {"purpose": "回访核实客户身份"}


def reveal_url(client_id: str = "K100") -> str:
    return reverse("clients:reveal", args=[client_id])


def detail_url(client_id: str = "K100") -> str:
    return reverse("clients:detail", args=[client_id])


def reveals() -> int:
    return AuditEvent.objects.filter(action=REVEAL_ACTION).count()


def holder(role: str, world: SimpleNamespace) -> object:
    """A user holding ``role`` over branch A01 in the role's natural scope."""
    if role in HQ_ROLES:
        return user_with_role(role, username=f"{role}_all")
    if role == Role.REGIONAL:
        return user_with_role(role, region=world.r1, username=f"{role}_r1")
    return user_with_role(role, unit=world.a01, username=f"{role}_a01")


def test_the_client_page_offers_the_reveal_to_a_reveal_role(world: SimpleNamespace) -> None:
    response = browser(world.agent_a).get(detail_url())
    html = response.content.decode()
    assert "显示完整信息" in html
    form = re.search(r'<form method="post" action="([^"]+)"\s+hx-post="([^"]+)"', html)
    assert form and form.group(1) == form.group(2) == reveal_url()
    assert "?" not in form.group(1)
    assert 'name="csrfmiddlewaretoken"' in html[form.start() :]
    assert 'name="purpose"' in html and 'name="detail"' in html


@pytest.mark.parametrize("role", list(Role))
def test_only_the_reveal_roles_may_reveal(world: SimpleNamespace, role: Role) -> None:
    user = holder(role, world)
    http = browser(user, pii_values=(ID_NUMBER_A, MOBILE_A))
    page = http.get(detail_url()).content.decode()
    if role in PII_REVEAL_ROLES:
        assert reveal_url() in page
        with http.allow_pii():
            response = http.post(reveal_url(), REASON)
        assert response.status_code == 200
        assert ID_NUMBER_A in response.content.decode()
        assert reveals() == 1
    else:
        assert reveal_url() not in page and "显示完整信息" not in page
        assert_forbidden(http, user, reveal_url(), data=REASON)
        assert reveals() == 0


def test_each_reveal_writes_exactly_one_audit_row_without_the_values(
    world: SimpleNamespace,
) -> None:
    http = browser(world.agent_a)
    for expected in (1, 2):
        before = AuditEvent.objects.count()
        with http.allow_pii():
            http.post(reveal_url(), REASON, HTTP_HX_REQUEST="true")
        assert AuditEvent.objects.count() == before + 1
        assert reveals() == expected
    row = AuditEvent.objects.filter(action=REVEAL_ACTION).last()
    assert row is not None
    assert (row.actor, row.object_type, row.object_id, row.branch_code) == (
        "agent_a",
        "clients.Client",
        "K100",
        "A01",
    )
    assert row.actor_user_id == world.agent_a.pk
    assert row.before is None
    assert row.after == {"reason": "回访核实客户身份", "fields": ["id_number", "mobile"]}
    stored = json.dumps(model_to_dict(row), ensure_ascii=False, default=str)
    assert_no_pii(stored, values=(ID_NUMBER_A, MOBILE_A))
    assert verify(check_files=False).ok


def test_the_reveal_shows_every_field_once_and_is_never_cached(world: SimpleNamespace) -> None:
    client = ClientFactory(
        client_id="K101",
        branch=world.a01,
        phone="010-66660000",
        email="wang@example.cn",
        address="北京市西城区金融大街 1 号",
    )
    http = browser(world.agent_a)
    with http.allow_pii():
        response = http.post(
            reveal_url("K101"),
            {"purpose": "其他", "detail": "客户来电要求核对地址"},
            HTTP_HX_REQUEST="true",
        )
    html = response.content.decode()
    assert "<html" not in html, "the fragment htmx swaps in"
    for value in ("010-66660000", "wang@example.cn", "北京市西城区金融大街 1 号"):
        assert value in html
    assert_private(response)
    row = AuditEvent.objects.get(action=REVEAL_ACTION)
    assert row.after == {
        "reason": "其他：客户来电要求核对地址",
        "fields": ["id_number", "mobile", "phone", "email", "address"],
    }
    # Not stored anywhere the page reads again.
    assert "北京市西城区金融大街" not in http.get(detail_url("K101")).content.decode()
    assert client.pii and "北京" not in client.pii


def test_without_htmx_the_reveal_answers_the_client_page(world: SimpleNamespace) -> None:
    http = browser(world.agent_a)
    with http.allow_pii():
        response = http.post(reveal_url(), REASON)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and ID_NUMBER_A in html and MOBILE_A in html
    assert_private(response)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"purpose": ""},
        {"purpose": "其他"},
        {"purpose": "其他", "detail": "看看"},
        {"purpose": "x"},
    ],
)
def test_a_reason_is_required(world: SimpleNamespace, data: dict[str, str]) -> None:
    http = browser(world.agent_a, pii_values=(ID_NUMBER_A, MOBILE_A))
    response = http.post(reveal_url(), data)
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    htmx = http.post(reveal_url(), data, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200, "htmx swaps only 2xx: the form comes back with its error"
    assert "errorlist" in htmx.content.decode() and "<html" not in htmx.content.decode()
    assert_private(htmx)
    assert reveals() == 0


def test_a_number_typed_in_the_reason_is_masked_in_the_audit_and_the_form(
    world: SimpleNamespace,
) -> None:
    http = browser(world.agent_a)
    with http.allow_pii():
        http.post(reveal_url(), {"purpose": "其他", "detail": f"核对证件 {ID_NUMBER_A}"})
    row = AuditEvent.objects.get(action=REVEAL_ACTION)
    assert row.after["reason"] == f"其他：核对证件 {mask_id_number(ID_NUMBER_A)}"
    refused = http.post(reveal_url(), {"purpose": "", "detail": ID_NUMBER_A})
    assert mask_id_number(ID_NUMBER_A) in refused.content.decode()


def test_another_branch_gets_404_and_no_audit_row(world: SimpleNamespace) -> None:
    assert_out_of_scope_404(browser(), world.agent_b, reveal_url(), method="post", data=REASON)
    assert_out_of_scope_404(
        browser(), world.agent_b, reveal_url("NO-SUCH"), method="post", data=REASON
    )
    assert reveals() == 0


def test_a_reveal_role_over_another_branch_does_not_count(world: SimpleNamespace) -> None:
    """Reviewer of A01 (sees the client) and agent of B01 (may reveal, but not here)."""
    user = user_with_role(Role.REVIEWER, unit=world.a01, username="mixed")
    grant(user, Role.AGENT, unit=world.b01)
    http = browser(user)
    assert http.get(detail_url()).status_code == 200
    assert reveal_url() not in http.get(detail_url()).content.decode()
    assert_forbidden(http, user, reveal_url(), data=REASON)
    assert not pii_reveal_allowed(user=user, client=world.client_a)
    assert pii_reveal_allowed(user=user, client=world.client_b)


def test_a_regional_reveal_role_covers_the_branches_of_its_region(world: SimpleNamespace) -> None:
    user = user_with_role(Role.BRANCH_OPS, region=world.r1, username="ops_r1")
    assert pii_reveal_allowed(user=user, client=world.client_a)
    assert pii_reveal_allowed(user=user, client=world.client_a2)
    assert not pii_reveal_allowed(user=user, client=world.client_b)


def test_the_superuser_flag_alone_does_not_reveal(world: SimpleNamespace) -> None:
    from huifang.accounts.tests.factories import UserFactory

    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert not pii_reveal_allowed(user=root, client=world.client_a)
    assert_forbidden(browser(), root, reveal_url(), data=REASON)


def test_the_reveal_is_post_only_and_needs_login(world: SimpleNamespace) -> None:
    assert_login_required(browser(), reveal_url(), method="post", data=REASON)
    assert_login_required(browser(), reveal_url())
    assert browser(world.agent_a).get(reveal_url()).status_code == 405
    assert reveals() == 0


def test_the_reveal_needs_the_csrf_token(world: SimpleNamespace) -> None:
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(world.agent_a)
    assert http.post(reveal_url(), REASON).status_code == 403
    page = http.get(detail_url()).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    ok = http.post(reveal_url(), {**REASON, "csrfmiddlewaretoken": token.group(1)})
    assert ok.status_code == 200
    assert reveals() == 1


@pytest.mark.parametrize(
    ("method", "name", "data"),
    [
        ("get", "clients:detail", None),
        ("get", "clients:search", None),
        ("post", "clients:search", {"q": "王"}),
        ("post", "clients:reveal", REASON),
    ],
)
def test_pages_with_personal_data_are_never_stored(
    world: SimpleNamespace, method: str, name: str, data: dict[str, str] | None
) -> None:
    http = browser(world.agent_a)
    url = reverse(name, args=["K100"]) if name != "clients:search" else reverse(name)
    with http.allow_pii():
        for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = getattr(http, method)(url, data or {}, **extra)
            assert response.status_code == 200
            assert_private(response)


def test_the_service_refuses_without_the_role_or_a_reason(world: SimpleNamespace) -> None:
    reviewer = user_with_role(Role.REVIEWER, unit=world.a01)
    with pytest.raises(PermissionDenied):
        client_pii_reveal(user=reviewer, client=world.client_a, reason="回访核实客户身份")
    with pytest.raises(ValidationError):
        client_pii_reveal(user=world.agent_a, client=world.client_a, reason="  看 ")
    assert reveals() == 0


def test_the_service_returns_every_field_and_names_only_those_held(
    world: SimpleNamespace,
) -> None:
    values = client_pii_reveal(user=world.agent_a, client=world.client_a, reason="客户要求核对资料")
    assert values == {
        "id_number": ID_NUMBER_A,
        "mobile": MOBILE_A,
        "phone": None,
        "email": None,
        "address": None,
    }
    empty = ClientFactory(client_id="K102", branch=world.a01, id_number=None, mobile=None)
    assert client_pii_reveal(
        user=world.agent_a, client=empty, reason="客户要求核对资料"
    ) == dict.fromkeys(values)
    rows = list(AuditEvent.objects.filter(action=REVEAL_ACTION).order_by("id"))
    assert [row.after["fields"] for row in rows] == [["id_number", "mobile"], []]
    assert rows[0].actor == "test", "the actor of the surrounding audit context"
