"""``huifang import DIR --date D [--encoding E] [--replace]`` (SPEC §12).

Exit 0: imported, or already imported with the same content; 1: rejected (one
``file:line:column: reason`` per line on stderr); 2: usage.
"""

from __future__ import annotations

import codecs
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from huifang.audit.context import system_context
from huifang.feeds.services import feed_import


class Command(BaseCommand):
    help = "Import one feed directory for one business date (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--date", required=True, help="business date YYYY-MM-DD")
        parser.add_argument("--encoding", default=None, help="declared CSV encoding, e.g. gb18030")
        parser.add_argument(
            "--replace", action="store_true", help="replace a date imported with other content"
        )
        parser.add_argument("--quiet", action="store_true", help="no progress lines")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = dt.date.fromisoformat(options["date"])
        except ValueError:
            self.stderr.write(f"--date: not a date YYYY-MM-DD: {options['date']!r}")
            sys.exit(2)
        encoding = options["encoding"]
        if encoding:
            try:
                codecs.lookup(encoding)
            except LookupError:
                self.stderr.write(f"--encoding: unknown encoding {encoding!r}")
                sys.exit(2)
        if not options["directory"].is_dir():
            self.stderr.write(f"{options['directory']}: not a directory")
            sys.exit(2)

        def progress(percent: int, text: str) -> None:
            if not options["quiet"]:
                self.stderr.write(f"[{percent:3d}%] {text}")

        with system_context("import"):
            result = feed_import(
                directory=options["directory"],
                business_date=day,
                actor="system:import",
                encoding=encoding,
                replace=options["replace"],
                progress=progress,
            )
        if result.status == "rejected":
            for line in result.errors:
                self.stderr.write(line)
            self.stderr.write(f"rejected: {len(result.errors)} error(s); nothing was imported")
            sys.exit(1)
        self.stdout.write(result.message)
        for name, count in sorted(result.counts.items()):
            self.stdout.write(f"  {name}: {count:,}")
