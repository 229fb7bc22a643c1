"""The calendar page /calendar/: everyone signed in reads it, an admin loads a year (NFR-1)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.calendars.models import CalendarDay
from huifang.calendars.service import is_working_day
from huifang.calendars.tests.factories import calendar_csv, rows_2027

pytestmark = pytest.mark.django_db

PAGE = "/calendar/"


def signed_in(role: str) -> Client:
    client = Client()
    client.force_login(user_with_role(role, username=f"u_{role}"))
    return client


def upload(client: Client, data: bytes, name: str = "2027.csv"):
    return client.post(reverse("calendars:load"), {"file": SimpleUploadedFile(name, data)})


def test_the_page_lives_at_slash_calendar():
    assert reverse("calendars:index") == PAGE


def test_a_visitor_is_sent_to_sign_in():
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_page_lists_known_years_with_their_source():
    response = signed_in(Role.ADMIN).get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "2026" in page and "2004" in page
    assert "内置节假日数据" in page
    assert "载入年度日历" in page


def test_a_user_without_the_admin_role_reads_but_cannot_load():
    client = signed_in(Role.AGENT)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert "载入年度日历" not in response.content.decode()
    assert upload(client, calendar_csv(rows_2027())).status_code == 403
    assert CalendarDay.objects.count() == 0


def test_an_admin_loads_a_year_through_the_service():
    client = signed_in(Role.ADMIN)
    response = upload(client, calendar_csv(rows_2027(), bom=True))

    assert response.status_code == 302
    assert response["Location"] == PAGE
    assert CalendarDay.objects.filter(date__year=2027).count() == 365
    assert set(CalendarDay.objects.values_list("loaded_by", flat=True)) == {"u_admin"}
    assert not is_working_day(dt.date(2027, 10, 1))
    page = client.get(PAGE).content.decode()
    assert "已载入 2027 年工作日历" in page
    assert "自行载入" in page


def test_a_rejected_file_shows_its_problems_and_saves_nothing():
    data = calendar_csv(rows_2027(skip=[dt.date(2027, 2, 1)]))
    response = upload(signed_in(Role.ADMIN), data)

    assert response.status_code == 400
    page = response.content.decode()
    assert "文件未载入" in page
    assert "2027.csv:2:1: year 2027 is incomplete: 1 date(s) missing, first 2027-02-01" in page
    assert CalendarDay.objects.count() == 0


def test_an_upload_without_a_file_is_refused():
    response = signed_in(Role.ADMIN).post(reverse("calendars:load"), {})
    assert response.status_code == 400
    assert CalendarDay.objects.count() == 0


def test_the_load_address_does_not_answer_get():
    assert signed_in(Role.ADMIN).get(reverse("calendars:load")).status_code == 405


def test_the_django_admin_shows_the_table_read_only(admin_client):
    assert admin_client.get("/admin/calendars/calendarday/").status_code == 200
    assert admin_client.get("/admin/calendars/calendarday/add/").status_code == 403
