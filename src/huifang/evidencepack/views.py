"""The evidence pack screen under ``/evidence-pack/<client_id>/`` (NFR-2, EXE-5).

GET shows the period form; POST builds the pack and sends the zip. Roles:
compliance, HQ customer service and the branch's 营运总监 (403 otherwise); the
client must be in the user's data scope (404 otherwise), and only the records and
tasks in his scope are packed. Every pack sent leaves its ``evidencepack.build``
audit row (written by ``pack.build`` with the zip's SHA-256). The page and the zip
carry client data: never cached.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View

from huifang.accounts.permissions import user_has_role
from huifang.clients.models import Client
from huifang.core.context_processors import with_grants
from huifang.core.scope import get_visible_or_404
from huifang.core.views import private_page
from huifang.evidencepack.access import ROLES
from huifang.evidencepack.forms import PackPeriodForm
from huifang.evidencepack.pack import PackRefused, build


@method_decorator(private_page, name="dispatch")
class EvidencePackView(LoginRequiredMixin, View):
    """证据包: choose the period, download the zip."""

    template_name = "evidencepack/pack.html"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            with_grants(request.user)
            if not user_has_role(request.user, *ROLES):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, client_id: str) -> HttpResponse:
        client = get_visible_or_404(Client.objects.all(), request.user, pk=client_id)
        return self.page(request, client, PackPeriodForm())

    def post(self, request: HttpRequest, client_id: str) -> HttpResponseBase:
        client = get_visible_or_404(Client.objects.all(), request.user, pk=client_id)
        form = PackPeriodForm(request.POST)
        if not form.is_valid():
            return self.page(request, client, form, status=400)
        start, end = form.period()
        folder = Path(tempfile.mkdtemp(dir=_scratch()))
        try:
            summary = build(client=client, start=start, end=end, out=folder / "pack.zip",
                            actor=request.user.get_username(), user=request.user)  # fmt: skip
            handle = summary.path.open("rb")  # stays readable after the folder is gone
        except PackRefused as refused:
            return self.page(request, client, form, errors=[refused.message], status=409)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        name = f"evidence-pack-{start:%Y%m%d}-{end:%Y%m%d}-{summary.sha256[:12]}.zip"
        response = FileResponse(handle, as_attachment=True, filename=name,
                                content_type="application/zip")  # fmt: skip
        response["X-Content-SHA256"] = summary.sha256
        return response

    def page(
        self, request: HttpRequest, client: Client, form: PackPeriodForm, *,
        errors: list[str] | None = None, status: int = 200,
    ) -> HttpResponse:  # fmt: skip
        context = {"client": client, "form": form, "errors": errors or []}
        return render(request, self.template_name, context, status=status)


def _scratch() -> Path:
    folder = Path(settings.DATA_DIR) / "tmp" / "evidencepack"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
