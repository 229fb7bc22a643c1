"""Install the questionnaires (附表, EXE-4) shipped as JSON in ``huifang/workbench/questionnaires/``.

Idempotent: a definition whose SHA-256 is already the newest version of its code is
skipped; a changed one becomes a new version (``questionnaires.install_defaults``).
"""

from django.db import migrations


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    from huifang.workbench.questionnaires import install_defaults

    install_defaults(apps)


class Migration(migrations.Migration):
    dependencies = [("workbench", "0002_append_only")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
