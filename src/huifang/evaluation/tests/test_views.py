"""The screens of REV-3..5: login, roles (403), scope (404), HQ's overview, the branch's own
evaluation only, the staff scorecards within scope."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.core import clock
from huifang.core.testing import (
    assert_forbidden,
    assert_list_excludes,
    assert_login_required,
    assert_out_of_scope_404,
    assert_private,
    browser,
)
from huifang.evaluation import closing, evaluations, inputs
from huifang.evaluation.models import Evaluation, MonthlyClosing
from huifang.evaluation.tests.factories import (
    branch,
    decided_review,
    hq_user,
    leader_user,
    signed_record,
    staff_of,
)
from huifang.workbench.actors import actor_of

pytestmark = pytest.mark.django_db

URL_NAMES = ["list", "closing", "closing_hq", "scorecards"]
POST_NAMES = ["compute", "publish", "closing_submit"]


@pytest.fixture
def world() -> SimpleNamespace:
    a, b, c = branch(), branch(), branch()
    return SimpleNamespace(
        a=a, b=b, c=c,
        ops_a=leader_user(Role.BRANCH_OPS, a), ops_b=leader_user(Role.BRANCH_OPS, b),
        compliance=hq_user(Role.COMPLIANCE), hq=hq_user(Role.HQ_SERVICE),
        agent_a=leader_user(Role.AGENT, a),
    )  # fmt: skip


def row_of(html: str, code: str) -> str:
    found = re.search(rf'<tr[^>]*data-branch="{code}"[^>]*>.*?</tr>', html, re.S)
    assert found, f"{code} not listed"
    return found.group(0)


@pytest.mark.parametrize("name", URL_NAMES)
def test_every_page_needs_a_login(world: SimpleNamespace, name: str) -> None:
    assert_login_required(browser(), reverse(f"evaluation:{name}"))


@pytest.mark.parametrize("name", POST_NAMES)
def test_every_action_needs_a_login(world: SimpleNamespace, name: str) -> None:
    assert_login_required(browser(), reverse(f"evaluation:{name}"), method="post")


def test_an_agent_opens_none_of_the_pages(world: SimpleNamespace) -> None:
    for name in URL_NAMES:
        assert_forbidden(browser(), world.agent_a, reverse(f"evaluation:{name}"), method="get")


# ---------------------------------------------------------------- REV-3 branch page


def test_the_branch_page_shows_last_months_records_and_the_submit_button(
    world: SimpleNamespace,
) -> None:
    record = signed_record(world.a, dt.date(2026, 9, 8))
    response = browser(world.ops_a).get(reverse("evaluation:closing"))
    html = response.content.decode()
    assert response.status_code == 200
    assert_private(response)
    assert "2026-09" in html and "2026-10-20" in html
    assert closing.summary(world.a.code, "2026-09").sha256 in html
    assert "报送 1 条回访记录" in html and record.number not in html


def test_the_branch_ops_submits_his_month(world: SimpleNamespace) -> None:
    signed_record(world.a, dt.date(2026, 9, 8))
    http = browser(world.ops_a)
    response = http.post(reverse("evaluation:closing_submit"),
                         {"branch": world.a.code, "month": "2026-09", "note": ""})  # fmt: skip
    assert response.status_code == 302
    row = MonthlyClosing.objects.get(branch=world.a, month="2026-09")
    assert (row.record_count, row.late, row.submitted_by) == (1, False, world.ops_a.username)
    page = http.get(response["Location"]).content.decode()
    assert "已报送 1 条回访记录" in page and "报送 1 条回访记录</button>" not in page
    again = http.post(reverse("evaluation:closing_submit"),
                      {"branch": world.a.code, "month": "2026-09"})  # fmt: skip
    assert again.status_code == 409 and "已于" in again.content.decode()
    assert MonthlyClosing.objects.count() == 1


def test_another_branch_is_404_on_the_page_and_on_submit(world: SimpleNamespace) -> None:
    http = browser()
    url = reverse("evaluation:closing") + f"?branch={world.b.code}"
    assert_out_of_scope_404(http, world.ops_a, url)
    assert_out_of_scope_404(http, world.ops_a, reverse("evaluation:closing_submit"), method="post",
                            data={"branch": world.b.code, "month": "2026-09"})  # fmt: skip
    assert not MonthlyClosing.objects.exists()


def test_a_submitter_in_scope_but_not_of_that_branch_is_refused(world: SimpleNamespace) -> None:
    """A branch manager of the region sees branch B but is not B's manager: 403, nothing written."""
    manager = user_with_role(Role.BRANCH_MANAGER, region=world.b.region)
    response = browser(manager).post(reverse("evaluation:closing_submit"),
                                     {"branch": world.b.code, "month": "2026-09"})  # fmt: skip
    assert response.status_code == 403
    assert not MonthlyClosing.objects.exists()


# ---------------------------------------------------------------- REV-3 HQ overview


def test_hq_sees_on_time_late_and_missing_branches(world: SimpleNamespace) -> None:
    with clock.frozen(dt.date(2026, 10, 12)):
        closing.submit(branch=world.a, month="2026-09", actor=actor_of(world.ops_a))
    with clock.frozen(dt.date(2026, 10, 22)):
        closing.submit(branch=world.b, month="2026-09", actor=actor_of(world.ops_b))
        response = browser(world.hq).get(reverse("evaluation:closing_hq") + "?month=2026-09")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-state="on_time"' in row_of(html, world.a.code)
    assert 'data-state="late"' in row_of(html, world.b.code)
    missing = row_of(html, world.c.code)
    assert 'data-state="missing"' in missing and 'class="alarm"' in missing


def test_inside_the_window_a_branch_not_yet_submitted_is_pending_not_red(
    world: SimpleNamespace,
) -> None:
    html = browser(world.compliance).get(reverse("evaluation:closing_hq")).content.decode()
    row = row_of(html, world.c.code)
    assert 'data-state="pending"' in row and "alarm" not in row


def test_branch_ops_cannot_open_the_hq_overview(world: SimpleNamespace) -> None:
    assert_forbidden(browser(), world.ops_a, reverse("evaluation:closing_hq"), method="get")


# ---------------------------------------------------------------- REV-4 evaluations


def published_q3(world: SimpleNamespace) -> None:
    actor = actor_of(world.compliance)
    evaluations.compute(period="2026-Q3", actor=actor)
    evaluations.publish(period="2026-Q3", actor=actor)


def test_compliance_computes_and_publishes_through_the_page(world: SimpleNamespace) -> None:
    http = browser(world.compliance)
    response = http.post(reverse("evaluation:compute"), {"period": "2026-Q3"})
    assert response.status_code == 302
    assert Evaluation.objects.drafts().filter(period="2026-Q3").count() == 3
    page = http.get(response["Location"]).content.decode()
    assert "发布 2026-Q3 的考核结果" in page
    response = http.post(reverse("evaluation:publish"), {"period": "2026-Q3"})
    assert response.status_code == 302
    assert Evaluation.objects.published().filter(period="2026-Q3").count() == 3
    refused = http.post(reverse("evaluation:publish"), {"period": "2026-Q3"})
    assert refused.status_code == 409 and "已发布" in refused.content.decode()


def test_the_branch_cannot_compute_or_publish(world: SimpleNamespace) -> None:
    for name in ("compute", "publish"):
        assert_forbidden(browser(), world.ops_a, reverse(f"evaluation:{name}"),
                         data={"period": "2026-Q3"})  # fmt: skip
    assert not Evaluation.objects.exists()


def test_a_branch_sees_its_own_published_evaluation_only(world: SimpleNamespace) -> None:
    published_q3(world)
    own = Evaluation.objects.get(branch=world.a)
    other = Evaluation.objects.get(branch=world.b)
    http = browser(world.ops_a)
    assert http.get(reverse("evaluation:detail", args=[own.pk])).status_code == 200
    assert_out_of_scope_404(http, world.ops_a, reverse("evaluation:detail", args=[other.pk]))
    listing = http.get(reverse("evaluation:list"))
    assert_list_excludes(listing, reverse("evaluation:detail", args=[other.pk]))
    assert reverse("evaluation:detail", args=[own.pk]) in listing.content.decode()


def test_a_branch_does_not_see_a_draft_hq_does(world: SimpleNamespace) -> None:
    evaluations.compute(period="2026-Q3", actor=actor_of(world.compliance))
    draft = Evaluation.objects.get(branch=world.a)
    url = reverse("evaluation:detail", args=[draft.pk])
    assert_out_of_scope_404(browser(), world.ops_a, url)
    assert "草稿" in browser(world.hq).get(url).content.decode()


def test_the_detail_page_shows_each_criterion_and_its_figures(world: SimpleNamespace) -> None:
    published_q3(world)
    row = Evaluation.objects.get(branch=world.a)
    html = browser(world.ops_a).get(reverse("evaluation:detail", args=[row.pk])).content.decode()
    for code in ("coverage", "timeliness", "review", "issues", "closing"):
        assert f'data-criterion="{code}"' in html
    assert "月结按时报送率" in html and "2026-07、2026-08" in html  # months missing


# ---------------------------------------------------------------- REV-5 scorecards


def test_scorecards_count_review_findings_per_agent_within_scope(world: SimpleNamespace) -> None:
    mine, theirs = staff_of(world.a), staff_of(world.b)
    for status in ("passed", "passed", "findings"):
        decided_review(signed_record(world.a, dt.date(2026, 9, 1), agent=mine), status,
                       dt.date(2026, 9, 2))  # fmt: skip
    decided_review(signed_record(world.b, dt.date(2026, 9, 1), agent=theirs), "findings",
                   dt.date(2026, 9, 2))  # fmt: skip
    response = browser(world.ops_a).get(reverse("evaluation:scorecards") + "?period=2026")
    html = response.content.decode()
    row = re.search(rf'<tr data-staff="{mine.pk}">.*?</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(0))
    assert cells[:3] == ["2", "1", "66.7"]
    assert f'data-staff="{theirs.pk}"' not in html
    everyone = browser(world.compliance).get(reverse("evaluation:scorecards")).content.decode()
    assert f'data-staff="{theirs.pk}"' in everyone


def test_scorecards_show_the_mrg8_scorecards_of_staff_in_scope(
    world: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huifang.orders.selectors import Scorecard

    mine, theirs = staff_of(world.a), staff_of(world.b)
    asked: list[object] = []

    def scorecards(start: dt.date, end: dt.date, branches: object) -> list[Scorecard]:
        asked.append(branches)
        return [
            Scorecard(mine.pk, mine.name, world.a.code, 3, 4.33, 3, 1),
            Scorecard(theirs.pk, theirs.name, world.b.code, 2, 2.5, 1, 2),
        ]

    monkeypatch.setattr(inputs, "mrg8_scorecards", scorecards)
    html = browser(world.ops_a).get(reverse("evaluation:scorecards")).content.decode()
    assert asked == [frozenset({world.a.code})]  # the reader's scope goes to MRG-8
    row = re.search(rf'<tr data-staff="{mine.pk}">.*?</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(0))
    assert cells == ["0", "0", "—", "3", "4.33", "3", "1"]
    assert f'data-staff="{theirs.pk}"' not in html  # even if a selector returned him


def test_the_scope_matrix_helpers_make_rows_only_their_branch_sees(world: SimpleNamespace) -> None:
    """``closing_row`` / ``evaluation_row`` are for core's scope matrix: B sees nothing of A."""
    from django.http import Http404

    from huifang.core.scope import get_visible_or_404
    from huifang.evaluation.tests.factories import closing_row, evaluation_row

    for row in (closing_row(world.a), evaluation_row(world.a)):
        manager = type(row).objects
        assert manager.visible_to(world.ops_a).filter(pk=row.pk).exists()
        assert not manager.visible_to(world.ops_b).filter(pk=row.pk).exists()
        with pytest.raises(Http404):
            get_visible_or_404(manager.all(), world.ops_b, pk=row.pk)
    published = Evaluation.objects.get(branch=world.a)
    assert_out_of_scope_404(
        browser(), world.ops_b, reverse("evaluation:detail", args=[published.pk])
    )
