import asyncio
import gc
import sqlite3
import subprocess
import sys
import warnings
from decimal import Decimal

import pytest
from google import genai
from google.genai import errors, types

import costbook
from costbook import Budget, BudgetExceeded, Ledger, Usage, track
from fake_gemini_server import API_KEY, REPLY, FakeGeminiServer

MODEL = "gemini-2.5-flash"
TEXT = "".join(REPLY)
PLAIN = Usage(input_tokens=40, output_tokens=12)
PLAIN_TOTAL = Decimal("0.000042")  # 40 x $0.30/M + 12 x $2.50/M


@pytest.fixture(scope="module")
def server_session():
    with FakeGeminiServer() as server:
        yield server


@pytest.fixture
def server(server_session):
    server_session.reset()
    return server_session


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def tracked(server, **options):
    """A tracked client; kept in a variable by the caller, as google-genai's client closes
    its connection when it is dropped."""
    return track(server.client(), **options)


def test_a_call_is_priced_and_recorded_as_google(server, ledger):
    client = track(server.client(), ledger=ledger, tags={"app": "t"})
    assert isinstance(client, genai.Client)
    answer = client.models.generate_content(model=MODEL, contents="Say hello.")
    assert answer.text == TEXT
    [entry] = ledger.entries()
    assert (entry.status, entry.provider, entry.model) == ("ok", "google", MODEL)
    assert entry.usage == PLAIN
    assert entry.items == {"input": Decimal("0.000012"), "output": Decimal("0.00003")}
    assert entry.total == PLAIN_TOTAL
    assert entry.request_id == "fake-gemini-response"
    assert entry.tags == {"app": "t"}
    assert entry.estimate_low < entry.total < entry.estimate_high
    [request] = server.requests
    assert request.body["contents"] == [{"role": "user", "parts": [{"text": "Say hello."}]}]


def test_thinking_cached_content_and_tool_use_prompt_are_priced(server, ledger):
    server.answer.thoughts = 100
    server.answer.cached = 30
    server.answer.tool_prompt = 5
    client = tracked(server, ledger=ledger)
    client.models.generate_content(
        model=MODEL, contents="Think first.")
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=45, output_tokens=112, cache_read_tokens=30,
                                reasoning_tokens=100)
    assert entry.items == {
        "input": Decimal("0.0000045"),  # 15 uncached x $0.30/M
        "cache_read": Decimal("0.0000009"),  # 30 x $0.03/M
        "output": Decimal("0.00028"),  # (12 + 100 thoughts) x $2.50/M
    }
    assert entry.total == Decimal("0.0002854")


def test_audio_input_is_priced_at_the_audio_rate_where_the_table_has_one(server, ledger):
    server.answer.prompt_details = [{"modality": "TEXT", "tokenCount": 15},
                                    {"modality": "AUDIO", "tokenCount": 25}]
    client = tracked(server, ledger=ledger)
    client.models.generate_content(
        model=MODEL, contents="Listen.")
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=40, output_tokens=12, audio_input_tokens=25)
    assert entry.items == {"input": Decimal("0.0000045"), "audio_input": Decimal("0.000025"),
                           "output": Decimal("0.00003")}


def test_audio_bills_as_input_where_the_table_prices_no_audio(server, ledger):
    server.answer.prompt_details = [{"modality": "AUDIO", "tokenCount": 25}]
    client = track(server.vertex_client(), ledger=ledger)
    client.models.generate_content(
        model="gemini-2.5-pro", contents="Listen.")
    [entry] = ledger.entries()
    assert (entry.status, entry.provider) == ("ok", "vertex")
    assert entry.usage == PLAIN


def test_a_vertex_client_is_priced_as_vertex(server, ledger):
    client = track(server.vertex_client(), ledger=ledger)
    client.models.generate_content(model=f"publishers/google/models/{MODEL}", contents="Hi")
    [entry] = ledger.entries()
    assert (entry.status, entry.provider, entry.model) == ("ok", "vertex", MODEL)
    assert entry.total == PLAIN_TOTAL
    assert server.requests[0].path.endswith(f"publishers/google/models/{MODEL}:generateContent")


def test_a_stream_is_passed_through_and_recorded_from_its_last_chunk(server, ledger):
    server.answer.thoughts = 8
    client = track(server.client(), ledger=ledger)
    pieces = [chunk.text for chunk in client.models.generate_content_stream(
        model=f"models/{MODEL}", contents="Say hello.")]
    assert tuple(pieces) == REPLY
    [entry] = ledger.entries()
    assert (entry.status, entry.model) == ("ok", MODEL)
    assert entry.usage == Usage(input_tokens=40, output_tokens=20, reasoning_tokens=8)
    assert entry.total == Decimal("0.000062")


def test_a_stream_left_early_is_recorded_incomplete(server, ledger):
    client = track(server.client(), ledger=ledger)
    stream = client.models.generate_content_stream(model=MODEL, contents="Say hello.")
    assert next(stream).text == REPLY[0]
    stream.close()
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage.input_tokens == 40
    assert entry.usage.output_tokens == costbook.count_tokens(REPLY[0], MODEL)


def test_a_stream_cut_by_the_server_is_recorded_incomplete(server, ledger):
    server.answer.cut = True
    client = track(server.client(), ledger=ledger)
    with pytest.raises(Exception):  # noqa: B017 - the SDK's own error, whatever its class
        list(client.models.generate_content_stream(model=MODEL, contents="Say hello."))
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage.output_tokens == costbook.count_tokens(REPLY[0], MODEL)


def test_the_async_client(server, ledger):
    client = track(server.client(), ledger=ledger)

    async def calls():
        answer = await client.aio.models.generate_content(model=MODEL, contents="Hi")
        pieces = [chunk.text async for chunk in
                  await client.aio.models.generate_content_stream(model=MODEL, contents="Hi")]
        return answer.text, "".join(pieces)

    assert asyncio.run(calls()) == (TEXT, TEXT)
    entries = ledger.entries()
    assert [(e.status, e.total) for e in entries] == [("ok", PLAIN_TOTAL)] * 2


def test_chats_are_tracked(server, ledger):
    client = tracked(server, ledger=ledger)
    chat = client.chats.create(model=MODEL)
    chat.send_message("Hi")
    chat.send_message("Again")
    assert [e.total for e in ledger.entries()] == [PLAIN_TOTAL] * 2
    assert len(server.requests[1].body["contents"]) == 3


def test_count_tokens_is_free_and_not_recorded(server, ledger):
    client = track(server.client(), ledger=ledger)
    assert client.models.count_tokens(model=MODEL, contents="Hi").total_tokens == 40
    assert ledger.entries() == []


def test_a_budget_refuses_before_any_request(server, ledger):
    high = costbook.estimate_request(
        {"model": MODEL, "max_tokens": 100,
         "messages": [{"role": "user", "content": "Hi"}]}, provider="google").high.total
    budget = Budget(PLAIN_TOTAL + high - Decimal("0.000001"), ledger=ledger)
    client = track(server.client(), budget=budget)
    config = types.GenerateContentConfig(max_output_tokens=100)
    client.models.generate_content(model=MODEL, contents="Hi", config=config)
    server.reset()
    with pytest.raises(BudgetExceeded):
        client.models.generate_content(model=MODEL, contents="Hi", config=config)
    with pytest.raises(BudgetExceeded):
        next(iter(client.models.generate_content_stream(model=MODEL, contents="Hi",
                                                        config=config)))

    async def refused():
        with pytest.raises(BudgetExceeded):
            await client.aio.models.generate_content(model=MODEL, contents="Hi",
                                                     config=config)

    asyncio.run(refused())
    assert server.requests == []
    assert budget.spent() == PLAIN_TOTAL and budget.status().reserved == 0


def test_the_estimate_counts_contents_system_and_tools_approximately(server, ledger):
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    config = types.GenerateContentConfig(
        system_instruction="You are terse.", max_output_tokens=50,
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
            name="lookup", description="Look a word up.")])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    client = tracked(server, ledger=ledger)
    client.models.generate_content(
        model=MODEL, contents=["Hello", "there"], config=config)
    [entry] = ledger.entries()
    plain = costbook.estimate_request(
        {"model": MODEL, "max_tokens": 50,
         "messages": [{"role": "user", "content": "Hello there"}]}, provider="google")
    assert entry.estimate_high > plain.high.total  # the system prompt and tool add input
    assert entry.estimate_high - entry.estimate_low == 50 * Decimal("2.5") / 10**6


def test_a_max_cost_block_holds_gemini_calls(server, ledger):
    client = track(server.client(), ledger=ledger)
    with costbook.max_cost("1", ledger=ledger) as scope:
        client.models.generate_content(model=MODEL, contents="Hi")
        list(client.models.generate_content_stream(model=MODEL, contents="Hi"))
    assert scope.calls == 2 and scope.spent == 2 * PLAIN_TOTAL


def test_an_unknown_model_is_sent_and_recorded_unpriced(server, ledger):
    client = track(server.client(), ledger=ledger)
    with pytest.warns(RuntimeWarning, match=r"gemini-9-ultra.*unpriced"):
        answer = client.models.generate_content(model="gemini-9-ultra", contents="Hi")
    assert answer.text == TEXT
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.total) == ("unpriced", "gemini-9-ultra", 0)
    assert entry.usage == PLAIN


def test_an_unknown_model_is_refused_under_a_budget_and_mapped_with_models(server, ledger):
    budget = Budget("1", ledger=ledger)
    client = tracked(server, budget=budget)
    with pytest.raises(costbook.UnknownModelError, match="not sent"):
        client.models.generate_content(
            model="tunedModels/my-tune", contents="Hi")
    assert server.requests == []
    server.answer.model_version = MODEL
    client = track(server.client(), budget=budget, models={"tunedModels/my-tune": MODEL})
    client.models.generate_content(model="tunedModels/my-tune", contents="Hi")
    refused, entry = ledger.entries()
    assert (refused.status, refused.total) == ("refused", 0)  # the refusal is recorded
    assert (entry.status, entry.model, entry.total) == ("ok", MODEL, PLAIN_TOTAL)


def test_a_malformed_usage_keeps_the_answer_and_is_recorded(server, ledger):
    server.answer.usage = {"promptTokenCount": 40, "candidatesTokenCount": -3}
    client = tracked(server, ledger=ledger)
    with pytest.warns(RuntimeWarning, match="candidates_token_count must be 0 or more"):
        answer = client.models.generate_content(model=MODEL, contents="Hi")
    assert answer.text == TEXT
    [entry] = ledger.entries()
    assert entry.status == "invalid_usage"
    assert entry.usage.output_tokens == costbook.count_tokens(TEXT, MODEL)


def test_an_answer_without_usage_is_recorded_incomplete_with_counted_tokens(server, ledger):
    server.answer.send_usage = False
    client = tracked(server, ledger=ledger)
    client.models.generate_content(model=MODEL, contents="Hi")
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage.output_tokens == costbook.count_tokens(TEXT, MODEL)


def test_api_errors_reach_the_caller_and_are_recorded(server, ledger):
    server.answer.status = 429
    budget = Budget("1", ledger=ledger)
    client = tracked(server, budget=budget)
    with pytest.raises(errors.APIError) as raised:
        client.models.generate_content(
            model=MODEL, contents="Hi",
            config=types.GenerateContentConfig(
                http_options=types.HttpOptions(retry_options=types.HttpRetryOptions(
                    attempts=1))))
    assert raised.value.code == 429
    [entry] = ledger.entries()
    assert (entry.status, entry.total) == ("error", 0)
    assert budget.remaining() == Decimal("1") and budget.status().reserved == 0


def test_the_tracked_copy_outlives_the_original_and_leaves_it_untracked(server, ledger):
    original = server.client()
    client = track(original, ledger=ledger)
    original.models.generate_content(model=MODEL, contents="Hi")
    assert ledger.entries() == []
    del original
    gc.collect()
    client.models.generate_content(model=MODEL, contents="Hi")
    assert len(ledger.entries()) == 1
    with pytest.raises(ValueError, match="tracked already"):
        track(client)


def test_no_api_key_in_the_ledger(server, tmp_path):
    path = tmp_path / "secret-check.sqlite"
    ledger = Ledger(path)
    client = track(server.client(), ledger=ledger)
    client.models.generate_content(model=MODEL, contents="Hi")
    with pytest.raises(ValueError, match="API key"):
        track(server.client(), ledger=ledger, tags={"k": API_KEY})
    ledger.close()
    with sqlite3.connect(path) as db:
        assert API_KEY not in "\n".join(db.iterdump())


def test_a_stream_dropped_unfinished_is_still_recorded(server, ledger):
    client = track(server.client(), ledger=ledger)
    stream = client.models.generate_content_stream(model=MODEL, contents="Hi")
    next(stream)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        del stream
        gc.collect()
    assert [e.status for e in ledger.entries()] == ["incomplete"]


def test_each_request_of_automatic_function_calling_is_recorded(server, ledger):
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    server.answer.function_call = "get_weather"
    client = tracked(server, ledger=ledger)
    answer = client.models.generate_content(
        model=MODEL, contents="Weather in Oslo?",
        config=types.GenerateContentConfig(tools=[get_weather]))
    assert answer.text == TEXT
    assert len(server.requests) == 2
    assert [e.total for e in ledger.entries()] == [PLAIN_TOTAL] * 2
    sent = server.requests[1].body["contents"]
    assert sent[-1]["parts"][0]["functionResponse"]["response"] == {"result": "sunny in Oslo"}


def test_a_model_version_no_table_lists_is_priced_as_the_model_asked_for(server, ledger):
    server.answer.model_version = "gemini-2.5-flash-001"
    client = tracked(server, ledger=ledger)
    client.models.generate_content(model=MODEL, contents="Hi")
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.total) == ("ok", MODEL, PLAIN_TOTAL)


def test_an_image_costbook_cannot_measure_is_sent_and_counted_without_it(server, ledger):
    client = tracked(server, ledger=ledger)
    part = types.Part.from_bytes(data=b"not an image at all", mime_type="image/png")
    client.models.generate_content(model=MODEL, contents=[part, "What is this?"])
    [entry] = ledger.entries()
    assert (entry.status, entry.total) == ("ok", PLAIN_TOTAL)
    assert len(server.requests) == 1


def test_an_async_client_tracked_on_its_own(server, ledger):
    original = server.client()
    client = track(original.aio, ledger=ledger)

    async def call():
        return (await client.models.generate_content(model=MODEL, contents="Hi")).text

    assert asyncio.run(call()) == TEXT
    [entry] = ledger.entries()
    assert (entry.provider, entry.total) == ("google", PLAIN_TOTAL)


def test_costbook_tracks_openai_without_google_genai_or_boto3(llm_server):
    code = (
        "import sys\n"
        "for name in ('google', 'google.genai', 'boto3', 'botocore'): sys.modules[name] = None\n"
        "import costbook, openai\n"
        f"c = openai.OpenAI(base_url={llm_server.base_url!r}, api_key='sk-x', max_retries=0)\n"
        "t = costbook.track(c, provider='openai')\n"
        "t.chat.completions.create(model='gpt-4o-mini', messages=[{'role': 'user', "
        "'content': 'hi'}])\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


def test_cached_audio_is_priced_at_the_audio_cache_rate(server, ledger):
    server.answer.prompt = 100
    server.answer.cached = 30
    server.answer.prompt_details = [{"modality": "TEXT", "tokenCount": 75},
                                    {"modality": "AUDIO", "tokenCount": 25}]
    server.answer.cache_details = [{"modality": "TEXT", "tokenCount": 20},
                                   {"modality": "AUDIO", "tokenCount": 10}]
    client = tracked(server, ledger=ledger)
    client.models.generate_content(model=MODEL, contents="Listen again.")
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=100, output_tokens=12, cache_read_tokens=30,
                                audio_input_tokens=25, audio_cache_read_tokens=10)
    assert entry.items == {
        "input": Decimal("0.0000165"),  # 55 uncached text x $0.30/M
        "cache_read": Decimal("0.0000006"),  # 20 cached text x $0.03/M
        "audio_input": Decimal("0.000015"),  # 15 uncached audio x $1/M
        "audio_cache_read": Decimal("0.000001"),  # 10 cached audio x $0.10/M
        "output": Decimal("0.00003"),
    }


def test_an_answer_asked_as_its_http_response_is_priced_from_its_body(server, ledger):
    client = tracked(server, ledger=ledger)
    answer = client.models.generate_content(
        model=MODEL, contents="Hi",
        config=types.GenerateContentConfig(should_return_http_response=True))
    assert answer.sdk_http_response.body
    [entry] = ledger.entries()
    assert (entry.status, entry.usage, entry.total) == ("ok", PLAIN, PLAIN_TOTAL)


def test_a_vertex_stream_is_priced_as_vertex(server, ledger):
    client = track(server.vertex_client(), ledger=ledger)
    text = "".join(chunk.text for chunk in client.models.generate_content_stream(
        model=MODEL, contents="Hi"))
    assert text == TEXT
    [entry] = ledger.entries()
    assert (entry.status, entry.provider, entry.total) == ("ok", "vertex", PLAIN_TOTAL)


def test_the_estimate_says_what_it_approximates():
    from costbook.client._call import tracked_settings
    from costbook.client._gemini import _begin

    settings = tracked_settings("google", None, None, {}, None, None, None)
    audio = types.Part.from_bytes(data=b"RIFF....WAVE", mime_type="audio/wav")
    call = _begin(settings, {"model": f"models/{MODEL}", "contents": [audio, "Transcribe."],
                             "config": {"cachedContent": "cachedContents/abc",
                                        "maxOutputTokens": 10}})
    estimate = call.estimate
    assert (estimate.model, estimate.provider, estimate.max_output_tokens) == (
        MODEL, "google", 10)
    assert not estimate.exact
    said = " | ".join(estimate.approximations)
    assert "o200k_base" in said
    assert "contents[0].parts[0] (inline data other than an image) is not counted" in said
    assert "cached_content is not counted" in said
