"""A table as a CSV download that a spreadsheet opens as it is meant to be read.

Cells can hold what patients typed (a name, a city), and a spreadsheet runs a cell that
starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one) as a
formula; such a cell is written with a leading apostrophe, which spreadsheets show as text
(OWASP's advice on CSV injection). A column of phones keeps an E.164 number as it is
(``+`` and digits cannot make a formula, and the apostrophe would spoil the number); a phone
stored as typed is a text like any other.

The file starts with a byte-order mark, so that Excel reads it as UTF-8. Excel in a language
that writes decimals with a comma (German, Turkish) splits a line at semicolons, not commas:
``SEPARATORS`` offers both. The body streams: rows are written as they come, a chunk at a
time, so a long table never sits in memory.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from flask import Response, stream_with_context

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
# The separators a download offers, by the name a query string gives them.
SEPARATORS = {"comma": ",", "semicolon": ";"}
DEFAULT_SEPARATOR = "comma"
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# Rows written before the body is handed on: few enough to keep memory flat, many enough
# that the server is not asked to send a packet per row.
CHUNK_ROWS = 500
# The last line of a table whose rows could not all be read (``TableCutShort``).
INCOMPLETE = "INCOMPLETE: the export stopped here because the database failed; export again."

Row = TypeVar("Row")


class TableCutShort(Exception):  # noqa: N818 - what happened, not an error's name
    """Raised by a table's rows when they cannot all be read (the database failed part-way):
    the file ends with a line saying so, and the body then breaks off, so that the server
    ends the download unfinished and the browser says it failed."""

    def __init__(self, written: int) -> None:
        super().__init__(f"the table stopped after {written} rows")
        self.written = written


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One column of a table: its header and how a row gives its cell (``None`` for an
    empty cell). ``phone``: the cells are phones, kept as they are when E.164."""

    header: str
    value: Callable[[Row], str | None]
    phone: bool = False


def table_response(
    filename: str,
    columns: Sequence[Column[Row]],
    rows: Iterable[Row],
    separator: str = DEFAULT_SEPARATOR,
) -> Response:
    """``csv_response`` of the header of ``columns``, then a line per row of ``rows``."""
    lines = itertools.chain(
        [[column.header for column in columns]],
        ([column.value(row) or "" for column in columns] for row in rows),
    )
    phones = {index for index, column in enumerate(columns) if column.phone}
    return csv_response(filename, lines, separator, phones=phones)


def csv_response(
    filename: str,
    rows: Iterable[Iterable[str]],
    separator: str = DEFAULT_SEPARATOR,
    *,
    phones: Collection[int] = (),
) -> Response:
    """A download named ``filename`` (ours, ASCII) holding ``rows``, the first the header,
    separated by ``SEPARATORS[separator]``; every cell is ``written`` (those at the
    positions ``phones`` as phones).

    The body is written as ``rows`` yields them, inside the request's context (so ``rows``
    may read the database as it goes); ``TableCutShort`` from ``rows`` ends it with the
    line ``INCOMPLETE`` and breaks it off (``csv_chunks``).
    """
    chunks = csv_chunks(rows, SEPARATORS[separator], phones)
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_chunks(
    rows: Iterable[Iterable[str]], delimiter: str = ",", phones: Collection[int] = ()
) -> Iterator[str]:
    """The CSV text of ``rows`` (``\\r\\n`` line ends, cells ``written``, those at the
    positions ``phones`` as phones), the byte-order mark first, in chunks of ``CHUNK_ROWS``
    lines. ``TableCutShort`` from ``rows`` adds the line ``INCOMPLETE`` and is raised on."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    try:
        for number, row in enumerate(rows, 1):
            writer.writerow(written(cell, phone=index in phones) for index, cell in enumerate(row))
            if number % CHUNK_ROWS == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
    except TableCutShort:
        writer.writerow([INCOMPLETE])
        yield buffer.getvalue()
        raise
    if buffer.tell():
        yield buffer.getvalue()


def written(cell: str, *, phone: bool = False) -> str:
    """``cell`` as a spreadsheet shows it without running it: with an apostrophe before a
    formula's first character; a ``phone`` in E.164 as it is."""
    if phone and E164.fullmatch(cell):
        return cell
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
