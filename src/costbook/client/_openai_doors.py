"""The openai SDK's billed doors, installed on a tracked client: ``chat.completions`` and
``responses`` (``create`` and ``parse``), and besides them ``embeddings.create`` (priced
from its input tokens; an embedding has no output), the legacy ``completions.create``
(plain or ``stream=True``), and the same chat completions and responses reached through
``client.beta`` (``beta.chat.completions``, ``beta.responses``).

Each is tracked as a chat completion is (:class:`._call._Call`): estimated before
sending, held against budgets and ``max_cost`` blocks, priced from the answer's usage and
recorded, through ``with_raw_response`` and ``with_streaming_response`` too. A streamed
legacy completion asks for the usage chunk (``stream_options.include_usage``) when the
caller did not, and that chunk is kept from the caller.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._errors import UnknownModelError
from ._call import _Call, _raw_mode, _request_body, _Settings, mark_tracked
from ._streams import AsyncTrackedStream, TrackedStream

# The body field that holds the prompt, by API.
_PROMPT_FIELD = {"embeddings": "input", "completions": "prompt"}


def install_openai_doors(client: Any, settings: _Settings, is_async: bool) -> None:
    """Track ``embeddings.create``, ``completions.create`` and the ``beta`` twins of chat
    completions and responses on ``client`` (a copy the caller made), where it has them."""
    for name, api in (("embeddings", "embeddings"), ("completions", "completions")):
        resource = getattr(client, name, None)
        if resource is not None and hasattr(resource, "create"):
            resource.create = _wrap(resource.create, settings, api, is_async, _PromptCall)
    beta = getattr(client, "beta", None)
    completions = getattr(getattr(beta, "chat", None), "completions", None)
    if completions is not None and completions is not client.chat.completions:
        for method in ("create", "parse"):
            if hasattr(completions, method):
                setattr(completions, method,
                        _wrap(getattr(completions, method), settings, "chat", is_async))
    responses = getattr(beta, "responses", None)
    if responses is not None and hasattr(responses, "create"):
        responses.create = _wrap(responses.create, settings, "responses", is_async)


class _PromptCall(_Call):
    """A tracked embeddings or legacy completion call: estimated from its prompt."""

    def __init__(self, settings: _Settings, api: str, body: dict[str, Any]) -> None:
        from ..tokens._prompts import estimate_completion, estimate_embeddings

        estimate = estimate_embeddings if api == "embeddings" else estimate_completion
        asked = body.get("model")
        target = settings.models.get(asked, asked) if isinstance(asked, str) else asked
        try:
            found = estimate({**body, "model": target}, provider=settings.provider)
        except UnknownModelError:
            found = None  # sent, and recorded unpriced, unless a limit must refuse it
        super().__init__(settings, api, body, found, estimated=True)

    @classmethod
    def begin(
        cls, settings: _Settings, api: str, kwargs: dict[str, Any]
    ) -> tuple[_Call, dict[str, Any], bool]:
        field = _PROMPT_FIELD[api]
        value = kwargs.get(field)
        if isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping,
                                                                   Sequence)):
            kwargs = {**kwargs, field: list(value)}  # a generator is read once
        body = _request_body(kwargs)
        hide = False
        if api == "completions" and body.get("stream"):
            options = dict(body.get("stream_options") or {})
            if not options.get("include_usage"):
                hide = True
                kwargs = {**kwargs, "stream_options": {**options, "include_usage": True}}
        return cls(settings, api, body), kwargs, hide


def _install(client: Any, settings: _Settings) -> Any:
    import openai

    is_async = isinstance(client, openai.AsyncOpenAI)
    completions = client.chat.completions
    completions.create = _wrap(completions.create, settings, "chat", is_async)
    if hasattr(completions, "parse"):
        completions.parse = _wrap(completions.parse, settings, "chat", is_async)
    responses = getattr(client, "responses", None)
    if responses is not None and hasattr(responses, "create"):
        responses.create = _wrap(responses.create, settings, "responses", is_async)
        if hasattr(responses, "parse"):
            responses.parse = _wrap(responses.parse, settings, "responses", is_async)
    install_openai_doors(client, settings, is_async)
    return mark_tracked(client, settings, _install)


def _wrap(create: Any, settings: _Settings, api: str, is_async: bool,
          kind: type[_Call] = _Call) -> Any:
    """``create`` tracked: each call begun as a ``kind`` (chat and responses are
    :class:`_Call`; embeddings and legacy completions their prompt call)."""
    if is_async:
        @functools.wraps(create)
        async def tracked_async(*args: Any, **kwargs: Any) -> Any:
            call, kwargs, hide = kind.begin(settings, api, kwargs)
            try:
                result = await create(*args, **kwargs)
            except BaseException as exc:
                call.failed(exc)
                raise
            return _returned(result, call, hide, kwargs, is_async=True)

        return tracked_async

    @functools.wraps(create)
    def tracked(*args: Any, **kwargs: Any) -> Any:
        call, kwargs, hide = kind.begin(settings, api, kwargs)
        try:
            result = create(*args, **kwargs)
        except BaseException as exc:
            call.failed(exc)
            raise
        return _returned(result, call, hide, kwargs, is_async=False)

    return tracked


def _returned(result: Any, call: _Call, hide: bool, kwargs: Mapping[str, Any], *,
              is_async: bool) -> Any:
    """What the caller gets for an SDK call's result: a tracked raw response or stream
    (recorded as it is read), or the answer itself, recorded now."""
    stream = bool(kwargs.get("stream"))
    mode = _raw_mode(kwargs)
    if mode is not None:
        from ._raw_responses import track_async_raw, track_raw

        track = track_async_raw if is_async else track_raw
        return track(result, call, hide, stream=stream, mode=mode)
    if stream:
        return (AsyncTrackedStream if is_async else TrackedStream)(result, call, hide)
    call.answered(result)
    return result
