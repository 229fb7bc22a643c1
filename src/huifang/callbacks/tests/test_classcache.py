"""The classes kept between runs equal the table's, through new change rows (``classcache``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from huifang.callbacks import classcache
from huifang.classification.models import ClientClass
from huifang.classification.tests.factories import ClassChangeFactory, ClientClassFactory
from huifang.clients.tests.factories import ClientFactory
from huifang.core import duck

pytestmark = pytest.mark.django_db


def rate(client_id: str, new: str, old: str = "") -> None:
    """What the classification engine does: the class and its change row, together (CLS-9)."""
    client = ClientFactory(client_id=client_id) if not old else None
    if client is None:
        ClientClass.objects.filter(client_id=client_id, scheme="CLS-1").update(class_code=new)
        ClassChangeFactory(client_id=client_id, old_class=old, new_class=new)
        return
    ClientClassFactory(client=client, class_code=new)
    ClassChangeFactory(client=client, old_class="", new_class=new)


def load(state: Path | None) -> dict[str, str]:
    con = duck.connect()
    try:
        rows = classcache.load(con, "CLS-1", state)
        return dict(zip(rows["client_id"].to_pylist(), rows["class_code"].to_pylist(), strict=True))
    finally:
        con.close()


def table() -> dict[str, str]:
    return dict(
        ClientClass.objects.filter(scheme="CLS-1")
        .exclude(class_code="")
        .values_list("client_id", "class_code")
    )


def test_the_kept_classes_follow_the_change_log(tmp_path: Path) -> None:
    for client_id, code in (("K1", "vip"), ("K2", "core"), ("K3", "ordinary")):
        rate(client_id, code)
    assert load(tmp_path) == table() == {"K1": "vip", "K2": "core", "K3": "ordinary"}
    assert list(tmp_path.glob("*.parquet"))
    rate("K3", "core", old="ordinary")  # a quarterly upgrade after the file was written
    rate("K4", "potential")
    assert load(tmp_path) == table() == {"K1": "vip", "K2": "core", "K3": "core", "K4": "potential"}
    assert load(None) == table()


def test_a_class_written_without_its_change_row_makes_the_run_read_the_table(
    tmp_path: Path,
) -> None:
    rate("K1", "vip")
    rate("K2", "core")
    load(tmp_path)
    ClientClassFactory(client=ClientFactory(client_id="K9"), class_code="core")  # no change row
    assert load(tmp_path) == table()
    assert "K9" in load(tmp_path)


def test_a_file_ahead_of_the_log_is_not_used(tmp_path: Path) -> None:
    rate("K1", "vip")
    load(tmp_path)
    meta = next(tmp_path.glob("*.json"))
    meta.write_text(meta.read_text().replace('"newest": ', '"newest": 9999'))
    ClientClass.objects.filter(client_id="K1").update(class_code="core")
    assert load(tmp_path) == {"K1": "core"}
