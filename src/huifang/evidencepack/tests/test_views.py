"""The evidence pack screen (NFR-2): roles, scope (404 outside), the zip, its audit row, and the
button on the client page."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.template import Context, RequestContext, Template
from django.test import RequestFactory
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.audit.models import AuditEvent
from huifang.core.testing import (
    assert_forbidden,
    assert_login_required,
    assert_out_of_scope_404,
    assert_private,
    browser,
)
from huifang.evidencepack.tests.kit import OURS_ID, Scenario, verify
from huifang.workbench.tests import factories as f

pytestmark = pytest.mark.django_db

PERIOD = {"from": "2026-10-01", "to": "2026-10-31"}


def url() -> str:
    return reverse("evidencepack:build", args=[OURS_ID])


def builds() -> int:
    return AuditEvent.objects.filter(action="evidencepack.build").count()


@pytest.mark.parametrize("role", [Role.COMPLIANCE, Role.HQ_SERVICE, Role.BRANCH_OPS])
def test_a_scoped_user_downloads_the_pack_and_it_is_audited(
    scenario: Scenario, tmp_path: Path, role: str
) -> None:
    user = user_with_role(role, unit=scenario.branch if role == Role.BRANCH_OPS else None)
    response = browser(user).post(url(), PERIOD)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    assert_private(response)
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    event = AuditEvent.objects.filter(action="evidencepack.build").get()
    assert event.actor == user.get_username() and event.object_id == OURS_ID
    assert event.after["zip_sha256"] == response["X-Content-SHA256"]
    assert (event.after["from"], event.after["to"]) == (PERIOD["from"], PERIOD["to"])
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        zf.extractall(tmp_path / "pack")
        assert len([n for n in zf.namelist() if n.startswith("records/")]) == 2
    assert verify(tmp_path / "pack")[0] == 0
    assert not any((Path(str(tmp_path / "data")) / "tmp" / "evidencepack").iterdir())


def test_another_branchs_user_gets_404_and_nothing_is_built(scenario: Scenario) -> None:
    outsider = user_with_role(Role.BRANCH_OPS, unit=f.branch("B02"))
    assert_out_of_scope_404(browser(), outsider, url(), method="post", data=PERIOD)
    assert_out_of_scope_404(browser(), outsider, url())
    assert builds() == 0


@pytest.mark.parametrize("role", [Role.AGENT, Role.BRANCH_MARKETING, Role.REVIEWER])
def test_other_roles_are_refused(scenario: Scenario, role: str) -> None:
    user = user_with_role(role, unit=scenario.branch)
    assert_forbidden(browser(), user, url(), method="post", data=PERIOD)
    assert builds() == 0


def test_anonymous_visitors_are_sent_to_sign_in(scenario: Scenario) -> None:
    assert_login_required(browser(), url())
    assert_login_required(browser(), url(), method="post", data=PERIOD)
    assert builds() == 0


def test_a_backwards_or_missing_period_is_shown_not_built(scenario: Scenario) -> None:
    client = browser(user_with_role(Role.COMPLIANCE))
    response = client.post(url(), {"from": "2026-10-31", "to": "2026-10-01"})
    assert response.status_code == 400 and "开始日期晚于结束日期" in response.content.decode()
    assert client.post(url(), {"from": "2026-10-01"}).status_code == 400
    assert builds() == 0


def test_an_altered_evidence_file_is_refused_with_the_reason(
    scenario: Scenario, media: Path
) -> None:
    item = scenario.records[0].task.evidence.exclude(file="").get()
    (media / item.file.name).write_bytes(b"RIFF changed")
    response = browser(user_with_role(Role.COMPLIANCE)).post(url(), PERIOD)
    assert response.status_code == 409
    assert "SHA-256不一致" in response.content.decode() and builds() == 0


def test_the_form_page_shows_the_period(scenario: Scenario) -> None:
    response = browser(user_with_role(Role.HQ_SERVICE)).get(url())
    assert response.status_code == 200
    assert_private(response)
    html = response.content.decode()
    assert 'name="from"' in html and 'value="2026-10-01"' in html and 'value="2026-10-12"' in html


def test_the_client_page_button_shows_for_the_pack_roles_only(scenario: Scenario) -> None:
    template = Template("{% load evidencepack %}{% evidence_pack_button client %}")
    request = RequestFactory().get("/")
    for role, shown in ((Role.BRANCH_OPS, True), (Role.AGENT, False)):
        request.user = user_with_role(role, unit=scenario.branch)
        html = template.render(RequestContext(request, {"client": scenario.ours}))
        assert (url() in html) is shown, role
    assert url() not in template.render(Context({"client": scenario.ours}))
