"""Writing entries out as CSV or JSON Lines, streamed from stored rows page by page.

A row as costbook writes it is formatted from its stored text as it is (the amounts,
times, items and tags are stored in the very form an export gives them), without
building an :class:`~costbook.records._entry.Entry`; any other row goes through
:func:`~costbook.records._entry.entry_from_row`, which keeps what it cannot read.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from json.encoder import encode_basestring
from math import isfinite
from typing import IO, Any

from ..pricing._usage import USAGE_FIELDS
from ..records._entry import ROW_COLUMNS, entry_from_row

EXPORT_FORMATS = ("csv", "jsonl")
CSV_COLUMNS: tuple[str, ...] = ROW_COLUMNS
"""The header of a CSV export: the stored columns, usage parts by name."""

_USAGE = slice(6, 6 + len(USAGE_FIELDS))
_LINE = (
    '{"id": %d, "time": %s, "provider": %s, "model": %s, "request_id": %s, "status": %s, '
    '"usage": {' + ", ".join(f'"{name}": %d' for name in USAGE_FIELDS) + "}, "
    '"cost": %s, "cost_items": %s, "currency": %s, "effective": %s, "reported_cost": %s, '
    '"estimate_low": %s, "estimate_high": %s, "duration": %s, "tags": %s, "overrun": %s, '
    '"late": %s, "asked_model": %s}\n'
)


def write_csv(pages: Iterable[Sequence[Sequence[Any]]], out: IO[str]) -> int:
    """Write pages of stored rows (:data:`ROW_COLUMNS`) to ``out`` as CSV, values as
    stored (absent ones empty); the number written."""
    count = 0
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for page in pages:
        writer.writerows(page)
        count += len(page)
    return count


def write_jsonl(pages: Iterable[Sequence[Sequence[Any]]], out: IO[str]) -> int:
    """Write pages of stored rows (:data:`ROW_COLUMNS`, then a flag that is true for a
    row as costbook writes it) to ``out`` as JSON Lines, one
    :meth:`~costbook.records._entry.Entry.as_dict` a line; the number written."""
    count = 0
    for page in pages:
        try:
            text = "".join([_jsonl_as_written(row) for row in page])
        except TypeError:  # a row not as costbook writes it: this page row by row
            text = "".join([_jsonl(row) for row in page])
        out.write(text)
        count += len(page)
    return count


def _jsonl(row: Sequence[Any]) -> str:
    try:
        return _jsonl_as_written(row)
    except TypeError:
        return json.dumps(entry_from_row(row[:-1]).as_dict(), ensure_ascii=False) + "\n"


def _jsonl_as_written(row: Sequence[Any], q: Any = encode_basestring) -> str:
    """One JSON line, equal to ``json.dumps(entry.as_dict(), ensure_ascii=False)``, from
    a row as costbook writes it (its items and tags are JSON objects already). Raises
    TypeError for a row not so written, or a value of another type."""
    (time, cost, items, currency, effective, reported, low, high, duration, tags, overrun,
     late, asked, regular) = (row[1], *row[_USAGE.stop:])
    if not regular or len(time) != 27 or late not in (0, 1):
        raise TypeError(row)
    if duration is not None and (type(duration) is not float or not isfinite(duration)):
        raise TypeError(duration)
    return _LINE % (
        row[0], q(time), q(row[2]), q(row[3]), "null" if row[4] is None else q(row[4]),
        q(row[5]), *row[_USAGE], q(cost), items, q(currency),
        "null" if effective is None else q(effective),
        "null" if reported is None else q(reported),
        "null" if low is None else q(low),
        "null" if high is None else q(high),
        "null" if duration is None else repr(duration), tags,
        "null" if overrun is None else q(overrun), "true" if late else "false",
        "null" if asked is None else q(asked),
    )
