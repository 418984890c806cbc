"""The Anthropic Messages protocol of the local test server (``POST /v1/messages``).

:class:`fake_llm_server.FakeLLMServer` hands every request to ``/v1/messages`` to
:func:`answer`; tests drive it with the real ``anthropic`` SDK (see :func:`client` and
:func:`async_client`, whose ``base_url`` is the server's root URL). Answers are JSON, or
server-sent events when the body has ``"stream": true``, in the order Anthropic sends them:
``message_start`` (the usage known at the start: input, cache reads and writes, 1 output
token), then for each content block ``content_block_start``, its deltas and
``content_block_stop`` (a ``ping`` after the first start), then ``message_delta`` (stop
reason and the cumulative usage: output, web searches, thinking) and ``message_stop``.
``POST /v1/messages/count_tokens`` answers ``{"input_tokens": ...}`` (INPUT_TOKENS, or
``X-Fake-Input-Tokens``), as Anthropic's free token count does (see
:func:`count_tokens`). Errors are Anthropic's error JSON (``{"type": "error", "error": {"type", "message"}}``)
with a ``request-id`` header.

Each request chooses its behaviour with headers:

``X-Fake-Scenario``: comma-separated words, any of
    ``cached``, ``cache-write``, ``cache-write-1h``
        report CACHE_READ_TOKENS cache reads, CACHE_WRITE_TOKENS 5-minute and
        CACHE_WRITE_1H_TOKENS 1-hour cache writes.
    ``web-search``
        answer after a web search: a ``server_tool_use`` block, a
        ``web_search_tool_result`` block, and WEB_SEARCHES searches in
        ``usage.server_tool_use.web_search_requests``.
    ``thinking``
        answer with a thinking block first, and THINKING_TOKENS in
        ``usage.output_tokens_details.thinking_tokens``.
    ``rate-limit``, ``server-error``, ``overloaded``
        answer 429, 500 or 529 with Anthropic's error JSON.
    ``cut``
        close the connection mid-way: a stream after CUT_AFTER text deltas, a JSON answer
        after half its body.
    ``error-event``
        send an ``error`` event (overloaded) in the stream after CUT_AFTER text deltas.
``X-Fake-Input-Tokens``, ``X-Fake-Output-Tokens``, ``X-Fake-Cache-Read-Tokens``,
``X-Fake-Cache-Write-Tokens``, ``X-Fake-Cache-Write-1h-Tokens``, ``X-Fake-Web-Searches``,
``X-Fake-Thinking-Tokens``
    exact counts (``input_tokens`` is the uncached input, as Anthropic counts it; output is
    capped at ``max_tokens``, which then stops with ``max_tokens``).
``X-Fake-Usage``: JSON text sent as the usage (of the answer, or of ``message_delta``).
``X-Fake-Model``, ``X-Fake-Id``, ``X-Fake-Request-Id``: the model and id the answer names,
and its ``request-id`` header. ``X-Fake-Status``: answer this HTTP error status.
``X-Fake-Delay``: seconds to wait before answering.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import anthropic

    from fake_llm_server import FakeLLMServer

INPUT_TOKENS = 25
OUTPUT_TOKENS = 10
CACHE_READ_TOKENS = 2000
CACHE_WRITE_TOKENS = 1500
CACHE_WRITE_1H_TOKENS = 500
WEB_SEARCHES = 2
THINKING_TOKENS = 6
REPLY = ("Hello", " from", " the", " local", " server.")
THOUGHT = ("The user", " wants a greeting.")
CUT_AFTER = 2
API_KEY = "sk-ant-api03-test-costbook-fake-0123456789abcdef"

WORDS = frozenset({
    "cached", "cache-write", "cache-write-1h", "web-search", "thinking", "rate-limit",
    "server-error", "overloaded", "cut", "error-event",
})
ERRORS = {
    400: ("invalid_request_error", "Invalid request (fake server)"),
    401: ("authentication_error", "invalid x-api-key (fake server)"),
    404: ("not_found_error", "Not found (fake server)"),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit (fake server)"),
    500: ("api_error", "Internal server error (fake server)"),
    529: ("overloaded_error", "Overloaded (fake server)"),
}


def client(server: FakeLLMServer, **options: Any) -> anthropic.Anthropic:
    """An ``anthropic.Anthropic`` for ``server``, without retries."""
    import anthropic

    options.setdefault("max_retries", 0)
    options.setdefault("timeout", 10.0)
    options.setdefault("api_key", API_KEY)
    return anthropic.Anthropic(base_url=server.url, **options)


def async_client(server: FakeLLMServer, **options: Any) -> anthropic.AsyncAnthropic:
    """An ``anthropic.AsyncAnthropic`` for ``server``, without retries."""
    import anthropic

    options.setdefault("max_retries", 0)
    options.setdefault("timeout", 10.0)
    options.setdefault("api_key", API_KEY)
    return anthropic.AsyncAnthropic(base_url=server.url, **options)


@dataclass(frozen=True)
class Plan:
    """What to answer one Messages request."""

    flags: frozenset[str]
    stream: bool
    model: str
    input_tokens: int
    output_tokens: int
    cache_read: int
    cache_write_5m: int
    cache_write_1h: int
    web_searches: int
    thinking_tokens: int
    stop_reason: str
    number: int
    usage_text: str | None
    answer_id: str | None
    request_id: str | None

    @property
    def id(self) -> str:
        return self.answer_id or f"msg_fake_{self.number}"

    @property
    def reply(self) -> tuple[str, ...]:
        return REPLY[: max(1, min(len(REPLY), self.output_tokens))]

    def start_usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_write_5m + self.cache_write_1h,
            "cache_read_input_tokens": self.cache_read,
            "cache_creation": {"ephemeral_5m_input_tokens": self.cache_write_5m,
                               "ephemeral_1h_input_tokens": self.cache_write_1h},
            "output_tokens": 1,
            "service_tier": "standard",
        }

    def final_usage(self, *, delta: bool) -> Any:
        if self.usage_text is not None:
            return json.loads(self.usage_text)
        usage: dict[str, Any] = {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_write_5m + self.cache_write_1h,
            "cache_read_input_tokens": self.cache_read,
            "output_tokens": self.output_tokens,
        }
        if not delta:  # a message_delta's usage has no split of cache writes
            usage["cache_creation"] = self.start_usage()["cache_creation"]
            usage["service_tier"] = "standard"
        if "web-search" in self.flags:
            usage["server_tool_use"] = {"web_search_requests": self.web_searches,
                                        "web_fetch_requests": 0}
        if "thinking" in self.flags:
            usage["output_tokens_details"] = {"thinking_tokens": self.thinking_tokens}
        return usage


def answer(handler: Any, method: str, headers: Mapping[str, str], body: Any,
           number: int) -> None:
    """Answer one request to ``/v1/messages`` on ``handler`` (the server's request
    handler, whose request is already read and recorded)."""
    if method != "POST":
        _error(handler, 405, number, "Method not allowed (fake server)")
        return
    if not isinstance(body, dict):
        _error(handler, 400, number, "the request body must be a JSON object")
        return
    try:
        plan = _plan(headers, body, number)
    except ValueError as exc:
        _error(handler, 400, number, str(exc))
        return
    delay = float(headers.get("x-fake-delay", "0"))
    if delay:
        time.sleep(delay)
    status = None
    for word, code in (("rate-limit", 429), ("server-error", 500), ("overloaded", 529)):
        if word in plan.flags:
            status = code
    if "x-fake-status" in headers:
        status = int(headers["x-fake-status"])
    if status is not None:
        _error(handler, status, number, request_id=plan.request_id)
    elif plan.stream:
        _stream(handler, plan)
    else:
        _json(handler, plan)


def count_tokens(handler: Any, headers: Mapping[str, str], number: int) -> None:
    """Answer one request to ``/v1/messages/count_tokens``."""
    tokens = int(headers.get("x-fake-input-tokens", INPUT_TOKENS))
    _send(handler, 200, json.dumps({"input_tokens": tokens}).encode(), number)


def _plan(headers: Mapping[str, str], body: Mapping[str, Any], number: int) -> Plan:
    words = {w.strip() for w in headers.get("x-fake-scenario", "").split(",") if w.strip()}
    unknown = words - WORDS
    if unknown:
        raise ValueError(f"unknown scenario word(s) {sorted(unknown)}")
    for field in ("model", "max_tokens", "messages"):
        if field not in body:
            raise ValueError(f"{field}: Field required")

    def count(name: str, default: int) -> int:
        value = headers.get(f"x-fake-{name}")
        return default if value is None else int(value)

    output = count("output-tokens", OUTPUT_TOKENS)
    stop = "end_turn"
    if output > body["max_tokens"]:
        output, stop = body["max_tokens"], "max_tokens"
    return Plan(
        flags=frozenset(words),
        stream=body.get("stream") is True,
        model=headers.get("x-fake-model") or str(body["model"]),
        input_tokens=count("input-tokens", INPUT_TOKENS),
        output_tokens=output,
        cache_read=count("cache-read-tokens", CACHE_READ_TOKENS if "cached" in words else 0),
        cache_write_5m=count("cache-write-tokens",
                             CACHE_WRITE_TOKENS if "cache-write" in words else 0),
        cache_write_1h=count("cache-write-1h-tokens",
                             CACHE_WRITE_1H_TOKENS if "cache-write-1h" in words else 0),
        web_searches=count("web-searches", WEB_SEARCHES),
        thinking_tokens=min(count("thinking-tokens", THINKING_TOKENS), output),
        stop_reason=stop,
        number=number,
        usage_text=headers.get("x-fake-usage"),
        answer_id=headers.get("x-fake-id"),
        request_id=headers.get("x-fake-request-id"),
    )


# content


def _search_blocks(plan: Plan) -> list[dict[str, Any]]:
    tool_id = f"srvtoolu_fake_{plan.number}"
    return [
        {"type": "server_tool_use", "id": tool_id, "name": "web_search",
         "input": {"query": "local server greeting"}},
        {"type": "web_search_tool_result", "tool_use_id": tool_id, "content": [
            {"type": "web_search_result", "url": "https://example.com/hello",
             "title": "Hello", "encrypted_content": "ZmFrZQ==", "page_age": None}]},
    ]


def _message(plan: Plan) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if "thinking" in plan.flags:
        content.append({"type": "thinking", "thinking": "".join(THOUGHT),
                        "signature": "fake-signature"})
    if "web-search" in plan.flags:
        content.extend(_search_blocks(plan))
    content.append({"type": "text", "text": "".join(plan.reply)})
    return {
        "id": plan.id,
        "type": "message",
        "role": "assistant",
        "model": plan.model,
        "content": content,
        "stop_reason": plan.stop_reason,
        "stop_sequence": None,
        "usage": plan.final_usage(delta=False),
    }


def _events(plan: Plan) -> Iterator[bytes | None]:
    def event(kind: str, **fields: Any) -> bytes:
        data = json.dumps({"type": kind, **fields}, separators=(",", ":"))
        return f"event: {kind}\ndata: {data}\n\n".encode()

    start = {"id": plan.id, "type": "message", "role": "assistant", "model": plan.model,
             "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": plan.start_usage()}
    yield event("message_start", message=start)
    index = 0
    if "thinking" in plan.flags:
        yield event("content_block_start", index=index,
                    content_block={"type": "thinking", "thinking": "", "signature": ""})
        yield event("ping")
        for piece in THOUGHT:
            yield event("content_block_delta", index=index,
                        delta={"type": "thinking_delta", "thinking": piece})
        yield event("content_block_delta", index=index,
                    delta={"type": "signature_delta", "signature": "fake-signature"})
        yield event("content_block_stop", index=index)
        index += 1
    if "web-search" in plan.flags:
        use, result = _search_blocks(plan)
        yield event("content_block_start", index=index, content_block={**use, "input": {}})
        yield event("content_block_delta", index=index, delta={
            "type": "input_json_delta", "partial_json": json.dumps(use["input"])})
        yield event("content_block_stop", index=index)
        yield event("content_block_start", index=index + 1, content_block=result)
        yield event("content_block_stop", index=index + 1)
        index += 2
    yield event("content_block_start", index=index, content_block={"type": "text", "text": ""})
    if index == 0:
        yield event("ping")
    for sent, text in enumerate(plan.reply):
        if sent == CUT_AFTER and "cut" in plan.flags:
            yield None
            return
        if sent == CUT_AFTER and "error-event" in plan.flags:
            yield event("error", error={"type": "overloaded_error", "message": "Overloaded"})
            return
        yield event("content_block_delta", index=index,
                    delta={"type": "text_delta", "text": text})
    yield event("content_block_stop", index=index)
    yield event("message_delta",
                delta={"stop_reason": plan.stop_reason, "stop_sequence": None},
                usage=plan.final_usage(delta=True))
    yield event("message_stop")


# answers


def _headers(handler: Any, number: int, request_id: str | None) -> None:
    handler.send_header("request-id", request_id or f"req_fake_{number}")
    handler.send_header("anthropic-organization-id", "org-fake")


def _send(handler: Any, status: int, data: bytes, number: int,
          request_id: str | None = None) -> None:
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(data)))
    _headers(handler, number, request_id)
    handler.end_headers()
    handler.wfile.write(data)


def _error(handler: Any, status: int, number: int, message: str | None = None,
           request_id: str | None = None) -> None:
    kind, text = ERRORS.get(status, ("api_error", f"Error {status} (fake server)"))
    payload = {"type": "error", "error": {"type": kind, "message": message or text},
               "request_id": request_id or f"req_fake_{number}"}
    _send(handler, status, json.dumps(payload).encode(), number, request_id)


def _json(handler: Any, plan: Plan) -> None:
    data = json.dumps(_message(plan), separators=(",", ":")).encode()
    if "cut" in plan.flags:
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[: len(data) // 2])
        handler._drop_connection()
        return
    _send(handler, 200, data, plan.number, plan.request_id)


def _stream(handler: Any, plan: Plan) -> None:
    handler.send_response(200)
    handler.send_header("content-type", "text/event-stream; charset=utf-8")
    handler.send_header("cache-control", "no-cache")
    handler.send_header("transfer-encoding", "chunked")
    _headers(handler, plan.number, plan.request_id)
    handler.end_headers()
    try:
        for event in _events(plan):
            if event is None:  # the scenario cuts the stream here
                handler._drop_connection()
                return
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
        handler.wfile.write(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True
