"""``huifang calendar load FILE`` and ``huifang calendar status`` (NFR-1, §12).

Exit codes: 0 loaded / shown; 1 rejected (``file:line:column: reason`` per line on
stderr, nothing saved); 2 usage.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from huifang.calendars.csvfile import parse_calendar_csv
from huifang.calendars.selectors import calendar_year_list
from huifang.calendars.services import CalendarRejected, calendar_load

USAGE = 2
REJECTED = 1


class Command(BaseCommand):
    help = "Load or show the working-day and trading-day calendar (工作日历)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{load,status}")
        load = actions.add_parser("load", help="load a CSV date,is_working_day,is_trading_day,note")
        load.add_argument("file", help="the CSV file (UTF-8)")
        load.add_argument("--by", default="command-line", help="who loads it (recorded)")
        actions.add_parser("status", help="list the known years and their source")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "load":
            self.load(Path(options["file"]), options["by"])
        else:
            self.status()

    def load(self, path: Path, actor: str) -> None:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}", returncode=USAGE) from None
        try:
            years = calendar_load(rows=parse_calendar_csv(data), actor=actor)
        except CalendarRejected as rejected:
            for problem in rejected.problems:
                self.stderr.write(problem.render(str(path)))
            raise SystemExit(REJECTED) from None
        self.stdout.write(f"loaded {', '.join(map(str, years))} from {path}")

    def status(self) -> None:
        packages = (
            f"chinesecalendar {version('chinesecalendar')}, "
            f"exchange_calendars {version('exchange_calendars')}"
        )
        for year in sorted(calendar_year_list(), key=lambda summary: summary.year):
            origin = packages if year.source == "package" else f"loaded by {year.loaded_by or '?'}"
            if year.loaded_at:
                origin += f" at {timezone.localtime(year.loaded_at):%Y-%m-%d %H:%M}"
            self.stdout.write(
                f"{year.year}\t{year.source}\tworking {year.working_days}\t"
                f"trading {year.trading_days}\t{origin}"
            )
