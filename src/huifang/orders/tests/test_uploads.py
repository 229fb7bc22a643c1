"""Reading an uploaded list of client ids (CSV/XLSX): numbered lines and format problems."""

from __future__ import annotations

from huifang.orders import uploads
from huifang.orders.tests.factories import csv_bytes, xlsx_bytes


def ids(parsed: uploads.Parsed) -> list[tuple[int, str]]:
    return [(line.number, line.client_id) for line in parsed.lines]


def test_a_csv_gives_its_ids_with_their_line_numbers_skipping_header_and_blank_lines() -> None:
    parsed = uploads.parse(csv_bytes(["客户号", "K1", "", " K2 ", "K3,"]))
    assert parsed.problems == []
    assert ids(parsed) == [(2, "K1"), (4, "K2"), (5, "K3")]


def test_a_gb18030_csv_is_read() -> None:
    parsed = uploads.parse(csv_bytes(["客户号", "K1"], encoding="gb18030"))
    assert ids(parsed) == [(2, "K1")]


def test_a_line_with_a_second_filled_column_is_a_wrong_column_line() -> None:
    parsed = uploads.parse(csv_bytes(["K1", "K2,张三", ",K3"]))
    assert ids(parsed) == [(1, "K1")]
    assert [p.split(":")[0] for p in parsed.problems] == ["第 2 行", "第 3 行"]
    assert all("列" in p for p in parsed.problems)


def test_an_xlsx_is_read_and_numbers_typed_as_numbers_keep_their_digits() -> None:
    parsed = uploads.parse(xlsx_bytes([["client_id"], ["K1"], [10023], [None], ["K4", "x"]]))
    assert ids(parsed) == [(2, "K1"), (3, "10023")]
    assert parsed.problems[0].startswith("第 5 行")


def test_a_broken_xlsx_is_one_problem_not_a_crash() -> None:
    parsed = uploads.parse(b"PK\x03\x04 not really a zip")
    assert parsed.lines == [] and len(parsed.problems) == 1
    assert "Excel" in parsed.problems[0]


def test_more_rows_than_the_cap_are_refused_with_the_cap_named() -> None:
    parsed = uploads.parse(csv_bytes(f"K{n}" for n in range(uploads.MAX_ROWS + 1)))
    assert parsed.lines == []
    assert str(uploads.MAX_ROWS) in parsed.problems[-1]


def test_an_empty_file_says_so() -> None:
    parsed = uploads.parse(csv_bytes(["client_id", ""]))
    assert parsed.lines == [] and parsed.problems == ["文件中没有客户号"]
