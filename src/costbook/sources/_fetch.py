"""Fetching JSON from a models API or a public price catalog, bounded in every way a server
could abuse.

- **Time**: ``timeout`` bounds each connect and read; ``deadline`` bounds the whole fetch
  (every attempt, redirect and wait between attempts), so a server sending a byte a second
  cannot hold it.
- **Size**: at most ``max_bytes`` of body are read.
- **Credentials** go only to the origin asked for: a redirect to another origin (scheme,
  host and port) is followed without them; a redirect from https to plain http is refused.
  :attr:`Fetched.url` names where the data came from.
- **Parsing**: nesting deeper than ``max_depth`` is refused before parsing; numbers become
  ``Decimal`` and are refused when their text is long or their exponent is out of range,
  before anything expands them (``1e30000000`` would be 30 million digits).

Every failure is a :class:`SyncError` with a one-line message, never a traceback.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from .._errors import CostbookError
from .._printable import clipped

MAX_BYTES = 16 * 1024 * 1024
"""The largest body read (OpenRouter's whole catalog is a few megabytes)."""
TIMEOUT = 30.0
"""Seconds to wait for a connection or for one read before the attempt fails."""
DEADLINE = 60.0
"""Seconds the whole fetch may take: every attempt, redirect and wait included."""
ATTEMPTS = 4
"""Attempts at most: the first and three retries, on HTTP 429, 5xx and network errors."""
MAX_WAIT = 60.0
"""The longest wait between attempts, even when the server's Retry-After asks for more."""
MAX_REDIRECTS = 5
"""Redirects followed at most."""
MAX_DEPTH = 64
"""The deepest nesting of JSON arrays and objects parsed."""
MAX_NUMBER_CHARS = 64
"""The longest text of a JSON number (or a decimal string) read as a number."""
MAX_EXPONENT = 100
"""Numbers are read only between 1e-100 and 1e+100 in magnitude (or zero)."""

Progress = Callable[[str], None]


class SyncError(CostbookError):
    """A sync that could not complete: the request failed or the payload was not a models
    list of the expected shape. Nothing was written."""


@dataclass(frozen=True)
class Fetched:
    """A parsed JSON body and where it came from (URLs without credentials or query)."""

    data: Any
    url: str
    """The URL the data came from, after any redirects."""
    requested: str
    """The URL asked for."""
    credentials_sent: bool
    """Whether the credentials went with the request that answered."""

    @property
    def redirected(self) -> bool:
        return self.url != self.requested

    def note(self) -> str | None:
        """One line saying where a redirect led, or None when there was none."""
        if not self.redirected:
            return None
        text = f"asked {self.requested}; the data came from {self.url} (redirected)"
        if not self.credentials_sent:
            text += "; the API key was not sent there, another origin"
        return text


def shown_url(url: str) -> str:
    """``url`` without a user name, password, query or fragment: safe to print and write."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
    except ValueError:  # a port that is not a number
        return clipped(url.split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1], 200)
    return clipped(urlunsplit((parts.scheme, host, parts.path, "", "")), 300)


def origin(url: str) -> tuple[str, str, int]:
    """The (scheme, host, port) a URL's credentials belong to; default ports filled in."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, (parts.hostname or "").lower(), port


# -- numbers and nesting --------------------------------------------------------------------------


def bounded_decimal(text: str, where: str = "the number") -> Decimal:
    """A decimal number from text, refused before anything expands it when it is long or
    out of range: raises ValueError naming ``where``."""
    stripped = text.strip()
    if len(stripped) > MAX_NUMBER_CHARS:
        raise ValueError(f"{where} is a number of {len(stripped):,} characters; costbook reads "
                         f"numbers of at most {MAX_NUMBER_CHARS}")
    try:
        number = Decimal(stripped)
    except InvalidOperation:
        raise ValueError(f"{where} is {clipped(repr(text), 80)}, not a number") from None
    if not number.is_finite():
        raise ValueError(f"{where} is {clipped(repr(text), 80)}, not a finite number")
    if number and not -MAX_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        raise ValueError(f"{where} is {stripped}, out of the range costbook reads "
                         f"(1e-{MAX_EXPONENT} to 1e+{MAX_EXPONENT})")
    return number


def _json_number(text: str) -> Decimal:
    return bounded_decimal(text, "a number in the response")


def _json_int(text: str) -> int | Decimal:
    if len(text) > 19:  # beyond any 64-bit count: read it as a bounded decimal
        return _json_number(text)
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def too_deep(text: str, max_depth: int = MAX_DEPTH) -> bool:
    """Whether the JSON text nests arrays and objects deeper than ``max_depth`` (brackets
    in strings do not count). Linear in the text: strings and everything but brackets are
    removed, then innermost pairs are removed one level at a time."""
    if text.count("[") + text.count("{") <= max_depth:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(max_depth):
        shorter = brackets.replace("[]", "").replace("{}", "")
        if len(shorter) == len(brackets):
            break  # unbalanced: measured below
        brackets = shorter
    else:
        return bool(brackets)  # still nested after max_depth levels
    depth = 0
    for char in brackets:
        depth += 1 if char in "[{" else -1
        if depth > max_depth:
            return True
        if depth < 0:
            return False  # not JSON: the parser says so
    return False


def parse_json(body: bytes | str, where: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """JSON text parsed with numbers as bounded ``Decimal`` (integers up to 19 digits as
    ``int``); nesting beyond ``max_depth`` is refused. Raises SyncError naming ``where``."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError:
        raise SyncError(f"{where}: the response is not UTF-8 text") from None
    if too_deep(text, max_depth):
        raise SyncError(f"{where}: the response nests arrays or objects more than "
                        f"{max_depth} deep; costbook reads no deeper")
    try:
        return json.loads(text, parse_float=_json_number, parse_int=_json_int,
                          parse_constant=_no_constant)
    except RecursionError:  # not reached after the depth check; kept as a last guard
        raise SyncError(f"{where}: the response nests too deeply") from None
    except ValueError as exc:
        raise SyncError(f"{where}: the response is not valid JSON: "
                        f"{clipped(str(exc), 200)}") from None


# -- the request ----------------------------------------------------------------------------------


class _Watch:
    """Shuts the sockets of a fetch when its deadline passes, which wakes any blocked read."""

    def __init__(self, ends: float) -> None:
        self.ends = ends
        self.expired = False
        self._fds: list[int] = []
        self._active = True
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, ends - time.monotonic()), self._fire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return self.ends - time.monotonic()

    def register(self, fd: int) -> None:
        with self._lock:
            self._fds.append(fd)

    def forget(self, fd: int) -> None:
        """The socket is about to be closed: its number may be reused, so never shut it."""
        with self._lock:
            if fd in self._fds:
                self._fds.remove(fd)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        """No more shutting: the sockets may be closed from now on."""
        with self._lock:
            self._active = False
        self._timer.cancel()

    def _fire(self) -> None:
        import socket

        with self._lock:
            if not self._active:
                return
            self.expired = True
            for fd in self._fds:
                try:
                    sock = socket.socket(fileno=fd)
                except OSError:
                    continue
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                finally:
                    sock.detach()


def _opener(watch: _Watch, timeout: float) -> Any:
    """A urllib opener (proxies as the environment sets them) that follows no redirect
    itself and registers each socket with ``watch``."""
    import http.client
    import socket
    import urllib.request

    def create_connection(address: Any, timeout: Any = None, source_address: Any = None) -> Any:
        limit = min(timeout if isinstance(timeout, (int, float)) else TIMEOUT,
                    max(0.01, watch.remaining()))
        sock = socket.create_connection(address, limit, source_address)
        watch.register(sock.fileno())
        return sock

    class Connection(http.client.HTTPConnection):
        """A connection whose sockets the deadline watch knows (and, mixed in, HTTPS)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._create_connection = create_connection

        def close(self) -> None:
            if self.sock is not None:
                watch.forget(self.sock.fileno())
            super().close()

    class SecureConnection(Connection, http.client.HTTPSConnection):
        pass

    class Plain(urllib.request.HTTPHandler):
        def http_open(self, req: Any) -> Any:
            return self.do_open(Connection, req)

    class Secure(urllib.request.HTTPSHandler):
        def https_open(self, req: Any) -> Any:
            return self.do_open(SecureConnection, req)  # the default, verifying context

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None  # the 3xx comes back as an HTTPError, handled by fetch()

    return urllib.request.build_opener(Plain, Secure, NoRedirect)


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Redirect(Exception):
    def __init__(self, location: str) -> None:
        self.location = location


def fetch(
    url: str,
    *,
    api_key: str | None = None,
    timeout: float = TIMEOUT,
    deadline: float = DEADLINE,
    attempts: int = ATTEMPTS,
    backoff: float = 1.0,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Fetched:
    """GET ``url`` and parse its JSON (see :func:`parse_json`), within the bounds above.
    Retries HTTP 429, 5xx and network errors up to ``attempts`` times, waiting as
    Retry-After asks or ``backoff`` doubling; any other failure raises SyncError in one
    line. The key is sent as a bearer token to ``url``'s origin only, and never shown."""
    import urllib.error
    import urllib.request
    from urllib.parse import urljoin

    requested = shown_url(url)
    _check_url(url, requested)
    home = origin(url)
    ends = time.monotonic() + deadline
    current, hops, attempt = url, 0, 0
    while True:
        shown = shown_url(current)
        with_key = bool(api_key) and origin(current) == home
        headers = {"Accept": "application/json", "User-Agent": _user_agent()}
        if with_key:
            headers["Authorization"] = f"Bearer {api_key}"
        attempt += 1
        if progress is not None:
            progress(f"fetching {shown}" + (f" (attempt {attempt})" if attempt > 1 else ""))
        failure: str
        wait: float | None = None
        watch = _Watch(ends)
        if watch.remaining() <= 0:
            raise SyncError(_late(shown, deadline))
        try:  # the watch stops before any socket of this attempt is closed
            try:
                watch.start()
                request = urllib.request.Request(current, headers=headers, method="GET")
                opener = _opener(watch, timeout)
                with opener.open(request, timeout=min(timeout, max(0.01, watch.remaining()))) \
                        as response:
                    body = _read_body(response, shown, max_bytes, progress)
                    watch.stop()
                if watch.expired:
                    raise SyncError(_late(shown, deadline))
                return Fetched(parse_json(body, f"GET {shown}", max_depth=max_depth), shown,
                               requested, with_key)
            except urllib.error.HTTPError as exc:
                watch.stop()
                location = exc.headers.get("Location") if exc.headers else None
                exc.close()
                if exc.code in _REDIRECTS and location:
                    hops += 1
                    current = _redirect(current, urljoin(current, location.strip()), shown, hops)
                    attempt = 0
                    continue
                failure = f"HTTP {exc.code} {clipped(str(exc.reason or ''), 100)}".rstrip()
                if exc.code != 429 and not 500 <= exc.code < 600:
                    if api_key and not with_key and exc.code in (401, 403):
                        failure += (f" (redirected from {requested}; the API key is sent "
                                    "only to the origin asked for)")
                    raise SyncError(f"GET {shown}: {failure}") from None
                wait = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            except SyncError:
                watch.stop()
                if watch.expired:
                    raise SyncError(_late(shown, deadline)) from None
                raise
            except Exception as exc:  # a network failure of any kind: retried
                watch.stop()
                if watch.expired:
                    raise SyncError(_late(shown, deadline)) from None
                reason = getattr(exc, "reason", None) if isinstance(exc, urllib.error.URLError) \
                    else exc
                failure = clipped(str(reason) or type(reason).__name__, 200)
        finally:
            watch.stop()
        if attempt >= attempts:
            raise SyncError(f"GET {shown}: {failure} (gave up after {attempts} attempts)")
        delay = min(MAX_WAIT, backoff * 2 ** (attempt - 1) if wait is None else wait)
        if delay >= ends - time.monotonic():
            raise SyncError(f"GET {shown}: {failure} (gave up: a retry in {delay:g}s would "
                            f"pass the deadline of {deadline:g}s)")
        if progress is not None:
            progress(f"{failure} from {shown}; retrying in {delay:g}s")
        sleep(delay)


def _late(shown: str, deadline: float) -> str:
    return (f"GET {shown}: no complete answer within {deadline:g}s, the deadline for the "
            "whole request")


def _check_url(url: str, shown: str) -> None:
    if not url.lower().startswith(("https://", "http://")):
        raise SyncError(f"{repr(shown) if shown else clipped(repr(url), 100)}: not an http(s) URL; "
                        "give --base-url https://...")
    if "@" in url.split("//", 1)[-1].split("/", 1)[0]:
        raise SyncError(
            f"{shown}: the URL holds a user name or password; give the base URL without it "
            "and the key with --api-key-env"
        )


def _redirect(current: str, target: str, shown: str, hops: int) -> str:
    """The URL a redirect leads to, or SyncError when it may not be followed."""
    where = shown_url(target)
    if hops > MAX_REDIRECTS:
        raise SyncError(f"GET {shown}: more than {MAX_REDIRECTS} redirects; give the final "
                        "URL with --base-url")
    if not target.lower().startswith(("https://", "http://")):
        raise SyncError(f"GET {shown}: redirected to {where!r}, not an http(s) URL; refused")
    if current.lower().startswith("https://") and target.lower().startswith("http://"):
        raise SyncError(f"GET {shown}: redirected to {where}, from https to plain http; "
                        "refused")
    if "@" in target.split("//", 1)[-1].split("/", 1)[0]:
        raise SyncError(f"GET {shown}: redirected to a URL holding a user name or password; "
                        "refused")
    return target


def _user_agent() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"costbook/{version('costbook')}"
    except PackageNotFoundError:
        return "costbook"


def _read_body(response: Any, shown: str, max_bytes: int, progress: Progress | None) -> bytes:
    length = response.headers.get("Content-Length") if response.headers else None
    if length is not None and length.strip().isdigit() and int(length) > max_bytes:
        raise SyncError(f"GET {shown}: the response is {int(length):,} bytes, more than the "
                        f"{max_bytes:,} costbook reads")
    read = getattr(response, "read1", response.read)
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = read(256 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise SyncError(f"GET {shown}: the response is larger than the {max_bytes:,} "
                            "bytes costbook reads")
        chunks.append(chunk)
        if progress is not None:
            progress(f"fetching {shown}: {size / 1_000_000:.1f} MB")


def _retry_after(value: str | None) -> float | None:
    """Seconds a Retry-After header asks to wait (seconds or an HTTP date), if it says."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value[:6])
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when.timestamp() - time.time())

