"""The local OpenAI-compatible server, driven by the real openai SDK in every scenario."""

from __future__ import annotations

import asyncio
import http.client
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from fake_llm_server import (
    API_KEY,
    CACHE_WRITE_TOKENS,
    CACHED_TOKENS,
    COMPLETION_TOKENS,
    CUT_AFTER,
    FALLBACK_MODEL,
    PROMPT_TOKENS,
    REASONING_TOKENS,
    REPLY,
    FakeLLMServer,
)

MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Say hello"}]
TEXT = "".join(REPLY)
MODES = ("sync", "async")


@pytest.fixture(scope="module")
def client(llm_server_session: FakeLLMServer) -> Iterator[openai.OpenAI]:
    with llm_server_session.client() as made:
        yield made


def chat(
    server: FakeLLMServer, mode: str, headers: dict[str, str] | None = None, **body: Any
) -> Any:
    """One chat completion through the sync or the async client."""
    body = {"model": MODEL, "messages": MESSAGES, "extra_headers": headers or {}, **body}
    if mode == "sync":
        with server.client() as client:
            return client.chat.completions.create(**body)

    async def run() -> Any:
        async with server.async_client() as client:
            return await client.chat.completions.create(**body)

    return asyncio.run(run())


def respond(
    server: FakeLLMServer, mode: str, headers: dict[str, str] | None = None, **body: Any
) -> Any:
    """One Responses call through the sync or the async client."""
    body = {"model": MODEL, "input": "Say hello", "extra_headers": headers or {}, **body}
    if mode == "sync":
        with server.client() as client:
            return client.responses.create(**body)

    async def run() -> Any:
        async with server.async_client() as client:
            return await client.responses.create(**body)

    return asyncio.run(run())


def stream(
    server: FakeLLMServer,
    mode: str,
    endpoint: str,
    headers: dict[str, str] | None = None,
    **body: Any,
) -> tuple[list[Any], Exception | None]:
    """Every item of a streamed call and the error that ended it, if any."""
    body = {"model": MODEL, "stream": True, "extra_headers": headers or {}, **body}
    if endpoint == "chat":
        body["messages"] = MESSAGES
    else:
        body["input"] = "Say hello"
    items: list[Any] = []
    if mode == "sync":
        with server.client() as client:
            create = (
                client.chat.completions.create if endpoint == "chat" else (client.responses.create)
            )
            try:
                for item in create(**body):
                    items.append(item)
            except Exception as error:
                return items, error
        return items, None

    async def run() -> Exception | None:
        async with server.async_client() as client:
            create = (
                client.chat.completions.create if endpoint == "chat" else (client.responses.create)
            )
            try:
                async for item in await create(**body):
                    items.append(item)
            except Exception as error:
                return error
        return None

    return items, asyncio.run(run())


def raw_post(
    server: FakeLLMServer, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """A request without the SDK, to read the bytes on the wire."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(
            "POST", path, json.dumps(body), {"content-type": "application/json", **(headers or {})}
        )
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def sse_data(raw: bytes) -> list[Any]:
    lines = [line[6:] for line in raw.decode().split("\n") if line.startswith("data: ")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


# Chat Completions, JSON


@pytest.mark.parametrize("mode", MODES)
def test_chat_answer_and_the_request_recorded(llm_server: FakeLLMServer, mode: str) -> None:
    completion = chat(llm_server, mode, {"X-Title": "costbook tests"}, max_tokens=50)
    assert completion.id.startswith("chatcmpl-fake-")
    assert completion.model == MODEL
    assert completion.choices[0].message.content == TEXT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.prompt_tokens == PROMPT_TOKENS
    assert completion.usage.completion_tokens == COMPLETION_TOKENS
    assert completion.usage.total_tokens == PROMPT_TOKENS + COMPLETION_TOKENS
    assert completion.usage.prompt_tokens_details.cached_tokens == 0
    assert completion.usage.completion_tokens_details.reasoning_tokens == 0
    [request] = llm_server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.body == {"model": MODEL, "messages": MESSAGES, "max_tokens": 50}
    assert json.loads(request.raw) == request.body
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["x-title"] == "costbook tests"
    assert request.headers["x-stainless-async"] == ("false" if mode == "sync" else "async:asyncio")


@pytest.mark.parametrize("mode", MODES)
def test_cached_cache_write_and_reasoning_tokens(llm_server: FakeLLMServer, mode: str) -> None:
    completion = chat(llm_server, mode, {"X-Fake-Scenario": "cached,cache-write,reasoning"})
    usage = completion.usage
    assert usage.prompt_tokens_details.cached_tokens == CACHED_TOKENS
    assert raw_usage(llm_server, {"X-Fake-Scenario": "cached,cache-write,reasoning"})[
        "prompt_tokens_details"]["cache_write_tokens"] == CACHE_WRITE_TOKENS
    assert usage.completion_tokens_details.reasoning_tokens == REASONING_TOKENS
    assert (usage.prompt_tokens, usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)


def test_counts_given_by_headers(client: openai.OpenAI) -> None:
    headers = {
        "X-Fake-Prompt-Tokens": "1234",
        "X-Fake-Completion-Tokens": "56",
        "X-Fake-Cached-Tokens": "1000",
        "X-Fake-Cache-Write-Tokens": "200",
        "X-Fake-Reasoning-Tokens": "50",
    }
    usage = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, extra_headers=headers
    ).usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (1234, 56, 1290)
    assert usage.prompt_tokens_details.cached_tokens == 1000
    assert raw_usage(client, headers)["prompt_tokens_details"]["cache_write_tokens"] == 200
    assert usage.completion_tokens_details.reasoning_tokens == 50


@pytest.mark.parametrize("limit", ["max_tokens", "max_completion_tokens"])
def test_output_stops_at_the_token_limit(client: openai.OpenAI, limit: str) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        extra_headers={"X-Fake-Scenario": "reasoning"},
        **{limit: 3},
    )
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "".join(REPLY[:3])
    assert completion.usage.completion_tokens == 3
    assert completion.usage.completion_tokens_details.reasoning_tokens == 3


def test_openrouter_usage_on_the_wire(llm_server: FakeLLMServer) -> None:
    status, raw = raw_post(
        llm_server,
        "/v1/chat/completions",
        {"model": "openai/gpt-4o-mini", "messages": MESSAGES},
        {
            "X-Fake-Scenario": "openrouter,cached,cache-write",
            "X-Fake-Cost": "0.00001234567890123",
            "X-Fake-Upstream-Cost": "0.5",
        },
    )
    assert status == 200
    assert b'"cost":0.00001234567890123,' in raw
    assert b'"cost_details":{"upstream_inference_cost":0.5}' in raw
    data = json.loads(raw)
    assert data["id"].startswith("gen-fake-")
    assert data["usage"]["is_byok"] is True
    assert data["usage"]["prompt_tokens_details"] == {
        "cached_tokens": CACHED_TOKENS,
        "audio_tokens": 0,
        "cache_write_tokens": CACHE_WRITE_TOKENS,
    }


@pytest.mark.parametrize("mode", MODES)
def test_openrouter_usage_through_the_sdk(llm_server: FakeLLMServer, mode: str) -> None:
    completion = chat(llm_server, mode, {"X-Fake-Scenario": "openrouter"})
    assert completion.id.startswith("gen-fake-")
    assert completion.usage.model_extra == {
        "cost": 1.23e-05,
        "is_byok": False,
        "cost_details": {"upstream_inference_cost": None},
    }


@pytest.mark.parametrize("mode", MODES)
def test_requesty_usage(llm_server: FakeLLMServer, mode: str) -> None:
    completion = chat(
        llm_server, mode, {"X-Fake-Scenario": "requesty,cache-write", "X-Fake-Cost": "0.25"}
    )
    assert completion.id.startswith("req-fake-")
    assert completion.usage.model_extra == {"cost": 0.25}
    details = completion.usage.prompt_tokens_details
    assert details.model_extra == {"caching_tokens": CACHE_WRITE_TOKENS}
    assert "cache_write_tokens" not in raw_usage(llm_server, {
        "X-Fake-Scenario": "requesty,cache-write", "X-Fake-Cost": "0.25"})["prompt_tokens_details"]


@pytest.mark.parametrize("mode", MODES)
def test_fallback_model(llm_server: FakeLLMServer, mode: str) -> None:
    assert chat(llm_server, mode, {"X-Fake-Scenario": "fallback"}).model == FALLBACK_MODEL
    named = chat(llm_server, mode, {"X-Fake-Model": "openai/gpt-4o-mini-2024-07-18"})
    assert named.model == "openai/gpt-4o-mini-2024-07-18"
    assert [r.body["model"] for r in llm_server.requests] == [MODEL, MODEL]


@pytest.mark.parametrize("mode", MODES)
def test_answer_without_usage(llm_server: FakeLLMServer, mode: str) -> None:
    completion = chat(llm_server, mode, {"X-Fake-Scenario": "no-usage"})
    assert completion.usage is None
    assert completion.choices[0].message.content == TEXT


# Chat Completions, streamed


def test_stream_sends_usage_chunk_only_when_asked(llm_server: FakeLLMServer) -> None:
    body = {"model": MODEL, "messages": MESSAGES, "stream": True}
    status, raw = raw_post(llm_server, "/v1/chat/completions", body)
    assert status == 200
    plain = sse_data(raw)
    assert plain[-1] == "[DONE]"
    assert all("usage" not in chunk and chunk["choices"] for chunk in plain[:-1])

    body["stream_options"] = {"include_usage": True}
    asked = sse_data(raw_post(llm_server, "/v1/chat/completions", body)[1])
    assert asked[-1] == "[DONE]"
    *deltas, last = asked[:-1]
    assert last["choices"] == []
    assert last["usage"]["prompt_tokens"] == PROMPT_TOKENS
    assert all(chunk["usage"] is None and chunk["choices"] for chunk in deltas)
    assert len(deltas) == len(plain) - 1 == len(REPLY) + 2  # role, text, finish


@pytest.mark.parametrize("mode", MODES)
def test_stream_with_usage(llm_server: FakeLLMServer, mode: str) -> None:
    chunks, error = stream(
        llm_server,
        mode,
        "chat",
        {"X-Fake-Scenario": "openrouter,cached,reasoning"},
        stream_options={"include_usage": True},
    )
    assert error is None
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == TEXT
    assert chunks[-2].choices[0].finish_reason == "stop"
    final = chunks[-1]
    assert final.choices == []
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (25, 10)
    assert final.usage.prompt_tokens_details.cached_tokens == CACHED_TOKENS
    assert final.usage.completion_tokens_details.reasoning_tokens == REASONING_TOKENS
    assert final.usage.model_extra["cost"] == 1.23e-05
    assert all(c.usage is None for c in chunks[:-1])
    assert llm_server.requests[0].body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("mode", MODES)
def test_stream_without_usage_asked(llm_server: FakeLLMServer, mode: str) -> None:
    chunks, error = stream(llm_server, mode, "chat")
    assert error is None
    assert all(c.usage is None and c.choices for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("mode", MODES)
def test_stream_of_an_answer_without_usage(llm_server: FakeLLMServer, mode: str) -> None:
    chunks, error = stream(
        llm_server,
        mode,
        "chat",
        {"X-Fake-Scenario": "no-usage"},
        stream_options={"include_usage": True},
    )
    assert error is None
    assert all(c.usage is None and c.choices for c in chunks)


@pytest.mark.parametrize("mode", MODES)
def test_stream_cut_mid_way(llm_server: FakeLLMServer, mode: str) -> None:
    chunks, error = stream(
        llm_server, mode, "chat", {"X-Fake-Scenario": "cut"}, stream_options={"include_usage": True}
    )
    assert error is not None  # whichever exception the installed SDK raises
    assert [c.choices[0].delta.content for c in chunks] == ["", *REPLY[:CUT_AFTER]]


@pytest.mark.parametrize("mode", MODES)
def test_stream_with_a_malformed_event(llm_server: FakeLLMServer, mode: str) -> None:
    chunks, error = stream(llm_server, mode, "chat", {"X-Fake-Scenario": "malformed"})
    assert isinstance(error, json.JSONDecodeError)
    assert [c.choices[0].delta.content for c in chunks] == ["", REPLY[0]]


# errors


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize(
    ("scenario", "error_type", "status", "code"),
    [
        ("rate-limit", openai.RateLimitError, 429, "rate_limit_exceeded"),
        ("server-error", openai.InternalServerError, 500, None),
    ],
)
def test_api_errors(
    llm_server: FakeLLMServer,
    mode: str,
    streamed: bool,
    scenario: str,
    error_type: type[openai.APIStatusError],
    status: int,
    code: str | None,
) -> None:
    with pytest.raises(error_type) as error:
        if streamed:
            raise stream(llm_server, mode, "chat", {"X-Fake-Scenario": scenario})[1] or Exception
        chat(llm_server, mode, {"X-Fake-Scenario": scenario})
    assert error.value.status_code == status
    assert error.value.body["code"] == code
    assert "(fake server)" in error.value.message
    assert error.value.response.headers["retry-after-ms"] == "1"
    assert len(llm_server.requests) == 1  # no retry


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (503, openai.InternalServerError),
    ],
)
def test_any_error_status(
    client: openai.OpenAI, status: int, error_type: type[openai.APIStatusError]
) -> None:
    with pytest.raises(error_type) as error:
        client.responses.create(
            model=MODEL, input="hi", extra_headers={"X-Fake-Status": str(status)}
        )
    assert error.value.status_code == status


@pytest.mark.parametrize("mode", MODES)
def test_malformed_json_answer(llm_server: FakeLLMServer, mode: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        chat(llm_server, mode, {"X-Fake-Scenario": "malformed"})


@pytest.mark.parametrize("mode", MODES)
def test_json_answer_cut_mid_way(llm_server: FakeLLMServer, mode: str) -> None:
    with pytest.raises(openai.APIConnectionError):
        chat(llm_server, mode, {"X-Fake-Scenario": "cut"})
    assert len(llm_server.requests) == 1


def test_slow_answer_times_out(llm_server: FakeLLMServer) -> None:
    with llm_server.client(timeout=0.05) as slow, pytest.raises(openai.APITimeoutError):
        slow.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"X-Fake-Delay": "0.3"}
        )


def test_unknown_scenario_is_a_bad_request(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match=r"unknown scenario word.*'cashed'"):
        client.chat.completions.create(
            model=MODEL, messages=MESSAGES, extra_headers={"X-Fake-Scenario": "openai,cashed"}
        )


def test_unknown_path(llm_server: FakeLLMServer, client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.models.list()
    [request] = llm_server.requests
    assert (request.method, request.path, request.body) == ("GET", "/v1/models", None)


# Responses API


@pytest.mark.parametrize("mode", MODES)
def test_responses_answer(llm_server: FakeLLMServer, mode: str) -> None:
    response = respond(llm_server, mode, {"X-Fake-Scenario": "cached,reasoning"})
    assert response.id.startswith("resp_fake_")
    assert (response.model, response.status, response.output_text) == (MODEL, "completed", TEXT)
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (25, 10, 35)
    assert usage.input_tokens_details.cached_tokens == CACHED_TOKENS
    assert usage.output_tokens_details.reasoning_tokens == REASONING_TOKENS
    [request] = llm_server.requests
    assert request.path == "/v1/responses"
    assert request.body == {"model": MODEL, "input": "Say hello"}


@pytest.mark.parametrize("mode", MODES)
def test_responses_answer_in_other_shapes(llm_server: FakeLLMServer, mode: str) -> None:
    openrouter = respond(llm_server, mode, {"X-Fake-Scenario": "openrouter,fallback"})
    assert openrouter.model == FALLBACK_MODEL
    assert openrouter.usage.model_extra == {"cost": 1.23e-05}
    assert respond(llm_server, mode, {"X-Fake-Scenario": "no-usage"}).usage is None


def test_responses_stop_at_max_output_tokens(client: openai.OpenAI) -> None:
    response = client.responses.create(model=MODEL, input="hi", max_output_tokens=2)
    assert (response.status, response.incomplete_details.reason) == (
        "incomplete",
        "max_output_tokens",
    )
    assert (response.output_text, response.usage.output_tokens) == ("".join(REPLY[:2]), 2)


@pytest.mark.parametrize("mode", MODES)
def test_responses_stream(llm_server: FakeLLMServer, mode: str) -> None:
    events, error = stream(llm_server, mode, "responses", {"X-Fake-Scenario": "requesty"})
    assert error is None
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * len(REPLY),
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[0].response.usage is None
    final = events[-1].response
    assert (final.output_text, final.usage.input_tokens, final.usage.output_tokens) == (
        TEXT,
        25,
        10,
    )
    assert final.usage.model_extra == {"cost": 1.23e-05}


def test_responses_stream_helper_accumulates(client: openai.OpenAI) -> None:
    with client.responses.stream(model=MODEL, input="hi") as events:
        deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
        final = events.get_final_response()
    assert deltas == list(REPLY)
    assert (final.status, final.output_text, final.usage.output_tokens) == ("completed", TEXT, 10)


def test_responses_stream_ends_incomplete_at_max_output_tokens(client: openai.OpenAI) -> None:
    events = list(
        client.responses.create(model=MODEL, input="hi", max_output_tokens=4, stream=True)
    )
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == list(REPLY[:4])
    assert events[-1].type == "response.incomplete"
    final = events[-1].response
    assert (final.status, final.output_text, final.usage.output_tokens) == (
        "incomplete",
        "".join(REPLY[:4]),
        4,
    )


@pytest.mark.parametrize("mode", MODES)
def test_responses_stream_cut_and_malformed(llm_server: FakeLLMServer, mode: str) -> None:
    events, error = stream(llm_server, mode, "responses", {"X-Fake-Scenario": "cut"})
    assert error is not None and not isinstance(error, json.JSONDecodeError)
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == list(
        REPLY[:CUT_AFTER]
    )
    assert all(e.type != "response.completed" for e in events)
    events, error = stream(llm_server, mode, "responses", {"X-Fake-Scenario": "malformed"})
    assert isinstance(error, json.JSONDecodeError)


@pytest.mark.parametrize("mode", MODES)
def test_responses_errors(llm_server: FakeLLMServer, mode: str) -> None:
    with pytest.raises(openai.RateLimitError):
        respond(llm_server, mode, {"X-Fake-Scenario": "rate-limit"})
    with pytest.raises(openai.InternalServerError):
        respond(llm_server, mode, {"X-Fake-Scenario": "server-error"}, stream=True)
    with pytest.raises(json.JSONDecodeError):
        respond(llm_server, mode, {"X-Fake-Scenario": "malformed"})
    with pytest.raises(openai.APIConnectionError):
        respond(llm_server, mode, {"X-Fake-Scenario": "cut"})
    assert len(llm_server.requests) == 4


# the record of requests


def test_reset_forgets_requests(llm_server: FakeLLMServer, client: openai.OpenAI) -> None:
    client.chat.completions.create(model=MODEL, messages=MESSAGES)
    assert len(llm_server.requests) == 1
    llm_server.reset()
    assert llm_server.requests == []


def test_concurrent_requests_each_get_their_own_answer(llm_server: FakeLLMServer) -> None:
    async def run() -> list[int]:
        async with llm_server.async_client() as client:
            answers = await asyncio.gather(
                *(
                    client.chat.completions.create(
                        model=MODEL,
                        messages=MESSAGES,
                        extra_headers={"X-Fake-Prompt-Tokens": str(n), "X-Fake-Delay": "0.02"},
                    )
                    for n in range(100, 106)
                )
            )
        return [a.usage.prompt_tokens for a in answers]

    assert asyncio.run(run()) == list(range(100, 106))
    assert sorted(int(r.headers["x-fake-prompt-tokens"]) for r in llm_server.requests) == list(
        range(100, 106)
    )


def test_usage_ids_and_request_ids_as_given(llm_server):
    client = llm_server.client()
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
        extra_headers={"X-Fake-Usage": '{"prompt_tokens": 1e400, "x": "lots"}',
                       "X-Fake-Id": "chatcmpl-given", "X-Fake-Request-Id": "req-given"})
    assert raw.headers["x-request-id"] == "req-given"
    body = raw.http_response.text
    assert '"usage":{"prompt_tokens": 1e400, "x": "lots"}' in body
    assert '"id":"chatcmpl-given"' in body
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-Fake-Scenario": "rate-limit", "X-Fake-Request-Id": "req-429"})
    assert refused.value.request_id == "req-429"


# --- legacy completions and embeddings -------------------------------------------------------


def test_a_legacy_completion_answers_text_and_usage(client, llm_server):
    answer = client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hello")
    assert answer.choices[0].text == TEXT
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (
        PROMPT_TOKENS, COMPLETION_TOKENS)
    assert llm_server.requests[-1].path == "/v1/completions"


def test_a_streamed_legacy_completion_ends_with_usage_when_asked(client):
    chunks = list(client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say hello", stream=True,
        stream_options={"include_usage": True}))
    assert "".join(c.choices[0].text for c in chunks if c.choices) == TEXT
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == COMPLETION_TOKENS
    plain = list(client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say hello", stream=True))
    assert all(c.usage is None for c in plain)


@pytest.mark.parametrize("encoding_format", [None, "float"])
def test_embeddings_answer_one_vector_per_input_and_input_usage(client, encoding_format):
    options = {} if encoding_format is None else {"encoding_format": encoding_format}
    answer = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"],
                                      **options)
    assert [d.embedding for d in answer.data] == [[0.25, -0.5, 0.125]] * 2
    assert (answer.usage.prompt_tokens, answer.usage.total_tokens) == (PROMPT_TOKENS,
                                                                       PROMPT_TOKENS)


def test_anthropic_token_counts_answer_the_input_tokens(llm_server):
    import fake_anthropic_server

    counted = fake_anthropic_server.client(llm_server).messages.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "Hi"}])
    assert counted.input_tokens == fake_anthropic_server.INPUT_TOKENS
    assert llm_server.requests[-1].path == "/v1/messages/count_tokens"


def raw_usage(server_or_client, headers: dict[str, str]) -> dict:
    """The usage object of a chat answer as the server sent it (fields an SDK version may
    not keep on its own model included)."""
    client = server_or_client if isinstance(server_or_client, openai.OpenAI) else (
        server_or_client.client())
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=MESSAGES, extra_headers=headers)
    return json.loads(raw.http_response.text)["usage"]
