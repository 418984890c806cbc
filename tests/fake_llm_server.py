"""A local HTTP server that speaks the OpenAI Chat Completions and Responses protocols
(and Anthropic's Messages protocol, in :mod:`fake_anthropic_server`).

Tests drive it with the real ``openai`` SDK (``base_url=server.base_url``) to get real
responses, real streams and real API errors, with deterministic token counts.

Endpoints: ``POST /v1/chat/completions``, ``POST /v1/responses`` and the legacy
``POST /v1/completions``, each answering JSON, or server-sent events when the body has
``"stream": true``; ``POST /v1/embeddings`` answers one embedding per input (as floats, or
base64 when the body asks for ``encoding_format: "base64"``, as the SDK does by default),
with a usage of prompt tokens alone; ``POST /v1/messages`` is Anthropic's
(:mod:`fake_anthropic_server`). Azure OpenAI's routes answer the
same way: ``POST /openai/deployments/{deployment}/chat/completions?api-version=...`` and
``POST /openai/responses?api-version=...`` (see :meth:`FakeLLMServer.azure_client`); an
Azure answer names the model ``X-Fake-Model`` gives, else AZURE_MODEL, as Azure names the
model behind a deployment. A chat stream ends with a usage
chunk (``choices: []``) only when the body asks for ``stream_options.include_usage``, as
OpenAI does; a Responses stream always reports usage in ``response.completed``.

Each request chooses its behaviour with headers (an SDK call sets them with
``extra_headers=``, a client for all its calls with ``default_headers=``):

``X-Fake-Scenario``: comma-separated words, any combination of
    ``openai`` (default), ``openrouter``, ``requesty``
        the shape of the usage: OpenRouter adds ``cost``, ``is_byok`` and
        ``cost_details.upstream_inference_cost`` and names cache writes
        ``cache_write_tokens``; Requesty adds ``cost`` and names cache writes
        ``prompt_tokens_details.caching_tokens``. The ids start ``chatcmpl-``, ``gen-``
        and ``req-`` (``resp_`` for every Responses answer).
    ``cached``, ``cache-write``, ``reasoning``
        report CACHED_TOKENS cache reads, CACHE_WRITE_TOKENS cache writes and
        REASONING_TOKENS reasoning tokens.
    ``fallback``
        answer with FALLBACK_MODEL instead of the model asked for.
    ``no-usage``
        report no usage: no ``usage`` in a chat answer and no usage chunk in a chat
        stream even when asked for; ``"usage": null`` in a Responses answer.
    ``rate-limit``, ``server-error``
        answer 429 or 500 with OpenAI's error JSON.
    ``malformed``
        answer 200 with a body that is not valid JSON (in a stream: one broken event).
    ``cut``
        close the connection mid-way: a stream after CUT_AFTER text deltas, without
        ``[DONE]`` or the end of the chunked body; a JSON answer after half its body.
``X-Fake-Prompt-Tokens``, ``X-Fake-Completion-Tokens``, ``X-Fake-Cached-Tokens``,
``X-Fake-Cache-Write-Tokens``, ``X-Fake-Reasoning-Tokens``
    exact counts to report (defaults PROMPT_TOKENS and COMPLETION_TOKENS; completion
    tokens are capped at ``max_tokens``/``max_completion_tokens``/``max_output_tokens``,
    which then finishes with ``length``). Header counts are sent as given, even when they
    do not add up, so tests can send inconsistent usage.
``X-Fake-Usage``
    JSON text sent as the answer's usage in place of the counts above, exactly as given
    (``{"prompt_tokens": -5}``, ``"lots"``, ``{"prompt_tokens": 1e400}``), so tests can
    send usage that is no valid usage at all.
``X-Fake-Id``: the answer's id (``id`` of a chat completion or response).
``X-Fake-Request-Id``: the ``x-request-id`` header of the answer (of an error too).
``X-Fake-Cost``, ``X-Fake-Upstream-Cost``
    the reported cost (default REPORTED_COST) and OpenRouter's upstream cost (default
    null), written into the JSON exactly as given.
``X-Fake-Model``: the model the answer names (a fallback to any model).
``X-Fake-Service-Tier``: the answer's ``service_tier`` (as OpenAI names the tier that
    served the call); without it, the answer names none.
``X-Fake-Web-Searches``: report ``usage.server_tool_use.web_search_requests`` (as
    OpenRouter's and Anthropic's web search do).
``X-Fake-Status``: answer this HTTP error status with OpenAI's error JSON.
``X-Fake-Delay``: seconds to wait before answering (to make a client time out).

Errors carry ``retry-after-ms: 1`` so a client that retries does so at once; tests make
clients with ``max_retries=0`` (see :meth:`FakeLLMServer.client`) to see one request.

Every request is recorded (method, path, headers, body) in :attr:`FakeLLMServer.requests`
before it is answered; :meth:`FakeLLMServer.reset` clears the record.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import fake_anthropic_server

if TYPE_CHECKING:
    import openai

PROMPT_TOKENS = 25
COMPLETION_TOKENS = 10
CACHED_TOKENS = 16
CACHE_WRITE_TOKENS = 4
REASONING_TOKENS = 6
REPORTED_COST = "0.0000123"
FALLBACK_MODEL = "openai/gpt-4o"
AZURE_MODEL = "gpt-4o-mini-2024-07-18"
AZURE_API_VERSION = "2024-10-21"
REPLY = ("Hello", " from", " the", " local", " server.")
CUT_AFTER = 2
CREATED = 1_700_000_000
API_KEY = "sk-test-costbook-fake-0123456789abcdef"

SHAPES = ("openai", "openrouter", "requesty")
BEHAVIOURS = (
    "cached",
    "cache-write",
    "reasoning",
    "fallback",
    "no-usage",
    "rate-limit",
    "server-error",
    "malformed",
    "cut",
)
ID_PREFIX = {"openai": "chatcmpl-fake-", "openrouter": "gen-fake-", "requesty": "req-fake-"}
ERRORS = {
    400: ("invalid_request_error", None, "Invalid request (fake server)"),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key (fake server)"),
    404: ("invalid_request_error", None, "Not found (fake server)"),
    405: ("invalid_request_error", None, "Method not allowed (fake server)"),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests (fake server)"),
    500: ("server_error", None, "The server had an error processing the request (fake server)"),
}
_RAW = re.compile(r'"@raw:([^"@]+)@"')
_AZURE_CHAT = re.compile(r"/openai/deployments/[^/]+/chat/completions")
_RAW_JSON = re.compile(r'"@json:([0-9a-f]*)@"')


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it; header names are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes


@dataclass(frozen=True)
class Plan:
    """What to answer one request, from its headers and body."""

    endpoint: str
    shape: str
    flags: frozenset[str]
    stream: bool
    include_usage: bool
    requested_model: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    finish: str
    cost: str
    upstream_cost: str | None
    status: int | None
    delay: float
    number: int
    usage_text: str | None = None
    answer_id: str | None = None
    request_id: str | None = None
    service_tier: str | None = None
    web_searches: int | None = None
    inputs: int = 1
    encoding_format: str = "float"

    @property
    def reply(self) -> tuple[str, ...]:
        return REPLY[: max(1, min(len(REPLY), self.completion_tokens))]

    @property
    def usage_reported(self) -> bool:
        return "no-usage" not in self.flags


class FakeLLMServer:
    """The server, run on 127.0.0.1 in a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.fake = self
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._count = 0

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The base URL for an OpenAI client."""
        return f"{self.url}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received since the last reset, oldest first."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        """Forget the requests received so far."""
        with self._lock:
            self._requests.clear()

    def start(self) -> FakeLLMServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-llm-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, **options: Any) -> openai.OpenAI:
        """An ``openai.OpenAI`` for this server, without retries."""
        import openai

        options.setdefault("max_retries", 0)
        options.setdefault("timeout", 10.0)
        return openai.OpenAI(base_url=self.base_url, api_key=API_KEY, **options)

    def azure_client(self, **options: Any) -> openai.AzureOpenAI:
        """An ``openai.AzureOpenAI`` for this server's Azure routes, without retries."""
        import openai

        options.setdefault("max_retries", 0)
        options.setdefault("timeout", 10.0)
        return openai.AzureOpenAI(azure_endpoint=self.url, api_key=API_KEY,
                                  api_version=AZURE_API_VERSION, **options)

    def async_client(self, **options: Any) -> openai.AsyncOpenAI:
        """An ``openai.AsyncOpenAI`` for this server, without retries."""
        import openai

        options.setdefault("max_retries", 0)
        options.setdefault("timeout", 10.0)
        return openai.AsyncOpenAI(base_url=self.base_url, api_key=API_KEY, **options)

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self._requests.append(request)
            self._count += 1
            return self._count


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client went away first, as a timed-out client does
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # answer at once: small writes must not wait for the client's delayed ACK (Nagle)
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer_request("GET")

    def do_POST(self) -> None:
        self._answer_request("POST")

    def _answer_request(self, method: str) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        path = self.path.split("?", 1)[0]
        number = self.server.fake._record(RecordedRequest(method, path, headers, body, raw))
        if path == "/v1/messages":  # Anthropic's Messages protocol
            fake_anthropic_server.answer(self, method, headers, body, number)
            return
        if path == "/v1/messages/count_tokens":  # Anthropic's free token count
            fake_anthropic_server.count_tokens(self, headers, number)
            return
        endpoint = {"/v1/chat/completions": "chat", "/v1/responses": "responses",
                    "/v1/completions": "completions", "/v1/embeddings": "embeddings"}.get(path)
        azure = _AZURE_CHAT.fullmatch(path) is not None or path == "/openai/responses"
        if azure:
            endpoint = "chat" if path.endswith("/chat/completions") else "responses"
            if "api-version=" not in self.path:
                self._error(404, number, "Resource not found: no api-version (fake server)")
                return
            headers.setdefault("x-fake-model", AZURE_MODEL)
        if endpoint is None:
            self._error(404, number)
            return
        if method != "POST":
            self._error(405, number)
            return
        if not isinstance(body, dict):
            self._error(400, number, "the request body must be a JSON object")
            return
        try:
            plan = _plan(endpoint, headers, body, number)
        except ValueError as exc:
            self._error(400, number, str(exc))
            return
        if plan.delay:
            time.sleep(plan.delay)
        if plan.status is not None:
            self._error(plan.status, number, request_id=plan.request_id)
        elif plan.stream:
            self._stream(plan)
        else:
            self._json(plan)

    # answers

    def _error(self, status: int, number: int, message: str | None = None,
               request_id: str | None = None) -> None:
        kind, code, text = ERRORS.get(status, ("api_error", None, f"Error {status} (fake server)"))
        payload = {"error": {"message": message or text, "type": kind, "param": None, "code": code}}
        self._send(status, _dumps(payload), number, {"retry-after-ms": "1"}, request_id)

    def _json(self, plan: Plan) -> None:
        build = {"chat": _chat_completion, "completions": _completion,
                 "embeddings": _embeddings}.get(plan.endpoint, _response)
        data = _dumps(build(plan, "completed"))
        if "malformed" in plan.flags:
            data = data[: len(data) // 2]
        if "cut" in plan.flags:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self._drop_connection()
            return
        self._send(200, data, plan.number, request_id=plan.request_id)

    def _stream(self, plan: Plan) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("x-request-id", plan.request_id or f"req_fake_{plan.number}")
        self.end_headers()
        events = {"chat": _chat_events, "completions": _completion_events}.get(
            plan.endpoint, _response_events)(plan)
        try:
            for event in events:
                if event is None:  # the scenario cuts the stream here
                    self._drop_connection()
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send(
        self, status: int, data: bytes, number: int, extra: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", request_id or f"req_fake_{number}")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop_connection(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _plan(endpoint: str, headers: Mapping[str, str], body: Mapping[str, Any], number: int) -> Plan:
    words = {w.strip() for w in headers.get("x-fake-scenario", "").split(",") if w.strip()}
    unknown = words - set(SHAPES) - set(BEHAVIOURS)
    if unknown:
        raise ValueError(f"unknown scenario word(s) {sorted(unknown)}")
    shapes = words & set(SHAPES)
    if len(shapes) > 1:
        raise ValueError(f"choose one usage shape, got {sorted(shapes)}")
    shape = shapes.pop() if shapes else "openai"
    flags = frozenset(words - set(SHAPES))
    requested = str(body.get("model", ""))
    model = headers.get("x-fake-model") or (FALLBACK_MODEL if "fallback" in flags else requested)
    completion = _header_count(headers, "completion-tokens", COMPLETION_TOKENS)
    limit = next(
        (
            body[k]
            for k in ("max_tokens", "max_completion_tokens", "max_output_tokens")
            if isinstance(body.get(k), int)
        ),
        None,
    )
    finish = "stop"
    if limit is not None and limit < completion:
        completion, finish = limit, "length"
    reasoning = _header_count(
        headers, "reasoning-tokens", REASONING_TOKENS if "reasoning" in flags else 0
    )
    if "x-fake-reasoning-tokens" not in headers:
        reasoning = min(reasoning, completion)
    status = 429 if "rate-limit" in flags else 500 if "server-error" in flags else None
    if "x-fake-status" in headers:
        status = int(headers["x-fake-status"])
    stream_options = body.get("stream_options")
    inputs = body.get("input")
    if endpoint == "embeddings":
        completion = 0
    return Plan(
        endpoint=endpoint,
        shape=shape,
        flags=flags,
        stream=body.get("stream") is True,
        include_usage=isinstance(stream_options, dict)
        and stream_options.get("include_usage") is True,
        requested_model=requested,
        model=model,
        prompt_tokens=_header_count(headers, "prompt-tokens", PROMPT_TOKENS),
        completion_tokens=completion,
        cached_tokens=_header_count(
            headers, "cached-tokens", CACHED_TOKENS if "cached" in flags else 0
        ),
        cache_write_tokens=_header_count(
            headers, "cache-write-tokens", CACHE_WRITE_TOKENS if "cache-write" in flags else 0
        ),
        reasoning_tokens=reasoning,
        finish=finish,
        cost=_header_amount(headers, "cost") or REPORTED_COST,
        upstream_cost=_header_amount(headers, "upstream-cost"),
        status=status,
        delay=float(headers.get("x-fake-delay", "0")),
        number=number,
        usage_text=headers.get("x-fake-usage"),
        answer_id=headers.get("x-fake-id"),
        request_id=headers.get("x-fake-request-id"),
        service_tier=headers.get("x-fake-service-tier"),
        web_searches=None if "x-fake-web-searches" not in headers
        else int(headers["x-fake-web-searches"]),
        inputs=len(inputs) if isinstance(inputs, list) and inputs
        and not isinstance(inputs[0], int) else 1,
        encoding_format=str(body.get("encoding_format") or "float"),
    )


def _header_count(headers: Mapping[str, str], name: str, default: int) -> int:
    value = headers.get(f"x-fake-{name}")
    return default if value is None else int(value)


def _header_amount(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(f"x-fake-{name}")
    if value is None:
        return None
    Decimal(value)  # a number, written into the JSON as it is
    return value.strip()


def _raw(number: str) -> str:
    """A JSON number written exactly as ``number`` by :func:`_dumps`."""
    return f"@raw:{number}@"


def _raw_json(text: str) -> str:
    """JSON text written exactly as ``text`` by :func:`_dumps`."""
    return f"@json:{text.encode().hex()}@"


def _dumps(data: Any) -> bytes:
    text = _RAW.sub(r"\1", json.dumps(data, separators=(",", ":")))
    return _RAW_JSON.sub(lambda m: bytes.fromhex(m.group(1)).decode(), text).encode()


# usage shapes


def _chat_usage(plan: Plan) -> Any:
    if plan.usage_text is not None:
        return _raw_json(plan.usage_text)
    prompt_details: dict[str, Any] = {"cached_tokens": plan.cached_tokens, "audio_tokens": 0}
    usage: dict[str, Any] = {
        "prompt_tokens": plan.prompt_tokens,
        "completion_tokens": plan.completion_tokens,
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
        "prompt_tokens_details": prompt_details,
        "completion_tokens_details": {
            "reasoning_tokens": plan.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }
    if plan.web_searches is not None:
        usage["server_tool_use"] = {"web_search_requests": plan.web_searches}
    if plan.shape == "openrouter":
        prompt_details["cache_write_tokens"] = plan.cache_write_tokens
        usage["cost"] = _raw(plan.cost)
        usage["is_byok"] = plan.upstream_cost is not None
        usage["cost_details"] = {
            "upstream_inference_cost": None
            if plan.upstream_cost is None
            else _raw(plan.upstream_cost)
        }
    elif plan.shape == "requesty":
        prompt_details["caching_tokens"] = plan.cache_write_tokens
        usage["cost"] = _raw(plan.cost)
    elif plan.cache_write_tokens:
        prompt_details["cache_write_tokens"] = plan.cache_write_tokens
    return usage


def _responses_usage(plan: Plan) -> Any:
    if plan.usage_text is not None:
        return _raw_json(plan.usage_text)
    usage: dict[str, Any] = {
        "input_tokens": plan.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": plan.cached_tokens,
            "cache_write_tokens": plan.cache_write_tokens,
        },
        "output_tokens": plan.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
        "total_tokens": plan.prompt_tokens + plan.completion_tokens,
    }
    if plan.shape in ("openrouter", "requesty"):
        usage["cost"] = _raw(plan.cost)
    return usage


# Chat Completions


def _chat_id(plan: Plan) -> str:
    return plan.answer_id or f"{ID_PREFIX[plan.shape]}{plan.number}"


def _chat_completion(plan: Plan, _status: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": _chat_id(plan),
        "object": "chat.completion",
        "created": CREATED,
        "model": plan.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(plan.reply), "refusal": None},
                "logprobs": None,
                "finish_reason": plan.finish,
            }
        ],
        "system_fingerprint": "fp_fake",
    }
    if plan.service_tier is not None:
        data["service_tier"] = plan.service_tier
    if plan.usage_reported:
        data["usage"] = _chat_usage(plan)
    return data


def _chat_events(plan: Plan) -> Iterator[bytes | None]:
    def chunk(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
        data: dict[str, Any] = {
            "id": _chat_id(plan),
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": plan.model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
        }
        if plan.service_tier is not None:
            data["service_tier"] = plan.service_tier
        if plan.include_usage:
            data["usage"] = usage
        return b"data: " + _dumps(data) + b"\n\n"

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    yield chunk(choice({"role": "assistant", "content": "", "refusal": None}))
    for sent, text in enumerate(plan.reply):
        if "cut" in plan.flags and sent == CUT_AFTER:
            yield None
            return
        if "malformed" in plan.flags and sent == 1:
            yield b'data: {"id": "' + _chat_id(plan).encode() + b'", "choices": [{\n\n'
        yield chunk(choice({"content": text}))
    yield chunk(choice({}, plan.finish))
    if plan.include_usage and plan.usage_reported:
        yield chunk([], _chat_usage(plan))
    yield b"data: [DONE]\n\n"


# Responses


def _message(plan: Plan, text: str, status: str) -> dict[str, Any]:
    content = [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    return {
        "type": "message",
        "id": f"msg_fake_{plan.number}",
        "status": status,
        "role": "assistant",
        "content": content if text or status == "completed" else [],
    }


def _response(plan: Plan, status: str) -> dict[str, Any]:
    done = status != "in_progress"
    if done and plan.finish == "length":
        status = "incomplete"
    return {
        "id": plan.answer_id or f"resp_fake_{plan.number}",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "model": plan.model,
        "output": [_message(plan, "".join(plan.reply), "completed")] if done else [],
        "usage": _responses_usage(plan) if done and plan.usage_reported else None,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "top_p": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "text": {"format": {"type": "text"}},
        **({"service_tier": plan.service_tier} if plan.service_tier is not None else {}),
    }


def _response_events(plan: Plan) -> Iterator[bytes | None]:
    sequence = 0

    def event(kind: str, **fields: Any) -> bytes:
        nonlocal sequence
        data = {"type": kind, "sequence_number": sequence, **fields}
        sequence += 1
        return b"event: " + kind.encode() + b"\ndata: " + _dumps(data) + b"\n\n"

    item_id = f"msg_fake_{plan.number}"
    place = {"item_id": item_id, "output_index": 0, "content_index": 0}
    text = "".join(plan.reply)
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    yield event("response.created", response=_response(plan, "in_progress"))
    yield event("response.in_progress", response=_response(plan, "in_progress"))
    yield event(
        "response.output_item.added", output_index=0, item=_message(plan, "", "in_progress")
    )
    yield event("response.content_part.added", part=part, **place)
    for sent, delta in enumerate(plan.reply):
        if "cut" in plan.flags and sent == CUT_AFTER:
            yield None
            return
        if "malformed" in plan.flags and sent == 1:
            yield b'event: response.output_text.delta\ndata: {"type": "response.output\n\n'
        yield event("response.output_text.delta", delta=delta, logprobs=[], **place)
    yield event("response.output_text.done", text=text, logprobs=[], **place)
    yield event("response.content_part.done", part={**part, "text": text}, **place)
    yield event("response.output_item.done", output_index=0, item=_message(plan, text, "completed"))
    final = _response(plan, "completed")
    yield event(f"response.{final['status']}", response=final)


# legacy Completions


def _completion(plan: Plan, _status: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": plan.answer_id or f"cmpl-fake-{plan.number}",
        "object": "text_completion",
        "created": CREATED,
        "model": plan.model,
        "choices": [{"text": "".join(plan.reply), "index": 0, "logprobs": None,
                     "finish_reason": plan.finish}],
        "system_fingerprint": "fp_fake",
    }
    if plan.usage_reported:
        data["usage"] = _chat_usage(plan)
    return data


def _completion_events(plan: Plan) -> Iterator[bytes | None]:
    def chunk(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
        data: dict[str, Any] = {
            "id": plan.answer_id or f"cmpl-fake-{plan.number}",
            "object": "text_completion",
            "created": CREATED,
            "model": plan.model,
            "system_fingerprint": "fp_fake",
            "choices": choices,
        }
        if plan.include_usage:
            data["usage"] = usage
        return b"data: " + _dumps(data) + b"\n\n"

    def choice(text: str, finish: str | None = None) -> list[dict[str, Any]]:
        return [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}]

    for sent, text in enumerate(plan.reply):
        if "cut" in plan.flags and sent == CUT_AFTER:
            yield None
            return
        yield chunk(choice(text))
    yield chunk(choice("", plan.finish))
    if plan.include_usage and plan.usage_reported:
        yield chunk([], _chat_usage(plan))
    yield b"data: [DONE]\n\n"


# Embeddings

EMBEDDING = (0.25, -0.5, 0.125)


def _embeddings(plan: Plan, _status: str) -> dict[str, Any]:
    import base64
    import struct

    vector: Any = (base64.b64encode(struct.pack("<3f", *EMBEDDING)).decode()
                   if plan.encoding_format == "base64" else list(EMBEDDING))
    data: dict[str, Any] = {
        "object": "list",
        "data": [{"object": "embedding", "index": i, "embedding": vector}
                 for i in range(plan.inputs)],
        "model": plan.model,
    }
    if plan.usage_reported:
        if plan.usage_text is not None:
            data["usage"] = _raw_json(plan.usage_text)
        else:
            data["usage"] = {"prompt_tokens": plan.prompt_tokens,
                             "total_tokens": plan.prompt_tokens}
    return data
