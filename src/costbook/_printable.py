"""Text from outside (model ids, HTTP reason phrases, tags, file names) made safe to print:
control characters escaped, so that nothing sent by a server or stored in a ledger can move
the cursor, retitle a terminal or hide text."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the invisible marks that reorder or hide text (bidi
# embeddings, overrides and isolates; line and paragraph separators).
_MARKS = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[\x00-\x1f{_MARKS}]")
_CONTROLS_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f{_MARKS}]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with its control characters written as escapes (``\\x1b``, ``\\n``,
    ``\\u202e``); with ``lines``, newlines and tabs are kept (a whole block of output)."""
    pattern = _CONTROLS_BUT_LINES if lines else _CONTROLS
    return pattern.sub(_escape, text)


def clipped(text: str, limit: int = 200) -> str:
    """``text`` made printable and cut to ``limit`` characters, with a marker when cut."""
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text):,} characters)"
    return printable(text)
