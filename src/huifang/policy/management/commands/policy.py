"""``huifang policy export [--version N]`` and ``huifang policy load FILE --author USER``.

A policy version as a JSON document (the format of ``0003_default_policy.json``): a
brokerage writes its own regulation as data and loads it as a draft, which a second
compliance user approves in the UI. Exit 0 / 1 (refused, problems on stderr) / 2 (usage).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandParser

from huifang.audit.context import audit_context
from huifang.policy.models import PolicyVersion
from huifang.policy.selectors import version_document, version_in_force_or_none


class Command(BaseCommand):
    help = "Export a policy version as JSON, or load a JSON document as a draft version."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="print a version (default: the one in force)")
        export.add_argument("--version", type=int, default=None, dest="number")
        load = sub.add_parser("load", help="load a document as a draft")
        load.add_argument("file", type=Path)
        load.add_argument("--author", required=True, help="username of a compliance user")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "export":
            self._export(options["number"])
        else:
            self._load(options["file"], options["author"])

    def _export(self, number: int | None) -> None:
        version = (
            PolicyVersion.objects.filter(number=number).first()
            if number is not None
            else version_in_force_or_none()
        )
        if version is None:
            self.stderr.write("no such policy version")
            sys.exit(1)
        self.stdout.write(json.dumps(version_document(version), ensure_ascii=False, indent=1))

    def _load(self, path: Path, author: str) -> None:
        from huifang.accounts.models import User
        from huifang.policy.services import policy_version_load

        user = User.objects.filter(username=author, is_active=True).first()
        if user is None:
            self.stderr.write(f"--author: no active user {author!r}")
            sys.exit(2)
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            self.stderr.write(f"{path}: {error}")
            sys.exit(2)
        with audit_context(user.get_username(), user_id=user.pk):
            try:
                version = policy_version_load(document=document, author=user)
            except PermissionDenied:
                self.stderr.write(f"{author} is not a compliance user")
                sys.exit(1)
            except (ValidationError, KeyError, ValueError) as error:
                problems = error.messages if isinstance(error, ValidationError) else [str(error)]
                for problem in problems:
                    self.stderr.write(problem)
                sys.exit(1)
        self.stdout.write(f"draft version {version.number} loaded ({version.rules.count()} rules)")
