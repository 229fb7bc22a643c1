"""``huifang tick_issues [--date D]``: warnings and escalations of issues for one day (ISS-5).

Safe to run any number of times a day: each warning and each escalation level is written
once per issue and due date. The scheduler (cron, or Celery beat with
``huifang.issues.tasks.tick``) calls it once a day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huifang.audit.context import audit_context
from huifang.calendars.service import CalendarYearMissing
from huifang.core import clock
from huifang.issues import services
from huifang.issues.tasks import ACTOR


class Command(BaseCommand):
    help = "问题处理时限：到期预警与超时升级(ISS-5),可重复执行。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--date", help="业务日期 YYYY-MM-DD(默认今天)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            day = dt.date.fromisoformat(options["date"]) if options["date"] else clock.today()
        except ValueError as exc:
            raise CommandError(f"日期格式应为 YYYY-MM-DD: {options['date']}") from exc
        try:
            with audit_context(ACTOR):
                result = services.tick(day, actor=ACTOR)
        except CalendarYearMissing as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{day}: warned {result.warned}, escalated {result.escalated}")
