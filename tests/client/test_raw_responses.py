"""with_raw_response and with_streaming_response through the real openai SDK: the caller gets
the SDK's response objects, and each call is recorded once with its exact cost."""

import asyncio
import gc
import json
from decimal import Decimal

import pytest

from costbook import Budget, BudgetExceeded, Ledger, Usage, count_message_tokens, price, track

MESSAGES = [{"role": "user", "content": "Say hello."}]
USAGE = Usage(input_tokens=25, output_tokens=10)


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def mini_cost(usage=USAGE):
    return price(usage, "gpt-4o-mini").total


def test_with_raw_response_gives_the_raw_response_and_records(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini",
                                                           messages=MESSAGES)
    assert raw.headers["x-request-id"].startswith("req_fake_")
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hello from the local server."
    raw.parse()
    [entry] = ledger.entries()
    assert (entry.status, entry.usage, entry.total) == ("ok", USAGE, mini_cost())
    assert entry.request_id == completion.id


def test_with_raw_response_of_a_stream_records_when_the_stream_ends(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini",
                                                           messages=MESSAGES, stream=True)
    assert ledger.entries() == []
    chunks = list(raw.parse())
    assert all(chunk.choices for chunk in chunks)  # the usage chunk costbook asked for is hidden
    [entry] = ledger.entries()
    assert (entry.status, entry.usage, entry.total) == ("ok", USAGE, mini_cost())


def test_with_raw_response_of_parse_and_responses(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    parsed = client.chat.completions.with_raw_response.parse(
        model="gpt-4o-mini", messages=MESSAGES).parse()
    assert parsed.choices[0].message.content
    raw = client.responses.with_raw_response.create(model="gpt-4o-mini", input="hi")
    assert raw.parse().output_text == "Hello from the local server."
    assert [(e.status, e.total) for e in ledger.entries()] == [("ok", mini_cost())] * 2


def test_with_streaming_response_records_what_the_caller_reads(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openrouter")
    create = client.chat.completions.with_streaming_response.create
    with create(model="openai/gpt-4o-mini", messages=MESSAGES,
                extra_headers={"X-Fake-Scenario": "openrouter"}) as response:
        assert response.headers["content-type"] == "application/json"
        completion = response.parse()
    with create(model="openai/gpt-4o-mini", messages=MESSAGES,
                extra_headers={"X-Fake-Scenario": "openrouter", "X-Fake-Cost": "0.00001234"}
                ) as response:
        data = json.loads(response.text())
    with create(model="openai/gpt-4o-mini", messages=MESSAGES, stream=True) as response:
        text = "".join(c.choices[0].delta.content or "" for c in response.parse())
    assert completion.choices[0].message.content == text == data["choices"][0]["message"][
        "content"]
    entries = ledger.entries()
    assert [e.status for e in entries] == ["ok", "ok", "ok"]
    expected = price(USAGE, "openai/gpt-4o-mini", provider="openrouter").total
    assert all(e.usage == USAGE and e.total == expected for e in entries)
    # from the JSON text, the reported cost keeps every digit
    assert [e.reported_cost for e in entries] == [Decimal("0.0000123"), Decimal("0.00001234"),
                                                  None]


def test_a_streaming_response_closed_unread_is_recorded_incomplete(llm_server, ledger):
    budget = Budget("1", ledger=ledger)
    client = track(llm_server.client(), budget=budget, provider="openai")
    with client.chat.completions.with_streaming_response.create(
            model="gpt-4o-mini", messages=MESSAGES) as response:
        assert response.status_code == 200
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage == Usage(input_tokens=count_message_tokens(MESSAGES, "gpt-4o-mini"))
    assert budget.reserved() == 0


def test_a_streaming_response_is_refused_before_sending_over_budget(llm_server, ledger):
    client = track(llm_server.client(), budget=Budget("0", ledger=ledger), provider="openai")
    manager = client.chat.completions.with_streaming_response.create(model="gpt-4o-mini",
                                                                     messages=MESSAGES)
    with pytest.raises(BudgetExceeded), manager:
        pass
    assert llm_server.requests == []
    assert [(e.status, e.refused_by) for e in ledger.entries()] == [
        ("refused", "budget $0.00 (all time)")]


def test_a_dropped_raw_stream_is_still_recorded(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini",
                                                           messages=MESSAGES, stream=True)
    del raw
    gc.collect()
    assert [e.status for e in ledger.entries()] == ["incomplete"]


def test_the_async_raw_and_streaming_responses(llm_server, ledger):
    client = track(llm_server.async_client(), ledger=ledger, provider="openai")

    async def calls():
        raw = await client.chat.completions.with_raw_response.create(model="gpt-4o-mini",
                                                                     messages=MESSAGES)
        raw.parse()
        raw = await client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True)
        async for _ in raw.parse():
            pass
        async with client.chat.completions.with_streaming_response.create(
                model="gpt-4o-mini", messages=MESSAGES) as response:
            await response.parse()
        async with client.responses.with_streaming_response.create(
                model="gpt-4o-mini", input="hi", stream=True) as response:
            async for _ in await response.parse():
                pass
        async with client.chat.completions.with_streaming_response.create(
                model="gpt-4o-mini", messages=MESSAGES) as response:
            await response.json()

    asyncio.run(calls())
    entries = ledger.entries()
    assert [e.status for e in entries] == ["ok"] * 5
    assert all(e.usage == USAGE and e.total == mini_cost() for e in entries)
