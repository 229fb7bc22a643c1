"""The calendar page: known years and their source; admins load a year (NFR-1)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View

from huifang.accounts.choices import Role
from huifang.accounts.permissions import role_required, user_has_role
from huifang.calendars.csvfile import parse_calendar_csv
from huifang.calendars.forms import CalendarUploadForm
from huifang.calendars.selectors import calendar_year_list
from huifang.calendars.services import CalendarRejected, calendar_load

TEMPLATE = "calendars/calendar_year_list.html"


def _page(request: HttpRequest, **context: Any) -> dict[str, Any]:
    return {
        "years": calendar_year_list(),
        "can_load": user_has_role(request.user, Role.ADMIN),
        "form": CalendarUploadForm(),
        "problems": [],
        **context,
    }


@method_decorator(login_required, name="dispatch")
class CalendarYearListView(View):
    """Every known year with its source (package or our table)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, TEMPLATE, _page(request))


@method_decorator(role_required(Role.ADMIN), name="dispatch")
class CalendarUploadView(View):
    """Load a calendar file through ``calendar_load``; the page again with problems if rejected."""

    def post(self, request: HttpRequest) -> HttpResponse:
        form = CalendarUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, TEMPLATE, _page(request, form=form), status=400)
        try:
            rows = parse_calendar_csv(form.cleaned_data["file"])
            years = calendar_load(rows=rows, actor=request.user)
        except CalendarRejected as rejected:
            problems = [problem.render(form.file_name) for problem in rejected.problems]
            context = _page(request, form=form, problems=problems)
            return render(request, TEMPLATE, context, status=400)
        loaded = "、".join(str(year) for year in years)
        messages.success(request, _("已载入 %(years)s 年工作日历") % {"years": loaded})
        return redirect("calendars:index")
