"""PostgreSQL: leave room in each page so that re-ratings update classes in place (HOT).

A quarterly re-rating rewrites a few percent of ``ClientClass`` rows; with free space
in the page and no indexed column changed, PostgreSQL updates the row without
touching the (client, scheme) index. Other databases ignore this.
"""

from django.db import migrations

TABLES = {"classification_clientclass": 70}


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, fillfactor in TABLES.items():
        schema_editor.execute(f'ALTER TABLE "{table}" SET (fillfactor = {fillfactor})', params=None)


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f'ALTER TABLE "{table}" RESET (fillfactor)', params=None)


class Migration(migrations.Migration):
    dependencies = [("classification", "0002_append_only_class_changes")]
    operations = [migrations.RunPython(forward, backward)]
