"""Pluggable message backends for e-questionnaire links (EXE-6).

``settings.HUIFANG_MESSAGE_BACKEND`` names the backend class by dotted path
(default ``huifang.workbench.messaging.FileBackend``). A backend implements
``send(channel, address, text) -> None`` and raises on failure; the caller stores
the failure on the link (``send_error``). A brokerage plugs in its SMS gateway or
mail relay by writing one such class.

Backends never log the address: the file backend is the outbox itself (one file
per message under ``DATA_DIR/outbox/``), the console backend prints it masked.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from huifang.core import clock, pii

DEFAULT_BACKEND = "huifang.workbench.messaging.FileBackend"


class MessageBackend(Protocol):
    """What a message backend does: deliver ``text`` to ``address`` or raise."""

    def send(self, channel: str, address: str, text: str) -> None: ...


class MessageError(RuntimeError):
    """A backend could not deliver a message."""


def masked_address(channel: str, address: str | None) -> str:
    """The SPEC §12 mask of a mobile (first 3, last 4) or an e-mail (first 2 characters)."""
    if channel == "sms":
        return pii.mask_mobile(address)
    return pii.mask_text(address)


class FileBackend:
    """Writes each message as one JSON file under ``DATA_DIR/outbox/`` (embedded default)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory

    def outbox(self) -> Path:
        return self.directory or Path(settings.DATA_DIR) / "outbox"

    def send(self, channel: str, address: str, text: str) -> None:
        folder = self.outbox()
        folder.mkdir(parents=True, exist_ok=True)
        at = clock.now()
        name = f"{at:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}.json"
        body = {"channel": channel, "to": address, "text": text, "at": at.isoformat()}
        partial = folder / f".{name}.part"
        partial.write_text(json.dumps(body, ensure_ascii=False, indent=2), encoding="utf-8")
        os.replace(partial, folder / name)  # a reader never sees half a message


class ConsoleBackend:
    """Prints each message to standard output, the address masked (development)."""

    def send(self, channel: str, address: str, text: str) -> None:
        sys.stdout.write(f"[{channel}] {masked_address(channel, address)}\n{text}\n\n")
        sys.stdout.flush()


def backend() -> MessageBackend:
    """A new instance of the configured backend."""
    path = getattr(settings, "HUIFANG_MESSAGE_BACKEND", None) or DEFAULT_BACKEND
    cls = import_string(str(path))
    instance: MessageBackend = cls()
    return instance
