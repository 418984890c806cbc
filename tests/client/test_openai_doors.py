import asyncio
from decimal import Decimal

import openai
import pytest

import costbook
from costbook import Budget, BudgetExceeded, Ledger, Usage, track
from costbook.tokens._prompts import estimate_completion
from fake_headers import scenario
from fake_llm_server import COMPLETION_TOKENS, PROMPT_TOKENS, REPLY

EMBEDDER = "text-embedding-3-small"  # $0.02/M input
INSTRUCT = "gpt-3.5-turbo-instruct"  # $1.50/M input, $2/M output
EMBEDDING_COST = Decimal("0.0000005")  # 25 x $0.02/M
COMPLETION_COST = Decimal("0.0000575")  # 25 x $1.50/M + 10 x $2/M
COMPLETION_USAGE = Usage(input_tokens=PROMPT_TOKENS, output_tokens=COMPLETION_TOKENS)


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def tracked(server, ledger, **options):
    return track(server.client(), ledger=ledger, provider="openai", **options)


# --- embeddings ---------------------------------------------------------------------------------

def test_an_embedding_is_priced_from_its_input_tokens(llm_server, ledger):
    answer = tracked(llm_server, ledger, tags={"app": "search"}).embeddings.create(
        model=EMBEDDER, input=["first text", "second text"])
    assert [d.embedding for d in answer.data] == [[0.25, -0.5, 0.125]] * 2
    [entry] = ledger.entries()
    assert (entry.status, entry.provider, entry.model) == ("ok", "openai", EMBEDDER)
    assert entry.usage == Usage(input_tokens=PROMPT_TOKENS)
    assert entry.items == {"input": EMBEDDING_COST} and entry.total == EMBEDDING_COST
    assert entry.tags == {"app": "search"}
    # 4 tokens counted before sending; no output, so the high bound is the low one
    assert entry.estimate_low == entry.estimate_high == Decimal("0.00000008")
    # the request went out as the caller wrote it (the SDK asks for base64 itself)
    [request] = llm_server.requests
    assert request.path == "/v1/embeddings"
    assert request.body["input"] == ["first text", "second text"]


def test_embedding_inputs_as_token_ids_and_generators_are_counted(llm_server, ledger):
    client = tracked(llm_server, ledger)
    client.embeddings.create(model=EMBEDDER, input=[[1, 2, 3], [4, 5]])
    client.embeddings.create(model=EMBEDDER, input=(text for text in ["a b", "c"]))
    assert [e.estimate_low for e in ledger.entries()] == [Decimal("0.0000001"),
                                                          Decimal("0.00000006")]
    assert llm_server.requests[1].body["input"] == ["a b", "c"]


def test_an_embedding_without_usage_is_recorded_incomplete_with_its_counted_input(
        llm_server, ledger):
    tracked(llm_server, ledger).embeddings.create(
        model=EMBEDDER, input="hello world", extra_headers=scenario("no-usage"))
    [entry] = ledger.entries()
    assert entry.status == "incomplete" and entry.usage == Usage(input_tokens=2)


def test_an_embedding_refused_by_the_api_is_recorded_as_an_error(llm_server, ledger):
    with pytest.raises(openai.APIError):
        tracked(llm_server, ledger).embeddings.create(
            model=EMBEDDER, input="hi", extra_headers=scenario("rate-limit"))
    assert [(e.status, e.total) for e in ledger.entries()] == [("error", 0)]


# --- legacy completions ---------------------------------------------------------------------------

def test_a_legacy_completion_is_priced_and_recorded(llm_server, ledger):
    answer = tracked(llm_server, ledger).completions.create(
        model=INSTRUCT, prompt="Say hello", max_tokens=20)
    assert answer.choices[0].text == "".join(REPLY)
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.usage) == ("ok", INSTRUCT, COMPLETION_USAGE)
    assert entry.total == COMPLETION_COST and entry.request_id == answer.id
    # 2 prompt tokens in; up to 20 out
    assert (entry.estimate_low, entry.estimate_high) == (Decimal("0.000003"),
                                                         Decimal("0.000043"))


def test_a_streamed_legacy_completion_asks_for_usage_and_hides_it(llm_server, ledger):
    chunks = list(tracked(llm_server, ledger).completions.create(
        model=INSTRUCT, prompt="Say hello", stream=True))
    assert "".join(c.choices[0].text for c in chunks) == "".join(REPLY)
    assert all(c.choices for c in chunks)  # the usage chunk the caller did not ask for
    assert llm_server.requests[0].body["stream_options"] == {"include_usage": True}
    [entry] = ledger.entries()
    assert (entry.status, entry.usage, entry.total) == ("ok", COMPLETION_USAGE,
                                                        COMPLETION_COST)


def test_a_legacy_stream_cut_short_is_recorded_incomplete_from_its_text(llm_server, ledger):
    try:  # whichever exception the installed SDK raises for a cut stream
        list(llm_server.client().completions.create(
            model=INSTRUCT, prompt="Say hello", stream=True, extra_headers=scenario("cut")))
    except Exception as exc:
        raised = type(exc)
    else:
        raise AssertionError("the local server did not cut the stream")
    stream = tracked(llm_server, ledger).completions.create(
        model=INSTRUCT, prompt="Say hello", stream=True, extra_headers=scenario("cut"))
    with pytest.raises(raised):
        list(stream)
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage == Usage(input_tokens=2, output_tokens=2)  # "Hello", " from"


def test_raw_responses_of_the_new_doors_are_recorded(llm_server, ledger):
    client = tracked(llm_server, ledger)
    client.embeddings.with_raw_response.create(model=EMBEDDER, input="hi").parse()
    with client.completions.with_streaming_response.create(
            model=INSTRUCT, prompt="Say hello", stream=True) as response:
        list(response.parse())
    assert [(e.model, e.status, e.total) for e in ledger.entries()] == [
        (EMBEDDER, "ok", EMBEDDING_COST), (INSTRUCT, "ok", COMPLETION_COST)]


# --- the beta twins, budgets, the async client ------------------------------------------------------

def test_beta_chat_completions_and_responses_are_tracked(llm_server, ledger):
    client = tracked(llm_server, ledger)
    client.beta.chat.completions.create(model="gpt-4o-mini",
                                        messages=[{"role": "user", "content": "Hi"}])
    doors = 1
    if hasattr(client.beta, "responses"):  # not in every openai release
        client.beta.responses.create(model="gpt-4o-mini", input="Hi")
        doors += 1
    assert [(e.status, e.model) for e in ledger.entries()] == [("ok", "gpt-4o-mini")] * doors


def test_copies_of_a_tracked_client_track_the_new_doors(llm_server, ledger):
    client = tracked(llm_server, ledger).with_options(timeout=5.0)
    client.embeddings.create(model=EMBEDDER, input="hi")
    client.copy(max_retries=0).completions.create(model=INSTRUCT, prompt="Say hello")
    assert [e.model for e in ledger.entries()] == [EMBEDDER, INSTRUCT]


def test_a_budget_refuses_new_doors_before_sending(llm_server, ledger):
    high = estimate_completion({"model": INSTRUCT, "prompt": "Say hello"},
                               provider="openai").high.total
    budget = Budget(COMPLETION_COST + high - Decimal("0.0000001"), ledger=ledger)
    client = track(llm_server.client(), budget=budget, provider="openai")
    client.completions.create(model=INSTRUCT, prompt="Say hello")
    llm_server.reset()
    with pytest.raises(BudgetExceeded):
        client.completions.create(model=INSTRUCT, prompt="Say hello")
    with pytest.raises(BudgetExceeded), costbook.max_cost("0.0000000001", ledger=ledger):
        client.embeddings.create(model=EMBEDDER, input="Say hello")
    assert llm_server.requests == []
    assert budget.spent() == COMPLETION_COST and budget.status().reserved == 0


def test_the_async_client_new_doors(llm_server, ledger):
    client = track(llm_server.async_client(), ledger=ledger, provider="openai")

    async def calls() -> None:
        await client.embeddings.create(model=EMBEDDER, input="hi")
        await client.completions.create(model=INSTRUCT, prompt="Say hello")
        stream = await client.completions.create(model=INSTRUCT, prompt="Say hello",
                                                 stream=True)
        [chunk async for chunk in stream]

    asyncio.run(calls())
    assert [(e.status, e.total) for e in ledger.entries()] == [
        ("ok", EMBEDDING_COST), ("ok", COMPLETION_COST), ("ok", COMPLETION_COST)]


def test_an_unknown_embedding_model_is_sent_and_recorded_unpriced(llm_server, ledger):
    with pytest.warns(RuntimeWarning, match="unpriced"):
        tracked(llm_server, ledger).embeddings.create(model="my-embedder", input="hi")
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.total) == ("unpriced", "my-embedder", 0)
