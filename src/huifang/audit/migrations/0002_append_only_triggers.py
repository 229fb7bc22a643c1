"""UPDATE and DELETE refused on append-only tables (NFR-2); see huifang.audit.triggers."""

from django.db import migrations

TABLES = ("audit_auditevent", "clients_clientchange")


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
    dependencies = [("audit", "0001_initial"), ("clients", "0002_initial")]
    operations = [migrations.RunPython(install, remove)]
