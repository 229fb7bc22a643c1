"""PostgreSQL: one function takes a chain's advisory lock, then reads its last hash (issue 7).

Two statements were two round trips on every audited request. The function is VOLATILE, so
in READ COMMITTED its SELECT takes a new snapshot after the lock is granted and sees the row
the previous holder committed — a single ``SELECT lock, (SELECT hash …)`` statement would
read with the snapshot taken before it waited, and could chain to a stale hash.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION huifang_audit_lock_last(lock_key integer, chain_number integer)
RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key, chain_number);
    RETURN (SELECT hash FROM audit_auditevent WHERE chain = chain_number ORDER BY id DESC LIMIT 1);
END
$$
"""


def _install(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def _remove(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS huifang_audit_lock_last(integer, integer)")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_chains"),
    ]

    operations = [migrations.RunPython(_install, _remove)]
