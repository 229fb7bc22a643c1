"""``huifang synth``: write the feeds of a synthetic brokerage (SPEC §1)."""

from __future__ import annotations

import datetime as dt
import sys
from argparse import ArgumentParser, ArgumentTypeError
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huifang.synth.generator import run


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ArgumentTypeError("must be at least 1")
    return value


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from exc


class Command(BaseCommand):
    help = (
        "Write one feed directory per trading day (OUT/feed-YYYY-MM-DD/) for a synthetic brokerage."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "out", type=Path, metavar="OUT", help="directory that receives feed-YYYY-MM-DD/"
        )
        parser.add_argument("--clients", type=_positive, required=True, help="clients on day 1")
        parser.add_argument("--branches", type=_positive, required=True, help="branches (营业部)")
        parser.add_argument(
            "--days", type=_positive, required=True, help="consecutive trading days"
        )
        parser.add_argument(
            "--start",
            type=_date,
            default=dt.date(2026, 10, 12),
            help="first date (default 2026-10-12)",
        )
        parser.add_argument(
            "--seed", type=int, default=20261012, help="random seed (default 20261012)"
        )
        parser.add_argument("--format", choices=("csv", "parquet"), default="csv", dest="fmt")
        parser.add_argument(
            "--snapshots",
            type=lambda text: [_date(part) for part in text.split(",") if part],
            default=[],
            help="earlier period ends with an assets snapshot (OUT/snapshot-YYYY-MM-DD/), "
            "e.g. 2025-12-31,2026-09-30",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def progress(message: str) -> None:
            print(message, file=sys.stderr, flush=True)

        try:
            result = run(
                options["out"],
                clients=options["clients"],
                branches=options["branches"],
                days=options["days"],
                start=options["start"],
                seed=options["seed"],
                fmt=options["fmt"],
                progress=progress,
                snapshots=options["snapshots"],
            )
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        progress(result.summary())
