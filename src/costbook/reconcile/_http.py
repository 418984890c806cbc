"""GET a provider's admin report page: JSON with numbers as ``Decimal``, bounded in size
and time, retried on 429 and 5xx, with the admin key sent to the origin asked for only
(a redirect is refused, never followed with the key)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from .._errors import CostbookError

MAX_BYTES = 32 * 1024 * 1024
"""The largest report page read."""
TIMEOUT = 30.0
"""Seconds to wait for a connection or a read."""
ATTEMPTS = 4
"""Attempts at most: the first and three retries, on HTTP 429, 5xx and network errors."""
MAX_WAIT = 60.0
"""The longest wait between attempts, whatever Retry-After asks."""


class ReportError(CostbookError):
    """A provider's usage or cost report could not be read: the request failed, the key
    was refused, or the answer was not of the documented shape."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx then surfaces as an HTTPError: the key never leaves its origin


_OPENER = urllib.request.build_opener(_NoRedirects)


def shown(url: str) -> str:
    """``url`` without credentials, query or fragment: safe to print."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def get_json(
    url: str,
    params: Mapping[str, Any] | list[tuple[str, Any]],
    headers: Mapping[str, str],
    *,
    key_name: str,
    sleep: Callable[[float], None] = time.sleep,
    backoff: float = 1.0,
) -> Any:
    """GET ``url`` with ``params`` (lists repeat their key) and ``headers`` (which hold the
    key; never shown), and parse the JSON answer. ``key_name`` names where the key came
    from, for the message when the provider refuses it."""
    where = shown(url)
    if not url.lower().startswith(("https://", "http://")):
        raise ReportError(f"{where or url!r}: not an http(s) URL; give --base-url https://...")
    pairs: list[tuple[str, Any]] = []
    for name, value in (params.items() if isinstance(params, Mapping) else params):
        if isinstance(value, (list, tuple)):
            pairs.extend((name, v) for v in value)
        elif value is not None:
            pairs.append((name, value))
    full = f"{url}?{urlencode(pairs)}" if pairs else url
    sent = {"Accept": "application/json", "User-Agent": "costbook", **headers}
    attempt = 0
    while True:
        attempt += 1
        wait: float | None = None
        try:
            request = urllib.request.Request(full, headers=sent, method="GET")
            with _OPENER.open(request, timeout=TIMEOUT) as response:
                body = response.read(MAX_BYTES + 1)
            break
        except urllib.error.HTTPError as exc:
            failure = f"HTTP {exc.code}"
            if exc.code in (401, 403):
                raise ReportError(
                    f"GET {where}: HTTP {exc.code}: the provider refused the key in "
                    f"{key_name}; give an admin key with access to usage and cost reports"
                ) from None
            if 300 <= exc.code < 400:
                raise ReportError(
                    f"GET {where}: HTTP {exc.code}: a redirect, not followed (the key is sent "
                    "to the URL given only); give --base-url the final address"
                ) from None
            if exc.code != 429 and not 500 <= exc.code < 600:
                raise ReportError(f"GET {where}: {failure}: {_reason(exc)}") from None
            wait = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            failure = str(getattr(exc, "reason", exc)) or type(exc).__name__
        if attempt >= ATTEMPTS:
            raise ReportError(f"GET {where}: {failure} (gave up after {ATTEMPTS} attempts)")
        sleep(min(MAX_WAIT, backoff * 2 ** (attempt - 1) if wait is None else wait))
    if len(body) > MAX_BYTES:
        raise ReportError(f"GET {where}: the answer is larger than {MAX_BYTES:,} bytes")
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ReportError(f"GET {where}: the answer is not valid JSON") from None


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(2000).decode("utf-8", "replace")
    except OSError:
        text = ""
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return text[:300] or str(exc.reason)


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
