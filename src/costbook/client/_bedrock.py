"""``track()`` for AWS's ``boto3`` ``bedrock-runtime`` client: ``converse``,
``converse_stream``, ``invoke_model`` and ``invoke_model_with_response_stream``.

Each call is estimated before it is sent (a Converse request's messages, system prompt and
tool specs; an ``invoke_model`` body in Anthropic's Messages shape, counted as
:func:`~costbook.estimate_messages` counts it; another body as its JSON text), held against
budgets and ``max_cost`` blocks, priced from the answer and recorded with provider
``bedrock``:

- Converse: ``usage`` (``inputTokens`` excludes ``cacheReadInputTokens`` and
  ``cacheWriteInputTokens``; ``cacheDetails`` splits cache writes by lifetime), from the
  answer or from a stream's ``metadata`` event;
- InvokeModel with an Anthropic body: the answer's ``usage`` (the body is read, and put
  back for the caller as an unread ``StreamingBody`` of the same bytes), else the
  ``X-Amzn-Bedrock-Input-Token-Count`` and ``-Output-Token-Count`` headers; a stream's
  ``message_start`` and ``message_delta`` events.

The model is the ``modelId`` as Bedrock spells it (``us.``/``eu.``/``global.`` prefixes,
``-v1:0``, foundation-model and inference-profile ARNs); an application inference profile
ARN is priced through ``track(..., models={arn: model})``. The client's region goes on
every entry as the ``aws_region`` tag, and prices the call: at the region's own rates
where the table lists them (``bedrock:ap-northeast-1/deepseek.v3.2``), else at the
in-region entry's; a ``models=`` mapping wins. No request is made beyond the caller's
own.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import json
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from .._errors import ContextWindowExceeded, CostbookError, UnknownModelError
from ..pricing._catalog import catalog
from ._call import _TRACKED, _Call, _Settings
from ._sdk_support import shallow_copy
from ._streams import TrackedStream, _StreamWatch, output_counted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..tokens._estimate import Estimate

REGION_TAG = "aws_region"
_METHODS = ("converse", "converse_stream", "invoke_model", "invoke_model_with_response_stream")
_ARN_MODEL = ("foundation-model/", "inference-profile/")
_MAX_BODY = 64 * 1024 * 1024  # a request body read to count it; larger ones are not counted


def is_bedrock_client(client: object) -> bool:
    """Whether ``client`` is a ``boto3`` / ``botocore`` ``bedrock-runtime`` client."""
    module = sys.modules.get("botocore.client")
    kind = getattr(module, "BaseClient", None)
    if not isinstance(kind, type) or not isinstance(client, kind):
        return False
    meta = getattr(client, "meta", None)
    model = getattr(meta, "service_model", None)
    return getattr(model, "service_name", None) == "bedrock-runtime"


def client_facts(client: Any) -> tuple[str, str | None, dict[str, str]]:
    """The provider (``bedrock``), no API key (AWS signs requests), and the region tag."""
    region = getattr(getattr(client, "meta", None), "region_name", None)
    return "bedrock", None, ({REGION_TAG: region} if isinstance(region, str) and region
                             else {})


def install_bedrock(client: Any, settings: _Settings) -> Any:
    """A copy of ``client`` (sharing its connection and credentials) whose four model
    calls are tracked."""
    tracked = shallow_copy(client)
    for name in _METHODS:
        original = getattr(client, name, None)
        if callable(original):
            setattr(tracked, name, _wrap(name, original, settings))
    setattr(tracked, _TRACKED, True)
    return tracked


def _wrap(name: str, original: Any, settings: _Settings) -> Any:
    converse = name.startswith("converse")

    @functools.wraps(original)
    def tracked(*args: Any, **kwargs: Any) -> Any:
        call = _begin(settings, kwargs, converse=converse)
        try:
            response = original(*args, **kwargs)
        except BaseException as exc:
            call.failed(exc)
            raise
        return _returned(name, response, call)

    return tracked


def _returned(name: str, response: Any, call: _Call) -> Any:
    if not isinstance(response, dict):
        call.finish({}, "", complete=False)
        return response
    if name == "converse":
        call.finish(_converse_payload(response), _converse_text(response), complete=True)
    elif name == "converse_stream" and response.get("stream") is not None:
        response["stream"] = TrackedStream(_Events(response["stream"]), call, False,
                                           ConverseWatch())
    elif name == "invoke_model":
        _read_invoke_answer(response, call)
    elif name == "invoke_model_with_response_stream" and response.get("body") is not None:
        response["body"] = TrackedStream(_Events(response["body"]), call, False,
                                         InvokeWatch(call))
    else:
        call.finish({}, "", complete=False)
    return response


# --- before sending ---------------------------------------------------------------------

def _begin(settings: _Settings, kwargs: Mapping[str, Any], *, converse: bool) -> _Call:
    """Estimate the request and hold its high bound, before anything is sent."""
    asked = kwargs.get("modelId")
    ref = asked if isinstance(asked, str) else str(asked)
    name = settings.models.get(ref) or in_region(model_in(ref), settings.tags.get(REGION_TAG),
                                                 settings.provider)
    if converse:
        messages_body, chat, notes = converse_bodies(name, kwargs)
    else:
        messages_body, chat, notes = _invoke_bodies(name, kwargs.get("body"))
    estimate = _estimate(settings, name, messages_body, chat, notes)
    # the call's body names the model as it was asked for (an ARN stays an ARN)
    return _Call(settings, "bedrock", {**chat, "model": ref}, estimate, estimated=True)


def model_in(model_id: str) -> str:
    """The model a ``modelId`` names: the id itself, or the model in a foundation-model or
    inference-profile ARN (an application inference profile names none)."""
    if model_id.startswith("arn:"):
        for marker in _ARN_MODEL:
            if marker in model_id and "application-inference-profile/" not in model_id:
                return model_id.split(marker, 1)[1]
    return model_id


def in_region(model: str, region: str | None, provider: str = "bedrock") -> str:
    """The entry that prices ``model`` called in ``region``: the region's own
    (``eu-west-2/qwen.qwen3-coder-next``) where the table lists rates for that region,
    else ``model`` itself (the in-region rates)."""
    if not region or "/" in model or model.lower().startswith("global."):
        return model
    try:
        found = catalog().resolve(f"{region}/{model}", provider)
    except CostbookError:
        return model
    return found.id if found.id.lower().startswith(f"{region.lower()}/") else model


def _estimate(settings: _Settings, name: str, messages_body: dict[str, Any] | None,
              chat: dict[str, Any], notes: list[str]) -> Estimate | None:
    from ..tokens._estimate import estimate_request
    from ..tokens._messages import estimate_messages

    try:
        if messages_body is not None:
            try:
                estimate = estimate_messages({**messages_body, "model": name},
                                             provider=settings.provider)
            except ContextWindowExceeded:
                raise
            except ValueError as exc:  # not a body costbook reads: counted as its text
                notes.append(f"the body is counted as its text ({exc})")
                estimate = estimate_request({**chat, "model": name},
                                            provider=settings.provider)
        else:
            estimate = estimate_request({**chat, "model": name}, provider=settings.provider)
    except UnknownModelError:
        return None  # sent, and recorded unpriced, unless a limit must refuse it
    if notes:
        estimate = dataclasses.replace(
            estimate, exact=False, approximations=(*estimate.approximations, *notes))
    return estimate


def converse_bodies(model: str, kwargs: Mapping[str, Any]) -> tuple[
        dict[str, Any] | None, dict[str, Any], list[str]]:
    """A Converse request as an Anthropic Messages body (for a Claude model with
    ``maxTokens`` set), as a chat body, and what either leaves out."""
    notes: list[str] = []
    system = [block["text"] for block in _list(kwargs.get("system"))
              if isinstance(block, Mapping) and isinstance(block.get("text"), str)]
    messages: list[dict[str, Any]] = []
    for index, message in enumerate(_list(kwargs.get("messages"))):
        if not isinstance(message, Mapping):
            continue
        role = "assistant" if message.get("role") == "assistant" else "user"
        blocks = _blocks(message.get("content"), notes, f"messages[{index}]")
        messages.append({"role": role, "content": blocks})
    tools: list[dict[str, Any]] = []
    config = kwargs.get("toolConfig")
    for tool in _list(config.get("tools") if isinstance(config, Mapping) else None):
        spec = tool.get("toolSpec") if isinstance(tool, Mapping) else None
        if isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
            schema = spec.get("inputSchema")
            tools.append({"name": spec["name"], "description": spec.get("description", ""),
                          "input_schema": schema.get("json", {})
                          if isinstance(schema, Mapping) else {}})
    inference = kwargs.get("inferenceConfig")
    most = inference.get("maxTokens") if isinstance(inference, Mapping) else None
    if not (isinstance(most, int) and not isinstance(most, bool) and most > 0):
        most = None
    chat_messages: list[dict[str, Any]] = []
    if system:
        chat_messages.append({"role": "system", "content": "\n".join(system)})
    for message in messages:
        chat_messages.append({"role": message["role"], "content": "".join(
            block.get("text", "") for block in message["content"])})
    if tools:
        chat_messages.append({"role": "system", "content": _compact(tools)})
        notes.append("tool specs counted as their JSON text")
    chat: dict[str, Any] = {"messages": chat_messages}
    if most is not None:
        chat["max_tokens"] = most
    if "anthropic." not in model or most is None:
        notes.append("message framing counted as in OpenAI chat (3 tokens a message)")
        return None, chat, notes
    body: dict[str, Any] = {"max_tokens": most, "messages": messages}
    if system:
        body["system"] = "\n".join(system)
    if tools:
        body["tools"] = tools
    return body, chat, notes


def _blocks(content: Any, notes: list[str], where: str) -> list[dict[str, Any]]:
    """Converse content blocks as Anthropic text blocks (images and documents noted)."""
    found: list[dict[str, Any]] = []
    for index, block in enumerate(_list(content)):
        at = f"{where}.content[{index}]"
        if not isinstance(block, Mapping):
            continue
        if isinstance(block.get("text"), str):
            found.append({"type": "text", "text": block["text"]})
        elif "toolUse" in block or "toolResult" in block or "reasoningContent" in block:
            found.append({"type": "text", "text": _compact(block)})
        elif "cachePoint" in block:
            continue
        else:
            kinds = ", ".join(sorted(str(k) for k in block))
            notes.append(f"{at} ({kinds}) is not counted")
    return found


def _invoke_bodies(model: str, body: Any) -> tuple[
        dict[str, Any] | None, dict[str, Any], list[str]]:
    """An ``invoke_model`` body: Anthropic's Messages shape, else counted as its text."""
    from ._response_usage import parse_json

    notes: list[str] = []
    raw: Any = body
    if isinstance(raw, (bytes, bytearray, str)) and len(raw) <= _MAX_BODY:
        try:
            raw = parse_json(raw)
        except ValueError:
            raw = None
    elif not isinstance(raw, Mapping):
        raw = None
    if raw is None:
        notes.append("the request body (not JSON text, or a file) is not counted")
        return None, {"messages": []}, notes
    text = _compact(raw)
    chat = {"messages": [{"role": "user", "content": text}]}
    if isinstance(raw, Mapping) and "messages" in raw and "anthropic_version" in raw:
        fields = ("max_tokens", "messages", "system", "tools", "tool_choice")
        return {k: raw[k] for k in fields if k in raw}, chat, notes
    notes.append("the request body is not an Anthropic Messages body: counted as its JSON "
                 "text")
    return None, chat, notes


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


# --- the answer -------------------------------------------------------------------------

def _request_id(response: Mapping[str, Any]) -> str | None:
    meta = response.get("ResponseMetadata")
    found = meta.get("RequestId") if isinstance(meta, Mapping) else None
    return found if isinstance(found, str) else None


def _converse_payload(response: Mapping[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": _request_id(response)}
    if "usage" in response:
        payload["usage"] = _converse_usage(response["usage"])
    return payload


def _converse_usage(usage: Any) -> Any:
    """Converse usage with its ``cacheDetails`` split of cache writes by lifetime, in the
    Anthropic shape's ``cache_creation`` that the usage reader takes."""
    if not isinstance(usage, Mapping):
        return usage
    details = usage.get("cacheDetails")
    plain = {k: v for k, v in usage.items() if k != "cacheDetails"}
    if not isinstance(details, list):
        return plain
    hour = sum(item.get("inputTokens") or 0 for item in details
               if isinstance(item, Mapping) and item.get("ttl") == "1h"
               and isinstance(item.get("inputTokens"), int))
    if not hour:
        return plain
    uncached = usage.get("inputTokens")
    return {  # the same counts, in Anthropic's shape: input_tokens excludes the cache
        "input_tokens": uncached, "output_tokens": usage.get("outputTokens"),
        "cache_read_input_tokens": usage.get("cacheReadInputTokens") or 0,
        "cache_creation_input_tokens": usage.get("cacheWriteInputTokens") or 0,
        "cache_creation": {"ephemeral_1h_input_tokens": hour},
    }


def _converse_text(response: Mapping[str, Any]) -> str:
    output = response.get("output")
    message = output.get("message") if isinstance(output, Mapping) else None
    content = message.get("content") if isinstance(message, Mapping) else None
    return "".join(block["text"] for block in _list(content)
                   if isinstance(block, Mapping) and isinstance(block.get("text"), str))


def _read_invoke_answer(response: dict[str, Any], call: _Call) -> None:
    """Read the answer's body to price it, and give the caller the same bytes unread."""
    from ._response_usage import parse_json

    body = response.get("body")
    read = getattr(body, "read", None)
    if not callable(read):
        call.finish({}, "", complete=False)
        return
    try:
        data = read()
    except BaseException:
        call.finish({}, "", complete=False)
        raise
    response["body"] = _unread(data)
    try:
        answer = parse_json(data) if data else {}
    except ValueError:
        answer = {}
    payload: dict[str, Any] = {"id": _request_id(response)}
    text = ""
    if isinstance(answer, Mapping) and isinstance(answer.get("usage"), Mapping):
        payload.update(type="message", usage=answer["usage"])
        text = _anthropic_text(answer)
    else:
        headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
        counts = {name: headers.get(f"x-amzn-bedrock-{header}-token-count")
                  for name, header in (("inputTokens", "input"), ("outputTokens", "output"))}
        if all(isinstance(v, str) and v.isdigit() for v in counts.values()):
            payload["usage"] = {k: int(v) for k, v in counts.items() if isinstance(v, str)}
    call.finish(payload, text, complete=True)


def _unread(data: bytes) -> Any:
    from botocore.response import StreamingBody

    return StreamingBody(io.BytesIO(data), len(data))


def _anthropic_text(message: Mapping[str, Any]) -> str:
    return "".join(str(block.get(name)) for block in _list(message.get("content"))
                   if isinstance(block, Mapping)
                   for name in ("text", "thinking") if isinstance(block.get(name), str))


class _Events:
    """An event stream's events one at a time, with the stream's own ``close`` and
    attributes."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._events: Iterator[Any] = iter(stream)

    def __iter__(self) -> _Events:
        return self

    def __next__(self) -> Any:
        return next(self._events)

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if callable(close):
            close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class ConverseWatch(_StreamWatch):
    """What a ConverseStream has told so far: its text, its ``metadata`` usage."""

    def __init__(self) -> None:
        super().__init__("bedrock", False)

    def see(self, item: Any) -> bool:
        if not isinstance(item, Mapping):
            return False
        delta = (item.get("contentBlockDelta") or {}).get("delta")
        if isinstance(delta, Mapping):
            if isinstance(delta.get("text"), str):
                self.text.append(delta["text"])
            reasoning = delta.get("reasoningContent")
            if isinstance(reasoning, Mapping) and isinstance(reasoning.get("text"), str):
                self.text.append(reasoning["text"])
        if "messageStop" in item:
            self.finished = True
        metadata = item.get("metadata")
        if isinstance(metadata, Mapping) and "usage" in metadata:
            self.final = {"usage": _converse_usage(metadata["usage"])}
        return False

    def payload(self) -> Any:
        return self.final if self.final is not None else {}


class InvokeWatch(_StreamWatch):
    """What an InvokeModelWithResponseStream of Anthropic events has told so far: the
    usage of its ``message_start`` merged with its ``message_delta`` events (cumulative)."""

    def __init__(self, call: _Call) -> None:
        super().__init__("bedrock", False)
        self.call = call
        self.id: Any = None
        self.usage: dict[str, Any] = {}
        self.delta_seen = False

    def see(self, item: Any) -> bool:
        from ._response_usage import parse_json

        chunk = item.get("chunk") if isinstance(item, Mapping) else None
        data = chunk.get("bytes") if isinstance(chunk, Mapping) else None
        if not isinstance(data, (bytes, bytearray, str)):
            return False
        try:
            event = parse_json(data)
        except ValueError:
            return False
        if not isinstance(event, Mapping):
            return False
        kind = event.get("type")
        if kind == "content_block_delta":
            delta = event.get("delta")
            for name in ("text", "thinking", "partial_json"):
                if isinstance(delta, Mapping) and isinstance(delta.get(name), str):
                    self.text.append(delta[name])
        elif kind == "message_start":
            message = event.get("message")
            if isinstance(message, Mapping):
                self.id = message.get("id")
                usage = message.get("usage")
                self.usage = dict(usage) if isinstance(usage, Mapping) else {}
        elif kind == "message_delta":
            usage = event.get("usage")
            if isinstance(usage, Mapping):
                self.usage.update({k: v for k, v in usage.items() if v is not None})
            self.delta_seen = True
        elif kind == "message_stop":
            self.finished = True
        return False

    def payload(self) -> Any:
        if not self.usage:
            return {}
        usage = dict(self.usage)
        if not self.delta_seen:
            usage = output_counted(usage, self.text, self.call)
        return {"type": "message", "id": self.id, "usage": usage}
