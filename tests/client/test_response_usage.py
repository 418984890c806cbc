"""usage_from_response: each provider's shape, as dicts, JSON text and openai SDK objects."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest

import costbook
from costbook import ResponseUsage, Usage, usage_from_response
from fake_llm_server import FakeLLMServer

MESSAGES = [{"role": "user", "content": "Say hello"}]


def chat(usage: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [],
        "usage": usage,
        **extra,
    }


# Chat Completions: OpenAI, OpenRouter, Requesty


def test_openai_chat_counts_cached_and_reasoning_tokens() -> None:
    found = usage_from_response(
        chat(
            {
                "prompt_tokens": 2006,
                "completion_tokens": 300,
                "total_tokens": 2306,
                "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 192, "audio_tokens": 0},
            }
        )
    )
    assert found == ResponseUsage(
        usage=Usage(
            input_tokens=2006, output_tokens=300, cache_read_tokens=1920, reasoning_tokens=192
        ),
        model="gpt-4o-mini-2024-07-18",
        request_id="chatcmpl-1",
    )


def test_openai_chat_cache_writes() -> None:
    found = usage_from_response(
        chat(
            {
                "prompt_tokens": 3000,
                "completion_tokens": 5,
                "prompt_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 1500},
            }
        )
    )
    assert found.usage == Usage(
        input_tokens=3000, output_tokens=5, cache_read_tokens=1000, cache_write_tokens=1500
    )
    assert found.provider is None


def test_openrouter_chat_reports_cost_and_upstream_cost() -> None:
    body = (
        '{"id": "gen-1744", "model": "anthropic/claude-3.5-haiku", "provider": "Anthropic",'
        ' "usage": {"prompt_tokens": 194, "completion_tokens": 2, "total_tokens": 196,'
        ' "prompt_tokens_details": {"cached_tokens": 50, "cache_write_tokens": 100,'
        ' "audio_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0},'
        ' "cost": 0.000123456789012345678, "is_byok": true,'
        ' "cost_details": {"upstream_inference_cost": 0.0019}}}'
    )
    found = usage_from_response(body)
    assert found == ResponseUsage(
        usage=Usage(
            input_tokens=194, output_tokens=2, cache_read_tokens=50, cache_write_tokens=100
        ),
        model="anthropic/claude-3.5-haiku",
        request_id="gen-1744",
        reported_cost=Decimal("0.000123456789012345678"),
        upstream_cost=Decimal("0.0019"),
        provider="openrouter",
    )


def test_openrouter_chat_keeps_anthropic_split_of_cache_writes() -> None:
    found = usage_from_response(
        chat(
            {
                "prompt_tokens": 500,
                "completion_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 300},
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 100,
                    "ephemeral_1h_input_tokens": 200,
                },
                "cost": 0.001,
                "cost_details": {"upstream_inference_cost": None},
            }
        )
    )
    assert found.usage == Usage(
        input_tokens=500, output_tokens=20, cache_write_tokens=300, cache_write_1h_tokens=200
    )
    assert found.reported_cost == Decimal("0.001")
    assert found.upstream_cost is None


def test_requesty_chat_names_cache_writes_caching_tokens() -> None:
    found = usage_from_response(
        b'{"id": "req-9", "model": "openai/gpt-4o-mini", "usage": {"prompt_tokens": 1200,'
        b' "completion_tokens": 80, "prompt_tokens_details": {"cached_tokens": 600,'
        b' "caching_tokens": 400}, "cost": 0.00004251}}'
    )
    assert found == ResponseUsage(
        usage=Usage(
            input_tokens=1200, output_tokens=80, cache_read_tokens=600, cache_write_tokens=400
        ),
        model="openai/gpt-4o-mini",
        request_id="req-9",
        reported_cost=Decimal("0.00004251"),
        provider="requesty",
    )


def test_given_provider_wins_over_the_shape() -> None:
    payload = chat({"prompt_tokens": 5, "completion_tokens": 1, "cost": 1, "cost_details": {}})
    assert usage_from_response(payload).provider == "openrouter"
    assert usage_from_response(payload, provider="acme").provider == "acme"


# Responses API


def test_responses_api_shape() -> None:
    found = usage_from_response(
        {
            "id": "resp_67cc",
            "object": "response",
            "model": "gpt-4o-mini",
            "usage": {
                "input_tokens": 328,
                "input_tokens_details": {"cached_tokens": 128, "cache_write_tokens": 64},
                "output_tokens": 52,
                "output_tokens_details": {"reasoning_tokens": 16},
                "total_tokens": 380,
            },
        }
    )
    assert found == ResponseUsage(
        usage=Usage(
            input_tokens=328,
            output_tokens=52,
            cache_read_tokens=128,
            cache_write_tokens=64,
            reasoning_tokens=16,
        ),
        model="gpt-4o-mini",
        request_id="resp_67cc",
    )


def test_responses_completed_event_is_read_through_its_response() -> None:
    event = {
        "type": "response.completed",
        "sequence_number": 9,
        "response": {
            "id": "resp_1",
            "model": "gpt-4o-mini",
            "usage": {"input_tokens": 7, "output_tokens": 3},
        },
    }
    found = usage_from_response(event)
    assert found.usage == Usage(input_tokens=7, output_tokens=3)
    assert found.request_id == "resp_1"


# Anthropic Messages


def test_anthropic_input_tokens_gain_cache_reads_and_writes() -> None:
    found = usage_from_response(
        {
            "id": "msg_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-3-5-haiku-20241022",
            "usage": {
                "input_tokens": 21,
                "cache_creation_input_tokens": 1500,
                "cache_read_input_tokens": 3000,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 1000,
                    "ephemeral_1h_input_tokens": 500,
                },
                "output_tokens": 393,
                "service_tier": "standard",
            },
        }
    )
    assert found == ResponseUsage(
        usage=Usage(
            input_tokens=4521,
            output_tokens=393,
            cache_read_tokens=3000,
            cache_write_tokens=1500,
            cache_write_1h_tokens=500,
        ),
        model="claude-3-5-haiku-20241022",
        request_id="msg_01",
        provider="anthropic",
        service_tier="standard",
    )


def test_anthropic_split_alone_gives_the_cache_writes() -> None:
    found = usage_from_response(
        {
            "usage": {
                "input_tokens": 10,
                "cache_creation_input_tokens": None,
                "cache_read_input_tokens": None,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": 30,
                    "ephemeral_1h_input_tokens": 40,
                },
                "output_tokens": 5,
            }
        }
    )
    assert found.usage == Usage(
        input_tokens=80, output_tokens=5, cache_write_tokens=70, cache_write_1h_tokens=40
    )


def test_anthropic_without_cache_fields_needs_type_or_provider() -> None:
    payload = {"type": "message", "usage": {"input_tokens": 12, "output_tokens": 4}}
    assert usage_from_response(payload).provider == "anthropic"
    bare = {"usage": {"input_tokens": 12, "output_tokens": 4}}
    assert usage_from_response(bare, provider="anthropic").usage == Usage(12, 4)
    assert usage_from_response(bare).provider is None


def test_anthropic_web_searches_and_thinking_tokens() -> None:
    found = usage_from_response(
        {
            "id": "msg_02",
            "type": "message",
            "model": "claude-sonnet-4-5-20250929",
            "usage": {
                "input_tokens": 2100,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 900,
                "output_tokens_details": {"thinking_tokens": 640},
                "server_tool_use": {"web_search_requests": 3, "web_fetch_requests": 1},
                "service_tier": "standard",
            },
        }
    )
    assert found.usage == Usage(input_tokens=2100, output_tokens=900, reasoning_tokens=640,
                                web_searches=3)


def test_anthropic_thinking_larger_than_the_output_is_refused() -> None:
    payload = {"type": "message", "usage": {
        "input_tokens": 5, "output_tokens": 10, "output_tokens_details": {"thinking_tokens": 11}}}
    with pytest.raises(ValueError, match=r"thinking_tokens \(11\) is larger than "
                                         r"usage.output_tokens \(10\)"):
        usage_from_response(payload)
    bad = {"type": "message", "usage": {
        "input_tokens": 5, "output_tokens": 10, "server_tool_use": {"web_search_requests": -1}}}
    with pytest.raises(ValueError, match="web_search_requests must be 0 or more"):
        usage_from_response(bad)


# missing and null details; no usage at all


@pytest.mark.parametrize("details", [None, {}, {"cached_tokens": None}, "missing"])
def test_missing_or_null_chat_details_count_as_no_part(details: Any) -> None:
    usage: dict[str, Any] = {"prompt_tokens": 9, "completion_tokens": 4}
    if details != "missing":
        usage["prompt_tokens_details"] = details
        usage["completion_tokens_details"] = details
    assert usage_from_response(chat(usage)).usage == Usage(input_tokens=9, output_tokens=4)


@pytest.mark.parametrize("details", [None, {}, {"cached_tokens": None, "reasoning_tokens": None}])
def test_missing_or_null_responses_details_count_as_no_part(details: Any) -> None:
    usage = {
        "input_tokens": 9,
        "output_tokens": 4,
        "input_tokens_details": details,
        "output_tokens_details": details,
    }
    assert usage_from_response({"usage": usage}).usage == Usage(input_tokens=9, output_tokens=4)


def test_a_missing_total_beside_a_present_one_is_zero() -> None:
    # embeddings answers report prompt tokens only
    found = usage_from_response({"usage": {"prompt_tokens": 8, "total_tokens": 8}})
    assert found.usage == Usage(input_tokens=8)


@pytest.mark.parametrize(
    "payload",
    [
        {"id": "chatcmpl-2", "model": "gpt-4o-mini", "choices": []},
        {"id": "chatcmpl-2", "model": "gpt-4o-mini", "usage": None},
        {"id": "chatcmpl-2", "model": "gpt-4o-mini", "usage": {}},
        {
            "id": "chatcmpl-2",
            "model": "gpt-4o-mini",
            "usage": {"prompt_tokens": None, "completion_tokens": None},
        },
        {
            "id": "chatcmpl-2",
            "model": "gpt-4o-mini",
            "usage": {"input_tokens": None, "output_tokens": None},
        },
        '{"id": "chatcmpl-2", "model": "gpt-4o-mini", "usage": null}',
    ],
)
def test_no_usage_is_none_not_zero(payload: Any) -> None:
    assert usage_from_response(payload) == ResponseUsage(
        usage=None, model="gpt-4o-mini", request_id="chatcmpl-2"
    )


# money: exact decimals


def test_json_text_keeps_every_digit_of_the_cost() -> None:
    found = usage_from_response(
        '{"usage": {"prompt_tokens": 1, "completion_tokens": 1, "cost": 1.0000000000000000001}}'
    )
    assert found.reported_cost == Decimal("1.0000000000000000001")


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        (0.95, Decimal("0.95")),
        (1.23e-05, Decimal("0.0000123")),
        (0.1, Decimal("0.1")),
        (0, Decimal(0)),
        (2, Decimal(2)),
        ("0.000015", Decimal("0.000015")),
        (Decimal("0.3"), Decimal("0.3")),
    ],
)
def test_costs_become_exact_decimals(cost: Any, expected: Decimal) -> None:
    found = usage_from_response(chat({"prompt_tokens": 1, "completion_tokens": 1, "cost": cost}))
    assert found.reported_cost == expected
    assert isinstance(found.reported_cost, Decimal)


@pytest.mark.parametrize("cost", ["abc", -0.5, float("nan"), float("inf"), True, [1]])
def test_a_bad_cost_is_an_error_naming_the_field(cost: Any) -> None:
    with pytest.raises(ValueError, match=r"usage\.cost must be"):
        usage_from_response(chat({"prompt_tokens": 1, "completion_tokens": 1, "cost": cost}))


def test_a_bad_upstream_cost_names_its_field() -> None:
    payload = chat(
        {
            "prompt_tokens": 1,
            "completion_tokens": 1,
            "cost_details": {"upstream_inference_cost": "x"},
        }
    )
    with pytest.raises(ValueError, match=r"usage\.cost_details\.upstream_inference_cost"):
        usage_from_response(payload)


def test_as_dict_writes_amounts_as_exact_text() -> None:
    found = usage_from_response(
        '{"id": "gen-1", "model": "m", "usage": {"prompt_tokens": 3, "completion_tokens": 2,'
        ' "cost": 0.0000150, "cost_details": {"upstream_inference_cost": null}}}'
    )
    assert found.as_dict() == {
        "usage": Usage(input_tokens=3, output_tokens=2).as_dict(),
        "model": "m",
        "request_id": "gen-1",
        "reported_cost": "0.000015",
        "upstream_cost": None,
        "provider": "openrouter",
        "service_tier": None,
    }
    assert json.loads(json.dumps(found.as_dict())) == found.as_dict()


# inconsistent or bad numbers


@pytest.mark.parametrize(
    ("usage", "part", "total"),
    [
        (
            {
                "prompt_tokens": 25,
                "completion_tokens": 1,
                "prompt_tokens_details": {"cached_tokens": 30},
            },
            r"usage\.prompt_tokens_details\.cached_tokens \(30\)",
            r"usage\.prompt_tokens \(25\)",
        ),
        (
            {
                "prompt_tokens": 25,
                "completion_tokens": 1,
                "prompt_tokens_details": {"caching_tokens": 26},
            },
            r"usage\.prompt_tokens_details\.caching_tokens \(26\)",
            r"usage\.prompt_tokens \(25\)",
        ),
        (
            {
                "prompt_tokens": 25,
                "completion_tokens": 1,
                "prompt_tokens_details": {"cached_tokens": 20, "cache_write_tokens": 10},
            },
            r"cached_tokens \+ usage\.prompt_tokens_details\.cache_write_tokens \(20 \+ 10\)",
            r"usage\.prompt_tokens \(25\)",
        ),
        (
            {
                "prompt_tokens": 25,
                "completion_tokens": 10,
                "completion_tokens_details": {"reasoning_tokens": 11},
            },
            r"usage\.completion_tokens_details\.reasoning_tokens \(11\)",
            r"usage\.completion_tokens \(10\)",
        ),
        (
            {"input_tokens": 5, "output_tokens": 1, "input_tokens_details": {"cached_tokens": 6}},
            r"usage\.input_tokens_details\.cached_tokens \(6\)",
            r"usage\.input_tokens \(5\)",
        ),
        (
            {
                "input_tokens": 5,
                "output_tokens": 1,
                "output_tokens_details": {"reasoning_tokens": 2},
            },
            r"usage\.output_tokens_details\.reasoning_tokens \(2\)",
            r"usage\.output_tokens \(1\)",
        ),
        (
            {
                "input_tokens": 5,
                "output_tokens": 1,
                "cache_creation_input_tokens": 10,
                "cache_creation": {"ephemeral_5m_input_tokens": 8, "ephemeral_1h_input_tokens": 4},
            },
            r"ephemeral_1h_input_tokens \(8 \+ 4\)",
            r"usage\.cache_creation_input_tokens \(10\)",
        ),
    ],
)
def test_a_part_larger_than_its_total_names_both(usage: Any, part: str, total: str) -> None:
    with pytest.raises(ValueError, match=part) as error:
        usage_from_response({"usage": usage})
    assert error.match(total)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, r"usage\.prompt_tokens must be 0 or more, got -1"),
        (2.5, r"usage\.prompt_tokens must be a whole number of tokens, got 2\.5"),
        ("12", r"usage\.prompt_tokens must be a whole number of tokens, got '12'"),
        (True, r"usage\.prompt_tokens must be a whole number of tokens, got True"),
    ],
)
def test_a_bad_count_names_its_field(value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        usage_from_response({"usage": {"prompt_tokens": value, "completion_tokens": 1}})


def test_whole_numbers_written_as_decimals_are_counts() -> None:
    found = usage_from_response('{"usage": {"prompt_tokens": 12.0, "completion_tokens": 3}}')
    assert found.usage == Usage(input_tokens=12, output_tokens=3)


def test_a_bad_details_object_names_its_field() -> None:
    with pytest.raises(ValueError, match=r"usage\.prompt_tokens_details must be an object"):
        usage_from_response({"usage": {"prompt_tokens": 3, "prompt_tokens_details": [1]}})


def test_usage_of_an_unknown_shape_lists_its_fields() -> None:
    with pytest.raises(ValueError, match=r"none of prompt_tokens.*it has tokens, total"):
        usage_from_response({"usage": {"total": 5, "tokens": 3}})


def test_usage_that_is_not_an_object() -> None:
    with pytest.raises(ValueError, match=r"usage must be an object of token counts, got 12"):
        usage_from_response({"usage": 12})


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        ("{not json", ValueError, "not valid JSON"),
        (b"[1, 2]", ValueError, "must be a JSON object, got list"),
        (42, TypeError, "takes a response as a dict, JSON text or an openai SDK object, got int"),
        (None, TypeError, "got NoneType"),
    ],
)
def test_a_payload_that_is_no_response(payload: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        usage_from_response(payload)


def test_provider_must_be_text() -> None:
    with pytest.raises(TypeError, match="provider must be a provider id"):
        usage_from_response({}, provider=1)  # type: ignore[arg-type]


def test_exported_from_costbook() -> None:
    assert costbook.usage_from_response is usage_from_response
    assert "usage_from_response" in costbook.__all__
    assert "ResponseUsage" in costbook.__all__


# real openai SDK objects from the local server


def test_sdk_chat_completion_each_provider_shape(llm_server: FakeLLMServer) -> None:
    client = llm_server.client()
    expected = Usage(
        input_tokens=25,
        output_tokens=10,
        cache_read_tokens=16,
        cache_write_tokens=4,
        reasoning_tokens=6,
    )
    for shape, cost, provider in [
        ("openai", None, None),
        ("openrouter", Decimal("0.0000123"), "openrouter"),
        ("requesty", Decimal("0.0000123"), "requesty"),
    ]:
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            extra_headers={"X-Fake-Scenario": f"{shape},cached,cache-write,reasoning"},
        )
        found = usage_from_response(completion)
        assert found.usage == expected, shape
        assert found.reported_cost == cost, shape
        assert found.provider == provider, shape
        assert found.model == "gpt-4o-mini"
        assert found.request_id == completion.id


def test_sdk_floats_lose_digits_that_raw_text_keeps(llm_server: FakeLLMServer) -> None:
    raw = llm_server.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        extra_headers={"X-Fake-Scenario": "openrouter", "X-Fake-Cost": "0.1000000000000000055511"},
    )
    from_text = usage_from_response(raw.http_response.content)
    from_object = usage_from_response(raw.parse())
    assert from_text.reported_cost == Decimal("0.1000000000000000055511")
    assert from_object.reported_cost == Decimal("0.1")


def test_sdk_final_stream_chunk(llm_server: FakeLLMServer) -> None:
    stream = llm_server.client().chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={"X-Fake-Scenario": "requesty,cached", "X-Fake-Cost": "0.00002"},
    )
    chunks = list(stream)
    found = usage_from_response(chunks[-1])
    assert found.usage == Usage(input_tokens=25, output_tokens=10, cache_read_tokens=16)
    assert found.reported_cost == Decimal("0.00002")
    assert [usage_from_response(c).usage for c in chunks[:-1]] == [None] * (len(chunks) - 1)


def test_sdk_fallback_model_is_the_one_answering(llm_server: FakeLLMServer) -> None:
    completion = llm_server.client().chat.completions.create(
        model="openai/gpt-4o-mini",
        messages=MESSAGES,
        extra_headers={"X-Fake-Scenario": "openrouter,fallback"},
    )
    assert usage_from_response(completion).model == "openai/gpt-4o"


def test_sdk_answers_without_usage(llm_server: FakeLLMServer) -> None:
    client = llm_server.client()
    headers = {"X-Fake-Scenario": "no-usage"}
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, extra_headers=headers
    )
    response = client.responses.create(model="gpt-4o-mini", input="hi", extra_headers=headers)
    assert usage_from_response(completion).usage is None
    assert usage_from_response(response).usage is None
    assert usage_from_response(response).request_id == response.id


def test_sdk_responses_object_and_stream(llm_server: FakeLLMServer) -> None:
    client = llm_server.client()
    headers = {"X-Fake-Scenario": "cached,reasoning", "X-Fake-Prompt-Tokens": "40"}
    expected = Usage(input_tokens=40, output_tokens=10, cache_read_tokens=16, reasoning_tokens=6)
    response = client.responses.create(model="gpt-4o-mini", input="hi", extra_headers=headers)
    assert usage_from_response(response).usage == expected
    events = list(
        client.responses.create(model="gpt-4o-mini", input="hi", stream=True, extra_headers=headers)
    )
    assert events[-1].type == "response.completed"
    assert usage_from_response(events[-1]).usage == expected
    assert usage_from_response(events[0]).usage is None  # response.created: no usage yet


def test_sdk_async_client(llm_server: FakeLLMServer) -> None:
    async def run() -> tuple[Any, Any]:
        async with llm_server.async_client() as client:
            completion = await client.chat.completions.create(
                model="gpt-4o-mini",
                messages=MESSAGES,
                extra_headers={"X-Fake-Scenario": "openrouter", "X-Fake-Upstream-Cost": "0.5"},
            )
            response = await client.responses.create(model="gpt-4o-mini", input="hi")
            return completion, response

    completion, response = asyncio.run(run())
    found = usage_from_response(completion)
    assert found.usage == Usage(input_tokens=25, output_tokens=10)
    assert (found.reported_cost, found.upstream_cost) == (Decimal("0.0000123"), Decimal("0.5"))
    assert usage_from_response(response).usage == Usage(input_tokens=25, output_tokens=10)


# Bounded parsing of JSON text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"usage": {"prompt_tokens": 1e1000000}}', "too large"),
        ('{"usage": {"prompt_tokens": 1E+999999999999999999}}', "too large"),
        ('{"usage": {"cost": 1e-999999999}}', "too large"),
        ('{"usage": {"prompt_tokens": ' + "9" * 5000 + "}}", "digits"),
        ('{"x": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),
        ('{"x": ' + '{"a":' * 5000 + "1" + "}" * 5000 + "}", "nested"),
        ('{"usage": {"prompt_tokens": NaN}}', "NaN"),
    ],
)
def test_json_text_is_parsed_with_bounds(text: str, message: str) -> None:
    import time

    started = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        usage_from_response(text)
    with pytest.raises(ValueError, match=message):
        usage_from_response(text.encode())
    assert time.perf_counter() - started < 1


def test_brackets_and_digits_inside_strings_are_text() -> None:
    text = json.dumps(chat({"prompt_tokens": 3, "completion_tokens": 1},
                           note="[" * 5000 + "9" * 5000))
    assert usage_from_response(text).usage == Usage(input_tokens=3, output_tokens=1)


@pytest.mark.parametrize("count", [2**63, 10**30, "1e400"])
def test_a_count_past_the_bound_is_a_clean_error(count: Any) -> None:
    text = f'{{"usage": {{"prompt_tokens": {count}, "completion_tokens": 1}}}}'
    with pytest.raises(ValueError, match=r"usage.prompt_tokens must be at most 2\*\*63 - 1"):
        usage_from_response(text)


# More providers' shapes, each as the provider sends it

def test_anthropic_thinking_tokens_web_searches_and_service_tier():
    payload = {
        "id": "msg_01", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5-20250929", "content": [], "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 10, "cache_read_input_tokens": 1000,
            "cache_creation_input_tokens": 200,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 200},
            "output_tokens": 100, "output_tokens_details": {"thinking_tokens": 40},
            "server_tool_use": {"web_search_requests": 2}, "service_tier": "priority",
        },
    }
    found = usage_from_response(payload)
    assert found.usage == Usage(input_tokens=1210, output_tokens=100, cache_read_tokens=1000,
                                cache_write_tokens=200, cache_write_1h_tokens=200,
                                reasoning_tokens=40, web_searches=2)
    assert (found.provider, found.service_tier) == ("anthropic", "priority")
    bad = json.loads(json.dumps(payload))
    bad["usage"]["output_tokens_details"]["thinking_tokens"] = 101
    with pytest.raises(ValueError, match=r"thinking_tokens \(101\) is larger than "
                                         r"usage.output_tokens \(100\)"):
        usage_from_response(bad)


REALTIME_DONE = {
    "type": "response.done", "event_id": "event_AB12",
    "response": {
        "object": "realtime.response", "id": "resp_AB12", "status": "completed",
        "output": [],
        "usage": {
            "total_tokens": 335, "input_tokens": 224, "output_tokens": 111,
            "input_token_details": {
                "text_tokens": 124, "audio_tokens": 100, "image_tokens": 0,
                "cached_tokens": 128,
                "cached_tokens_details": {"text_tokens": 64, "audio_tokens": 64,
                                          "image_tokens": 0},
            },
            "output_token_details": {"text_tokens": 31, "audio_tokens": 80},
        },
    },
}


def test_an_openai_realtime_response_done_event():
    found = usage_from_response(REALTIME_DONE)
    assert found.usage == Usage(input_tokens=224, output_tokens=111, cache_read_tokens=128,
                                audio_input_tokens=100, audio_cache_read_tokens=64,
                                audio_output_tokens=80)
    assert found.request_id == "resp_AB12"
    cost = costbook.price(found.usage, "gpt-4o-realtime-preview")
    # text: 60 uncached at $5/M, 64 cached at $2.50/M; audio: 36 uncached at $40/M, 64
    # cached at $2.50/M; output: 31 text at $20/M, 80 audio at $80/M
    assert cost.items == {"input": Decimal("0.0003"), "cache_read": Decimal("0.00016"),
                          "audio_input": Decimal("0.00144"),
                          "audio_cache_read": Decimal("0.00016"),
                          "output": Decimal("0.00062"), "audio_output": Decimal("0.0064")}
    bad = json.loads(json.dumps(REALTIME_DONE))
    bad["response"]["usage"]["input_token_details"]["cached_tokens_details"]["audio_tokens"] = 101
    with pytest.raises(ValueError, match=r"cached_tokens_details\.audio_tokens"):
        usage_from_response(bad)


@pytest.mark.parametrize("spelling", ["snake", "camel"])
def test_gemini_usage_metadata_output_is_candidates_plus_thoughts(spelling):
    counts = {"prompt_token_count": 1200, "cached_content_token_count": 1000,
              "candidates_token_count": 300, "thoughts_token_count": 700,
              "total_token_count": 2200}
    payload: dict[str, Any] = {"candidates": [], "usage_metadata": counts,
                               "model_version": "gemini-2.5-flash", "response_id": "r-1"}
    if spelling == "camel":
        def camel(name: str) -> str:
            head, *rest = name.split("_")
            return head + "".join(part.title() for part in rest)
        payload = {"candidates": [], "usageMetadata": {camel(k): v for k, v in counts.items()},
                   "modelVersion": "gemini-2.5-flash", "responseId": "r-1"}
    found = usage_from_response(payload)
    assert found.usage == Usage(input_tokens=1200, output_tokens=1000, cache_read_tokens=1000,
                                reasoning_tokens=700)
    assert (found.model, found.request_id) == ("gemini-2.5-flash", "r-1")
    cost = costbook.price(found.usage, "gemini-2.5-flash", provider="google")
    # 200 at $0.30/M, 1,000 cached at $0.03/M, 1,000 output (thoughts too) at $2.50/M
    assert cost.total == Decimal("0.00259")


def test_deepseek_cache_hits_are_cache_reads():
    found = usage_from_response({
        "id": "930c60df", "object": "chat.completion", "model": "deepseek-chat", "choices": [],
        "usage": {"prompt_tokens": 1500, "completion_tokens": 200, "total_tokens": 1700,
                  "prompt_tokens_details": None,
                  "prompt_cache_hit_tokens": 1200, "prompt_cache_miss_tokens": 300},
    })
    assert found.usage == Usage(input_tokens=1500, output_tokens=200, cache_read_tokens=1200)
    # a weekday at 02:00 UTC: DeepSeek V4.1 Flash's peak hours (deepseek-chat answers as it)
    cost = costbook.price(found.usage, "deepseek-chat", provider="deepseek",
                          at=datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc))
    # 300 misses at $0.30/M, 1,200 hits at $0.006/M, 200 output at $1.20/M
    assert cost.total == Decimal("0.0003372")
    with pytest.raises(ValueError, match="prompt_cache_hit_tokens"):
        usage_from_response({"model": "deepseek-chat", "usage": {
            "prompt_tokens": 10, "completion_tokens": 1, "prompt_cache_hit_tokens": 11}})


def test_bedrock_converse_input_tokens_exclude_cache_reads_and_writes():
    found = usage_from_response({
        "output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 50, "outputTokens": 20, "totalTokens": 1270,
                  "cacheReadInputTokens": 1000, "cacheWriteInputTokens": 200},
        "metrics": {"latencyMs": 412},
    }, provider="bedrock")
    assert found.usage == Usage(input_tokens=1250, output_tokens=20, cache_read_tokens=1000,
                                cache_write_tokens=200)
    without_cache = usage_from_response({"usage": {"inputTokens": 7, "outputTokens": 3,
                                                   "totalTokens": 10}})
    assert without_cache.usage == Usage(input_tokens=7, output_tokens=3)
