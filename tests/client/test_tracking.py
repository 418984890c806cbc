import asyncio
import gc
import json
import sqlite3
import threading
import time
import warnings
from decimal import Decimal

import openai
import pytest

import costbook
from costbook import Budget, BudgetExceeded, Ledger, Usage, price, track
from fake_headers import scenario
from fake_llm_server import API_KEY, PROMPT_TOKENS
from table_factory import write_one_model_table

MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def table_cost(usage, model="openai/gpt-4o-mini", provider="openrouter"):
    return price(usage, model, provider=provider).total


# --- non-streamed calls ------------------------------------------------------------------

def test_an_openrouter_call_is_priced_and_recorded(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openrouter", tags={"app": "t"})
    answer = client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=MESSAGES, max_tokens=50,
        extra_headers={**scenario("openrouter"), "HTTP-Referer": "https://example.com",
                       "X-Title": "costbook tests"},
    )
    assert answer.choices[0].message.content
    [entry] = ledger.entries()
    assert entry.status == "ok"
    assert (entry.provider, entry.model) == ("openrouter", "openai/gpt-4o-mini")
    assert entry.usage == Usage(input_tokens=PROMPT_TOKENS, output_tokens=10)
    assert entry.total == table_cost(entry.usage) == Decimal("0.00000975")
    assert entry.reported_cost == Decimal("0.0000123")
    assert entry.request_id == answer.id and answer.id.startswith("gen-")
    assert entry.tags == {"app": "t"}
    assert entry.estimate_low is not None and entry.estimate_high is not None
    assert entry.estimate_low < entry.total < entry.estimate_high
    # the request went out as the caller wrote it, headers included
    [request] = llm_server.requests
    assert request.headers["http-referer"] == "https://example.com"
    assert request.headers["x-title"] == "costbook tests"
    assert request.body == {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "max_tokens": 50}


def test_requesty_cache_writes_and_reads(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="requesty")
    client.chat.completions.create(
        model="openai/gpt-4o-mini", messages=MESSAGES,
        extra_headers=scenario("requesty", "cached", "cache-write", prompt_tokens=1000),
    )
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=1000, output_tokens=10, cache_read_tokens=16,
                                cache_write_tokens=4)
    assert entry.items == {"input": Decimal("0.000147"), "cache_read": Decimal("0.00000112"),
                           "cache_write": Decimal("0.0000006"), "output": Decimal("0.000006")}
    assert entry.request_id.startswith("req-")


def test_openai_cached_and_reasoning_tokens(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                   extra_headers=scenario("cached", "reasoning"))
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=25, output_tokens=10, cache_read_tokens=16,
                                reasoning_tokens=6)
    assert entry.total == table_cost(entry.usage, "gpt-4o-mini", "openai")
    assert entry.reported_cost is None


def test_a_fallback_model_is_priced_as_the_model_that_answered(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openrouter")
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES,
                                   extra_headers=scenario("openrouter", "fallback"))
    [entry] = ledger.entries()
    assert entry.model == "openai/gpt-4o"
    assert entry.total == table_cost(entry.usage, "openai/gpt-4o")
    assert entry.total > table_cost(entry.usage)


def test_an_answer_without_usage_is_recorded_incomplete_with_counted_tokens(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                            extra_headers=scenario("no-usage"))
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    counted_output = costbook.count_tokens(answer.choices[0].message.content, "gpt-4o-mini")
    assert entry.usage.output_tokens == counted_output > 0
    assert entry.usage.input_tokens == costbook.count_message_tokens(MESSAGES, "gpt-4o-mini")
    assert entry.total > 0


@pytest.mark.parametrize(
    ("words", "error"),
    [(("rate-limit",), openai.RateLimitError), (("server-error",), openai.InternalServerError)],
)
def test_api_errors_reach_the_caller_and_are_recorded(llm_server, ledger, words, error):
    budget = Budget("1", ledger=ledger)
    client = track(llm_server.client(), budget=budget, provider="openai")
    with pytest.raises(error):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                       extra_headers=scenario(*words))
    [entry] = ledger.entries()
    assert entry.status == "error"
    assert entry.total == 0
    assert budget.remaining() == Decimal("1")
    assert budget.status().reserved == 0


def test_a_malformed_answer_is_recorded_as_an_error(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    with pytest.raises(json.JSONDecodeError):  # what the SDK raises for a body that is not JSON
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                       extra_headers=scenario("malformed"))
    assert [e.status for e in ledger.entries()] == ["error"]


def test_a_timeout_is_recorded_as_an_error(llm_server, ledger):
    client = track(llm_server.client(timeout=0.2), ledger=ledger, provider="openai")
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                       extra_headers={"X-Fake-Delay": "1"})
    assert [e.status for e in ledger.entries()] == ["error"]


# --- streams ---------------------------------------------------------------------------------

def test_a_stream_is_recorded_when_it_ends_and_the_usage_chunk_stays_hidden(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openrouter")
    stream = client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES,
                                            stream=True, extra_headers=scenario("openrouter"))
    chunks = list(stream)
    assert all(chunk.choices for chunk in chunks)
    assert all(chunk.usage is None for chunk in chunks)
    [request] = llm_server.requests
    assert request.body["stream_options"] == {"include_usage": True}
    [entry] = ledger.entries()
    assert entry.status == "ok"
    assert entry.usage == Usage(input_tokens=25, output_tokens=10)
    assert entry.reported_cost == Decimal("0.0000123")


def test_a_caller_who_asked_for_usage_sees_the_usage_chunk(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    with client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                        stream_options={"include_usage": True}) as stream:
        chunks = list(stream)
    assert chunks[-1].usage.prompt_tokens == 25 and chunks[-1].choices == []
    assert [e.status for e in ledger.entries()] == ["ok"]


def test_a_stream_cut_midway_is_recorded_incomplete_with_what_was_known(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                            extra_headers=scenario("cut"))
    text = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            text.append(chunk.choices[0].delta.content or "")
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage.output_tokens == costbook.count_tokens("".join(text), "gpt-4o-mini") > 0
    assert entry.usage.input_tokens == costbook.count_message_tokens(MESSAGES, "gpt-4o-mini")
    assert entry.estimate_high is not None


def test_a_stream_closed_early_is_recorded_incomplete(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    first = next(stream)
    stream.close()
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage.output_tokens == costbook.count_tokens(
        first.choices[0].delta.content or "", "gpt-4o-mini")


def test_a_stream_dropped_unfinished_is_still_recorded(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    next(stream)
    del stream
    gc.collect()
    assert [e.status for e in ledger.entries()] == ["incomplete"]


# --- the Responses API -------------------------------------------------------------------

def test_responses_create(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    answer = client.responses.create(model="gpt-4o-mini", input="Say hello.",
                                     extra_headers=scenario("cached", "reasoning"))
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=25, output_tokens=10, cache_read_tokens=16,
                                reasoning_tokens=6)
    assert entry.request_id == answer.id


def test_responses_stream(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    events = list(client.responses.create(model="gpt-4o-mini", input="Say hello.", stream=True))
    assert events[-1].type == "response.completed"
    [entry] = ledger.entries()
    assert entry.status == "ok" and entry.usage == Usage(input_tokens=25, output_tokens=10)


# --- async ------------------------------------------------------------------------------------

def test_the_async_client(llm_server, ledger):
    client = track(llm_server.async_client(), ledger=ledger, provider="openrouter")

    async def calls():
        await client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES,
                                             extra_headers=scenario("openrouter"))
        stream = await client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True)
        chunks = [chunk async for chunk in stream]
        assert all(chunk.choices for chunk in chunks)
        await client.responses.create(model="openai/gpt-4o-mini", input="hi")
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES,
                                                 extra_headers=scenario("rate-limit"))
        stream = await client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True,
            extra_headers=scenario("cut"))
        with pytest.raises(openai.APIConnectionError):
            async for _ in stream:
                pass

    asyncio.run(calls())
    assert [e.status for e in ledger.entries()] == ["ok", "ok", "ok", "error", "incomplete"]
    assert ledger.entries()[0].reported_cost == Decimal("0.0000123")


# --- budgets, tags, providers, secrets ------------------------------------------------------

def test_a_budget_refuses_the_third_call_before_any_request(llm_server, ledger):
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 1000}
    high = costbook.estimate_request(body, provider="openai").high.total
    actual = price(Usage(input_tokens=25, output_tokens=200), "gpt-4o-mini").total
    budget = Budget(2 * actual + high - Decimal("0.000001"), ledger=ledger)
    client = track(llm_server.client(), budget=budget, provider="openai")
    headers = scenario(completion_tokens=200)
    client.chat.completions.create(**body, extra_headers=headers)
    client.chat.completions.create(**body, extra_headers=headers)
    with pytest.raises(BudgetExceeded) as refused:
        client.chat.completions.create(**body, extra_headers=headers)
    assert len(llm_server.requests) == 2
    assert "limit" in str(refused.value)
    assert budget.spent() == 2 * actual
    assert len(ledger.entries()) == 2


def test_per_call_tags_do_not_change_the_request(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai", tags={"app": "a"})
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    with costbook.tagged(user="u-1", app="b"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    first, second = llm_server.requests
    assert first.body == second.body
    assert {k: v for k, v in first.headers.items() if k.lower() != "x-stainless-retry-count"} \
        .keys() == {k: v for k, v in second.headers.items()
                    if k.lower() != "x-stainless-retry-count"}.keys()
    assert [e.tags for e in ledger.entries()] == [{"app": "a"}, {"app": "b", "user": "u-1"}]


def test_with_options_keeps_tracking(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    client.with_options(timeout=5).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert len(ledger.entries()) == 1


def test_the_original_client_is_left_untracked(llm_server, ledger):
    original = llm_server.client()
    track(original, ledger=ledger, provider="openai")
    original.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert ledger.entries() == []


def test_an_unknown_base_url_needs_a_provider(llm_server, ledger):
    with pytest.raises(costbook.CostbookError, match="provider="):
        track(llm_server.client(), ledger=ledger)


@pytest.mark.parametrize(
    ("base_url", "provider"),
    [("https://openrouter.ai/api/v1", "openrouter"), ("https://router.requesty.ai/v1", "requesty"),
     ("https://api.openai.com/v1", "openai")],
)
def test_the_provider_comes_from_the_base_url(ledger, base_url, provider):
    client = track(openai.OpenAI(api_key="sk-x", base_url=base_url), ledger=ledger)
    assert client.chat.completions.create.__wrapped__  # tracked
    assert costbook.client._tracking.provider_for_client(base_url) == provider


def test_an_unknown_model_is_refused_before_sending(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    with pytest.raises(costbook.UnknownModelError, match="gpt-4o-mnii"):
        client.chat.completions.create(model="gpt-4o-mnii", messages=MESSAGES)
    assert llm_server.requests == []


def test_a_client_is_tracked_once(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    with pytest.raises(ValueError, match="tracked already"):
        track(client, ledger=ledger)


def test_no_api_key_in_the_ledger_or_in_messages(llm_server, tmp_path, caplog, recwarn):
    path = tmp_path / "secret-check.sqlite"
    ledger = Ledger(path)
    client = track(llm_server.client(), ledger=ledger, provider="openrouter")
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES,
                                   extra_headers=scenario("openrouter", "fallback"))
    errors = []
    for words in (("rate-limit",), ("server-error",), ("cut",)):
        try:
            result = client.chat.completions.create(
                model="openai/gpt-4o-mini", messages=MESSAGES, stream="cut" in words,
                extra_headers=scenario(*words))
            list(result)
        except Exception as exc:  # every message is checked below
            errors.append(f"{exc!r} {exc}")
    ledger.close()
    assert len(errors) == 3
    raw = path.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("*-wal"))
    assert API_KEY.encode() not in raw
    with sqlite3.connect(path) as db:
        dump = "\n".join(db.iterdump())
    assert API_KEY not in dump and "Bearer" not in dump
    for text in errors + [r.getMessage() for r in caplog.records] + [str(w.message) for w in recwarn]:
        assert API_KEY not in text


def test_record_response_for_other_clients(ledger):
    payload = {"id": "gen-1", "model": "openai/gpt-4o-mini",
               "usage": {"prompt_tokens": 100_000, "completion_tokens": 10_000, "cost": 0.021}}
    entry = costbook.record_response(payload, ledger=ledger, provider="requesty",
                                     tags={"via": "httpx"})
    assert entry.total == Decimal("0.021")
    assert entry.reported_cost == Decimal("0.021")
    assert entry.tags == {"via": "httpx"}
    with pytest.raises(ValueError, match="reports no usage"):
        costbook.record_response({"model": "gpt-4o-mini"}, ledger=ledger, provider="openai")


def test_an_answer_naming_an_unknown_model_is_priced_as_asked_with_a_warning(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                       extra_headers={"X-Fake-Model": "gpt-9-unknown"})
    assert any("gpt-9-unknown" in str(w.message) for w in caught)
    [entry] = ledger.entries()
    assert entry.model == "gpt-4o-mini"


def test_cached_tokens_without_a_cache_read_rate_bill_as_input(llm_server, ledger, tmp_path):
    write_one_model_table(tmp_path / "acme.yaml", provider="acme", model="acme-1")
    costbook.load(tmp_path / "acme.yaml")
    try:
        client = track(llm_server.client(), ledger=ledger, provider="acme")
        client.chat.completions.create(model="acme-1", messages=MESSAGES,
                                       extra_headers=scenario("openrouter", "cached"))
    finally:
        costbook.pricing._catalog.reset()
    [entry] = ledger.entries()
    assert entry.status == "ok"
    assert entry.usage == Usage(input_tokens=25, output_tokens=10, cache_read_tokens=16)
    assert entry.reported_cost == Decimal("0.0000123")
    # 25 input tokens at $1/M (cache reads at the input rate: no discount is assumed)
    # and 10 output tokens at $2/M
    assert entry.total == Decimal("0.000045")


# --- reservations that meet the real cost ------------------------------------------------

def test_a_fallback_to_a_pricier_model_is_recorded_in_full_and_marked(llm_server, ledger):
    budget = Budget("1", ledger=ledger)
    client = track(llm_server.client(), budget=budget, provider="openrouter")
    body = {"model": "openai/gpt-4o-mini", "messages": MESSAGES, "max_tokens": 10}
    high = costbook.estimate_request(body, provider="openrouter").high.total
    client.chat.completions.create(**body, extra_headers=scenario("openrouter", "fallback"))
    [entry] = ledger.entries()
    assert entry.model == "openai/gpt-4o" and entry.total > high
    assert entry.overrun == entry.total - high and entry.late is False
    status = budget.status()
    assert (status.spent, status.overrun, status.reserved) == (entry.total, entry.overrun, 0)


def test_a_call_outliving_the_budget_ttl_keeps_its_reservation(llm_server, ledger):
    budget = Budget("1", ledger=ledger, ttl=0.3)
    client = track(llm_server.client(), budget=budget, provider="openai")
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 100}
    high = costbook.estimate_request(body, provider="openai").high.total
    during = []
    call = threading.Thread(target=lambda: client.chat.completions.create(
        **body, extra_headers=scenario(delay=1.2)))
    call.start()
    time.sleep(0.9)  # three times the ttl into the call
    during.append(budget.reserved())
    call.join(timeout=30)
    assert during == [high]
    [entry] = ledger.entries()
    assert (entry.late, entry.overrun) == (False, None)
    assert budget.reserved() == 0


# --- an answer whose usage is invalid is returned, and recorded ----------------------------

INVALID_USAGES = {
    "negative": '{"prompt_tokens": -5, "completion_tokens": 10, "cost": 0.0000123}',
    "cached-over-prompt": '{"prompt_tokens": 25, "completion_tokens": 10, "cost": 0.0000123,'
                          ' "prompt_tokens_details": {"cached_tokens": 40}}',
    "string": '{"prompt_tokens": "25", "completion_tokens": 10, "cost": 0.0000123}',
    "huge": '{"prompt_tokens": 1e400, "completion_tokens": 10, "cost": 0.0000123}',
    "past-2**63": '{"prompt_tokens": 9223372036854775808, "completion_tokens": 10,'
                  ' "cost": 0.0000123}',
    "not-an-object": '"lots"',
    "a-list": "[25, 10]",
}


def counted_input():
    return costbook.count_message_tokens(MESSAGES, "openai/gpt-4o-mini")


def check_invalid_entry(ledger, kind):
    [entry] = ledger.entries()
    assert entry.status == "invalid_usage"
    if kind in ("not-an-object", "a-list"):
        assert entry.reported_cost is None
        assert entry.usage.input_tokens == counted_input()
        assert entry.usage.output_tokens == costbook.count_tokens(
            "Hello from the local server.", "openai/gpt-4o-mini")
    else:
        assert entry.reported_cost == Decimal("0.0000123")
        assert entry.usage.output_tokens == 10  # what could be read is kept
        expected_input = 25 if kind == "cached-over-prompt" else counted_input()
        assert entry.usage.input_tokens == expected_input
        assert entry.usage.cache_read_tokens == 0
    assert entry.total == table_cost(entry.usage) > 0
    return entry


@pytest.mark.parametrize("kind", INVALID_USAGES)
def test_an_answer_with_invalid_usage_reaches_the_caller_and_is_recorded(llm_server, ledger,
                                                                          kind):
    budget = Budget("1", ledger=ledger)
    client = track(llm_server.client(), budget=budget, provider="openrouter")
    with pytest.warns(RuntimeWarning, match="usage"), costbook.max_cost("1") as scope:
        answer = client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES,
            extra_headers={"X-Fake-Usage": INVALID_USAGES[kind]})
    assert answer.choices[0].message.content == "Hello from the local server."
    entry = check_invalid_entry(ledger, kind)
    assert budget.status().reserved == 0 and budget.spent() == entry.total
    assert scope.calls == 1 and scope.spent == entry.total


@pytest.mark.parametrize("kind", ["negative", "not-an-object", "past-2**63"])
def test_a_stream_with_invalid_usage_reaches_the_caller_and_is_recorded(llm_server, ledger,
                                                                         kind):
    budget = Budget("1", ledger=ledger)
    client = track(llm_server.client(), budget=budget, provider="openrouter")
    with pytest.warns(RuntimeWarning, match="usage"):
        stream = client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True,
            extra_headers={"X-Fake-Usage": INVALID_USAGES[kind]})
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    assert text == "Hello from the local server."
    check_invalid_entry(ledger, kind)
    assert budget.status().reserved == 0


@pytest.mark.parametrize("kind", ["cached-over-prompt", "string", "huge"])
def test_the_async_client_with_invalid_usage(llm_server, ledger, kind):
    budget = Budget("1", ledger=ledger)
    client = track(llm_server.async_client(), budget=budget, provider="openrouter")
    headers = {"X-Fake-Usage": INVALID_USAGES[kind]}

    async def calls():
        with costbook.max_cost("1") as scope:
            answer = await client.chat.completions.create(
                model="openai/gpt-4o-mini", messages=MESSAGES, extra_headers=headers)
            stream = await client.chat.completions.create(
                model="openai/gpt-4o-mini", messages=MESSAGES, stream=True,
                extra_headers=headers)
            chunks = [chunk async for chunk in stream]
        return answer, chunks, scope

    with pytest.warns(RuntimeWarning, match="usage"):
        answer, chunks, scope = asyncio.run(calls())
    assert answer.choices[0].message.content == "Hello from the local server."
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == answer.choices[0] \
        .message.content
    assert [e.status for e in ledger.entries()] == ["invalid_usage", "invalid_usage"]
    assert budget.status().reserved == 0 and scope.calls == 2


def test_responses_with_invalid_usage(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    headers = {"X-Fake-Usage": '{"input_tokens": 25, "output_tokens": -1}'}
    with pytest.warns(RuntimeWarning, match="output_tokens"):
        answer = client.responses.create(model="gpt-4o-mini", input="Say hello.",
                                         extra_headers=headers)
        events = list(client.responses.create(model="gpt-4o-mini", input="Say hello.",
                                              stream=True, extra_headers=headers))
    assert answer.output_text == "Hello from the local server."
    assert events[-1].type == "response.completed"
    entries = ledger.entries()
    assert [e.status for e in entries] == ["invalid_usage", "invalid_usage"]
    assert [e.usage.input_tokens for e in entries] == [25, 25]
    assert all(e.usage.output_tokens > 0 for e in entries)


def test_record_response_refuses_a_count_past_the_bound(ledger):
    payload = {"model": "gpt-4o-mini", "usage": {"prompt_tokens": 2**63, "completion_tokens": 1}}
    with pytest.raises(ValueError, match=r"prompt_tokens must be at most 2\*\*63 - 1"):
        costbook.record_response(payload, ledger=ledger, provider="openai")
    assert ledger.entries() == []


# --- a ledger that fails after the call ------------------------------------------------------

def test_a_locked_ledger_spools_the_call_and_the_caller_gets_the_answer(llm_server, tmp_path):
    path = tmp_path / "locked.sqlite"
    ledger = Ledger(path, timeout=0.2)
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    with pytest.warns(RuntimeWarning, match=r"locked.*locked\.sqlite\.spool"):
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        with pytest.raises(openai.RateLimitError):  # the SDK's own error, not the ledger's
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                           extra_headers=scenario("rate-limit"))
        with costbook.max_cost("1", ledger=ledger) as scope:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert answer.choices[0].message.content
    assert scope.calls == 1 and scope.spent > 0
    assert ledger.spooled() == 3
    lock.execute("COMMIT")
    lock.close()
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    entries = ledger.entries()
    assert [e.status for e in entries] == ["ok", "error", "ok", "ok"]
    assert entries[0].request_id == answer.id
    assert ledger.spooled() == 0
    ledger.close()


# --- secrets: key-shaped ids, and the client's own key ----------------------------------------

def test_a_key_shaped_answer_id_is_left_out_and_the_answer_returned(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    shaped = "AKIA" + "IOSFODNN7EXAMPLE"
    with pytest.warns(RuntimeWarning, match="request id"):
        answer = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                                extra_headers={"X-Fake-Id": shaped})
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES,
                extra_headers={**scenario("rate-limit"), "X-Fake-Request-Id": "hf_" + "a1" * 17})
    assert answer.id == shaped
    assert [(e.status, e.request_id) for e in ledger.entries()] == [("ok", None), ("error", None)]


def test_nothing_containing_the_clients_own_key_is_stored(llm_server, tmp_path, recwarn):
    key = "Zq7vWm2pLx9tRb4nKc8dHy3s"  # no known key shape: only the client knows it is a key
    path = tmp_path / "own-key.sqlite"
    ledger = Ledger(path)
    client = track(openai.OpenAI(base_url=llm_server.base_url, api_key=key, max_retries=0),
                   ledger=ledger, provider="openai")
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                            extra_headers={"X-Fake-Id": key})
    assert answer.id == key
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                   extra_headers={"X-Fake-Id": f"chatcmpl-{key}-1"})
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES,
            extra_headers={**scenario("server-error"), "X-Fake-Request-Id": key})
    llm_server.reset()
    with costbook.tagged(user=key), pytest.raises(ValueError, match="API key"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert llm_server.requests == []  # refused before sending
    with pytest.raises(ValueError, match="API key"):
        track(openai.OpenAI(base_url=llm_server.base_url, api_key=key), ledger=ledger,
              provider="openai", tags={"note": f"key {key}"})
    assert [e.request_id for e in ledger.entries()] == [None, None, None]
    ledger.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert key.encode() not in raw
    for w in recwarn:
        assert key not in str(w.message)
