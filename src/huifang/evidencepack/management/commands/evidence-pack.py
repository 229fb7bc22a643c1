"""``huifang evidence-pack CLIENT --from D --to D OUT.zip``: one client's evidence pack (NFR-2).

Writes the zip described in ``huifang.evidencepack.pack`` and one audit row
(``evidencepack.build``, actor ``system:evidence-pack``). Exit 0 with a summary on
stdout; 1 with a message on stderr (unknown client, ``--from`` after ``--to``,
OUT already there or its folder missing, an evidence file unreadable or altered);
2 on usage errors (arguments missing, a date not YYYY-MM-DD).

The module's name carries the hyphen so that Django's command loader finds
``evidence-pack`` as it is typed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandParser

from huifang.audit.context import system_context
from huifang.clients.models import Client
from huifang.evidencepack.pack import PackRefused, build, check_period

JOB = "evidence-pack"


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {value!r}") from None


class Command(BaseCommand):
    help = "Build the evidence pack (zip) of one client for a period; verify it with its verify.py"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client", metavar="CLIENT", help="client id (客户号)")
        parser.add_argument("--from", dest="start", required=True, type=_date, metavar="D",
                            help="first callback date, YYYY-MM-DD")  # fmt: skip
        parser.add_argument("--to", dest="end", required=True, type=_date, metavar="D",
                            help="last callback date, YYYY-MM-DD")  # fmt: skip
        parser.add_argument(
            "out", metavar="OUT.zip", help="where to write the pack (must not exist)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        out = Path(options["out"])
        try:
            check_period(options["start"], options["end"])
            client = Client.objects.filter(pk=options["client"]).first()
            if client is None:
                self.fail(f"no client {options['client']!r}")
            if out.exists():
                self.fail(f"{out} already exists: choose another name")
            if not out.parent.is_dir():
                self.fail(f"{out.parent} is not a folder")
            with system_context(JOB) as actor:
                summary = build(client=client, start=options["start"], end=options["end"],
                                out=out, actor=actor.actor)  # fmt: skip
        except PackRefused as error:
            self.fail(str(error))
        self.stdout.write(f"evidence pack written: {summary.describe()}")
        self.stdout.write(f"manifest SHA-256 {summary.manifest_sha256}")

    def fail(self, message: str) -> NoReturn:
        self.stderr.write(f"evidence-pack: {message}")
        sys.exit(1)
