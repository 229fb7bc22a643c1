"""``huifang audit verify``: re-check the audit chain, change sets and archived files (NFR-2).

Exit 0 when everything holds; 1 naming the first broken row; 2 on usage errors.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from huifang.audit.verify import verify


class Command(BaseCommand):
    help = "Audit trail tools: verify"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser(
            "verify", help="re-check the hash chain, change sets and archived files"
        )
        check.add_argument("--no-files", action="store_true", help="skip re-hashing archived files")

    def handle(self, *args: Any, **options: Any) -> None:
        result = verify(check_files=not options["no_files"])
        if not result.ok:
            self.stderr.write(f"audit row {result.broken_id}: {result.reason}")
            self.stderr.write(f"{result.checked} row(s) before it verified")
            sys.exit(1)
        self.stdout.write(
            f"audit chain verified: {result.checked} row(s), {result.changesets} change set(s), "
            f"{result.files} archived file(s)"
        )
