"""Monthly closings are append-only (REV-3, NFR-2): what a branch submitted is never changed.

UPDATE and DELETE are refused by triggers; a correction is a new row. Maintenance mode
(``huifang.audit.triggers.maintenance``) lifts them, as for the other append-only tables.
"""

from django.db import migrations

TABLES = ("evaluation_monthlyclosing",)


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    from huifang.audit.triggers import install_sql

    for table in TABLES:
        for sql in install_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)


def remove(apps, schema_editor):  # type: ignore[no-untyped-def]
    from huifang.audit.triggers import drop_sql

    for table in TABLES:
        for sql in drop_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("evaluation", "0001_initial"), ("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(install, remove)]
