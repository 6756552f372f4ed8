"""A table as a CSV download that a spreadsheet opens as it is meant to be read.

Cells can hold what patients typed (a country's name), and a spreadsheet runs a cell that
starts with ``=``, ``+``, ``-`` or ``@`` as a formula; such a cell is written with a
leading apostrophe, which spreadsheets show as text (OWASP's advice on CSV injection).
The file starts with a byte-order mark, so that Excel reads it as UTF-8.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from flask import Response

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_response(filename: str, rows: Iterable[Iterable[str]]) -> Response:
    """A download named ``filename`` (ours, ASCII) holding ``rows``, the first the header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(_inert(cell) for cell in row)
    response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _inert(cell: str) -> str:
    """``cell`` as a spreadsheet shows it without running it."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell
