"""A local server on 127.0.0.1 speaking Gemini's ``generateContent`` protocol, for tests
that drive the real ``google-genai`` SDK (``http_options=HttpOptions(base_url=...)``).

It answers ``POST .../models/{model}:generateContent`` with a ``GenerateContentResponse``
in JSON, ``POST .../models/{model}:streamGenerateContent?alt=sse`` with server-sent events
(one ``data: {...}`` chunk per piece of text; every chunk carries ``usageMetadata`` with the
prompt count, the last one the whole usage and ``finishReason``), and
``POST .../models/{model}:countTokens`` with ``{"totalTokens": N}``. The path may hold a
Vertex AI prefix (``projects/.../locations/.../publishers/google/models/...``). Errors are
Google's error JSON (``{"error": {"code", "message", "status"}}``).

What the next answers say is set on the server (``server.answer``, an :class:`Answer`; its
``function_call`` makes the first answer of a test call a function, for automatic
function calling);
:meth:`FakeGeminiServer.reset` restores the defaults. Every request is kept in
``server.requests``.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API_KEY = "AIzaSyFAKE-costbook-test-0123456789abcdefghij"
PROMPT_TOKENS = 40
CANDIDATE_TOKENS = 12
REPLY = ("Hello", " from", " the", " local", " Gemini.")

_PATH = re.compile(
    r"^/(?P<version>[^/]+)/(?:.*/)?(?:models|tunedModels)/(?P<model>[^/:]+):(?P<method>\w+)$")
_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


@dataclass
class Answer:
    """What the server answers: the counts of ``usageMetadata`` (``None`` leaves a count
    out), or ``usage`` to send as it is (any JSON value), the model version named, an HTTP
    error ``status``, and ``cut`` to close a stream after its first chunk."""

    prompt: int = PROMPT_TOKENS
    candidates: int = CANDIDATE_TOKENS
    thoughts: int | None = None
    cached: int | None = None
    tool_prompt: int | None = None
    prompt_details: list[dict[str, Any]] | None = None
    cache_details: list[dict[str, Any]] | None = None
    candidate_details: list[dict[str, Any]] | None = None
    usage: Any = field(default=None)
    send_usage: bool = True
    model_version: str | None = None
    status: int | None = None
    cut: bool = False
    reply: tuple[str, ...] = REPLY
    function_call: str | None = None  # the first answer calls this function, later ones reply

    def usage_metadata(self, *, final: bool = True) -> dict[str, Any]:
        if self.usage is not None:
            return self.usage  # type: ignore[no-any-return]
        data: dict[str, Any] = {"promptTokenCount": self.prompt}
        if self.cached is not None:
            data["cachedContentTokenCount"] = self.cached
        if self.tool_prompt is not None:
            data["toolUsePromptTokenCount"] = self.tool_prompt
        if self.prompt_details is not None:
            data["promptTokensDetails"] = self.prompt_details
        if self.cache_details is not None:
            data["cacheTokensDetails"] = self.cache_details
        total = self.prompt + (self.tool_prompt or 0)
        if final:
            data["candidatesTokenCount"] = self.candidates
            total += self.candidates
            if self.thoughts is not None:
                data["thoughtsTokenCount"] = self.thoughts
                total += self.thoughts
            if self.candidate_details is not None:
                data["candidatesTokensDetails"] = self.candidate_details
        data["totalTokenCount"] = total
        return data


@dataclass
class Request:
    """One request the server received."""

    path: str
    model: str
    method: str
    headers: dict[str, str]
    body: Any


class FakeGeminiServer:
    """The server; use as a context manager, or :meth:`start` and :meth:`stop`."""

    def __init__(self) -> None:
        self.answer = Answer()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reset(self) -> None:
        with self._lock:
            self.answer = Answer()
            self.requests.clear()

    def start(self) -> FakeGeminiServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeGeminiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, **options: Any) -> Any:
        """A ``google.genai.Client`` for the Gemini API that sends to this server."""
        from google import genai
        from google.genai import types

        options.setdefault("api_key", API_KEY)
        return genai.Client(http_options=types.HttpOptions(base_url=self.url), **options)

    def vertex_client(self, **options: Any) -> Any:
        """A ``google.genai.Client(vertexai=True)`` (express mode: an API key, no project)
        that sends to this server."""
        return self.client(vertexai=True, **options)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeGeminiServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        path = self.path.split("?", 1)[0]
        found = _PATH.match(path)
        fake = self.server.fake
        with fake._lock:
            answer = fake.answer
            if found is not None:
                fake.requests.append(Request(path, found["model"], found["method"],
                                             {k.lower(): v for k, v in self.headers.items()},
                                             body))
        if found is None:
            self._error(404, f"no such method: {path}")
            return
        if answer.status is not None:
            self._error(answer.status, "an error the test asked for (fake server)")
            return
        model, method = found["model"], found["method"]
        if method == "countTokens":
            self._json({"totalTokens": answer.prompt})
        elif method == "generateContent":
            payload = _response(answer, model, answer.reply, final=True)
            if answer.function_call is not None and len(fake.requests) == 1:
                payload["candidates"][0]["content"]["parts"] = [
                    {"functionCall": {"name": answer.function_call, "args": {"city": "Oslo"}}}]
            self._json(payload)
        elif method == "streamGenerateContent":
            self._stream(answer, model)
        else:
            self._error(404, f"no such method: {method}")

    def _json(self, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json; charset=UTF-8")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, answer: Answer, model: str) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        last = len(answer.reply) - 1
        try:
            for number, piece in enumerate(answer.reply):
                chunk = _response(answer, model, (piece,), final=number == last)
                event = b"data: " + json.dumps(chunk).encode() + b"\r\n\r\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
                if answer.cut:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _error(self, status: int, message: str) -> None:
        payload = {"error": {"code": status, "message": message,
                             "status": _STATUS.get(status, "UNKNOWN")}}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=UTF-8")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _response(answer: Answer, model: str, pieces: tuple[str, ...], *,
              final: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {
        "content": {"role": "model", "parts": [{"text": "".join(pieces)}]},
        "index": 0,
    }
    if final:
        candidate["finishReason"] = "STOP"
    payload: dict[str, Any] = {
        "candidates": [candidate],
        "modelVersion": answer.model_version or model,
        "responseId": "fake-gemini-response",
    }
    if answer.send_usage:
        payload["usageMetadata"] = answer.usage_metadata(final=final)
    return payload
