"""A local server on 127.0.0.1 speaking the providers' organisation report APIs, as their
references document them: OpenAI's ``/v1/organization/usage/completions`` and
``/v1/organization/costs`` (Unix-second buckets, ``amount.value`` in USD), Anthropic's
``/v1/organizations/usage_report/messages`` and ``/v1/organizations/cost_report``
(RFC 3339 buckets, amounts in cents as decimal text) and OpenRouter's ``/api/v1/activity``.

A test gives it rows per UTC day; the server cuts the days of the asked window into
buckets, ``page_size`` buckets a page with ``has_more``/``next_page``, checks the key,
and can answer 429 before it answers a path (``throttle``)."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ADMIN_KEY = "sk-admin-test-0123456789"


def _day_of(value: str) -> date:
    if value.isdigit():
        return datetime.fromtimestamp(int(value), timezone.utc).date()
    return datetime.fromisoformat(value.replace("Z", "+00:00")).date()


class ProviderReportsServer:
    """``with ProviderReportsServer() as server: server.openai_usage[day] = [row, ...]``."""

    def __init__(self, page_size: int = 2) -> None:
        self.page_size = page_size
        self.openai_usage: dict[date, list[dict[str, Any]]] = {}
        self.openai_costs: dict[date, list[dict[str, Any]]] = {}
        self.anthropic_usage: dict[date, list[dict[str, Any]]] = {}
        self.anthropic_costs: dict[date, list[dict[str, Any]]] = {}
        self.openrouter_activity: dict[date, list[dict[str, Any]]] = {}
        self.throttle: dict[str, int] = {}
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._answer(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ProviderReportsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- answering ---------------------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        self.requests.append({"path": parts.path, "query": query,
                              "headers": dict(handler.headers)})
        left = self.throttle.get(parts.path, 0)
        if left:
            self.throttle[parts.path] = left - 1
            return self._send(handler, 429, {"error": {"message": "rate limited"}},
                              {"Retry-After": "0"})
        routes = {
            "/v1/organization/usage/completions": ("openai", self.openai_usage),
            "/v1/organization/costs": ("openai", self.openai_costs),
            "/v1/organizations/usage_report/messages": ("anthropic", self.anthropic_usage),
            "/v1/organizations/cost_report": ("anthropic", self.anthropic_costs),
            "/api/v1/activity": ("openrouter", self.openrouter_activity),
        }
        if parts.path not in routes:
            return self._send(handler, 404, {"error": "not found"})
        kind, rows = routes[parts.path]
        key = (handler.headers.get("x-api-key") if kind == "anthropic"
               else (handler.headers.get("Authorization") or "").removeprefix("Bearer "))
        if key != ADMIN_KEY:
            return self._send(handler, 401, {"error": {"message": "invalid admin key"}})
        if kind == "anthropic" and handler.headers.get("anthropic-version") != "2023-06-01":
            return self._send(handler, 400, {"error": {"message": "no anthropic-version"}})
        if kind == "openrouter":
            day = date.fromisoformat(query["date"][0])
            return self._send(handler, 200, {"data": [{"date": day.isoformat(), **row}
                                                      for row in rows.get(day, [])]})
        start_name, end_name = (("start_time", "end_time") if kind == "openai"
                                else ("starting_at", "ending_at"))
        first = _day_of(query[start_name][0])
        last = _day_of(query[end_name][0]) - timedelta(days=1)
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
        page = int(query.get("page", ["0"])[0].removeprefix("page_"))
        chosen = days[page * self.page_size:(page + 1) * self.page_size]
        more = (page + 1) * self.page_size < len(days)
        buckets = [self._bucket(kind, day, rows.get(day, [])) for day in chosen]
        body: dict[str, Any] = {"data": buckets, "has_more": more,
                                "next_page": f"page_{page + 1}" if more else None}
        if kind == "openai":
            body["object"] = "page"
        self._send(handler, 200, body)

    @staticmethod
    def _bucket(kind: str, day: date, rows: list[dict[str, Any]]) -> dict[str, Any]:
        start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        end = start + timedelta(days=1)
        if kind == "openai":
            return {"object": "bucket", "start_time": int(start.timestamp()),
                    "end_time": int(end.timestamp()), "results": rows}
        return {"starting_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ending_at": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "results": rows}

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: Any,
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)


def openai_usage_row(model: str | None, *, input_tokens: int, output_tokens: int,
                     cached: int = 0, requests: int = 1, project: str | None = None,
                     batch: bool | None = None, service_tier: str | None = None) -> dict[str, Any]:
    """One result of OpenAI's completions usage, every documented field present."""
    return {"object": "organization.usage.completions.result", "input_tokens": input_tokens,
            "output_tokens": output_tokens, "input_cached_tokens": cached,
            "input_audio_tokens": 0, "output_audio_tokens": 0,
            "num_model_requests": requests, "project_id": project, "user_id": None,
            "api_key_id": None, "model": model, "batch": batch, "service_tier": service_tier}


def openai_cost_row(line_item: str | None, value: str, project: str | None = None) -> (
        dict[str, Any]):
    """One result of OpenAI's costs report; ``value`` becomes a JSON number with the same
    digits (a float's shortest form)."""
    return {"object": "organization.costs.result", "amount": {"value": float(value),
                                                              "currency": "usd"},
            "line_item": line_item, "project_id": project}


def anthropic_usage_row(model: str | None, *, uncached: int, output: int, cache_read: int = 0,
                        write_5m: int = 0, write_1h: int = 0, web_searches: int = 0,
                        workspace: str | None = None, service_tier: str = "standard",
                        context_window: str = "0-200k") -> dict[str, Any]:
    """One result of Anthropic's messages usage report, every documented field present."""
    return {"uncached_input_tokens": uncached, "cache_read_input_tokens": cache_read,
            "cache_creation": {"ephemeral_5m_input_tokens": write_5m,
                               "ephemeral_1h_input_tokens": write_1h},
            "output_tokens": output, "server_tool_use": {"web_search_requests": web_searches},
            "api_key_id": None, "workspace_id": workspace, "model": model,
            "service_tier": service_tier, "context_window": context_window}


def anthropic_cost_row(model: str | None, cents: str, *, description: str,
                       workspace: str | None = None, token_type: str | None = None) -> (
        dict[str, Any]):
    """One result of Anthropic's cost report: the amount in cents, as decimal text."""
    return {"currency": "USD", "amount": cents, "workspace_id": workspace,
            "description": description, "cost_type": "tokens" if token_type else None,
            "context_window": "0-200k" if token_type else None, "model": model,
            "service_tier": "standard" if token_type else None, "token_type": token_type}
