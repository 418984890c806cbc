"""What every CLI command shares: argument parsing of counts and amounts, JSON output."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..pricing._money import money_text, parse_amount

_COUNT = re.compile(r"^\s*(\d[\d_]*(?:\.\d+)?)\s*([kKmMbB]?)\s*$")
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000, "b": 1_000_000_000}
MAX_COUNT = 2**63 - 1  # the largest count a ledger stores


class BadInput(ValueError):
    """Bad input to a command, with the ``kind`` that ``--json`` errors report."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def count(text: str) -> int:
    """A token count typed by a person: ``100000``, ``100_000``, ``100k``, ``1.5M``."""
    match = _COUNT.match(text)
    if match is None:
        shown = repr(text) if len(text) <= 60 else repr(text[:40]) + "..."
        raise argparse.ArgumentTypeError(
            f"{shown} is not a count; write it like 100000, 100_000, 100k or 1.5M"
        )
    digits = match.group(1).replace("_", "")
    too_large = argparse.ArgumentTypeError(
        f"{text if len(text) <= 40 else text[:30] + '...'} is more than the largest count, "
        f"{MAX_COUNT}"
    )
    if len(digits.partition(".")[0].lstrip("0")) > len(str(MAX_COUNT)):
        raise too_large
    number = Decimal(digits) * _SCALE[match.group(2).lower()]
    if number > MAX_COUNT:
        raise too_large
    if number != number.to_integral_value():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of units")
    return int(number)


def amount(text: str) -> Decimal:
    """A money amount for argparse: ``0.25``, ``$1``."""
    try:
        return parse_amount(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def day(text: str) -> date:
    """A date for argparse: ``2025-06-10`` (a full ISO datetime is taken as its date)."""
    try:
        return datetime.fromisoformat(text).date() if "T" in text else date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write it as YYYY-MM-DD"
        ) from None


def file_error(exc: OSError) -> str:
    """An error about a file in plain words, naming the file: never ``[Errno 2] ...``."""
    import os

    name = exc.filename
    if name is None:
        return exc.strerror or str(exc)
    name = os.fsdecode(name)
    folder = os.path.dirname(os.path.abspath(name))
    if isinstance(exc, FileNotFoundError):
        if not os.path.isdir(folder):
            return f"{name}: the folder {folder} does not exist"
        return f"{name}: no such file"
    if isinstance(exc, IsADirectoryError):
        return f"{name} is a folder; give a file"
    if isinstance(exc, NotADirectoryError):
        return f"{name}: a part of the path is a file, not a folder"
    if isinstance(exc, PermissionError):
        return f"{name}: permission denied"
    reason = (exc.strerror or type(exc).__name__).lower()
    return f"{name}: {reason}"


def read_text(name: str, what: str = "text") -> str:
    """The UTF-8 text of a file (``-`` for standard input); a binary file is refused with a
    message naming it."""
    if name == "-":
        return sys.stdin.read()
    with open(name, encoding="utf-8") as file:
        try:
            return file.read()
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{name} is not UTF-8 {what} ({exc.reason} at byte {exc.start}); "
                "give a text file"
            ) from None


def to_jsonable(value: Any) -> Any:
    """Decimals as exact strings, dates as ISO text, dataclasses via ``as_dict``."""
    if isinstance(value, Decimal):
        return money_text(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if hasattr(value, "as_dict"):
        return to_jsonable(value.as_dict())
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON; amounts stay exact strings."""
    json.dump(to_jsonable(value), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def table(rows: list[list[str]], headers: list[str], *, right: set[int] | None = None) -> str:
    """A plain text table; columns in ``right`` are right-aligned."""
    right = right or set()
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        parts = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])
