"""Import batches for admins: list, detail, zip upload with a progress page (SPEC §1)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from huifang.accounts.choices import Role
from huifang.accounts.permissions import role_required, user_has_role
from huifang.core.background import dispatch
from huifang.feeds.forms import FeedUploadForm
from huifang.feeds.models import ImportBatch
from huifang.feeds.readers import FeedError
from huifang.feeds.services import read_progress
from huifang.feeds.tasks import import_uploaded
from huifang.feeds.uploads import upload_unpack

VIEWERS = (Role.ADMIN, Role.COMPLIANCE, Role.HQ_SERVICE)


@role_required(*VIEWERS)
def batch_list(request: HttpRequest) -> HttpResponse:
    return _list(request, FeedUploadForm())


def _list(request: HttpRequest, form: FeedUploadForm, status: int = 200) -> HttpResponse:
    batches = ImportBatch.objects.defer("errors", "files").order_by("-id")[:200]
    context = {
        "batches": batches,
        "form": form,
        "can_upload": user_has_role(request.user, Role.ADMIN),
    }
    return render(request, "feeds/batch_list.html", context, status=status)


@role_required(*VIEWERS)
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(ImportBatch, pk=pk)
    return render(
        request, "feeds/batch_detail.html", {"batch": batch, "errors": batch.errors.splitlines()}
    )


@role_required(Role.ADMIN)
def batch_upload(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("feeds:batches")
    form = FeedUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _list(request, form, status=400)
    token = uuid.uuid4().hex
    try:
        directory = upload_unpack(upload=form.cleaned_data["archive"], token=token)
    except FeedError as exc:
        messages.error(request, _("上传被拒绝:%(reason)s") % {"reason": exc})
        return redirect("feeds:batches")
    dispatch(
        import_uploaded,
        directory=str(directory),
        business_date=form.cleaned_data["business_date"].isoformat(),
        actor=request.user.get_username(),
        encoding=form.cleaned_data["encoding"] or None,
        replace=form.cleaned_data["replace"],
        token=token,
    )
    return redirect("feeds:progress", token=token)


@role_required(Role.ADMIN)
def batch_progress(request: HttpRequest, token: str) -> HttpResponse:
    if len(token) != 32 or not token.isalnum():
        raise Http404
    progress = read_progress(token) or {"percent": 0, "text": _("排队中")}
    batch = ImportBatch.objects.filter(token=token).first()
    template = "feeds/partials/progress.html" if request.htmx else "feeds/progress.html"  # type: ignore[attr-defined]
    return render(request, template, {"token": token, "progress": progress, "batch": batch})
