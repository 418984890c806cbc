"""The anthropic SDK's billed doors, installed on a tracked client: ``messages.create`` and
``messages.stream`` (:mod:`._anthropic`), and besides them ``beta.messages.create`` (plain
or ``stream=True``), ``beta.messages.stream`` and ``beta.messages.parse`` (the namespace of
long context, files, code execution, context management, and what the SDK's tool runner
and agent frameworks send through), and ``messages.parse``.

They are tracked exactly as ``messages`` calls are (:mod:`._anthropic`). The ``betas``
argument of a ``beta.messages`` call is read as the ``anthropic-beta`` header it becomes,
the header a ``messages`` call gives in ``extra_headers``: the SDK sends the same request
either way (a header given in ``extra_headers`` wins over ``betas``, as in the SDK).
``messages.count_tokens`` and ``beta.messages.count_tokens`` are free and not recorded.

The ``with_raw_response`` and ``with_streaming_response`` doors of every Messages call give
the SDK's own response, recorded when it is read (:func:`._anthropic.track_raw_message`).
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any

from ._anthropic import _ASYNC, _kinds, _wrap_create, _wrap_stream
from ._call import _Settings, mark_tracked
from ._request_headers import client_betas

BETA_HEADER = "anthropic-beta"


def install_anthropic(client: Any, settings: _Settings) -> Any:
    """Track the ``messages`` calls of ``client`` (a copy the caller made) and its copies."""
    import anthropic

    is_async = isinstance(client, _kinds(_ASYNC) or anthropic.AsyncAnthropic)
    betas = client_betas(client)
    if betas != settings.betas:
        settings = replace(settings, betas=betas)
    messages = client.messages
    messages.create = _wrap_create(messages.create, settings, is_async)
    messages.stream = _wrap_stream(messages.stream, settings, is_async)
    install_anthropic_doors(client, settings, is_async)
    return mark_tracked(client, settings, install_anthropic)


def install_anthropic_doors(client: Any, settings: _Settings, is_async: bool) -> None:
    """Track ``messages.parse`` and ``beta.messages`` ``create``, ``stream`` and ``parse``
    on ``client`` (a copy the caller made), where it has them."""
    messages = client.messages
    if hasattr(messages, "parse"):
        messages.parse = _wrap_create(messages.parse, settings, is_async)
    beta = getattr(getattr(client, "beta", None), "messages", None)
    if beta is None:
        return
    if hasattr(beta, "create"):
        beta.create = _with_betas(_wrap_create(beta.create, settings, is_async), is_async)
    if hasattr(beta, "parse"):
        beta.parse = _with_betas(_wrap_create(beta.parse, settings, is_async), is_async)
    if hasattr(beta, "stream"):
        # the stream helper returns its context manager at once, for both clients
        beta.stream = _with_betas(_wrap_stream(beta.stream, settings, is_async), False)


def betas_as_header(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A ``beta.messages`` call's arguments with ``betas`` given as the ``anthropic-beta``
    header it becomes (in ``extra_headers``), as a ``messages`` call gives it."""
    betas = kwargs.get("betas")
    if "betas" not in kwargs:
        return kwargs
    rest = {k: v for k, v in kwargs.items() if k != "betas"}
    if betas is None or type(betas).__name__ in ("NotGiven", "Omit"):
        return rest
    headers = dict(kwargs.get("extra_headers") or {})
    if not any(str(name).lower() == BETA_HEADER for name in headers):
        headers[BETA_HEADER] = ",".join(str(beta) for beta in betas)
    rest["extra_headers"] = headers
    return rest


def _with_betas(tracked: Any, is_async: bool) -> Any:
    if is_async:
        @functools.wraps(tracked)
        async def call_async(*args: Any, **kwargs: Any) -> Any:
            return await tracked(*args, **betas_as_header(kwargs))

        return call_async

    @functools.wraps(tracked)
    def call(*args: Any, **kwargs: Any) -> Any:
        return tracked(*args, **betas_as_header(kwargs))

    return call
