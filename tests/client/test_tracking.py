import asyncio
import contextlib
import gc
import json
import sqlite3
import threading
import time
from decimal import Decimal

import openai
import pytest

import costbook
from costbook import Budget, BudgetExceeded, Ledger, Usage, price, track
from costbook.pricing._money import usd
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


def what_the_sdk_raises_for_a_cut_stream(server):
    """The exception the untracked SDK raises when the server cuts a stream: costbook
    passes it through unchanged, whichever it is in the installed SDK version."""
    try:
        for _ in server.client().chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, stream=True,
                extra_headers=scenario("cut")):
            pass
    except Exception as exc:
        server.reset()
        return type(exc)
    raise AssertionError("the local server did not cut the stream")


def test_a_stream_cut_midway_is_recorded_incomplete_with_what_was_known(llm_server, ledger):
    raised = what_the_sdk_raises_for_a_cut_stream(llm_server)
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                            extra_headers=scenario("cut"))
    text = []
    with pytest.raises(raised):
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
    async def cut_untracked():
        stream = await llm_server.async_client().chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES, stream=True,
            extra_headers=scenario("cut"))
        try:
            async for _ in stream:
                pass
        except Exception as exc:  # whichever the installed SDK raises
            return type(exc)
        raise AssertionError("the local server did not cut the stream")

    raised = asyncio.run(cut_untracked())
    llm_server.reset()
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
        with pytest.raises(raised):
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
    assert [e.status for e in ledger.entries()] == ["ok", "ok", "refused"]
    refusal = ledger.entries()[2]
    assert (refusal.total, refusal.estimate_high, refusal.usage.requests) == (0, high, 0)
    assert refusal.refused_by == f"budget {usd(budget.limit)} (all time)"


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


def test_an_unknown_model_is_sent_and_recorded_unpriced_at_the_reported_charge(llm_server,
                                                                              ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openrouter")
    with pytest.warns(RuntimeWarning, match=r"acme/brand-new-model.*unpriced.*\$0\.0000123"
                      r".*costbook\.load.*costbook sync openrouter"):
        answer = client.chat.completions.create(model="acme/brand-new-model",
                                                messages=MESSAGES,
                                                extra_headers=scenario("openrouter"))
    assert answer.choices[0].message.content
    assert len(llm_server.requests) == 1
    [entry] = ledger.entries()
    assert (entry.status, entry.provider, entry.model) == (
        "unpriced", "openrouter", "acme/brand-new-model")
    assert entry.usage == Usage(input_tokens=25, output_tokens=10)
    assert entry.total == entry.reported_cost == Decimal("0.0000123")
    assert entry.items == {"reported": Decimal("0.0000123")}
    assert (entry.estimate_low, entry.estimate_high, entry.asked_model) == (None, None, None)
    assert ledger.total() == Decimal("0.0000123")


def test_an_unknown_model_without_a_reported_charge_counts_zero_and_says_so(llm_server,
                                                                          ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    with pytest.warns(RuntimeWarning, match=r"gpt-4o-mnii.*unpriced.*\$0, as the answer "
                      r"reported no charge.*COSTBOOK_PRICING_PATH"):
        client.chat.completions.create(model="gpt-4o-mnii", messages=MESSAGES)
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.total, entry.reported_cost) == (
        "unpriced", "gpt-4o-mnii", 0, None)
    assert entry.usage == Usage(input_tokens=25, output_tokens=10)


@pytest.mark.parametrize("how", ["budget", "max_cost", "refuse"])
def test_an_unknown_model_is_refused_before_any_request_under_a_limit(llm_server, ledger,
                                                                      how):
    budget = Budget("1", ledger=ledger) if how == "budget" else None
    client = track(llm_server.client(), ledger=None if budget else ledger, budget=budget,
                   provider="openrouter",
                   unknown_models="refuse" if how == "refuse" else None)
    with costbook.max_cost("1") if how == "max_cost" else contextlib.nullcontext(), \
            pytest.raises(costbook.UnknownModelError) as refused:
        client.chat.completions.create(model="acme/brand-new-model", messages=MESSAGES)
    assert llm_server.requests == []
    [entry] = ledger.entries()
    assert (entry.status, entry.total, entry.model, entry.estimate_high) == (
        "refused", 0, "acme/brand-new-model", None)
    assert entry.refused_by == {"budget": "budget $1.00 (all time)", "max_cost":
                                "max_cost $1.00", "refuse": "unknown_models='refuse'"}[how]
    message = str(refused.value)
    assert "'acme/brand-new-model'" in message and "not sent" in message
    assert "unknown_models='allow'" in message and "costbook.load" in message


def test_unknown_models_allow_sends_under_a_budget_and_counts_the_charge(llm_server, ledger):
    budget = Budget("1", ledger=ledger, tags={"app": "a"})
    client = track(llm_server.client(), budget=budget, provider="openrouter",
                   unknown_models="allow")
    with pytest.warns(RuntimeWarning, match="unpriced"), costbook.max_cost("1") as scope:
        client.chat.completions.create(model="acme/brand-new-model", messages=MESSAGES,
                                       extra_headers=scenario("openrouter", cost="0.25"))
        assert budget.reserved() == 0  # nothing was held while it ran
    [entry] = ledger.entries()
    assert (entry.status, entry.total, entry.tags) == ("unpriced", Decimal("0.25"), {"app": "a"})
    assert budget.spent() == Decimal("0.25") and budget.remaining() == Decimal("0.75")
    assert scope.spent == Decimal("0.25") and scope.calls == 1


def test_an_answered_model_no_table_knows_is_recorded_unpriced_with_the_asked_one(llm_server,
                                                                                ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openrouter")
    with pytest.warns(RuntimeWarning, match="acme/fallback-9.*unpriced"):
        client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES,
            extra_headers={**scenario("openrouter"), "X-Fake-Model": "acme/fallback-9"})
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.asked_model) == (
        "unpriced", "acme/fallback-9", "openai/gpt-4o-mini")
    assert entry.total == Decimal("0.0000123")
    assert entry.estimate_high is not None


@pytest.mark.parametrize("asked", ["openrouter/auto", "openai/gpt-4o-mini:nitro"])
def test_auto_and_routing_suffixes_record_the_answering_models_catalog_id(llm_server, ledger,
                                                                          asked):
    client = track(llm_server.client(), ledger=ledger, provider="openrouter")
    client.chat.completions.create(
        model=asked, messages=MESSAGES,
        extra_headers={**scenario("openrouter"), "X-Fake-Model": "openai/gpt-4o-mini"})
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.asked_model) == (
        "ok", "openai/gpt-4o-mini", asked)
    assert entry.total == table_cost(entry.usage)


def test_a_models_list_reserves_for_its_priciest_known_candidate(llm_server, ledger):
    budget = Budget("1", ledger=ledger)
    client = track(llm_server.client(), budget=budget, provider="openrouter")
    body = {"model": "openrouter/auto", "messages": MESSAGES, "max_tokens": 100}
    candidates = ["openai/gpt-4o-mini", "acme/unknown-1", "openai/gpt-4o"]
    highs = [costbook.estimate_request({**body, "model": m}, provider="openrouter").high.total
             for m in ("openai/gpt-4o-mini", "openai/gpt-4o")]
    seen = []
    client.chat.completions.create(
        **body, extra_body={"models": candidates},
        extra_headers={**scenario("openrouter", "fallback", delay="0.5")})
    seen.append(ledger.entries()[0].estimate_high)
    assert seen == [max(highs)] and highs[1] > highs[0]
    [request] = llm_server.requests
    assert request.body["models"] == candidates  # sent as the caller wrote it
    [entry] = ledger.entries()
    assert (entry.model, entry.asked_model, entry.overrun) == (
        "openai/gpt-4o", "openrouter/auto", None)


def test_auto_alone_is_an_unknown_model(llm_server, ledger):
    client = track(llm_server.client(), budget=Budget("1", ledger=ledger),
                   provider="openrouter")
    with pytest.raises(costbook.UnknownModelError, match="openrouter/auto"):
        client.chat.completions.create(model="openrouter/auto", messages=MESSAGES)
    assert llm_server.requests == []


def test_a_usage_part_the_table_cannot_price_is_recorded_unpriced_not_as_an_error(
        llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openrouter")
    # openai/gpt-4o-mini at OpenRouter has no per-search rate
    with pytest.warns(RuntimeWarning, match="per_web_search.*unpriced"):
        client.chat.completions.create(
            model="openai/gpt-4o-mini", messages=MESSAGES,
            extra_headers={**scenario("openrouter"), "X-Fake-Web-Searches": "2"})
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.total) == (
        "unpriced", "openai/gpt-4o-mini", Decimal("0.0000123"))
    assert entry.usage.web_searches == 2


def test_record_response_records_an_unknown_model_unpriced(ledger):
    payload = {"id": "gen-2", "model": "acme/new",
               "usage": {"prompt_tokens": 10, "completion_tokens": 5, "cost": "0.004"}}
    with pytest.warns(RuntimeWarning, match="unpriced"):
        entry = costbook.record_response(payload, ledger=ledger, provider="openrouter",
                                         model="openrouter/auto")
    assert (entry.status, entry.model, entry.asked_model, entry.total) == (
        "unpriced", "acme/new", "openrouter/auto", Decimal("0.004"))


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


# --- what the answer says decides the price ------------------------------------------------

@pytest.mark.parametrize(
    ("asked", "served", "priced_at"),
    [("priority", "priority", "priority"), ("priority", None, "priority"),
     ("auto", "default", "standard"), ("priority", "default", "standard"),
     (None, "priority", "priority"), ("batch", "batch", "batch")],
)
def test_the_service_tier_the_answer_names_prices_the_call(llm_server, ledger, asked, served,
                                                           priced_at):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    extra = {} if asked is None else {"service_tier": asked}
    headers = {} if served is None else {"X-Fake-Service-Tier": served}
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                   extra_headers=headers, **extra)
    [entry] = ledger.entries()
    expected = price(entry.usage, "gpt-4o-mini", provider="openai",
                     service_tier=None if priced_at == "standard" else priced_at)
    assert entry.status == "ok" and entry.total == expected.total
    if priced_at != "standard":
        assert entry.total != price(entry.usage, "gpt-4o-mini").total


def test_a_streamed_answers_service_tier_prices_it(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    stream = client.chat.completions.create(model="gpt-5-mini", messages=MESSAGES, stream=True,
                                            service_tier="flex",
                                            extra_headers={"X-Fake-Service-Tier": "flex"})
    list(stream)
    client.responses.create(model="gpt-5-mini", input="hi", service_tier="flex",
                            extra_headers={"X-Fake-Service-Tier": "flex"})
    for entry in ledger.entries():
        assert entry.total == price(entry.usage, "gpt-5-mini", service_tier="flex").total


def test_a_service_tier_the_table_lacks_is_recorded_unpriced(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    with pytest.warns(RuntimeWarning, match="no service tier 'scale'.*unpriced"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                       extra_headers={"X-Fake-Service-Tier": "scale"})
    assert [(e.status, e.total) for e in ledger.entries()] == [("unpriced", 0)]


def test_web_searches_are_priced_per_search(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="google")
    client.chat.completions.create(model="gemini-2.5-flash", messages=MESSAGES,
                                   extra_headers={"X-Fake-Web-Searches": "3"})
    [entry] = ledger.entries()
    assert entry.usage.web_searches == 3
    assert entry.items["web_search"] == Decimal("0.105")  # 3 x $0.035
    assert entry.total == price(entry.usage, "gemini-2.5-flash", provider="google").total


# --- Azure OpenAI: deployments are not models ------------------------------------------------

def test_an_azure_deployment_is_priced_by_the_model_the_answer_names(llm_server, ledger):
    budget = Budget("1", ledger=ledger)
    client = track(llm_server.azure_client(), budget=budget, provider="azure",
                   models={"prod-4o": "gpt-4o"})
    answer = client.chat.completions.create(model="prod-4o", messages=MESSAGES, max_tokens=50)
    [request] = llm_server.requests
    assert request.path == "/openai/deployments/prod-4o/chat/completions"
    assert answer.model == "gpt-4o-mini-2024-07-18"  # what Azure runs behind the deployment
    [entry] = ledger.entries()
    assert (entry.status, entry.provider, entry.model, entry.asked_model) == (
        "ok", "azure", "gpt-4o-mini", "prod-4o")
    assert entry.total == price(entry.usage, "gpt-4o-mini", provider="azure").total
    # the deployment's mapping estimated the call before it was sent
    high = costbook.estimate_request({"model": "gpt-4o", "messages": MESSAGES,
                                      "max_tokens": 50}, provider="azure").high.total
    assert entry.estimate_high == high
    assert budget.spent() == entry.total and budget.reserved() == 0


def test_an_unmapped_azure_deployment_is_an_unknown_model(llm_server, ledger):
    client = track(llm_server.azure_client(), ledger=ledger, provider="azure")
    with pytest.warns(RuntimeWarning, match="unpriced") as caught:
        client.chat.completions.create(model="my-deployment", messages=MESSAGES,
                                       extra_headers={"X-Fake-Model": "acme-secret-model"})
    assert "acme-secret-model" in str(caught[0].message)
    client.chat.completions.create(model="my-deployment", messages=MESSAGES)
    first, second = ledger.entries()
    assert (first.status, first.model, first.asked_model) == (
        "unpriced", "acme-secret-model", "my-deployment")
    # the answer names a model the table knows: priced, though the deployment was unknown
    assert (second.status, second.model, second.asked_model) == (
        "ok", "gpt-4o-mini", "my-deployment")
    assert second.total == price(second.usage, "gpt-4o-mini", provider="azure").total
    guarded = track(llm_server.azure_client(), budget=Budget("1", ledger=ledger),
                    provider="azure")
    llm_server.reset()
    with pytest.raises(costbook.UnknownModelError, match=r"models=.*'my-deployment'"):
        guarded.chat.completions.create(model="my-deployment", messages=MESSAGES)
    assert llm_server.requests == []


def test_a_data_zone_deployment_is_priced_at_the_zones_rates(llm_server, ledger):
    client = track(llm_server.azure_client(), ledger=ledger, provider="azure",
                   models={"eu-mini": "azure:eu/gpt-4o-mini", "us-4o": "azure:us/gpt-4o",
                           "global-mini": "gpt-4o-mini"})
    client.chat.completions.create(model="eu-mini", messages=MESSAGES, max_tokens=50)
    client.chat.completions.create(model="us-4o", messages=MESSAGES,
                                   extra_headers={"X-Fake-Model": "gpt-4o-2024-11-20"})
    client.chat.completions.create(model="global-mini", messages=MESSAGES)
    zone_mini, zone_4o, global_mini = ledger.entries()
    assert (zone_mini.status, zone_mini.model, zone_mini.asked_model) == (
        "ok", "eu/gpt-4o-mini", "eu-mini")
    assert zone_mini.usage == Usage(input_tokens=25, output_tokens=10)
    # 25 x $0.165/M + 10 x $0.66/M: 10% above the Global Standard $0.15/$0.60
    assert zone_mini.total == Decimal("0.000010725")
    assert zone_mini.total == price(zone_mini.usage, "azure:eu/gpt-4o-mini").total
    assert (zone_4o.model, zone_4o.total) == ("us/gpt-4o", Decimal("0.00017875"))
    assert (global_mini.model, global_mini.total) == ("gpt-4o-mini", Decimal("0.00000975"))


def test_azure_responses_and_a_bad_deployment_map(llm_server, ledger):
    client = track(llm_server.azure_client(), ledger=ledger, provider="azure",
                   models={"prod-mini": "gpt-4o-mini"})
    client.responses.create(model="prod-mini", input="Say hello.")
    [entry] = ledger.entries()
    assert (entry.model, entry.asked_model, entry.status) == ("gpt-4o-mini", "prod-mini", "ok")
    with pytest.raises(costbook.UnknownModelError, match="map 'prod' to a model"):
        track(llm_server.azure_client(), ledger=ledger, provider="azure",
              models={"prod": "gpt-4o-mnii"})


# --- the SDK's other doors ---------------------------------------------------------------------

def test_chat_completions_parse_is_recorded_once(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    parsed = client.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES,
                                           extra_headers=scenario("cached"))
    assert parsed.choices[0].message.content == "Hello from the local server."
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=25, output_tokens=10, cache_read_tokens=16)
    assert entry.total == price(entry.usage, "gpt-4o-mini").total
    assert entry.request_id == parsed.id


def test_the_chat_stream_helper_is_recorded_once(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openrouter")
    with client.chat.completions.stream(model="openai/gpt-4o-mini", messages=MESSAGES,
                                        extra_headers=scenario("openrouter")) as stream:
        text = "".join(e.delta for e in stream if e.type == "content.delta")
        final = stream.get_final_completion()
    assert text == "Hello from the local server." == final.choices[0].message.content
    [entry] = ledger.entries()
    assert (entry.status, entry.usage) == ("ok", Usage(input_tokens=25, output_tokens=10))
    assert entry.total == table_cost(entry.usage)
    assert entry.reported_cost == Decimal("0.0000123")


def test_the_responses_stream_helper_is_recorded_once(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    with client.responses.stream(model="gpt-4o-mini", input="Say hello.",
                                 extra_headers=scenario("reasoning")) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_text == "Hello from the local server."
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=25, output_tokens=10, reasoning_tokens=6)
    assert entry.total == price(entry.usage, "gpt-4o-mini").total


def test_the_async_helpers_are_recorded(llm_server, ledger):
    client = track(llm_server.async_client(), ledger=ledger, provider="openai")

    async def calls():
        await client.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES)
        async with client.chat.completions.stream(model="gpt-4o-mini",
                                                  messages=MESSAGES) as stream:
            async for _ in stream:
                pass
        async with client.responses.stream(model="gpt-4o-mini", input="hi") as stream:
            async for _ in stream:
                pass

    asyncio.run(calls())
    entries = ledger.entries()
    assert [e.status for e in entries] == ["ok", "ok", "ok"]
    assert all(e.total == price(e.usage, "gpt-4o-mini").total > 0 for e in entries)
