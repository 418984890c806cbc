"""Text from outside made safe to print: control characters escaped, length clipped."""

from __future__ import annotations

from costbook._printable import clipped, printable


def test_controls_and_invisible_marks_are_escaped():
    assert printable("a\x1b]0;x\x07\tb\nc\r\u2066\x9b\x7f") == \
        "a\\x1b]0;x\\x07\\tb\\nc\\r\\u2066\\x9b\\x7f"
    assert printable("plain text, é, 漢字, emoji 🙂") == "plain text, é, 漢字, emoji 🙂"


def test_lines_keeps_newlines_and_tabs_only():
    assert printable("one\ttwo\nthree\r\x1b[2J", lines=True) == "one\ttwo\nthree\\r\\x1b[2J"


def test_clipped_cuts_long_text_with_a_marker():
    assert clipped("x" * 300, 10) == "xxxxxxxxxx... (300 characters)"
    assert clipped("short\x1b") == "short\\x1b"
