import asyncio
import gc
import sqlite3
import subprocess
import sys
import warnings
from decimal import Decimal

import anthropic
import pytest

import costbook
from costbook import Budget, BudgetExceeded, Ledger, Usage, track
from fake_anthropic_server import API_KEY, async_client, client
from fake_headers import scenario

MODEL = "claude-sonnet-4-6"
MESSAGES = [{"role": "user", "content": "Say hello."}]
BODY = {"model": MODEL, "max_tokens": 100, "messages": MESSAGES}
REPLY = "Hello from the local server."


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def tracked(server, ledger=None, **options):
    return track(client(server), ledger=ledger, provider="anthropic", **options)


def what_the_sdk_raises_for_a_cut_stream(server):
    """The exception the untracked SDK raises when the server cuts a stream: costbook
    passes it through unchanged, whichever it is in the installed SDK version."""
    stream = client(server).messages.create(**BODY, stream=True,
                                            extra_headers=scenario("cut"))
    try:
        for _ in stream:
            pass
    except Exception as exc:
        server.requests.clear()
        return type(exc)
    raise AssertionError("the local server did not cut the stream")


PLAIN = Usage(input_tokens=25, output_tokens=10)
CACHED = Usage(input_tokens=4025, output_tokens=10, cache_read_tokens=2000,
               cache_write_tokens=2000, cache_write_1h_tokens=500)
CACHED_ITEMS = {  # claude-sonnet-4-6: $3/M input, $15/M output
    "input": Decimal("0.000075"),  # 25 uncached x $3/M
    "cache_read": Decimal("0.0006"),  # 2,000 x $0.30/M
    "cache_write": Decimal("0.005625"),  # 1,500 five-minute x $3.75/M
    "cache_write_1h": Decimal("0.003"),  # 500 one-hour x $6/M
    "output": Decimal("0.00015"),  # 10 x $15/M
}


# --- messages.create ------------------------------------------------------------------------

def test_a_message_is_priced_and_recorded(llm_server, ledger):
    answer = tracked(llm_server, ledger, tags={"app": "t"}).messages.create(**BODY)
    assert answer.content[0].text == REPLY
    [entry] = ledger.entries()
    assert (entry.status, entry.provider, entry.model) == ("ok", "anthropic", MODEL)
    assert entry.usage == PLAIN
    assert entry.total == Decimal("0.000225")
    assert entry.request_id == answer.id and answer.id.startswith("msg_fake_")
    assert entry.tags == {"app": "t"}
    assert entry.estimate_low < entry.total < entry.estimate_high
    assert entry.estimate_high == costbook.estimate_messages(BODY, provider="anthropic").high.total
    [request] = llm_server.requests
    assert request.path == "/v1/messages" and request.body == BODY


def test_cache_reads_and_five_minute_and_one_hour_writes_are_priced_apart(llm_server, ledger):
    tracked(llm_server, ledger).messages.create(
        **BODY, extra_headers=scenario("cached", "cache-write", "cache-write-1h"))
    [entry] = ledger.entries()
    assert entry.usage == CACHED
    assert entry.items == CACHED_ITEMS
    assert entry.total == Decimal("0.00945")


def test_web_searches_and_thinking_tokens(llm_server, ledger):
    answer = tracked(llm_server, ledger).messages.create(
        **BODY, extra_headers=scenario("web-search", "thinking", web_searches=3))
    assert [b.type for b in answer.content] == [
        "thinking", "server_tool_use", "web_search_tool_result", "text"]
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=25, output_tokens=10, reasoning_tokens=6,
                                web_searches=3)
    assert entry.items == {"input": Decimal("0.000075"), "output": Decimal("0.00015"),
                           "web_search": Decimal("0.03")}
    assert entry.total == Decimal("0.030225")


def test_a_prompt_past_200k_is_billed_whole_at_the_long_context_tier(llm_server, ledger):
    # Sonnet 4.5: the tier goes by all input, cache reads and writes included
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's notice on the model
        tracked(llm_server, ledger).messages.create(
            model="claude-sonnet-4-5", max_tokens=100, messages=MESSAGES,
            extra_headers=scenario(input_tokens=150_000, cache_read_tokens=60_000))
    [entry] = ledger.entries()
    assert entry.usage.input_tokens == 210_000
    assert entry.items == {"input": Decimal("0.9"), "cache_read": Decimal("0.036"),
                           "output": Decimal("0.000225")}


@pytest.mark.parametrize(
    ("words", "error", "status"),
    [(("rate-limit",), anthropic.RateLimitError, 429),
     (("server-error",), anthropic.InternalServerError, 500),
     (("overloaded",), anthropic.APIStatusError, 529)],
)
def test_api_errors_reach_the_caller_and_are_recorded(llm_server, ledger, words, error, status):
    budget = Budget("1", ledger=ledger)
    client_ = track(client(llm_server), budget=budget, provider="anthropic")
    with pytest.raises(error) as raised:
        client_.messages.create(**BODY, extra_headers=scenario(*words))
    assert raised.value.status_code == status
    [entry] = ledger.entries()
    assert (entry.status, entry.total) == ("error", 0)
    assert entry.request_id == raised.value.request_id and entry.request_id.startswith("req_fake_")
    assert budget.remaining() == Decimal("1") and budget.status().reserved == 0


def test_an_answer_cut_midway_is_recorded_as_an_error(llm_server, ledger):
    with pytest.raises(anthropic.APIConnectionError):
        tracked(llm_server, ledger).messages.create(**BODY, extra_headers=scenario("cut"))
    assert [e.status for e in ledger.entries()] == ["error"]


def test_an_answer_with_invalid_usage_is_returned_and_recorded(llm_server, ledger):
    usage = '{"input_tokens": 25, "output_tokens": -3}'
    with pytest.warns(RuntimeWarning, match="output_tokens"):
        answer = tracked(llm_server, ledger).messages.create(
            **BODY, extra_headers={"X-Fake-Usage": usage})
    assert answer.content[0].text == REPLY
    [entry] = ledger.entries()
    assert entry.status == "invalid_usage"
    assert entry.usage.input_tokens == 25
    assert entry.usage.output_tokens == costbook.count_tokens(REPLY, MODEL)


# --- streams ----------------------------------------------------------------------------------

def test_a_stream_is_passed_through_and_recorded_from_its_events(llm_server, ledger):
    stream = tracked(llm_server, ledger).messages.create(
        **BODY, stream=True,
        extra_headers=scenario("cached", "cache-write", "cache-write-1h"))
    events = list(stream)
    assert [e.type for e in events][:2] == ["message_start", "content_block_start"]
    assert [e.type for e in events][-2:] == ["message_delta", "message_stop"]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == REPLY
    [request] = llm_server.requests
    assert request.body == {**BODY, "stream": True}
    [entry] = ledger.entries()
    # input and the split of cache writes from message_start, output from message_delta
    assert (entry.status, entry.usage, entry.items) == ("ok", CACHED, CACHED_ITEMS)
    assert entry.request_id == events[0].message.id


def test_a_stream_with_web_searches_and_thinking(llm_server, ledger):
    with tracked(llm_server, ledger).messages.create(
            **BODY, stream=True, extra_headers=scenario("web-search", "thinking")) as stream:
        kinds = [e.type for e in stream]
    assert kinds.count("content_block_start") == 4
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=25, output_tokens=10, reasoning_tokens=6,
                                web_searches=2)
    assert entry.total == Decimal("0.020225")


def test_the_stream_helper_text_stream_and_final_message(llm_server, ledger):
    client_ = tracked(llm_server, ledger)
    with client_.messages.stream(**BODY, extra_headers=scenario("cached")) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == REPLY == final.content[0].text
    assert final.usage.cache_read_input_tokens == 2000
    with client_.messages.stream(**BODY, extra_headers=scenario("cache-write-1h")) as stream:
        assert stream.get_final_text() == REPLY
    first, second = ledger.entries()
    assert (first.status, first.usage) == ("ok", Usage(input_tokens=2025, output_tokens=10,
                                                       cache_read_tokens=2000))
    assert first.total == Decimal("0.000825")
    assert second.usage == Usage(input_tokens=525, output_tokens=10, cache_write_tokens=500,
                                 cache_write_1h_tokens=500)
    assert second.items["cache_write_1h"] == Decimal("0.003")
    assert llm_server.requests[0].headers["x-stainless-helper-method"] == "stream"


def test_a_stream_closed_early_is_recorded_incomplete(llm_server, ledger):
    stream = tracked(llm_server, ledger).messages.create(**BODY, stream=True)
    start = next(stream)
    assert start.type == "message_start"
    stream.close()
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    # the input as the API counted it; the output counted from what was sent (nothing yet),
    # at least the 1 token message_start reports
    assert entry.usage == Usage(input_tokens=25, output_tokens=1)


def test_the_helper_left_early_is_recorded_incomplete(llm_server, ledger):
    with tracked(llm_server, ledger).messages.stream(**BODY) as stream:
        for text in stream.text_stream:
            if text == " from":
                break
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage.input_tokens == 25
    assert entry.usage.output_tokens == costbook.count_tokens("Hello from", MODEL)


def test_a_broken_stream_is_recorded_incomplete_with_what_was_known(llm_server, ledger):
    raised = what_the_sdk_raises_for_a_cut_stream(llm_server)
    stream = tracked(llm_server, ledger).messages.create(
        **BODY, stream=True, extra_headers=scenario("cut", "cache-write"))
    text = []
    with pytest.raises(raised):
        for event in stream:
            if event.type == "content_block_delta":
                text.append(event.delta.text)
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage == Usage(input_tokens=1525, cache_write_tokens=1500,
                                output_tokens=costbook.count_tokens("".join(text), MODEL))
    assert text == ["Hello", " from"]


def test_an_error_event_midway_is_raised_and_recorded_incomplete(llm_server, ledger):
    client_ = tracked(llm_server, ledger)
    with pytest.raises(anthropic.APIStatusError, match="overloaded"), \
            client_.messages.stream(**BODY, extra_headers=scenario("error-event")) as stream:
        stream.get_final_message()
    [entry] = ledger.entries()
    assert entry.status == "incomplete" and entry.usage.input_tokens == 25


def test_a_stream_dropped_unfinished_is_still_recorded(llm_server, ledger):
    stream = tracked(llm_server, ledger).messages.create(**BODY, stream=True)
    next(stream)
    del stream
    gc.collect()
    assert [e.status for e in ledger.entries()] == ["incomplete"]


def test_the_helper_refused_by_the_api_is_recorded_as_an_error(llm_server, ledger):
    with pytest.raises(anthropic.RateLimitError), \
            tracked(llm_server, ledger).messages.stream(**BODY,
                                                        extra_headers=scenario("rate-limit")):
        pass
    assert [e.status for e in ledger.entries()] == ["error"]


# --- budgets ----------------------------------------------------------------------------------

def test_a_budget_refuses_before_any_request(llm_server, ledger):
    high = costbook.estimate_messages(BODY, provider="anthropic").high.total
    budget = Budget(2 * Decimal("0.000225") + high - Decimal("0.000001"), ledger=ledger)
    client_ = track(client(llm_server), budget=budget, provider="anthropic")
    client_.messages.create(**BODY)
    with client_.messages.stream(**BODY) as stream:
        stream.until_done()
    llm_server.reset()
    with pytest.raises(BudgetExceeded):
        client_.messages.create(**BODY)
    with pytest.raises(BudgetExceeded):
        client_.messages.create(**BODY, stream=True)
    manager = client_.messages.stream(**BODY)
    with pytest.raises(BudgetExceeded), manager:
        pass
    assert llm_server.requests == []
    assert budget.spent() == Decimal("0.00045") and budget.status().reserved == 0
    assert len(ledger.entries()) == 2


def test_a_max_cost_block_holds_anthropic_calls(llm_server, ledger):
    client_ = tracked(llm_server, ledger)
    with costbook.max_cost("1", ledger=ledger) as scope:
        client_.messages.create(**BODY)
        with client_.messages.stream(**BODY) as stream:
            stream.until_done()
    assert scope.calls == 2 and scope.spent == Decimal("0.00045")


def test_a_body_without_max_tokens_is_refused_before_sending(llm_server, ledger):
    with pytest.raises(ValueError, match="max_tokens"):
        tracked(llm_server, ledger).messages.create(model=MODEL, messages=MESSAGES,
                                                    extra_body={})
    assert llm_server.requests == []


# --- the async client ---------------------------------------------------------------------------

def test_the_async_client(llm_server, ledger):
    raised = what_the_sdk_raises_for_a_cut_stream(llm_server)
    client_ = track(async_client(llm_server), ledger=ledger, provider="anthropic")

    async def calls():
        answer = await client_.messages.create(**BODY, extra_headers=scenario("cached"))
        stream = await client_.messages.create(
            **BODY, stream=True, extra_headers=scenario("cache-write", "cache-write-1h"))
        events = [e async for e in stream]
        async with client_.messages.stream(**BODY,
                                           extra_headers=scenario("web-search")) as helper:
            text = "".join([t async for t in helper.text_stream])
            final = await helper.get_final_message()
        with pytest.raises(anthropic.RateLimitError):
            await client_.messages.create(**BODY, extra_headers=scenario("rate-limit"))
        broken = await client_.messages.create(**BODY, stream=True,
                                               extra_headers=scenario("cut"))
        with pytest.raises(raised):
            async for _ in broken:
                pass
        early = await client_.messages.create(**BODY, stream=True)
        await early.__anext__()
        await early.close()
        async with client_.messages.stream(**BODY) as helper:
            async for _ in helper.text_stream:
                break
        return answer, events, text, final

    answer, events, text, final = asyncio.run(calls())
    assert answer.content[0].text == text == final.content[-1].text == REPLY
    assert events[-1].type == "message_stop"
    entries = ledger.entries()
    assert [e.status for e in entries] == [
        "ok", "ok", "ok", "error", "incomplete", "incomplete", "incomplete"]
    assert entries[0].usage == Usage(input_tokens=2025, output_tokens=10, cache_read_tokens=2000)
    assert entries[1].usage == Usage(input_tokens=2025, output_tokens=10,
                                     cache_write_tokens=2000, cache_write_1h_tokens=500)
    assert entries[1].items["cache_write_1h"] == Decimal("0.003")
    assert entries[2].usage.web_searches == 2 and entries[2].total == Decimal("0.020225")


def test_the_async_client_under_a_budget(llm_server, ledger):
    budget = Budget("0.000001", ledger=ledger)
    client_ = track(async_client(llm_server), budget=budget, provider="anthropic")

    async def calls():
        with pytest.raises(BudgetExceeded):
            await client_.messages.create(**BODY)
        with pytest.raises(BudgetExceeded):
            async with client_.messages.stream(**BODY):
                pass

    asyncio.run(calls())
    assert llm_server.requests == [] and ledger.entries() == []


# --- the client -------------------------------------------------------------------------------

def test_with_options_keeps_tracking_and_the_original_is_left_untracked(llm_server, ledger):
    original = client(llm_server)
    client_ = track(original, ledger=ledger, provider="anthropic")
    client_.with_options(timeout=5).messages.create(**BODY)
    original.messages.create(**BODY)
    assert len(ledger.entries()) == 1
    with pytest.raises(ValueError, match="tracked already"):
        track(client_, ledger=ledger)


def test_the_provider_comes_from_the_base_url(ledger):
    client_ = track(anthropic.Anthropic(api_key="sk-ant-x"), ledger=ledger)
    assert client_.messages.create.__wrapped__
    with pytest.raises(costbook.CostbookError, match="provider="):
        track(anthropic.Anthropic(api_key="sk-ant-x", base_url="http://127.0.0.1:9"),
              ledger=ledger)


def test_other_objects_are_refused_naming_both_sdks():
    with pytest.raises(TypeError, match=r"anthropic\.Anthropic.*got object"):
        track(object())


def test_messages_given_as_a_generator_still_reach_the_api(llm_server, ledger):
    body = {**BODY, "messages": (m for m in MESSAGES)}
    tracked(llm_server, ledger).messages.create(**body)
    assert llm_server.requests[0].body["messages"] == MESSAGES
    assert ledger.entries()[0].estimate_high is not None


def test_no_api_key_in_the_ledger(llm_server, tmp_path):
    path = tmp_path / "secret-check.sqlite"
    ledger = Ledger(path)
    client_ = tracked(llm_server, ledger)
    client_.messages.create(**BODY)
    with pytest.raises(anthropic.RateLimitError):
        client_.messages.create(**BODY, extra_headers=scenario("rate-limit"))
    ledger.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert API_KEY.encode() not in raw
    with sqlite3.connect(path) as db:
        assert API_KEY not in "\n".join(db.iterdump())


def test_costbook_imports_and_tracks_openai_without_anthropic(llm_server):
    code = (
        "import sys; sys.modules['anthropic'] = None\n"
        "import costbook, openai\n"
        "from costbook.client._anthropic import is_anthropic_client\n"
        f"c = openai.OpenAI(base_url={llm_server.base_url!r}, api_key='sk-x', max_retries=0)\n"
        "assert not is_anthropic_client(c)\n"
        "t = costbook.track(c, provider='openai')\n"
        "t.chat.completions.create(model='gpt-4o-mini', messages=[{'role': 'user', "
        "'content': 'hi'}])\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "ok", done.stderr
