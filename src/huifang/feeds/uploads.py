"""A feed directory uploaded as a zip by an admin: checked, then unpacked for the importer."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from huifang.feeds.readers import FeedError, check_zip_members
from huifang.feeds.schema import FEEDS, FORMATS

MAX_UNPACKED = 8 * 1024**3


def upload_unpack(*, upload: UploadedFile, token: str) -> Path:
    """Save and unpack the feed files of a zip (flat or in one folder); raises FeedError."""
    base = Path(settings.DATA_DIR) / "uploads" / token
    target = base / "feed"
    target.mkdir(parents=True)
    archive_path = base / "upload.zip"
    try:
        with archive_path.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        with archive_path.open("rb") as handle:
            if handle.read(4) != b"PK\x03\x04":
                raise FeedError(upload.name or "upload", "not a zip file (wrong magic bytes)")
        with zipfile.ZipFile(archive_path) as archive:
            infos = archive.infolist()
            check_zip_members(upload.name or "upload", infos, limit=MAX_UNPACKED)
            for info in infos:
                name = PurePosixPath(info.filename).name
                stem, _, ext = name.partition(".")
                if info.is_dir() or stem not in FEEDS or ext.lower() not in FORMATS:
                    continue
                with archive.open(info) as src, (target / name).open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except zipfile.BadZipFile as exc:
        shutil.rmtree(base, ignore_errors=True)
        raise FeedError(upload.name or "upload", "broken zip file") from exc
    except FeedError:
        shutil.rmtree(base, ignore_errors=True)
        raise
    archive_path.unlink()
    return target
