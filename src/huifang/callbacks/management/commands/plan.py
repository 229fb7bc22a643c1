"""``huifang plan redraw PLAN_ID``: re-draw a plan's sample and report any difference (CON-7, CON-8).

An auditor's check: the plan's cumulative draw is replayed from its stored members
(the day each joined, whether it was skipped at the quarterly cap, CON-3) in the
order SHA-256(seed, client_id), and compared with the stored sample. The outcome is
written to the audit trail. Exit 0 same sample / 1 a difference / 2 unknown plan or usage.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from huifang.audit.context import system_context
from huifang.callbacks.services import PlanUnknown, Redraw, plan_redraw


class Command(BaseCommand):
    help = "Callback plans: `redraw PLAN_ID` re-draws the sample and reports any difference."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        redraw = sub.add_parser("redraw", help="re-draw a plan's sample and compare (CON-7)")
        redraw.add_argument("plan_id", help="the plan's id (see `huifang export plans`)")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = str(options["plan_id"])
        if not raw.isdigit():
            self.stderr.write(f"PLAN_ID: not a plan id: {raw!r}")
            sys.exit(2)
        with system_context("plan-redraw"):
            try:
                result = plan_redraw(plan_id=int(raw))
            except PlanUnknown as error:
                self.stderr.write(f"plan redraw: {error}")
                sys.exit(2)
        self._report(result)
        if not result.same:
            sys.exit(1)

    def _report(self, r: Redraw) -> None:
        plan, say = r.plan, self.stdout.write
        say(f"plan {plan.pk}: rule {plan.rule_code} ({plan.rule_id}), period {plan.period}, "
            f"stratum {plan.stratum or 'company'}, level {plan.level}, share {plan.share}")  # fmt: skip
        say(f"seed {plan.seed}")
        say(f"population {plan.population}, required {plan.required}, sampled {plan.sampled}")
        if plan.share >= 1:
            say("100 % rule: every member is a task; there is no sample to draw")
        say(f"replayed from {r.entries} member(s): required {r.required}, drawn {len(r.drawn)}")
        if r.same:
            say("same sample")
            return
        if r.seed_differs:
            say(f"seed differs: policy version, rule and period give {r.seed}")
        diffs = len(r.drawn_not_stored) + len(r.stored_not_drawn)
        say(f"difference: {diffs} client(s)")
        for client in r.drawn_not_stored:
            say(f"  drawn now, not stored: {client} (drawn on {r.drawn[client]})")
        for client in r.stored_not_drawn:
            on = r.stored[client]
            say(f"  stored, not drawn now: {client} (stored as sampled on {on or '-'})")
