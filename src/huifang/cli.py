"""The ``huifang`` console command: ``manage.py`` with the embedded settings by default."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    """Run a Django management command (SPEC §12)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huifang.settings.embedded")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["huifang", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
