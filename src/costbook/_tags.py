"""Per-call tags: given around a call, never added to the request that is sent."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[Mapping[str, str] | None] = ContextVar("costbook_tags", default=None)


def check_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """``tags`` as a plain dict, after checking every key and value is a string."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise TypeError(f"tags must be a mapping of strings to strings, got {type(tags).__name__}")
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"tags map strings to strings; {key!r}: {value!r} is not")
    return dict(tags)


@contextmanager
def tagged(**tags: str) -> Iterator[None]:
    """Tag the tracked calls made inside the block, in this thread or task.

    >>> with costbook.tagged(user="u-42", feature="summaries"):
    ...     client.chat.completions.create(...)   # doctest: +SKIP

    Blocks nest; inner values win. The request sent is not changed.
    """
    merged = {**(_current.get() or {}), **check_tags(tags)}
    token = _current.set(merged)
    try:
        yield
    finally:
        _current.reset(token)


def current_tags() -> dict[str, str]:
    """The tags of the innermost :func:`tagged` block (empty outside any)."""
    return dict(_current.get() or {})
