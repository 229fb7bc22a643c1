"""Attempts, evidence and amendments are append-only (EXE-3, EXE-2, EXE-5, NFR-2, NFR-3).

UPDATE and DELETE are refused by triggers; a purge after the retention date runs in
the documented maintenance mode (``huifang.audit.triggers.maintenance``).
"""

from django.db import migrations

TABLES = ("workbench_attempt", "workbench_evidence", "workbench_amendment")


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
    dependencies = [("workbench", "0001_initial"), ("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(install, remove)]
