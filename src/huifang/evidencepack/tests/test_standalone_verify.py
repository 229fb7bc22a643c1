"""``verify.py`` hashes audit rows exactly as ``huifang.audit.chain.row_hash`` does (NFR-2), and
needs nothing but the standard library."""

from __future__ import annotations

import ast
import datetime as dt
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from huifang.audit import chain
from huifang.audit.models import AuditEvent
from huifang.audit.services import audit_record
from huifang.core import clock
from huifang.evidencepack import pack, standalone_verify
from huifang.evidencepack.tests.kit import Scenario

pytestmark = pytest.mark.django_db

AWKWARD: list[dict[str, Any]] = [
    {"name": "王小明", "note": '引号"与反斜杠\\、换行\n、制表\t', "emoji": "📞"},
    {"amount": Decimal("12345.60"), "rate": Decimal("-0.000001"), "float": 0.1, "big": 2**53 + 1},
    {
        "day": dt.date(2026, 2, 28),
        "moment": dt.datetime(2026, 10, 12, 10, 0, 1, 5, tzinfo=clock.SHANGHAI),
    },
    {
        "nested": {
            "list": [1, "二", None, True, {"deep": [{"x": Decimal("1.5")}]}],
            "empty": {},
            "z": [],
            "a": False,
        }
    },
    {"nul": "a\x00b", "keys": {"b": 1, "a": 2, "中": 3, "A": 4}, "control": "\x01\x1f\u2028"},
    {"set": {"c", "a", "b"}},
]


def _exported(event: AuditEvent) -> dict[str, Any]:
    """The row as the pack writes it into the segment and ``verify.py`` reads it back."""
    fields = ("id", "chain", *chain.CHAINED_FIELDS, "hash")
    row = AuditEvent.objects.filter(pk=event.pk).values(*fields).get()
    parsed: dict[str, Any] = json.loads(pack.segment_line(pack.full_row(row)).decode("utf-8"))
    return parsed


@pytest.mark.parametrize("after", AWKWARD, ids=["text", "numbers", "dates", "nested", "nul", "set"])
def test_verify_py_hashes_a_real_row_as_the_audit_chain_does(after: dict[str, Any]) -> None:
    event = audit_record(
        action="test.awkward", object_type="clients.Client", object_id="K0000001",
        branch_code="A01", before={"before": after}, after=after,
        changeset=("clients.ClientChange", {"batch_id": -1}),
    )  # fmt: skip
    row = AuditEvent.objects.filter(pk=event.pk).values(*chain.CHAINED_FIELDS).get()
    assert chain.row_hash(row) == event.hash  # what ``audit verify`` re-computes
    exported = _exported(event)
    assert standalone_verify.row_hash(exported) == event.hash == exported["hash"]
    exported["after"] = {**exported["after"], "extra": 1}
    assert standalone_verify.row_hash(exported) != event.hash


def test_verify_py_hashes_every_row_of_a_real_callback_as_the_chain_does(
    scenario: Scenario,
) -> None:
    events = list(AuditEvent.objects.order_by("pk"))
    assert len({e.action for e in events}) >= 8
    for event in events:
        assert standalone_verify.row_hash(_exported(event)) == event.hash, event.action


def test_verify_py_and_the_chain_agree_on_rows_held_in_memory() -> None:
    moment = dt.datetime(2026, 10, 12, 2, 0, 0, 123456, tzinfo=dt.UTC)
    for after in AWKWARD:
        fields = dict.fromkeys(chain.CHAINED_FIELDS)
        fields.update(at=moment, actor="测试", action="x", after=chain.plain(after), prev_hash=chain.GENESIS)  # fmt: skip
        as_text = {**fields, "at": moment.isoformat()}
        loaded = json.loads(json.dumps(as_text, ensure_ascii=False))
        assert standalone_verify.row_hash(loaded) == chain.row_hash(fields)


def test_the_chained_fields_are_the_audit_trails() -> None:
    assert standalone_verify.CHAINED_FIELDS == chain.CHAINED_FIELDS
    assert standalone_verify.GENESIS == chain.GENESIS


def test_verify_py_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(standalone_verify.__file__).read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            imported.add((node.module or "").split(".")[0])
    assert imported, "the walk found the imports"
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_the_record_content_hash_is_the_workbenchs(scenario: Scenario) -> None:
    from huifang.workbench import records

    for record in scenario.records:
        content = json.loads(json.dumps(records.content(record), ensure_ascii=False))
        assert standalone_verify.content_hash(content) == record.content_sha256
