"""The shared HTML table reader of the regulation-list parsers: rows, raw markup, headers, charsets."""

from __future__ import annotations

import pytest

from crawlers.parsers._html_tables import decode_page, mapped_rows, read_tables
from crawlers.sources import load_source
from tbt_alert.errors import StructureChanged

URL = "https://example.org/list/"


def test_rows_cells_links_and_the_exact_row_markup() -> None:
    page = (
        "<html><body>\r\n<table><tr><th>A</th><th>B</th></tr>\r\n"
        "<tr class='x'><td>one<br>two</td><td><a href='doc.pdf'>d</a> &amp; more</td></tr>\r\n"
        "<tr><td>implicit end<td>cell</table></body></html>"
    )
    [table] = read_tables(page, URL)
    header, first, second = table.rows
    assert [c.text for c in header.cells] == ["A", "B"]
    assert [c.text for c in first.cells] == ["one\ntwo", "d & more"]
    assert first.cells[1].links == ["https://example.org/list/doc.pdf"]
    row_markup = "<tr class='x'><td>one<br>two</td><td><a href='doc.pdf'>d</a> &amp; more</td></tr>"
    assert page[first.start : first.end] == row_markup
    assert page[second.start : second.end] == "<tr><td>implicit end<td>cell"
    assert [c.text for c in second.cells] == ["implicit end", "cell"]


def test_nested_tables_do_not_mix_rows() -> None:
    page = (
        "<table><tr><th>Outer</th></tr><tr><td><table><tr><td>inner</td></tr></table></td></tr>"
        "<tr><td>after</td></tr></table>"
    )
    outer, inner = read_tables(page, URL)
    assert [[c.text for c in r.cells] for r in inner.rows] == [["inner"]]
    assert [r.cells[0].text for r in outer.rows][-1] == "after"
    assert len(outer.rows) == 3


def test_mapped_rows_pick_the_table_with_the_required_columns() -> None:
    config = load_source("eaeu_eec")
    page = (
        "<html><table><tr><th>Меню</th></tr><tr><td>x</td></tr></table>"
        "<table><thead><tr><th>Наименование</th><th>Новая колонка</th></tr></thead>"
        "<tbody><tr><td></td><td></td></tr><tr><td>T</td><td>v</td></tr></tbody></table></html>"
    )
    [row] = mapped_rows(config, page, URL, required=("title",))
    assert (row.index, row.values["title"].text, row.unmapped) == (2, "T", {"Новая колонка": "v"})
    with pytest.raises(StructureChanged, match="'number'"):
        mapped_rows(config, page, URL, required=("title", "number"))


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ('<html><meta charset="windows-1251">Привет</html>'.encode("cp1251"), "Привет"),
        ("\ufeff<!DOCTYPE html><p>é</p>".encode(), "<!DOCTYPE html><p>é</p>"),
    ],
)
def test_decode_page_honours_the_declared_charset(body: bytes, text: str) -> None:
    assert text in decode_page(body, "eaeu_eec")


@pytest.mark.parametrize("body", [b"\xff<html>", b"plain text", b'<html><meta charset="nope"></html>'])
def test_decode_page_refuses_what_is_not_an_html_page(body: bytes) -> None:
    with pytest.raises(StructureChanged, match="eaeu_eec"):
        decode_page(body, "eaeu_eec")
