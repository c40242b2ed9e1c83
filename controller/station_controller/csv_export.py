"""CSV downloads for staff spreadsheets: every cell neutralised against formula injection, times in UTC.

OWASP's CSV-injection rule: a cell that starts with ``=``, ``+``, ``-``, ``@``, TAB or CR can be run as a
formula by Excel, LibreOffice or WPS, so such a cell is prefixed with a single quote. Numbers are written
as they are (a number cannot carry a formula) and datetimes as ISO 8601 UTC with ``+00:00``. Every CSV
the controller serves is written through :class:`SafeCsvWriter`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from .kernel.clock import as_utc

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str | int | float:
    """One cell as a spreadsheet may safely read it."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class SafeCsvWriter:
    """``csv.writer`` whose rows are neutralised cell by cell (header included)."""

    def __init__(self, out: io.StringIO | Any, **fmtparams: Any) -> None:
        self._writer = csv.writer(out, **fmtparams)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def to_csv(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    """A whole small CSV document as text."""
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
