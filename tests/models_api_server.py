"""A local models API on 127.0.0.1 for the sync tests: it serves the bodies a test gives it,
in order (the last one again once they run out), and records the requests it received."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One response: a status, a body (text, or an object sent as JSON) and headers."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reason: str | None = None
    drip: float = 0.0
    """Seconds between the bytes of the whole response (status line and headers too)."""

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


class ModelsAPIServer:
    """``with ModelsAPIServer() as server: server.replies["/api/v1/models"] = [Reply(...)]``."""

    def __init__(self) -> None:
        self.replies: dict[str, list[Reply]] = {}
        self.requests: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append({"path": self.path, "headers": dict(self.headers)})
                queue = owner.replies.get(self.path)
                if not queue:
                    self.send_response(404)
                    self.end_headers()
                    return
                reply = queue.pop(0) if len(queue) > 1 else queue[0]
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.encoded()
                if reply.drip:
                    self._drip(reply, body)
                    return
                self.send_response(reply.status, reply.reason)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def _drip(self, reply: Reply, body: bytes) -> None:
                raw = (f"HTTP/1.1 {reply.status} OK\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {len(body)}\r\n\r\n").encode() + body
                for index in range(len(raw)):
                    if owner.stopping.is_set():
                        return
                    try:
                        self.wfile.write(raw[index:index + 1])
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(reply.drip)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def other_origin_url(self) -> str:
        """The same server under another origin: ``localhost`` instead of ``127.0.0.1``."""
        return f"http://localhost:{self._server.server_address[1]}"

    def serve(self, path: str, *replies: Reply | Any) -> None:
        """Serve these replies at ``path`` (a plain object is a 200 JSON reply)."""
        self.replies[path] = [r if isinstance(r, Reply) else Reply(r) for r in replies]

    def __enter__(self) -> ModelsAPIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
