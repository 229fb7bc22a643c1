"""Screens of the monthly closing (REV-3), the branch evaluation (REV-4) and staff scorecards (REV-5).

Views are thin: they check the role (403) and the scope (404 outside it), parse a
form, call ONE service or selector and render. A service's ``EvaluationRefused`` is
shown as its Chinese reasons with the page as it stands — nothing was written.
Pages are private (never cached): they name staff and branches' results.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from huifang.accounts.permissions import user_has_role
from huifang.calendars.service import CalendarYearMissing
from huifang.core import clock
from huifang.core.scope import get_visible_or_404
from huifang.core.views import RoleView
from huifang.evaluation import access, closing, evaluations, scorecards, selectors
from huifang.evaluation.choices import ClosingState, Criterion
from huifang.evaluation.errors import EvaluationRefused
from huifang.evaluation.forms import ClosingSubmitForm, MonthForm, PeriodForm
from huifang.evaluation.labels import figure_rows
from huifang.evaluation.models import MonthlyClosing
from huifang.evaluation.params import AGENT_CRITERIA
from huifang.evaluation.periods import (
    closing_window_end,
    month_bounds,
    parse_period,
    previous_month,
)
from huifang.org.choices import UnitKind
from huifang.org.models import Unit
from huifang.workbench.actors import Actor

EvaluationView = RoleView  # signed in, one of ``roles``, grants read once (core.views)


def _month(request: HttpRequest) -> str:
    """The ``month`` asked for, else last month (the one closed now, REV-3)."""
    form = MonthForm(request.GET)
    if form.is_valid() and form.cleaned_data["month"]:
        return str(form.cleaned_data["month"])
    return previous_month(clock.today())


def _calendar_error(exc: CalendarYearMissing) -> str:
    return _("%(year)s 年工作日历未载入,无法确定报送截止日(NFR-1)") % {"year": exc.year}


# ---------------------------------------------------------------- REV-3 branch page


class ClosingBranchView(EvaluationView):
    """月度报送 (branch): the month's signed records, the deadline, the submit button (REV-3)."""

    roles = access.CLOSING_SUBMITTERS

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request, request.GET.get("branch"), _month(request))

    def page(
        self, request: HttpRequest, branch_code: str | None, month: str, *,
        errors: list[str] | None = None, status: int = 200, form: ClosingSubmitForm | None = None,
    ) -> HttpResponse:  # fmt: skip
        user = request.user
        codes = closing.submitter_branches(user)  # type: ignore[arg-type]
        context: dict[str, Any] = {"codes": codes, "month": month, "errors": errors or []}
        if not codes:
            return render(request, "evaluation/closing_branch.html", context, status=status)
        if branch_code and branch_code not in codes:
            raise Http404
        branch = get_visible_or_404(Unit.objects.all(), user, code=branch_code or codes[0])
        context.update(self.month_context(branch, month))
        context.update(branch=branch, form=form or ClosingSubmitForm(initial={
            "branch": branch.code, "month": month}), history=closing.history(branch.code))  # fmt: skip
        return render(request, "evaluation/closing_branch.html", context, status=status)

    def month_context(self, branch: Unit, month: str) -> dict[str, Any]:
        today = clock.today()
        submissions = list(MonthlyClosing.objects.filter(branch=branch, month=month)
                           .order_by("submitted_at", "id"))  # fmt: skip
        first = next((row for row in submissions if not row.correction), None)
        context: dict[str, Any] = {"submissions": submissions, "first": first, "today": today}
        try:
            context["window_end"] = closing_window_end(month)
            context["state"] = closing.state(first, month, today, context["window_end"])
        except CalendarYearMissing as exc:
            context["calendar_error"] = _calendar_error(exc)
            return context
        ended = month_bounds(month)[1] < today
        current = closing.summary(branch.code, month)
        latest = submissions[-1] if submissions else None
        context.update(
            ended=ended, current=current, latest=latest,
            changed=latest is not None and latest.records_sha256 != current.sha256,
        )  # fmt: skip
        return context


class ClosingSubmitView(EvaluationView):
    """POST: submit the month (or a correction with its reason) through ``closing.submit``."""

    roles = access.CLOSING_SUBMITTERS
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ClosingSubmitForm(request.POST)
        page = ClosingBranchView()
        if not form.is_valid():
            branch_code = request.POST.get("branch") or None
            return page.page(request, branch_code, _month(request), status=400,
                             errors=[_("请检查填写的内容。")])  # fmt: skip
        data = form.cleaned_data
        branches = Unit.objects.filter(unit_kind=UnitKind.BRANCH)
        branch = get_visible_or_404(branches, request.user, code=data["branch"])
        try:
            row = closing.submit(branch=branch, month=data["month"], actor=self.actor(request),
                                 note=data["note"], correction=data["correction"])  # fmt: skip
        except EvaluationRefused as exc:
            code = branch.code if branch.code in closing.submitter_branches(request.user) else None  # type: ignore[arg-type]
            return page.page(request, code, data["month"], errors=exc.reasons,
                             status=exc.status, form=form)  # fmt: skip
        if row.late:
            messages.warning(request, _("已报送,但已超过报送截止日 %(d)s(REV-3)。")
                             % {"d": f"{row.window_end:%Y-%m-%d}"})  # fmt: skip
        else:
            messages.success(request, _("已报送 %(n)s 条回访记录。") % {"n": row.record_count})
        url = reverse("evaluation:closing")
        return redirect(f"{url}?branch={branch.code}&month={row.month}")


# ---------------------------------------------------------------- REV-3 HQ overview


class ClosingOverviewView(EvaluationView):
    """月度报送情况 (HQ): every branch on time, late, pending or missing for a month (REV-3)."""

    roles = access.CLOSING_HQ

    def get(self, request: HttpRequest) -> HttpResponse:
        month = _month(request)
        context: dict[str, Any] = {"month": month, "rows": [], "errors": []}
        try:
            context["window_end"] = closing_window_end(month)
            rows = closing.overview(user=request.user, month=month)  # type: ignore[arg-type]
        except CalendarYearMissing as exc:
            context["errors"] = [_calendar_error(exc)]
            return render(request, "evaluation/closing_hq.html", context)
        tally = Counter(row.state for row in rows)
        context.update(rows=rows, tally=[(state, tally.get(state, 0)) for state in ClosingState])
        return render(request, "evaluation/closing_hq.html", context)


# ---------------------------------------------------------------- REV-4 evaluations


class EvaluationListView(EvaluationView):
    """营业部考核: the evaluations of a period the user may read; compute and publish for HQ."""

    roles = access.EVALUATION_READERS

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.page(request, request.GET.get("period", ""))

    def page(
        self, request: HttpRequest, period: str, *, errors: list[str] | None = None,
        status: int = 200,
    ) -> HttpResponse:  # fmt: skip
        user = request.user
        periods = selectors.periods(user)
        period = period if period in periods else (periods[0] if periods else "")
        rows = list(selectors.evaluations_for(user).filter(period=period).order_by("branch_id"))
        evaluator = user_has_role(user, *access.EVALUATORS)
        context = {
            "periods": periods, "period": period, "errors": errors or [],
            "rows": [(row, [row.scores.get(code) for code in Criterion.values]) for row in rows],
            "criteria": Criterion.choices,
            "evaluator": evaluator, "hq": user_has_role(user, *access.EVALUATION_HQ),
            "form": PeriodForm(initial={"period": period or str(clock.today().year)}),
            "drafts": any(not row.is_published for row in rows),
        }  # fmt: skip
        return render(request, "evaluation/evaluation_list.html", context, status=status)


class EvaluationActionView(EvaluationView):
    """POST a period to ``evaluations.compute`` or ``publish`` (compliance only)."""

    roles = access.EVALUATORS
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PeriodForm(request.POST)
        if not form.is_valid():
            return EvaluationListView().page(
                request, "", errors=[_("考核期间格式不正确。")], status=400
            )
        label = form.cleaned_data["period"]
        try:
            rows = self.act(label, self.actor(request))
        except EvaluationRefused as exc:
            return EvaluationListView().page(request, label, errors=exc.reasons, status=exc.status)
        messages.success(request, self.done(len(rows)))
        return redirect(f"{reverse('evaluation:list')}?period={label}")

    def act(self, label: str, actor: Actor) -> list[Any]:
        raise NotImplementedError

    def done(self, n: int) -> str:
        raise NotImplementedError


class EvaluationComputeView(EvaluationActionView):
    def act(self, label: str, actor: Actor) -> list[Any]:
        return evaluations.compute(period=label, actor=actor)

    def done(self, n: int) -> str:
        return _("已计算 %(n)s 个营业部的考核结果(草稿)。") % {"n": n}


class EvaluationPublishView(EvaluationActionView):
    def act(self, label: str, actor: Actor) -> list[Any]:
        return evaluations.publish(period=label, actor=actor)

    def done(self, n: int) -> str:
        return _("已发布 %(n)s 个营业部的考核结果。") % {"n": n}


class EvaluationDetailView(EvaluationView):
    """One branch's evaluation: each criterion with its figures, and the agents' part (REV-4)."""

    roles = access.EVALUATION_READERS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        row = selectors.evaluation_or_404(request.user, pk)
        scores = [
            {**entry, "figure_rows": figure_rows(entry["code"], entry["figures"])}
            for entry in row.score_rows()
        ]
        context = {
            "evaluation": row,
            "scores": scores,
            "agents": agent_rows(row.agents),
            "agent_criteria": [Criterion(code).label for code in AGENT_CRITERIA],
        }
        return render(request, "evaluation/evaluation_detail.html", context)


def agent_rows(agents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The agents' part with each criterion's score and count ready for the table."""
    return [
        {**agent, "cells": [agent["scores"].get(code) for code in AGENT_CRITERIA]}
        for agent in agents
    ]


# ---------------------------------------------------------------- REV-5 staff scorecards


class ScorecardView(EvaluationView):
    """员工评分卡: MRG-8 supervisor callbacks and review findings per staff member (REV-5)."""

    roles = access.SCORECARD_READERS

    def get(self, request: HttpRequest) -> HttpResponse:
        today = clock.today()
        form = PeriodForm(request.GET or None, initial={"period": str(today.year)})
        span = parse_period(form.cleaned_data["period"]) if form.is_valid() else None
        span = span or parse_period(str(today.year))
        end = min(span.end, today)
        cards = scorecards.staff_scorecards(user=request.user, start=span.start, end=end)  # type: ignore[arg-type]
        context = {"form": form, "span": span, "end": end, "cards": cards,
                   "errors": [] if form.is_valid() or not request.GET else [_("考核期间格式不正确。")]}  # fmt: skip
        return render(request, "evaluation/scorecards.html", context)
