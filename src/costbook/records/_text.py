"""Storable text: the strings of an entry made such that every store keeps them.

A ledger keeps an entry's strings (provider, model, request id, the model asked for, tag
keys and values) as given, with two exceptions, the same in every store:

- a NUL character (``\\x00``, which PostgreSQL cannot store in text) or a lone surrogate
  (``\\ud800``, which is no Unicode character and cannot be encoded) is replaced by
  U+FFFD (``\ufffd``);
- a string longer than :data:`MAX_TEXT` characters is cut to that length, ending with
  a marker that says how long it was: ``...…[cut from 200000 characters]``.

A warning names the field each time; the rest of the entry is recorded as it is.
"""

from __future__ import annotations

import re
import warnings

MAX_TEXT = 1000
"""The most characters a stored string keeps (a longer one is cut, with a marker)."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def cut_marker(length: int) -> str:
    """The marker ending a string that was cut from ``length`` characters."""
    return f"…[cut from {length} characters]"


def stored_form(text: str) -> str:
    """``text`` as a ledger stores it, without a warning: for a filter to match the
    entries it was stored in."""
    if _UNSTORABLE.search(text):
        text = _UNSTORABLE.sub(REPLACEMENT, text)
    if len(text) > MAX_TEXT:
        marker = cut_marker(len(text))
        text = text[:MAX_TEXT - len(marker)] + marker
    return text


def storable(text: str, field: str, *, stacklevel: int = 4) -> str:
    """``text`` as a ledger stores it (see the module); ``field`` names it in a warning
    when it changes, given at ``stacklevel`` (the caller of the caller of the caller)."""
    stored = stored_form(text)
    if stored != text:
        notes = []
        if _UNSTORABLE.search(text):
            notes.append("held a NUL character or a lone surrogate, which a ledger cannot "
                         "store: each is recorded as U+FFFD")
        if len(text) > MAX_TEXT:
            notes.append(f"had {len(text)} characters, more than the {MAX_TEXT} a ledger "
                         f"keeps: it is recorded cut, ending with {cut_marker(len(text))!r}")
        warnings.warn(f"the {field} of this entry {'; and '.join(notes)}", RuntimeWarning,
                      stacklevel=stacklevel)
    return stored


def storable_or_none(text: str | None, field: str) -> str | None:
    """:func:`storable` for an optional string."""
    return None if text is None else storable(text, field, stacklevel=5)


def storable_tags(tags: dict[str, str]) -> dict[str, str]:
    """Tags with storable keys and values (keys cut alike may merge: the last wins)."""
    result: dict[str, str] = {}
    for key, value in tags.items():
        result[storable(key, "tag key", stacklevel=5)] = storable(
            value, f"tag {key[:40]!r}", stacklevel=5
        )
    return result
