"""Approved policy versions are frozen in the database too (CLS-5, NFR-2).

Triggers refuse any UPDATE or DELETE of an approved ``policy_policyversion`` row and
any INSERT, UPDATE or DELETE of a ``policy_rule`` row of an approved version. Like
the append-only tables (``huifang.audit.triggers``), they let the documented
maintenance mode through (the test suite's flush), which production never sets.
"""

from __future__ import annotations

VERSION = "policy_policyversion"
RULE = "policy_rule"
MESSAGE = "huifang: an approved policy version is frozen"

PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION huifang_policy_frozen() RETURNS trigger AS $$
DECLARE
  frozen boolean := false;
BEGIN
  IF coalesce(current_setting('huifang.audit_maintenance', true), '') = 'on' THEN
    RETURN COALESCE(NEW, OLD);
  END IF;
  IF TG_TABLE_NAME = '{VERSION}' THEN
    frozen := OLD.status = 'approved';
  ELSE
    IF TG_OP <> 'INSERT' THEN
      frozen := EXISTS (SELECT 1 FROM {VERSION} v WHERE v.id = OLD.version_id AND v.status = 'approved');
    END IF;
    IF TG_OP <> 'DELETE' THEN
      frozen := frozen OR EXISTS (
        SELECT 1 FROM {VERSION} v WHERE v.id = NEW.version_id AND v.status = 'approved');
    END IF;
  END IF;
  IF frozen THEN
    RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN COALESCE(NEW, OLD);
END $$ LANGUAGE plpgsql;
"""

_GUARD = "(SELECT cell_size_check FROM pragma_cell_size_check) = 0"


def _approved(ref: str) -> str:
    return f"EXISTS (SELECT 1 FROM {VERSION} v WHERE v.id = {ref}.version_id AND v.status = 'approved')"


def _sqlite(name: str, event: str, table: str, condition: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {name}",
        f'CREATE TRIGGER {name} BEFORE {event} ON "{table}" WHEN {_GUARD} AND ({condition}) '
        f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} ({event} on {table})'); END",
    ]


def install_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            PG_FUNCTION,
            f'DROP TRIGGER IF EXISTS {VERSION}_frozen ON "{VERSION}"',
            f'CREATE TRIGGER {VERSION}_frozen BEFORE UPDATE OR DELETE ON "{VERSION}" '
            "FOR EACH ROW EXECUTE FUNCTION huifang_policy_frozen()",
            f'DROP TRIGGER IF EXISTS {RULE}_frozen ON "{RULE}"',
            f'CREATE TRIGGER {RULE}_frozen BEFORE INSERT OR UPDATE OR DELETE ON "{RULE}" '
            "FOR EACH ROW EXECUTE FUNCTION huifang_policy_frozen()",
        ]
    return [
        *_sqlite(f"{VERSION}_frozen_update", "UPDATE", VERSION, "OLD.status = 'approved'"),
        *_sqlite(f"{VERSION}_frozen_delete", "DELETE", VERSION, "OLD.status = 'approved'"),
        *_sqlite(f"{RULE}_frozen_insert", "INSERT", RULE, _approved("NEW")),
        *_sqlite(
            f"{RULE}_frozen_update", "UPDATE", RULE, f"{_approved('OLD')} OR {_approved('NEW')}"
        ),
        *_sqlite(f"{RULE}_frozen_delete", "DELETE", RULE, _approved("OLD")),
    ]


def drop_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f'DROP TRIGGER IF EXISTS {VERSION}_frozen ON "{VERSION}"',
            f'DROP TRIGGER IF EXISTS {RULE}_frozen ON "{RULE}"',
        ]
    names = [f"{VERSION}_frozen_update", f"{VERSION}_frozen_delete"] + [
        f"{RULE}_frozen_{event}" for event in ("insert", "update", "delete")
    ]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in names]
