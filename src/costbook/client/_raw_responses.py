"""Tracked raw responses: what ``with_raw_response`` and ``with_streaming_response`` give.

The caller gets the SDK's own response object (or a thin stand-in that passes every
attribute through); the call is recorded once, from what the caller reads: ``parse()``
(a whole answer, or a stream that is then tracked as :class:`TrackedStream` is),
``read()``, ``text()`` or ``json()`` (the answer's JSON text). A response closed or dropped
before its answer was read is recorded as ``incomplete`` with the counted input.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from ._streams import AsyncTrackedStream, TrackedStream

if TYPE_CHECKING:
    from ._call import _Call


def _unread(call: _Call) -> None:
    call.finish(None, "", complete=False)


def track_raw(response: Any, call: _Call, hide: bool, *, stream: bool, mode: str,
              stream_type: type[Any] = TrackedStream) -> Any:
    """A raw response of a sync client, tracked; a stream parsed from it is tracked as
    ``stream_type`` (called with the stream, the call and ``hide``)."""
    if mode != "stream" and not stream:
        # with_raw_response: the body is read already; record it now, and give the SDK's
        # own object (its parse() caches what it parsed)
        _record_whole(call, response)
        return response
    return RawResponse(response, call, hide, stream, stream_type=stream_type)


def track_async_raw(response: Any, call: _Call, hide: bool, *, stream: bool, mode: str,
                    stream_type: type[Any] = AsyncTrackedStream) -> Any:
    """A raw response of an async client, tracked."""
    if mode != "stream" and not stream:
        _record_whole(call, response)  # a legacy response parses without awaiting
        return response
    if mode != "stream":
        return RawResponse(response, call, hide, stream, stream_type=stream_type)
    return AsyncRawResponse(response, call, hide, stream, stream_type=stream_type)


def _record_whole(call: _Call, response: Any) -> None:
    try:
        parsed = response.parse()
    except Exception:  # the caller gets the response and the SDK's error when parsing it
        call.finish(_text_of(response), "", complete=True)
        return
    call.answered(parsed)


def _text_of(response: Any) -> str | None:
    try:
        text = response.text
        text = text() if callable(text) else text
    except Exception:
        return None
    return text if isinstance(text, str) else None


class RawResponse:
    """A sync raw response whose answer is recorded when it is read."""

    def __init__(self, response: Any, call: _Call, hide: bool, stream: bool,
                 stream_type: type[Any] = TrackedStream) -> None:
        self._response = response
        self._call = call
        self._hide = hide
        self._stream = stream
        self._stream_type = stream_type
        self._tracked: Any = None
        self._finalizer = weakref.finalize(self, _unread, call)

    def parse(self, **kwargs: Any) -> Any:
        parsed = self._response.parse(**kwargs)
        if self._stream:
            if self._tracked is None:
                self._finalizer.detach()
                self._tracked = self._stream_type(parsed, self._call, self._hide)
            return self._tracked
        self._finalizer.detach()
        self._call.answered(parsed)
        return parsed

    def read(self) -> Any:
        data = self._response.read()
        self._whole()
        return data

    def text(self) -> Any:
        text = self._response.text()
        self._whole()
        return text

    def json(self, **kwargs: Any) -> Any:
        data = self._response.json(**kwargs)
        self._whole()
        return data

    def _whole(self) -> None:
        if not self._stream:
            self._finalizer.detach()
            self._call.finish(_text_of(self._response), "", complete=True)

    def close(self) -> None:
        try:
            self._response.close()
        finally:
            self._finalizer()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)


class AsyncRawResponse:
    """The async twin of :class:`RawResponse`, for ``with_streaming_response``."""

    def __init__(self, response: Any, call: _Call, hide: bool, stream: bool,
                 stream_type: type[Any] = AsyncTrackedStream) -> None:
        self._response = response
        self._call = call
        self._hide = hide
        self._stream = stream
        self._stream_type = stream_type
        self._tracked: Any = None
        self._finalizer = weakref.finalize(self, _unread, call)

    async def parse(self, **kwargs: Any) -> Any:
        parsed = await self._response.parse(**kwargs)
        if self._stream:
            if self._tracked is None:
                self._finalizer.detach()
                self._tracked = self._stream_type(parsed, self._call, self._hide)
            return self._tracked
        self._finalizer.detach()
        self._call.answered(parsed)
        return parsed

    async def read(self) -> Any:
        data = await self._response.read()
        await self._whole()
        return data

    async def text(self) -> Any:
        text = await self._response.text()
        await self._whole()
        return text

    async def json(self, **kwargs: Any) -> Any:
        data = await self._response.json(**kwargs)
        await self._whole()
        return data

    async def _whole(self) -> None:
        if not self._stream:
            self._finalizer.detach()
            text = await self._response.text()
            self._call.finish(text if isinstance(text, str) else None, "", complete=True)

    async def close(self) -> None:
        try:
            await self._response.close()
        finally:
            self._finalizer()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._response, name)
