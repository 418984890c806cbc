"""What every CLI command shares: argument parsing of counts and amounts, bounded input,
output with control characters escaped (:func:`printable`), JSON output."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from .._printable import printable as printable  # the helper every command prints through
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


MAX_INPUT = 32_000_000
"""The most characters read from a file or standard input (32 million: a few times the
largest context window)."""


def read_text(name: str, what: str = "text", *, limit: int = MAX_INPUT) -> str:
    """The UTF-8 text of a file (``-`` for standard input), at most ``limit`` characters; a
    longer input (``/dev/zero``) or a binary file is refused with a message naming it."""
    shown = "standard input" if name == "-" else printable(name)
    try:
        if name == "-":
            text = sys.stdin.read(limit + 1)
        else:
            with open(name, encoding="utf-8") as file:
                text = file.read(limit + 1)
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{shown} is not UTF-8 {what} ({exc.reason} at byte {exc.start}); "
            "give a text file"
        ) from None
    if len(text) > limit:
        raise ValueError(
            f"{shown} holds more than {limit:,} characters, the most costbook reads; "
            f"give a smaller {what}"
        )
    return text


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


_JSON_CONTROLS = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON; amounts stay exact strings. Control characters in
    strings are written as JSON escapes (``\\u001b``), so the output is safe on a terminal
    and reads back the same."""
    text = json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)
    text = _JSON_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    sys.stdout.write(text + "\n")


class PrintableStream:
    """A text stream that writes everything with its control characters escaped (newlines
    and tabs kept): what the commands print cannot drive the terminal, whatever a server,
    a table or a ledger held."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(printable(text, lines=True))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def table(rows: list[list[str]], headers: list[str], *, right: set[int] | None = None) -> str:
    """A plain text table; columns in ``right`` are right-aligned."""
    right = right or set()
    rows = [[printable(str(c)) for c in row] for row in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]

    def line(cells: list[str]) -> str:
        parts = [
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


# The usage options of `estimate`: each flag and the Usage field it sets.
USAGE_PARTS = [
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cache-read", "cache_read_tokens"),
    ("cache-write", "cache_write_tokens"),
    ("reasoning", "reasoning_tokens"),
    ("audio-input", "audio_input_tokens"),
    ("audio-output", "audio_output_tokens"),
    ("images", "images"),
    ("web-searches", "web_searches"),
]
