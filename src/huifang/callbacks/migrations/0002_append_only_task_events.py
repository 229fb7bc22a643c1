"""Task events are append-only (NFR-2): UPDATE and DELETE refused by triggers."""

from django.db import migrations

TABLE = "callbacks_taskevent"


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    from huifang.audit.triggers import install_sql

    for sql in install_sql(schema_editor.connection.vendor, TABLE):
        schema_editor.execute(sql, params=None)


def remove(apps, schema_editor):  # type: ignore[no-untyped-def]
    from huifang.audit.triggers import drop_sql

    for sql in drop_sql(schema_editor.connection.vendor, TABLE):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("callbacks", "0001_initial"), ("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(install, remove)]
