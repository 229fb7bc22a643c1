"""``huifang apitoken create|revoke|list``: API tokens of system accounts.

``create --user U --name N`` prints the token once (only its SHA-256 is kept);
``revoke --user U --name N`` ends it (401 from then on); ``list`` shows prefixes.
Exit 0 / 1 (refused: no such user, no posting role, name taken or unknown) / 2 (usage).
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser

from huifang.accounts.models import User
from huifang.api.models import ApiToken
from huifang.api.services import token_create, token_revoke
from huifang.audit.context import system_context


class Command(BaseCommand):
    help = "API tokens: create (shown once), revoke, list."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for action in ("create", "revoke"):
            p = sub.add_parser(action)
            p.add_argument("--user", required=True, help="username of the system account")
            p.add_argument(
                "--name", required=True, help="the token's name, e.g. the calling system"
            )
        sub.add_parser("list")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            return self._list()
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            self.stderr.write(f"no user {options['user']!r}")
            sys.exit(1)
        with system_context("apitoken"):
            try:
                if options["action"] == "create":
                    _token, raw = token_create(user=user, name=options["name"])
                    self.stdout.write(raw)
                    self.stderr.write("store this token now: it is not shown again")
                else:
                    token_revoke(user=user, name=options["name"])
                    self.stdout.write(f"revoked {user.username}:{options['name']}")
            except ValidationError as error:
                self.stderr.write("; ".join(error.messages))
                sys.exit(1)

    def _list(self) -> None:
        for t in ApiToken.objects.select_related("user"):
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
            self.stdout.write(
                f"{t.user.username}\t{t.name}\t{t.prefix}…\t{t.created_at:%Y-%m-%d}\t{state}"
            )
