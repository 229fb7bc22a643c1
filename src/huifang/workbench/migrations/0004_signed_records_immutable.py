"""Signed records are immutable in the database too (EXE-5, NFR-2).

Once the agent has signed (status other than ``draft``) a ``workbench_record`` row
changes only by the allowed transitions: agent_signed → signed (the leader's
columns and the retention date) and signed → archived (the archiver's columns);
every other column is frozen and the row cannot be deleted. Its sections and
findings can no longer be inserted, updated or deleted. Corrections are
``Amendment`` rows (append-only since 0002). The services refuse first
(``WorkbenchRefused("signed")``); these triggers hold whatever the caller.
Maintenance mode (``huifang.audit.triggers.maintenance``) lifts them, as for the
append-only tables.
"""

from django.db import migrations

RECORD = "workbench_record"
CHILDREN = ("workbench_section", "workbench_finding")
# Never change after the agent's signature.
FROZEN = (
    "id", "task_id", "number", "branch_id", "client_id", "target_staff_id", "level", "kind",
    "method", "outcome", "callback_date", "notes", "banned_phrases", "problem_handling",
    "feedback_date", "agent_id", "agent_signed_at", "content_sha256", "source", "created_at",
)  # fmt: skip
LEADER = ("leader_id", "leader_role", "leader_signed_at", "retention_until")
ARCHIVER = ("archived_by_id", "archived_at")


def _changed(vendor: str, columns: tuple[str, ...]) -> str:
    op = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    return "(" + " OR ".join(f'NEW."{c}" {op} OLD."{c}"' for c in columns) + ")"


def refused_update(vendor: str) -> str:
    """The condition under which an UPDATE of a record row is refused."""
    leader, archiver = _changed(vendor, LEADER), _changed(vendor, ARCHIVER)
    allowed = (
        f"(OLD.status = 'agent_signed' AND NEW.status = 'signed' AND NOT {archiver})"
        f" OR (OLD.status = 'signed' AND NEW.status = 'archived' AND NOT {leader})"
        f" OR (NEW.status = OLD.status AND NOT {leader} AND NOT {archiver})"
    )
    return f"OLD.status <> 'draft' AND ({_changed(vendor, FROZEN)} OR NOT ({allowed}))"


PG_RECORD = """
CREATE OR REPLACE FUNCTION huifang_signed_record() RETURNS trigger AS $$
BEGIN
  IF coalesce(current_setting('huifang.audit_maintenance', true), '') = 'on' THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
  END IF;
  IF TG_OP = 'DELETE' THEN
    IF OLD.status <> 'draft' THEN
      RAISE EXCEPTION 'huifang: DELETE of signed record % refused', OLD.number
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
  END IF;
  IF %(refused)s THEN
    RAISE EXCEPTION 'huifang: UPDATE of signed record % refused: signed records are immutable', OLD.number
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
"""

PG_CHILD = """
CREATE OR REPLACE FUNCTION huifang_signed_record_part() RETURNS trigger AS $$
BEGIN
  IF coalesce(current_setting('huifang.audit_maintenance', true), '') = 'on' THEN
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
  END IF;
  IF (TG_OP IN ('UPDATE', 'DELETE') AND EXISTS (
        SELECT 1 FROM workbench_record r WHERE r.id = OLD.record_id AND r.status <> 'draft'))
     OR (TG_OP IN ('INSERT', 'UPDATE') AND EXISTS (
        SELECT 1 FROM workbench_record r WHERE r.id = NEW.record_id AND r.status <> 'draft')) THEN
    RAISE EXCEPTION 'huifang: % on % refused: the record is signed', TG_OP, TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
"""

SQLITE_GUARD = "(SELECT cell_size_check FROM pragma_cell_size_check) = 0"


def install_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        sql = [
            PG_RECORD.replace("%(refused)s", refused_update(vendor)),
            PG_CHILD,
            f'DROP TRIGGER IF EXISTS {RECORD}_signed ON "{RECORD}"',
            f'CREATE TRIGGER {RECORD}_signed BEFORE UPDATE OR DELETE ON "{RECORD}" '
            "FOR EACH ROW EXECUTE FUNCTION huifang_signed_record()",
        ]
        for table in CHILDREN:
            sql += [
                f'DROP TRIGGER IF EXISTS {table}_signed ON "{table}"',
                f'CREATE TRIGGER {table}_signed BEFORE INSERT OR UPDATE OR DELETE ON "{table}" '
                "FOR EACH ROW EXECUTE FUNCTION huifang_signed_record_part()",
            ]
        return sql
    sql = [
        f"DROP TRIGGER IF EXISTS {RECORD}_signed_update",
        f'CREATE TRIGGER {RECORD}_signed_update BEFORE UPDATE ON "{RECORD}" '
        f"WHEN {SQLITE_GUARD} AND {refused_update(vendor)} "
        "BEGIN SELECT RAISE(ABORT, 'huifang: UPDATE of a signed record refused: signed records are immutable'); END",
        f"DROP TRIGGER IF EXISTS {RECORD}_signed_delete",
        f'CREATE TRIGGER {RECORD}_signed_delete BEFORE DELETE ON "{RECORD}" '
        f"WHEN {SQLITE_GUARD} AND OLD.status <> 'draft' "
        "BEGIN SELECT RAISE(ABORT, 'huifang: DELETE of a signed record refused'); END",
    ]
    signed = "EXISTS (SELECT 1 FROM workbench_record r WHERE r.id = {row}.record_id AND r.status <> 'draft')"
    for table in CHILDREN:
        for event, rows in (("insert", ("NEW",)), ("update", ("OLD", "NEW")), ("delete", ("OLD",))):
            condition = " OR ".join(signed.format(row=row) for row in rows)
            sql += [
                f"DROP TRIGGER IF EXISTS {table}_signed_{event}",
                f'CREATE TRIGGER {table}_signed_{event} BEFORE {event.upper()} ON "{table}" '
                f"WHEN {SQLITE_GUARD} AND ({condition}) "
                f"BEGIN SELECT RAISE(ABORT, 'huifang: {event.upper()} on {table} refused: the record is signed'); END",
            ]
    return sql


def drop_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS {table}_signed ON "{table}"' for table in (RECORD, *CHILDREN)
        ] + [
            "DROP FUNCTION IF EXISTS huifang_signed_record()",
            "DROP FUNCTION IF EXISTS huifang_signed_record_part()",
        ]
    names = [f"{RECORD}_signed_update", f"{RECORD}_signed_delete"] + [
        f"{table}_signed_{event}" for table in CHILDREN for event in ("insert", "update", "delete")
    ]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]


def install(apps, schema_editor):  # type: ignore[no-untyped-def]
    for sql in install_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


def remove(apps, schema_editor):  # type: ignore[no-untyped-def]
    for sql in drop_sql(schema_editor.connection.vendor):
        schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("workbench", "0003_questionnaires")]
    operations = [migrations.RunPython(install, remove)]
