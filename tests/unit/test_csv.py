"""The one CSV writer (``webapp.pages.csv``): cells made safe to open, phones, separators,
chunks and a table cut short."""

from __future__ import annotations

import csv
import io

import pytest

from webapp.pages.csv import (
    BOM,
    CHUNK_ROWS,
    INCOMPLETE,
    TableCutShort,
    csv_chunks,
    written,
)


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+44 20", "'+44 20"),
        ("-1", "'-1"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Müller", "Müller"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe(cell, shown):
    assert written(cell) == shown


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("+447700900123", "+447700900123"),  # E.164: as it is
        ("+905321234567", "+905321234567"),
        ("+44 7700 900123", "'+44 7700 900123"),  # kept as typed: text
        ("+0123", "'+0123"),  # no country code starts with 0
        ("+1234567890123456", "'+1234567890123456"),  # longer than E.164 allows
        ("+44=1", "'+44=1"),
        ("=1+1", "'=1+1"),
        ("07700 900123", "07700 900123"),
    ],
)
def test_a_phone_in_e164_stays_a_number_and_any_other_is_text(phone, shown):
    assert written(phone, phone=True) == shown


def test_chunks_hold_many_rows_each_and_make_one_file_with_one_mark():
    rows = [["Name", "Phone"], *([f"Patient {n}", "+447700900123"] for n in range(CHUNK_ROWS * 2))]

    chunks = list(csv_chunks(rows, ";", phones={1}))

    assert len(chunks) == 3  # the header rides in the first chunk
    text = "".join(chunks)
    assert text.startswith(BOM) and text.count(BOM) == 1
    read = list(csv.reader(io.StringIO(text.removeprefix(BOM)), delimiter=";"))
    assert read[0] == ["Name", "Phone"]
    assert read[-1] == [f"Patient {CHUNK_ROWS * 2 - 1}", "+447700900123"]
    assert len(read) == CHUNK_ROWS * 2 + 1


def test_a_table_cut_short_ends_with_a_line_saying_so_and_breaks_off():
    def rows():
        yield ["Name"]
        yield ["Ayşe"]
        raise TableCutShort(1)

    chunks = csv_chunks(rows())
    received = []
    with pytest.raises(TableCutShort):
        for chunk in chunks:
            received.append(chunk)

    assert "".join(received) == f"{BOM}Name\r\nAyşe\r\n{INCOMPLETE}\r\n"
