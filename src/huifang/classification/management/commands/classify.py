"""``huifang classify --date D [--kind annual|quarterly|new-accounts]`` (SPEC §12, CLS-2..4).

Without ``--kind``: whatever the calendar says is due on D (and has not run for its
period yet). With ``--kind``: that rating, even outside its window, with a warning
on stderr. Exit 0: done (or nothing due); 1: failed (calendar year missing, no
policy in force); 2: usage.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from huifang.audit.context import system_context
from huifang.calendars.service import CalendarYearMissing
from huifang.classification.choices import RatingKind
from huifang.classification.services import (
    classification_due,
    classification_run,
    rating_window_days,
)
from huifang.policy.selectors import NoPolicyInForce

KINDS = {
    "annual": RatingKind.ANNUAL,
    "quarterly": RatingKind.QUARTERLY,
    "new-accounts": RatingKind.NEW_ACCOUNTS,
}
ACTOR = "system:classify"


class Command(BaseCommand):
    help = "Rate clients: the annual, quarterly or new-account classification (CLS-2..4)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", required=True, help="rating date YYYY-MM-DD")
        parser.add_argument("--kind", choices=sorted(KINDS), default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = dt.date.fromisoformat(options["date"])
        except ValueError:
            self.stderr.write(f"--date: not a date YYYY-MM-DD: {options['date']!r}")
            sys.exit(2)
        with system_context("classify"):
            try:
                self._classify(day, KINDS[options["kind"]] if options["kind"] else None)
            except (CalendarYearMissing, NoPolicyInForce) as error:
                self.stderr.write(f"classify {day}: {error}")
                sys.exit(1)

    def _classify(self, day: dt.date, kind: RatingKind | None) -> None:
        if kind is None:
            kinds = classification_due(day=day)
            if not kinds:
                self.stdout.write(f"{day}: no rating due")
                return
        else:
            kinds = [kind]
            window = rating_window_days(kind, day)
            if day not in window:
                shown = f"{window[0]} … {window[-1]}" if window else "none in the policy in force"
                self.stderr.write(
                    f"warning: {day} is outside the {kind.label} window ({shown}); rating anyway"
                )
        for each in kinds:
            outcome = classification_run(kind=each, day=day, actor=ACTOR)
            run = outcome.run
            self.stdout.write(
                f"{each} {run.period}: rated {outcome.rated:,}, changed {outcome.changed:,} "
                f"(statistical date {run.statistical_date}, policy version {run.policy_version.number}, "
                f"run {run.pk})"
            )
