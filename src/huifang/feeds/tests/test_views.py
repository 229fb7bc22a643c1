"""Admin pages of import batches: list, detail, zip upload with progress (SPEC §1)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from huifang.accounts.choices import Role
from huifang.accounts.tests.factories import user_with_role
from huifang.clients.models import Client
from huifang.feeds.choices import BatchStatus
from huifang.feeds.models import ImportBatch
from huifang.feeds.tests import feedkit

pytestmark = pytest.mark.django_db


def _zip(directory: Path, *, folder: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.iterdir()):
            archive.write(path, f"{folder}{path.name}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _login(role: str) -> HttpClient:
    user = user_with_role(role)
    http = HttpClient()
    http.force_login(user)
    return http


def _upload(http: HttpClient, data: bytes, name: str = "feed.zip", **fields: str) -> object:
    upload = io.BytesIO(data)
    upload.name = name
    return http.post(
        reverse("feeds:upload"),
        {"business_date": str(feedkit.DAY1), "archive": upload, "encoding": "", **fields},
    )


def test_an_admin_uploads_a_feed_zip_and_it_is_imported(tmp_path: Path) -> None:
    directory = feedkit.write_feed(tmp_path / "feed", feedkit.standard_feed())
    http = _login(Role.ADMIN)
    response = _upload(http, _zip(directory, folder="feed-2026-10-13/"))
    assert response.status_code == 302
    batch = ImportBatch.objects.get(status=BatchStatus.COMMITTED)
    assert batch.source == "upload"
    assert Client.objects.count() == len(feedkit.standard_feed()["clients"])
    progress = http.get(response["Location"])  # type: ignore[index]
    assert progress.status_code == 200
    assert "100%" in progress.content.decode()
    page = http.get(reverse("feeds:batches"))
    assert f"#{batch.pk}" in page.content.decode()


def test_a_rejected_upload_lists_its_errors_on_the_batch_page(tmp_path: Path) -> None:
    feed = feedkit.standard_feed()
    feed["clients"][0]["open_date"] = "2026-13-01"
    directory = feedkit.write_feed(tmp_path / "feed", feed)
    http = _login(Role.ADMIN)
    _upload(http, _zip(directory))
    batch = ImportBatch.objects.get()
    assert batch.status == BatchStatus.REJECTED
    page = http.get(reverse("feeds:batch", args=[batch.pk])).content.decode()
    assert "clients.csv:2:open_date:" in page
    assert Client.objects.count() == 0


def test_a_zip_with_a_path_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    directory = feedkit.write_feed(tmp_path / "feed", feedkit.standard_feed())
    http = _login(Role.ADMIN)
    response = _upload(http, _zip(directory, extra={"../../evil.csv": b"x"}))
    assert response.status_code == 302
    assert not ImportBatch.objects.exists()
    assert "unsafe path" in http.get(reverse("feeds:batches")).content.decode()


def test_a_file_that_is_not_a_zip_is_refused() -> None:
    http = _login(Role.ADMIN)
    _upload(http, b"client_id,name\n")
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize("role", [Role.AGENT, Role.BRANCH_MANAGER, Role.COMPLIANCE])
def test_only_an_admin_may_upload(role: str) -> None:
    http = _login(role)
    response = _upload(http, b"PK\x03\x04")
    assert response.status_code == 403


@pytest.mark.parametrize(
    "role,status", [(Role.AGENT, 403), (Role.COMPLIANCE, 200), (Role.ADMIN, 200)]
)
def test_who_may_see_the_batch_list(role: str, status: int) -> None:
    assert _login(role).get(reverse("feeds:batches")).status_code == status
