"""``changeset_hash_arrow`` gives exactly ``changeset_hash`` of the same rows (NFR-2)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huifang.audit import chain

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
ROW = st.tuples(
    st.integers(min_value=-(2**62), max_value=2**62),
    st.one_of(st.none(), TEXT),
    st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31)),
    st.one_of(st.none(), st.booleans()),
    st.sampled_from(["vip", "core", "", '含"引号', "a\\b\n"]),
)


def table(rows: list[tuple[object, ...]]) -> pa.Table:
    names = ["i", "t", "d", "b", "c"]
    types = [pa.int64(), pa.string(), pa.date32(), pa.bool_(), pa.string()]
    return pa.table(
        [pa.array([row[k] for row in rows], kind) for k, kind in enumerate(types)], names=names
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(ROW, max_size=40))
def test_the_arrow_digest_is_the_row_by_row_digest(rows: list[tuple[object, ...]]) -> None:
    assert chain.changeset_hash_arrow(table(rows)) == chain.changeset_hash(rows)


def test_many_repeated_values_take_the_dictionary_path() -> None:
    rows = [
        (n, "CLS-1", dt.date(2026, 1, 5), n % 2 == 0, ("vip", "core")[n % 2]) for n in range(5000)
    ]
    assert chain.changeset_hash_arrow(table(rows)) == chain.changeset_hash(rows)


def test_an_unsupported_type_is_refused() -> None:
    with pytest.raises(TypeError):
        chain.changeset_hash_arrow(pa.table({"x": pa.array([1.5])}))
