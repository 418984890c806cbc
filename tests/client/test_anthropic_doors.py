import asyncio
from decimal import Decimal

import anthropic
import pytest

import costbook
from costbook import Budget, BudgetExceeded, Ledger, Usage, track
from costbook.client._anthropic_doors import betas_as_header
from fake_anthropic_server import async_client, client
from fake_headers import scenario

MODEL = "claude-sonnet-4-6"
MESSAGES = [{"role": "user", "content": "Say hello."}]
BODY = {"model": MODEL, "max_tokens": 100, "messages": MESSAGES}
REPLY = "Hello from the local server."
PLAIN = Usage(input_tokens=25, output_tokens=10)
PLAIN_COST = Decimal("0.000225")  # 25 x $3/M + 10 x $15/M
LONG_CONTEXT = "context-1m-2025-08-07"


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def tracked(server, ledger):
    return track(client(server), ledger=ledger, provider="anthropic")


def test_beta_messages_create_is_priced_and_recorded_with_its_betas_sent(llm_server, ledger):
    answer = tracked(llm_server, ledger).beta.messages.create(
        **BODY, betas=[LONG_CONTEXT, "files-api-2025-04-14"],
        extra_headers=scenario("cached", "cache-write", "cache-write-1h"))
    assert answer.content[0].text == REPLY
    [entry] = ledger.entries()
    assert (entry.status, entry.provider, entry.model) == ("ok", "anthropic", MODEL)
    assert entry.usage == Usage(input_tokens=4025, output_tokens=10, cache_read_tokens=2000,
                                cache_write_tokens=2000, cache_write_1h_tokens=500)
    assert entry.total == Decimal("0.00945")
    assert entry.request_id == answer.id
    assert entry.estimate_high == costbook.estimate_messages(BODY, provider="anthropic").high.total
    [request] = llm_server.requests
    assert request.path == "/v1/messages"
    assert request.headers["anthropic-beta"] == f"{LONG_CONTEXT},files-api-2025-04-14"
    assert request.body == BODY


def test_beta_messages_streamed_both_ways_are_recorded_once_each(llm_server, ledger):
    client_ = tracked(llm_server, ledger)
    events = list(client_.beta.messages.create(**BODY, stream=True, betas=[LONG_CONTEXT]))
    assert events[-1].type == "message_stop"
    with client_.beta.messages.stream(**BODY, betas=[LONG_CONTEXT]) as stream:
        assert stream.get_final_text() == REPLY
    assert [(e.status, e.usage, e.total) for e in ledger.entries()] == [
        ("ok", PLAIN, PLAIN_COST)] * 2
    assert [r.headers["anthropic-beta"] for r in llm_server.requests] == [LONG_CONTEXT] * 2


def test_a_beta_stream_cut_short_is_recorded_incomplete(llm_server, ledger):
    client_ = tracked(llm_server, ledger)
    with (client_.beta.messages.stream(**BODY, extra_headers=scenario("error-event")) as stream,
          pytest.raises(anthropic.APIError)):
        stream.until_done()
    [entry] = ledger.entries()
    assert entry.status == "incomplete" and entry.usage.input_tokens == 25


def test_parse_on_messages_and_beta_messages_is_recorded(llm_server, ledger):
    client_ = tracked(llm_server, ledger)
    client_.messages.parse(**BODY)
    client_.beta.messages.parse(**BODY, betas=[LONG_CONTEXT])
    assert [(e.status, e.total) for e in ledger.entries()] == [("ok", PLAIN_COST)] * 2


def test_the_async_client_beta_messages(llm_server, ledger):
    client_ = track(async_client(llm_server), ledger=ledger, provider="anthropic")

    async def calls() -> None:
        await client_.beta.messages.create(**BODY, betas=[LONG_CONTEXT])
        stream = await client_.beta.messages.create(**BODY, stream=True)
        [event async for event in stream]
        async with client_.beta.messages.stream(**BODY) as helper:
            assert (await helper.get_final_message()).content[0].text == REPLY
        await client_.beta.messages.parse(**BODY)

    asyncio.run(calls())
    assert [(e.status, e.usage, e.total) for e in ledger.entries()] == [
        ("ok", PLAIN, PLAIN_COST)] * 4
    assert llm_server.requests[0].headers["anthropic-beta"] == LONG_CONTEXT


def test_token_counts_are_free_and_not_recorded(llm_server, ledger):
    client_ = tracked(llm_server, ledger)
    assert client_.messages.count_tokens(model=MODEL, messages=MESSAGES).input_tokens == 25
    assert client_.beta.messages.count_tokens(model=MODEL, messages=MESSAGES).input_tokens == 25
    assert len(llm_server.requests) == 2 and ledger.entries() == []


def test_a_budget_refuses_beta_calls_before_sending(llm_server, ledger):
    high = costbook.estimate_messages(BODY, provider="anthropic").high.total
    budget = Budget(PLAIN_COST + high - Decimal("0.000001"), ledger=ledger)
    client_ = track(client(llm_server), budget=budget, provider="anthropic")
    client_.beta.messages.create(**BODY)
    llm_server.reset()
    with pytest.raises(BudgetExceeded):
        client_.beta.messages.create(**BODY, betas=[LONG_CONTEXT])
    with pytest.raises(BudgetExceeded):
        client_.beta.messages.create(**BODY, stream=True)
    with pytest.raises(BudgetExceeded), client_.beta.messages.stream(**BODY):
        pass
    assert llm_server.requests == []
    assert budget.spent() == PLAIN_COST and budget.status().reserved == 0


def test_a_max_cost_block_and_copies_track_beta_calls(llm_server, ledger):
    client_ = tracked(llm_server, ledger).with_options(timeout=5.0)
    with costbook.max_cost("1", ledger=ledger) as scope:
        client_.beta.messages.create(**BODY)
    assert scope.calls == 1 and scope.spent == PLAIN_COST


def test_the_sdk_tool_runner_sends_through_the_tracked_beta_door(llm_server, ledger):
    client_ = tracked(llm_server, ledger)
    runner = client_.beta.messages.tool_runner(**BODY, tools=[])
    messages = list(runner)
    assert messages and messages[-1].content[-1].text == REPLY
    assert [e.status for e in ledger.entries()] == ["ok"] * len(llm_server.requests)


def test_betas_become_the_header_a_messages_call_gives():
    assert betas_as_header({"model": MODEL, "betas": ["a", "b"]}) == {
        "model": MODEL, "extra_headers": {"anthropic-beta": "a,b"}}
    # a header given in extra_headers wins over betas, as the SDK sends it
    given = {"betas": ["a"], "extra_headers": {"Anthropic-Beta": "c"}}
    assert betas_as_header(given) == {"extra_headers": {"Anthropic-Beta": "c"}}
    assert betas_as_header({"model": MODEL}) == {"model": MODEL}


def test_raw_responses_of_messages_calls_are_priced_from_the_answer(llm_server, ledger):
    client_ = tracked(llm_server, ledger)
    raw = client_.messages.with_raw_response.create(**BODY)
    assert raw.parse().content[0].text == REPLY and raw.headers["request-id"]
    client_.beta.messages.with_raw_response.create(**BODY, betas=[LONG_CONTEXT])
    with client_.messages.with_streaming_response.create(**BODY, stream=True) as response:
        assert [e.type for e in response.parse()][-1] == "message_stop"
    with client_.beta.messages.with_streaming_response.create(**BODY) as response:
        assert response.parse().id.startswith("msg_fake_")
    assert [(e.status, e.usage, e.total) for e in ledger.entries()] == [
        ("ok", PLAIN, PLAIN_COST)] * 4
    assert llm_server.requests[1].headers["anthropic-beta"] == LONG_CONTEXT


def test_raw_responses_of_the_async_client(llm_server, ledger):
    client_ = track(async_client(llm_server), ledger=ledger, provider="anthropic")

    async def calls() -> None:
        raw = await client_.beta.messages.with_raw_response.create(**BODY)
        assert (await raw.parse()).content[0].text == REPLY
        async with client_.messages.with_streaming_response.create(**BODY,
                                                                   stream=True) as response:
            [event async for event in await response.parse()]
        async with client_.messages.with_streaming_response.create(**BODY) as response:
            await response.parse()

    asyncio.run(calls())
    assert [(e.status, e.total) for e in ledger.entries()] == [("ok", PLAIN_COST)] * 3


def test_a_raw_stream_closed_unread_is_recorded_incomplete(llm_server, ledger):
    client_ = tracked(llm_server, ledger)
    with client_.beta.messages.with_streaming_response.create(**BODY, stream=True):
        pass
    [entry] = ledger.entries()
    assert entry.status == "incomplete" and entry.usage.input_tokens > 0
