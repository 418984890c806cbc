"""Per-call tags: given around a call, never added to the request that is sent."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

_current: ContextVar[Mapping[str, str] | None] = ContextVar("costbook_tags", default=None)


SECRET = re.compile(
    "|".join((
        r"(?i:\b(?:sk|rk|pk)-[a-z0-9_\-]{16,})",  # OpenAI, Anthropic (sk-ant-), DeepSeek, ...
        r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe
        r"\bAIza[0-9A-Za-z_\-]{30,}",  # Google
        r"\bxai-[A-Za-z0-9]{20,}",  # xAI
        r"\bgsk_[A-Za-z0-9]{20,}",  # Groq
        r"\bhf_[A-Za-z0-9]{20,}",  # Hugging Face
        r"\bpplx-[A-Za-z0-9]{20,}",  # Perplexity
        r"\br8_[A-Za-z0-9]{20,}",  # Replicate
        r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",  # AWS access keys
        r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
        r"\bgithub_pat_[A-Za-z0-9_]{20,}",
        r"\bglpat-[A-Za-z0-9_\-]{20,}",  # GitLab
        r"\bnpm_[A-Za-z0-9]{30,}",  # npm
        r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",  # Slack
        r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.",  # a JSON Web Token
        r"(?i:^\s*(?:bearer|basic)\s+\S{8,})",  # an Authorization header's value
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    ))
)
"""Text shaped like an API key or an auth header: never stored, logged or sent as a tag."""


def check_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """``tags`` as a plain dict, after checking they map non-empty strings to strings and
    hold nothing shaped like a secret."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise TypeError(f"tags must be a mapping of strings to strings, got {type(tags).__name__}")
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str):
            raise TypeError(f"tag keys must be strings; tags map strings to strings, got {key!r}")
        if not key:
            raise ValueError("tag keys must be non-empty strings, got ''")
        if not isinstance(value, str):
            raise TypeError(
                f"tag {key!r} must have a string value, got {type(value).__name__} "
                f"({key!r}: {value!r}); tags map strings to strings"
            )
        if SECRET.search(value) or SECRET.search(key):
            raise ValueError(
                f"tag {key!r} looks like an API key or auth header; a ledger never stores "
                "secrets"
            )
        checked[key] = value
    return checked


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
