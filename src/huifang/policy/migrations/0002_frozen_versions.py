"""Approved policy versions and their rules refuse changes in the database (policy.triggers)."""

from django.db import migrations


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    from huifang.policy.triggers import install_sql

    for sql in install_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def remove(apps, schema_editor):  # type: ignore[no-untyped-def]
    from huifang.policy.triggers import drop_sql

    for sql in drop_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("policy", "0001_initial")]
    operations = [migrations.RunPython(install, remove)]
