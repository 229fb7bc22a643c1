"""No full ID number or mobile of a client in pages, exports or logs (CLI-4, SPEC §12).

Every page below is fetched through ``browser()``, whose client scans each response
(``PII_PATTERNS`` and the fixture clients' own numbers); the reveal, the one answer
meant to carry them, is fetched inside ``allow_pii()``.
"""

from __future__ import annotations

import io
import logging
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.clients.tests.conftest import ID_NUMBER_A, MOBILE_A
from huifang.clients.tests.factories import ClientChangeFactory, ClientFactory
from huifang.core.pii import PiiLogFilter, mask_id_number, mask_mobile
from huifang.core.testing import assert_no_pii, browser, configured_log_output, find_pii

ID_NUMBER_C = "310101198807150013"
MOBILE_C = "13700001111"
FIXTURE_PII = (ID_NUMBER_A, MOBILE_A, ID_NUMBER_C, MOBILE_C)
SEARCHES = (*FIXTURE_PII, "K100", "王", "李")


@pytest.fixture
def people(world: SimpleNamespace) -> SimpleNamespace:
    ClientFactory(
        client_id="K400",
        name="李四",
        branch=world.a01,
        id_number=ID_NUMBER_C,
        mobile=MOBILE_C,
        address="北京市东城区某某路 1 号",
    )
    ClientChangeFactory(
        client=world.client_a, field="mobile", old_value="139****5678", new_value="137****1111"
    )
    world.compliance = user_with_role(Role.COMPLIANCE, username="compliance")
    world.admin = user_with_role(Role.ADMIN, username="admin", is_staff=True)
    return world


def visit_everything(http: object, world: SimpleNamespace) -> int:
    """Every page a signed-in user can reach today, with searches by every kind of key."""
    pages = [
        reverse("home"),
        reverse("clients:search"),
        reverse("clients:detail", args=["K100"]),
        reverse("clients:detail", args=["K400"]),
        reverse("clients:detail", args=["K300"]),
        reverse("feeds:batches"),
        reverse("calendars:index"),
        "/no-such-page/",
    ]
    for url in pages:
        http.get(url)  # type: ignore[attr-defined]
    for query in SEARCHES:
        http.post(reverse("clients:search"), {"q": query})  # type: ignore[attr-defined]
        http.post(reverse("clients:search"), {"q": query}, HTTP_HX_REQUEST="true")  # type: ignore[attr-defined]
    reveal = reverse("clients:reveal", args=["K100"])
    # Refused reasons come back with the form: a number typed in it is not echoed.
    http.post(reveal, {"purpose": "", "detail": ID_NUMBER_A})  # type: ignore[attr-defined]
    http.post(reveal, {"purpose": "其他", "detail": MOBILE_A[:3]})  # type: ignore[attr-defined]
    with http.allow_pii():  # type: ignore[attr-defined]
        http.post(reveal, {"purpose": "其他", "detail": f"客户报称证件号 {ID_NUMBER_C}"})  # type: ignore[attr-defined]
        http.post(reveal, {"purpose": "回访核实客户身份"})  # type: ignore[attr-defined]
    return len(pages) + 2 * len(SEARCHES) + 2


@pytest.mark.parametrize("username", ["agent_a", "regional", "hq", "compliance", "admin"])
def test_no_page_shows_a_full_id_number_or_mobile(
    people: SimpleNamespace, username: str, caplog: pytest.LogCaptureFixture
) -> None:
    http = browser(getattr(people, username), pii_values=FIXTURE_PII)
    with configured_log_output() as log, caplog.at_level(logging.DEBUG):
        answers = visit_everything(http, people)
    assert http.scanned == answers
    # Raw records: no code logs personal data, even before the filter.
    assert_no_pii(caplog.text, values=FIXTURE_PII)
    # What the configured handlers write.
    assert_no_pii(log.getvalue(), values=FIXTURE_PII)
    assert "django.request" in log.getvalue(), "the 404 and 403 above were logged"


def test_the_masked_values_are_what_the_pages_show(people: SimpleNamespace) -> None:
    html = browser(people.hq, pii_values=FIXTURE_PII).get(reverse("clients:detail", args=["K400"]))
    assert mask_id_number(ID_NUMBER_C) in html.content.decode()
    assert mask_mobile(MOBILE_C) in html.content.decode()


def test_the_clients_export_is_masked(people: SimpleNamespace) -> None:
    out = io.StringIO()
    call_command("export", "clients", "--format", "csv", stdout=out)
    text = out.getvalue()
    assert_no_pii(text, values=FIXTURE_PII)
    assert f"K400,A01,individual,2020-03-02,normal,{mask_id_number(ID_NUMBER_C)}," in text


def test_the_configured_log_masks_numbers_a_message_carries(db: None) -> None:
    with configured_log_output() as log:
        logging.getLogger("huifang.test").warning("客户 %s 来电 %s", ID_NUMBER_C, MOBILE_C)
    assert_no_pii(log.getvalue(), values=FIXTURE_PII)
    assert mask_id_number(ID_NUMBER_C) in log.getvalue()
    assert mask_mobile(MOBILE_C) in log.getvalue()


def test_every_configured_log_handler_has_the_pii_filter() -> None:
    config = settings.LOGGING
    pii_filters = {
        name
        for name, spec in config.get("filters", {}).items()
        if spec.get("()") in ("huifang.core.pii.PiiLogFilter", PiiLogFilter)
    }
    assert pii_filters
    for name, spec in config.get("handlers", {}).items():
        assert pii_filters & set(spec.get("filters", [])), f"handler {name} logs unmasked"


def test_the_scan_catches_a_number_in_the_body_or_a_header() -> None:
    assert find_pii(f"<td>{ID_NUMBER_C}</td>") == [mask_id_number(ID_NUMBER_C)]
    assert find_pii(f"mobile={MOBILE_C}") == [mask_mobile(MOBILE_C)]
    assert find_pii("K100 2026-10-14 13:45 0123456789") == []
    with pytest.raises(AssertionError) as failure:
        assert_no_pii(f"Location: /clients/?q={ID_NUMBER_C}")
    assert ID_NUMBER_C not in str(failure.value), "the failure message leaks nothing"


def test_the_scanning_client_fails_on_a_reveal_outside_allow_pii(world: SimpleNamespace) -> None:
    http = browser(world.agent_a, pii_values=FIXTURE_PII)
    with pytest.raises(AssertionError, match="personal data"):
        http.post(reverse("clients:reveal", args=["K100"]), {"purpose": "回访核实客户身份"})


def test_the_scanner_flags_mobiles_in_text_but_not_digit_runs_inside_a_hex_digest() -> None:
    digest = "ab" + "16812342479" + "c" * 51  # 64 hex characters, an 11-digit run inside
    assert find_pii(f"记录摘要 {digest}") == []
    assert find_pii("客户电话13812345678,请回电") == ["138****5678"]
    assert find_pii(f"{digest} 13812345678") == ["138****5678"]
