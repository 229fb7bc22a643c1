"""Client name prefix search (selectors.client_search uses ``name__startswith``).

PostgreSQL needs ``varchar_pattern_ops`` for ``LIKE 'x%'`` under a non-C collation;
SQLite uses a plain index. One index either way (no second, unused btree).
"""

from django.db import migrations


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    opclass = " varchar_pattern_ops" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(
        f"CREATE INDEX clients_client_name_prefix ON clients_client (name{opclass})", params=None
    )


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute("DROP INDEX clients_client_name_prefix", params=None)


class Migration(migrations.Migration):
    dependencies = [("clients", "0002_initial")]
    operations = [migrations.RunPython(create, drop)]
