"""``track()`` for the ``anthropic`` SDK: ``messages.create`` (plain or ``stream=True``) and
the ``messages.stream(...)`` helper of ``anthropic.Anthropic`` and ``AsyncAnthropic``.

Each call is estimated from its Messages body (:func:`~costbook.estimate_messages`), held
against budgets and ``max_cost`` blocks, priced from the answer's usage and recorded, with
the machinery the openai SDK's calls use (:class:`._call._Call`). A stream's usage comes
from its ``message_start`` event (input, cache reads, 5-minute and 1-hour cache writes) and
its ``message_delta`` events (cumulative output, web searches, thinking); a stream closed,
broken or dropped before its ``message_delta`` is recorded ``incomplete``, its output
counted from the text it had sent. Requests go out unchanged.

``anthropic`` is imported here only, and only once a client of it is tracked.
"""

from __future__ import annotations

import functools
import inspect
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._errors import CostbookError, UnknownModelError
from ..tokens._messages import messages_estimate
from ._call import _Call, _raw_mode, _request_body, _Settings
from ._request_headers import request_betas
from ._response_usage import delta_usage
from ._streams import AsyncTrackedStream, TrackedStream, _StreamWatch, output_counted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..tokens._estimate import Estimate

_API = "messages"
# Body fields the SDK takes as any iterable: kept as lists so that both costbook and the
# SDK can read them.
_ITERABLE_FIELDS = ("messages", "system", "tools")


# The provider that bills the calls of each kind of anthropic client, whatever its host.
_CLIENT_PROVIDERS = {
    "Anthropic": "anthropic", "AsyncAnthropic": "anthropic",
    "AnthropicBedrock": "bedrock", "AsyncAnthropicBedrock": "bedrock",
    "AnthropicVertex": "vertex", "AsyncAnthropicVertex": "vertex",
}
_ASYNC = ("AsyncAnthropic", "AsyncAnthropicBedrock", "AsyncAnthropicVertex")


def _kinds(names: Iterable[str]) -> tuple[type, ...]:
    module = sys.modules.get("anthropic")
    if module is None:
        return ()
    return tuple(
        kind for kind in (getattr(module, name, None) for name in names)
        if isinstance(kind, type)
    )


def is_anthropic_client(client: object) -> bool:
    """Whether ``client`` is an ``anthropic`` client: ``Anthropic``, ``AnthropicBedrock``,
    ``AnthropicVertex`` or their async twins (without importing ``anthropic``: a client of
    it exists only once it is imported)."""
    kinds = _kinds(_CLIENT_PROVIDERS)
    return bool(kinds) and isinstance(client, kinds)


def anthropic_provider(client: object) -> str:
    """The provider that bills an ``anthropic`` client's calls on a host no table lists:
    ``bedrock`` for ``AnthropicBedrock``, ``vertex`` for ``AnthropicVertex``, else
    ``anthropic`` (such a client speaks only Anthropic's API)."""
    for name, provider in _CLIENT_PROVIDERS.items():
        kinds = _kinds([name])
        if kinds and type(client) is kinds[0]:
            return provider
    for name, provider in _CLIENT_PROVIDERS.items():
        kinds = _kinds([name])
        if kinds and isinstance(client, kinds):
            return provider
    return "anthropic"


def _begin(settings: _Settings, kwargs: dict[str, Any]) -> tuple[_Call, dict[str, Any]]:
    """Estimate the Messages body and hold its high bound, before anything is sent."""
    for name in _ITERABLE_FIELDS:
        value = kwargs.get(name)
        if isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping,
                                                                   Sequence)):
            kwargs = {**kwargs, name: list(value)}  # a generator is read once
    body = _request_body(kwargs)
    problem: Exception | None = None
    try:
        estimate: Estimate | None = messages_estimate(
            body, provider=settings.provider, betas=request_betas(settings.betas, kwargs),
            strict=False)
    except UnknownModelError:
        estimate = None  # sent, and recorded unpriced, unless a limit must refuse it
    except (ValueError, CostbookError) as exc:
        estimate, problem = None, exc  # a part no table prices, a body not read, ...
    return _Call(settings, _API, body, estimate, estimated=True, problem=problem), kwargs


def _answered(call: _Call, message: Any) -> None:
    call.finish(message, _message_text(message), complete=True)


def _wrap_create(create: Any, settings: _Settings, is_async: bool) -> Any:
    if is_async:
        @functools.wraps(create)
        async def tracked_async(*args: Any, **kwargs: Any) -> Any:
            call, kwargs = _begin(settings, kwargs)
            try:
                result = await create(*args, **kwargs)
            except BaseException as exc:
                call.failed(exc)
                raise
            if _raw_mode(kwargs) is not None:
                return await track_async_raw_message(result, call, kwargs)
            if kwargs.get("stream"):
                return AsyncTrackedStream(result, call, False, MessagesWatch(call))
            _answered(call, result)
            return result

        return tracked_async

    @functools.wraps(create)
    def tracked(*args: Any, **kwargs: Any) -> Any:
        call, kwargs = _begin(settings, kwargs)
        try:
            result = create(*args, **kwargs)
        except BaseException as exc:
            call.failed(exc)
            raise
        if _raw_mode(kwargs) is not None:
            return track_raw_message(result, call, kwargs)
        if kwargs.get("stream"):
            return TrackedStream(result, call, False, MessagesWatch(call))
        _answered(call, result)
        return result

    return tracked


def _wrap_stream(stream: Any, settings: _Settings, is_async: bool) -> Any:
    manager = AsyncStreamManager if is_async else StreamManager

    @functools.wraps(stream)
    def tracked_stream(*args: Any, **kwargs: Any) -> Any:
        return manager(stream, settings, args, kwargs)

    return tracked_stream


def _watch_raw_stream(message_stream: Any, call: _Call, tracked: type[Any]) -> None:
    """Put the tracked stream between the SDK's ``MessageStream`` and the raw events it
    reads, so that its events, text stream and final message all pass through it."""
    raw = getattr(message_stream, "_raw_stream", None)
    if raw is None:
        warnings.warn(
            "this version of the anthropic SDK's MessageStream has no _raw_stream; the call "
            "is recorded 'incomplete' with its counted input",
            RuntimeWarning,
            stacklevel=3,
        )
        call.finish({}, "", complete=False)
        return
    message_stream._raw_stream = tracked(raw, call, False, MessagesWatch(call))


class StreamManager:
    """What a tracked ``messages.stream(...)`` returns: a context manager that holds the
    call's estimate and sends the request when entered, as the SDK's own does."""

    def __init__(self, stream: Any, settings: _Settings, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self._stream = stream
        self._settings = settings
        self._args = args
        self._kwargs = kwargs
        self._manager: Any = None

    def __enter__(self) -> Any:
        call, kwargs = _begin(self._settings, self._kwargs)
        try:
            self._manager = self._stream(*self._args, **kwargs)
            message_stream = self._manager.__enter__()
        except BaseException as exc:
            call.failed(exc)
            raise
        _watch_raw_stream(message_stream, call, TrackedStream)
        return message_stream

    def __exit__(self, *exc_info: Any) -> Any:
        if self._manager is not None:
            return self._manager.__exit__(*exc_info)
        return None


class AsyncStreamManager:
    """The async twin of :class:`StreamManager`."""

    def __init__(self, stream: Any, settings: _Settings, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self._stream = stream
        self._settings = settings
        self._args = args
        self._kwargs = kwargs
        self._manager: Any = None

    async def __aenter__(self) -> Any:
        call, kwargs = _begin(self._settings, self._kwargs)
        try:
            self._manager = self._stream(*self._args, **kwargs)
            message_stream = await self._manager.__aenter__()
        except BaseException as exc:
            call.failed(exc)
            raise
        _watch_raw_stream(message_stream, call, AsyncTrackedStream)
        return message_stream

    async def __aexit__(self, *exc_info: Any) -> Any:
        if self._manager is not None:
            return await self._manager.__aexit__(*exc_info)
        return None


class MessagesWatch(_StreamWatch):
    """What a Messages stream has told so far: the message of its ``message_start``, the
    usage merged from it and every ``message_delta`` (whose counts are cumulative), and the
    text, thinking and tool input it sent."""

    def __init__(self, call: _Call) -> None:
        super().__init__(_API, False)
        self.call = call
        self.message: dict[str, Any] = {}
        self.usage: dict[str, Any] = {}
        self.delta_seen = False

    def see(self, item: Any) -> bool:
        kind = getattr(item, "type", None)
        if kind == "content_block_delta":
            delta = getattr(item, "delta", None)
            for name in ("text", "thinking", "partial_json"):
                value = getattr(delta, name, None)
                if isinstance(value, str):
                    self.text.append(value)
        elif kind == "message_start":
            message = _dump(getattr(item, "message", None))
            self.message = {k: message.get(k) for k in ("id", "type", "model")}
            usage = message.get("usage")
            self.usage = dict(usage) if isinstance(usage, Mapping) else {}
        elif kind == "message_delta":
            self.usage.update(delta_usage(getattr(item, "usage", None)))
            self.delta_seen = True
            if getattr(getattr(item, "delta", None), "stop_reason", None):
                self.finished = True
        elif kind == "message_stop":
            self.finished = True
        return False

    def payload(self) -> Any:
        if not self.message:
            return {}
        usage = dict(self.usage)
        if not self.delta_seen and usage:
            usage = output_counted(usage, self.text, self.call)
        return {**self.message, "usage": usage}


def _dump(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            data = dump(warnings=False)
        except TypeError:
            data = dump()
        if isinstance(data, Mapping):
            return dict(data)
    return {}


def _message_text(message: Any) -> str:
    """The text of an answer, for counting its output when it reports no usage."""
    parts = []
    for block in getattr(message, "content", None) or []:
        for name in ("text", "thinking"):
            value = getattr(block, name, None)
            if isinstance(value, str):
                parts.append(value)
    return "".join(parts)


class _MessageStream(TrackedStream):
    """A Messages stream read from a raw response, tracked."""

    def __init__(self, stream: Any, call: _Call, hide: bool) -> None:
        super().__init__(stream, call, hide, MessagesWatch(call))


class _AsyncMessageStream(AsyncTrackedStream):
    """The async twin of :class:`_MessageStream`."""

    def __init__(self, stream: Any, call: _Call, hide: bool) -> None:
        super().__init__(stream, call, hide, MessagesWatch(call))


def track_raw_message(result: Any, call: _Call, kwargs: Mapping[str, Any]) -> Any:
    """What ``with_raw_response`` / ``with_streaming_response`` of a tracked Messages call
    gives: the SDK's response, recorded when it is read (see :mod:`._raw_responses`)."""
    from ._raw_responses import track_raw

    return track_raw(result, call, False, stream=bool(kwargs.get("stream")),
                     mode=_raw_mode(kwargs) or "true", stream_type=_MessageStream)


async def track_async_raw_message(result: Any, call: _Call, kwargs: Mapping[str, Any]) -> Any:
    """The async twin of :func:`track_raw_message`. The async SDK's raw response parses
    by awaiting: a whole answer is parsed (and cached by the response) and recorded now."""
    from ._raw_responses import track_async_raw

    mode = _raw_mode(kwargs) or "true"
    stream = bool(kwargs.get("stream"))
    if mode != "stream" and not stream:
        try:
            parsed = result.parse()
            if inspect.isawaitable(parsed):
                parsed = await parsed
        except Exception:  # the caller gets the response, and the SDK's error from it
            call.finish(None, "", complete=False)
            return result
        call.answered(parsed)
        return result
    return track_async_raw(result, call, False, stream=stream, mode=mode,
                           stream_type=_AsyncMessageStream)
