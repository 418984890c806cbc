"""A local server on 127.0.0.1 speaking Amazon Bedrock's runtime protocol, for tests that
drive the real ``boto3`` ``bedrock-runtime`` client (``endpoint_url=``).

It answers ``POST /model/{modelId}/converse`` with a Converse response in JSON,
``/converse-stream`` with the Converse events (``messageStart``, ``contentBlockDelta`` per
piece of text, ``contentBlockStop``, ``messageStop``, ``metadata`` with the usage) in AWS's
binary event-stream framing (``application/vnd.amazon.eventstream``: a prelude with the
lengths and its CRC32, string headers ``:event-type``, ``:content-type`` and
``:message-type``, the JSON payload, and the CRC32 of the whole message), ``/invoke`` with
an Anthropic Messages answer as the body (or ``Answer.invoke_body``; and the ``X-Amzn-Bedrock-*-Token-Count``
headers), and ``/invoke-with-response-stream`` with ``chunk`` events whose ``bytes`` are the
Anthropic stream events, base64-encoded as Bedrock sends them, the last one carrying
``amazon-bedrock-invocationMetrics``. Errors are Bedrock's (``x-amzn-ErrorType`` header
and ``{"message": ...}``); :meth:`FakeBedrockServer.client` makes a client that does not
retry them.

What the next answers say is set on the server (``server.answer``, an :class:`Answer`);
:meth:`FakeBedrockServer.reset` restores the defaults. Every request is kept in
``server.requests``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import socket
import struct
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

ACCESS_KEY = "fake-access-key-id"
SECRET_KEY = "fake-secret-access-key-0123456789"
REGION = "us-east-1"
INPUT_TOKENS = 30
OUTPUT_TOKENS = 10
REPLY = ("Hello", " from", " local", " Bedrock.")
_ERRORS = {400: "ValidationException", 403: "AccessDeniedException",
           404: "ResourceNotFoundException", 429: "ThrottlingException",
           500: "InternalServerException", 503: "ServiceUnavailableException"}


@dataclass
class Answer:
    """What the server answers: the usage counts (Bedrock's ``inputTokens`` excludes cache
    reads and writes, as Anthropic's ``input_tokens`` does), or ``usage`` to send as it is,
    an HTTP error ``status``, and ``cut`` to end a stream after its first text."""

    input: int = INPUT_TOKENS
    output: int = OUTPUT_TOKENS
    cache_read: int | None = None
    cache_write: int | None = None
    cache_write_1h: int | None = None
    usage: Any = field(default=None)
    status: int | None = None
    cut: bool = False
    reply: tuple[str, ...] = REPLY
    invoke_body: Any = None  # sent as invoke_model's answer in place of a Messages answer

    def converse_usage(self) -> Any:
        if self.usage is not None:
            return self.usage
        usage: dict[str, Any] = {"inputTokens": self.input, "outputTokens": self.output}
        total = self.input + self.output
        if self.cache_read is not None:
            usage["cacheReadInputTokens"] = self.cache_read
            total += self.cache_read
        if self.cache_write is not None:
            usage["cacheWriteInputTokens"] = self.cache_write
            total += self.cache_write
            if self.cache_write_1h is not None:
                usage["cacheDetails"] = [
                    {"ttl": "5m", "inputTokens": self.cache_write - self.cache_write_1h},
                    {"ttl": "1h", "inputTokens": self.cache_write_1h}]
        usage["totalTokens"] = total
        return usage

    def anthropic_usage(self) -> Any:
        if self.usage is not None:
            return self.usage
        usage: dict[str, Any] = {"input_tokens": self.input, "output_tokens": self.output,
                                 "cache_read_input_tokens": self.cache_read or 0,
                                 "cache_creation_input_tokens": self.cache_write or 0}
        if self.cache_write_1h is not None:
            usage["cache_creation"] = {
                "ephemeral_5m_input_tokens": (self.cache_write or 0) - self.cache_write_1h,
                "ephemeral_1h_input_tokens": self.cache_write_1h}
        return usage


@dataclass
class Request:
    """One request the server received (``operation``: converse, converse-stream, invoke,
    invoke-with-response-stream)."""

    model_id: str
    operation: str
    headers: dict[str, str]
    body: Any


def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One message of AWS's event-stream encoding, with string headers."""
    encoded = b""
    for name, value in headers.items():
        raw_name, raw_value = name.encode(), value.encode()
        encoded += struct.pack("!B", len(raw_name)) + raw_name
        encoded += struct.pack("!BH", 7, len(raw_value)) + raw_value  # 7: a string
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack("!II", total, len(encoded))
    prelude += struct.pack("!I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + encoded + payload
    return message + struct.pack("!I", binascii.crc32(message) & 0xFFFFFFFF)


def event(kind: str, payload: Any) -> bytes:
    """An ``event`` message of type ``kind`` with a JSON payload."""
    return event_message({":event-type": kind, ":content-type": "application/json",
                          ":message-type": "event"}, json.dumps(payload).encode())


def exception(kind: str, message: str) -> bytes:
    """An ``exception`` message (a stream that fails midway)."""
    return event_message({":exception-type": kind, ":content-type": "application/json",
                          ":message-type": "exception"}, json.dumps({"message": message}).encode())


class FakeBedrockServer:
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

    def start(self) -> FakeBedrockServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeBedrockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def client(self, region: str = REGION) -> Any:
        """A ``boto3`` ``bedrock-runtime`` client with fake credentials that sends to this
        server and does not retry."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            "bedrock-runtime", region_name=region, endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeBedrockServer

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
        parts = self.path.split("?", 1)[0].split("/")
        fake = self.server.fake
        if len(parts) != 4 or parts[1] != "model":
            self._error(404, "no such operation (fake server)")
            return
        model_id, operation = unquote(parts[2]), parts[3]
        with fake._lock:
            answer = fake.answer
            fake.requests.append(Request(model_id, operation,
                                         {k.lower(): v for k, v in self.headers.items()},
                                         body))
        if answer.status is not None:
            self._error(answer.status, "an error the test asked for (fake server)")
        elif operation == "converse":
            self._json(_converse(answer))
        elif operation == "invoke":
            self._json(answer.invoke_body or _message(answer, model_id), {
                "X-Amzn-Bedrock-Input-Token-Count": str(answer.input),
                "X-Amzn-Bedrock-Output-Token-Count": str(answer.output)})
        elif operation == "converse-stream":
            self._stream(_converse_events(answer))
        elif operation == "invoke-with-response-stream":
            self._stream(_invoke_events(answer, model_id))
        else:
            self._error(404, f"no such operation: {operation} (fake server)")

    def _json(self, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-amzn-requestid", "fake-bedrock-request")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, messages: list[bytes | None]) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/vnd.amazon.eventstream")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("x-amzn-requestid", "fake-bedrock-request")
        self.end_headers()
        try:
            for message in messages:
                if message is None:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(message), message))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _error(self, status: int, message: str) -> None:
        data = json.dumps({"message": message}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-amzn-ErrorType", _ERRORS.get(status, "InternalServerException"))
        self.send_header("x-amzn-requestid", "fake-bedrock-request")
        self.end_headers()
        self.wfile.write(data)


def _converse(answer: Answer) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant",
                               "content": [{"text": "".join(answer.reply)}]}},
        "stopReason": "end_turn",
        "usage": answer.converse_usage(),
        "metrics": {"latencyMs": 12},
    }


def _converse_events(answer: Answer) -> list[bytes | None]:
    messages: list[bytes | None] = [event("messageStart", {"role": "assistant"})]
    for piece in answer.reply:
        messages.append(event("contentBlockDelta",
                              {"contentBlockIndex": 0, "delta": {"text": piece}}))
        if answer.cut:
            messages.append(None)
            return messages
    messages.append(event("contentBlockStop", {"contentBlockIndex": 0}))
    messages.append(event("messageStop", {"stopReason": "end_turn"}))
    messages.append(event("metadata", {"usage": answer.converse_usage(),
                                       "metrics": {"latencyMs": 12}}))
    return messages


def _message(answer: Answer, model_id: str) -> dict[str, Any]:
    return {
        "id": "msg_bdrk_fake",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "".join(answer.reply)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": answer.anthropic_usage(),
    }


def _invoke_events(answer: Answer, model_id: str) -> list[bytes | None]:
    def chunk(payload: dict[str, Any]) -> bytes:
        data = base64.b64encode(json.dumps(payload).encode()).decode()
        return event("chunk", {"bytes": data})

    usage = answer.anthropic_usage()
    start_usage = dict(usage, output_tokens=1) if isinstance(usage, dict) else usage
    messages: list[bytes | None] = [chunk({
        "type": "message_start",
        "message": {"id": "msg_bdrk_fake", "type": "message", "role": "assistant",
                    "model": "claude-sonnet-4-5-20250929", "content": [],
                    "stop_reason": None, "usage": start_usage}}),
        chunk({"type": "content_block_start", "index": 0,
               "content_block": {"type": "text", "text": ""}})]
    for piece in answer.reply:
        messages.append(chunk({"type": "content_block_delta", "index": 0,
                               "delta": {"type": "text_delta", "text": piece}}))
        if answer.cut:
            messages.append(None)
            return messages
    messages.append(chunk({"type": "content_block_stop", "index": 0}))
    out = usage.get("output_tokens") if isinstance(usage, dict) else None
    messages.append(chunk({"type": "message_delta",
                           "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": out}}))
    messages.append(chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": {
        "inputTokenCount": answer.input, "outputTokenCount": answer.output,
        "invocationLatency": 12, "firstByteLatency": 5}}))
    return messages
