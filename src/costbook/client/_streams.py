"""A tracked stream: the SDK's stream, read through, recorded when it ends."""

from __future__ import annotations

import weakref
from typing import Any

from ..tokens._tokens import counter_for, text_counter
from ._call import _Call


class _StreamWatch:
    """What a stream has told so far: its text, its final payload, whether it finished."""

    def __init__(self, api: str, hide_usage_chunk: bool) -> None:
        self.api = api
        self.hide_usage_chunk = hide_usage_chunk
        self.text: list[str] = []
        self.final: Any = None
        self.named: dict[str, Any] = {}
        self.finished = False

    def see(self, item: Any) -> bool:
        """Take note of one chunk or event; True when it is to be hidden from the caller."""
        if self.api in ("chat", "completions"):
            return self._see_chunk(item)
        self._see_event(item)
        return False

    def _see_chunk(self, chunk: Any) -> bool:
        self.named = {"model": getattr(chunk, "model", None), "id": getattr(chunk, "id", None)}
        for choice in getattr(chunk, "choices", None) or []:
            delta = getattr(choice, "delta", None)
            content = getattr(delta, "content", getattr(choice, "text", None))
            if isinstance(content, str):
                self.text.append(content)
            if getattr(choice, "finish_reason", None):
                self.finished = True
        if getattr(chunk, "usage", None) is not None:
            self.final = chunk
            return self.hide_usage_chunk and not getattr(chunk, "choices", None)
        return False

    def _see_event(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "response.output_text.delta":
            self.text.append(str(getattr(event, "delta", "") or ""))
        elif kind in ("response.created", "response.in_progress"):
            response = getattr(event, "response", None)
            self.named = {"model": getattr(response, "model", None),
                          "id": getattr(response, "id", None)}
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = getattr(event, "response", None)
            self.finished = kind == "response.completed"

    def payload(self) -> Any:
        return self.final if self.final is not None else self.named


def output_counted(usage: dict[str, Any], text: list[str], call: _Call) -> dict[str, Any]:
    """A Messages stream's usage (from its ``message_start``, with no ``message_delta``
    yet) with an output count of at least the tokens of the text it sent: the start's
    count is only where the answer began."""
    sent = "".join(text)
    asked = call.asked
    counter = counter_for(asked) if asked is not None else text_counter("claude")
    counted = counter.count(sent) if sent else 0
    started = usage.get("output_tokens")
    return {**usage, "output_tokens": max(started if isinstance(started, int) else 0, counted)}


def _end_stream(call: _Call, watch: _StreamWatch) -> None:
    call.finish(watch.payload(), "".join(watch.text), complete=watch.finished)


class _Watched:
    """A stream passed through with a watch on it, recorded (once) when it ends."""

    def __init__(self, stream: Any, call: _Call, hide_usage_chunk: bool,
                 watch: _StreamWatch | None = None) -> None:
        self._stream = stream
        self._call = call
        self._watch = watch or _StreamWatch(call.api, hide_usage_chunk)
        self._finalizer = weakref.finalize(self, _end_stream, call, self._watch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class TrackedStream(_Watched):
    """A streamed answer, passed through chunk by chunk; recorded when it ends, is closed,
    breaks, or is dropped unfinished (then as ``incomplete``)."""

    def __iter__(self) -> TrackedStream:
        return self

    def __next__(self) -> Any:
        while True:
            try:
                item = next(self._stream)
            except BaseException:
                self._finalizer()
                raise
            if not self._watch.see(item):
                return item

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            self._finalizer()

    def __enter__(self) -> TrackedStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncTrackedStream(_Watched):
    """The async twin of :class:`TrackedStream`."""

    def __aiter__(self) -> AsyncTrackedStream:
        return self

    async def __anext__(self) -> Any:
        while True:
            try:
                item = await self._stream.__anext__()
            except BaseException:
                self._finalizer()
                raise
            if not self._watch.see(item):
                return item

    async def close(self) -> None:
        try:
            await self._stream.close()
        finally:
            self._finalizer()

    async def __aenter__(self) -> AsyncTrackedStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
