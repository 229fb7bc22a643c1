"""Background imports: load by argument, call the service, nothing else [Styleguide]."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from celery import shared_task

from huifang.audit.context import audit_context
from huifang.feeds.services import feed_import


@shared_task
def import_uploaded(
    *,
    directory: str,
    business_date: str,
    actor: str,
    encoding: str | None,
    replace: bool,
    token: str,
) -> str:
    """Import an uploaded, already unpacked feed directory, then delete the upload."""
    try:
        with audit_context(actor):
            result = feed_import(
                directory=Path(directory),
                business_date=dt.date.fromisoformat(business_date),
                actor=actor,
                encoding=encoding,
                replace=replace,
                source="upload",
                token=token,
            )
        return result.status
    finally:
        shutil.rmtree(Path(directory).parent, ignore_errors=True)
