"""``huifang export KIND --format csv``: the auditors' exports (SPEC §12).

UTF-8 without BOM, ``\\n`` line ends, a header row, rows sorted by the first
column, ISO dates, empty cells for null, nothing but the data on stdout. Runs as
the system (no user scope). Exit 0 on success, 2 on a usage error.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable, Iterator
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huifang.clients.selectors import EXPORT_COLUMNS, client_export_rows

USAGE = 2
LATER_KINDS: tuple[str, ...] = ()


def export_clients(stream: TextIO) -> None:
    """The ``clients`` export, streamed: masked ID number and mobile only (CLI-4)."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow([column for column, _ in EXPORT_COLUMNS])
    writer.writerows(client_export_rows())


def export_classes(stream: TextIO) -> None:
    """The ``classes`` export: each client's class under the primary standard (SPEC §12, CLS-1)."""
    from huifang.classification.selectors import EXPORT_COLUMNS as CLASS_COLUMNS
    from huifang.classification.selectors import class_export_rows

    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CLASS_COLUMNS)
    writer.writerows(class_export_rows())


def export_tasks(stream: TextIO) -> None:
    """The ``tasks`` export (SPEC §12)."""
    from huifang.callbacks.selectors import TASK_COLUMNS, task_export_rows

    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(TASK_COLUMNS)
    writer.writerows(task_export_rows())


def export_plans(stream: TextIO) -> None:
    """The ``plans`` export (SPEC §12)."""
    from huifang.callbacks.selectors import PLAN_COLUMNS, plan_export_rows

    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(PLAN_COLUMNS)
    writer.writerows(plan_export_rows())


EXPORTS: dict[str, Callable[[TextIO], None]] = {
    "clients": export_clients,
    "classes": export_classes,
    "tasks": export_tasks,
    "plans": export_plans,
}


class Command(BaseCommand):
    help = "Print clients, classes, tasks or plans as CSV on stdout (SPEC §12)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=[*EXPORTS, *LATER_KINDS])
        parser.add_argument("--format", dest="fmt", choices=["csv"], default="csv")

    def handle(self, *args: Any, kind: str, fmt: str, **options: Any) -> None:
        export = EXPORTS.get(kind)
        if export is None:
            raise CommandError(f"export {kind}: not available yet", returncode=USAGE)
        with utf8_stdout(self.stdout) as stream:
            export(stream)


@contextlib.contextmanager
def utf8_stdout(out: Any) -> Iterator[TextIO]:
    """The command's stdout as UTF-8 with ``\\n`` line ends, whatever the locale.

    On a real stdout the text goes straight to its byte buffer (no locale encoding,
    no newline translation); a stream without one (a test's ``StringIO``) is used as is.
    """
    buffer = getattr(out, "buffer", None)
    if buffer is None:
        yield out
        return
    out.flush()
    stream = io.TextIOWrapper(buffer, encoding="utf-8", newline="\n")
    try:
        yield stream
    finally:
        stream.flush()
        stream.detach()
