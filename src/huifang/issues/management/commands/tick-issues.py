"""``huifang tick-issues [--date D]``: the same command as ``tick_issues`` (ISS-5)."""

from huifang.issues.management.commands.tick_issues import Command

__all__ = ["Command"]
