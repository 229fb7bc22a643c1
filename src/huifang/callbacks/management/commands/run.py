"""``huifang run --date D [--feeds DIR]``: the nightly run (SPEC §12).

Imports DIR if given, then the classification when due, every effective rule,
plans, tasks and assignment, in one transaction per date. Dates run in
non-decreasing order; a date already run is a no-op (idempotent); a crash leaves
nothing, so running the date again resumes. Fails before writing anything, naming
the year, when the calendar lacks a year it needs. Exit 0 / 1 (failed) / 2 (usage).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from huifang.audit.context import system_context
from huifang.calendars.service import CalendarYearMissing, require_years
from huifang.callbacks.services import RunOutOfOrder, nightly_run, required_years
from huifang.policy.selectors import NoPolicyInForce

ACTOR = "system:run"


class Command(BaseCommand):
    help = (
        "The nightly run: import, classification, callback rules, plans, tasks, assignment (§12)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, help="business date YYYY-MM-DD")
        parser.add_argument("--feeds", default=None, help="feed directory to import first")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = dt.date.fromisoformat(options["date"])
        except ValueError:
            self.stderr.write(f"--date: not a date YYYY-MM-DD: {options['date']!r}")
            sys.exit(2)
        feeds = Path(options["feeds"]) if options["feeds"] else None
        if feeds is not None and not feeds.is_dir():
            self.stderr.write(f"--feeds: not a directory: {feeds}")
            sys.exit(2)
        with system_context("run"):
            try:
                require_years(required_years(day))  # before anything is written
                if feeds is not None:
                    self._import(feeds, day)
                self._classify(day)
                outcome = nightly_run(day=day, actor=ACTOR, progress=self._say)
            except (CalendarYearMissing, NoPolicyInForce, RunOutOfOrder) as error:
                self.stderr.write(f"run {day}: {error}")
                sys.exit(1)
        if outcome.already:
            return
        self._say(f"{'rule':<10} {'population':>10} {'required':>9} {'created':>8} {'merged':>7} "
                  f"{'cap exc.':>8} {'unassigned':>10}")  # fmt: skip
        for code, s in sorted(outcome.summary.items()):
            self._say(
                f"{code:<10} {s['population']:>10,} {s['required']:>9,} {s['created']:>8,} {s['merged']:>7,} "
                f"{s['cap_exceptions']:>8,} {s['unassigned']:>10,}"
            )

    def _say(self, message: str) -> None:
        self.stdout.write(message)

    def _import(self, feeds: Path, day: dt.date) -> None:
        from huifang.feeds.services import feed_import

        result = feed_import(directory=feeds, business_date=day, actor=ACTOR)
        if result.status == "rejected":
            for error in result.errors:
                self.stderr.write(error)
            self.stderr.write(f"rejected: {len(result.errors)} error(s); nothing was run")
            sys.exit(1)
        self._say(f"import {day}: {result.status}")

    def _classify(self, day: dt.date) -> None:
        from huifang.classification.services import classification_due, classification_run

        for kind in classification_due(day=day):
            outcome = classification_run(kind=kind, day=day, actor=ACTOR)
            self._say(
                f"classify {kind} {outcome.run.period}: rated {outcome.rated:,}, changed {outcome.changed:,}"
            )
