"""What a request's headers say about its price: the Anthropic beta flags it sends (from
the client's default headers, the call's ``extra_headers`` and the SDK's ``betas=``), of
which ``context-1m-*`` opens a model's 1M-token window and its long-context rates.

Only the ``anthropic-beta`` header is read; no other header (an API key, an auth
header) is kept."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

BETA_HEADER = "anthropic-beta"


def _flags(value: object) -> list[str]:
    """The beta flags of one header value (comma-separated) or list of flags."""
    if isinstance(value, str):
        return [flag.strip() for flag in value.split(",") if flag.strip()]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        return [flag.strip() for flag in value if isinstance(flag, str) and flag.strip()]
    return []


def _header(headers: object) -> list[str]:
    if not isinstance(headers, Mapping):
        return []
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == BETA_HEADER:
            return _flags(value)
    return []


def client_betas(client: Any) -> tuple[str, ...]:
    """The beta flags an ``anthropic`` client sends with every request (its
    ``default_headers``)."""
    return tuple(_header(getattr(client, "_custom_headers", None)))


def request_betas(client_flags: tuple[str, ...], kwargs: Mapping[str, Any]) -> tuple[str, ...]:
    """The beta flags one call sends: the client's, the call's ``extra_headers`` (which
    replace them, as the SDK merges headers) and its ``betas=``."""
    headers = kwargs.get("extra_headers")
    flags = _header(headers) if _has_beta(headers) else list(client_flags)
    flags += _flags(kwargs.get("betas"))
    return tuple(flags)


def _has_beta(headers: object) -> bool:
    return isinstance(headers, Mapping) and any(
        isinstance(key, str) and key.lower() == BETA_HEADER for key in headers
    )
