import asyncio
import os
import time
import warnings
from decimal import Decimal

import pytest

import costbook
from costbook import Budget, BudgetExceeded, Ledger, Usage
from fake_llm_server import API_KEY
from table_factory import write_one_model_table

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's prices from its wheel
# LiteLLM pins openai<3: CI runs this file in a venv of its own with costbook[litellm]
litellm = pytest.importorskip("litellm", reason="needs costbook[litellm]")

from litellm.integrations.custom_logger import CustomLogger  # noqa: E402

from costbook.integrations.litellm import (  # noqa: E402
    CostbookLogger,
    answer_payload,
    costbook_ref,
)

MESSAGES = [{"role": "user", "content": "Say hello."}]
_CALLBACK_LISTS = ("callbacks", "input_callback", "success_callback", "failure_callback",
                   "_async_input_callback", "_async_success_callback",
                   "_async_failure_callback")


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


@pytest.fixture
def use():
    """Set litellm.callbacks for one test; LiteLLM copies them into its other lists,
    which are all put back afterwards."""
    saved = {name: list(getattr(litellm, name, [])) for name in _CALLBACK_LISTS}

    def install(*loggers):
        litellm.callbacks = list(loggers)
        return loggers[0]

    yield install
    for name, value in saved.items():
        setattr(litellm, name, value)


def call(server, *words, **options):
    headers = {"X-Fake-Scenario": ",".join(words)} if words else {}
    return litellm.completion(model=options.pop("model", "openai/gpt-4o-mini"),
                              messages=MESSAGES, api_base=server.base_url, api_key=API_KEY,
                              extra_headers=headers, max_retries=0, **options)


async def acall(server, *words, **options):
    headers = {"X-Fake-Scenario": ",".join(words)} if words else {}
    return await litellm.acompletion(model=options.pop("model", "openai/gpt-4o-mini"),
                                     messages=MESSAGES, api_base=server.base_url,
                                     api_key=API_KEY, extra_headers=headers, max_retries=0,
                                     **options)


def entries(ledger, count, logger):
    """The ledger's entries once ``count`` are there (LiteLLM logs sync calls from a
    thread of its own, after the call returns)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        found = ledger.entries()
        if len(found) >= count and logger.pending == 0:
            return found
        time.sleep(0.02)
    raise AssertionError(f"{len(ledger.entries())} entries, {count} expected")


async def settled(logger, ledger, count):
    """Wait in the event loop until LiteLLM's logging tasks (run on the loop after the call
    returns) recorded ``count`` entries."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if logger.pending == 0 and len(ledger.entries()) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(ledger.entries())} entries, {count} expected")


@pytest.mark.parametrize(("model", "provider", "expected"), [
    ("openai/gpt-4o-mini", None, ("openai", "gpt-4o-mini")),
    ("gpt-4o-mini", "openai", ("openai", "gpt-4o-mini")),
    ("openrouter/openai/gpt-4o-mini", None, ("openrouter", "openai/gpt-4o-mini")),
    ("openai/gpt-4o-mini", "openrouter", ("openrouter", "openai/gpt-4o-mini")),
    ("anthropic/claude-sonnet-4-5", None, ("anthropic", "claude-sonnet-4-5")),
    ("together_ai/meta-llama/Llama-3-8b", None, ("together", "meta-llama/Llama-3-8b")),
    ("gemini/gemini-2.5-flash", None, ("google", "gemini-2.5-flash")),
    ("gpt-3.5-turbo-instruct", "text-completion-openai", ("openai", "gpt-3.5-turbo-instruct")),
    ("my-model", "hosted_vllm", (None, "my-model")),
    ("gpt-4o-mini", None, (None, "gpt-4o-mini")),
])
def test_litellm_model_strings_map_to_costbook_refs(model, provider, expected):
    assert costbook_ref(model, provider) == expected


def test_a_sync_call_is_priced_by_costbook(llm_server, ledger, use):
    logger = use(CostbookLogger(ledger=ledger, tags={"app": "ll"}))
    answer = call(llm_server, "cached")
    [entry] = entries(ledger, 1, logger)
    assert entry.status == "ok"
    assert (entry.provider, entry.model) == ("openai", "gpt-4o-mini")
    assert entry.usage == Usage(input_tokens=25, output_tokens=10, cache_read_tokens=16)
    assert entry.items == {"input": Decimal("0.00000135"), "cache_read": Decimal("0.0000012"),
                           "output": Decimal("0.000006")}
    assert entry.total == Decimal("0.00000855")
    assert entry.request_id == answer.id
    assert entry.request_id.startswith("chatcmpl-fake-")
    assert entry.tags == {"app": "ll"}
    assert entry.estimate_high is not None and entry.estimate_high > entry.total


class _LiteLLMCost(CustomLogger):
    def __init__(self):
        super().__init__()
        self.costs = []

    def log_success_event(self, kwargs, response_obj, start_time, end_time):
        self.costs.append(kwargs.get("response_cost"))


def test_the_price_is_costbooks_not_litellms(llm_server, ledger, use, tmp_path):
    # a negotiated rate in the user's own table: $0.10/M in, $0.40/M out
    write_one_model_table(tmp_path / "openai.yaml", provider="openai", model="gpt-4o-mini",
                          input_rate="0.10", output_rate="0.40")
    costbook.load(tmp_path / "openai.yaml")
    try:
        theirs = _LiteLLMCost()
        logger = use(CostbookLogger(ledger=ledger), theirs)
        call(llm_server)
        [entry] = entries(ledger, 1, logger)
    finally:
        costbook.pricing._catalog.reset()
    assert entry.items == {"input": Decimal("0.0000025"), "output": Decimal("0.000004")}
    assert entry.total == Decimal("0.0000065")
    deadline = time.monotonic() + 5
    while not theirs.costs and time.monotonic() < deadline:
        time.sleep(0.02)
    assert theirs.costs == [pytest.approx(0.00000975)]  # LiteLLM's list price


def test_a_sync_stream_is_recorded_when_it_ends(llm_server, ledger, use):
    logger = use(CostbookLogger(ledger=ledger))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in
                   call(llm_server, stream=True, stream_options={"include_usage": True})
                   if chunk.choices)
    assert text == "Hello from the local server."
    [entry] = entries(ledger, 1, logger)
    assert entry.status == "ok"
    assert entry.usage == Usage(input_tokens=25, output_tokens=10)
    assert entry.total == Decimal("0.00000975")


def test_a_stream_that_reports_no_usage_is_recorded_incomplete(llm_server, ledger, use):
    logger = use(CostbookLogger(ledger=ledger))
    for _ in call(llm_server, stream=True):
        pass
    [entry] = entries(ledger, 1, logger)
    assert entry.status == "incomplete"  # not LiteLLM's usage of zeros
    assert entry.usage.output_tokens == 6
    assert entry.total > 0


def test_a_failed_call_is_recorded_as_an_error(llm_server, ledger, use):
    logger = use(CostbookLogger(ledger=ledger))
    with pytest.raises(litellm.InternalServerError):
        call(llm_server, "server-error")
    [entry] = entries(ledger, 1, logger)
    assert entry.status == "error"
    assert entry.total == 0


def test_async_calls_plain_and_streamed(llm_server, ledger, use):
    logger = use(CostbookLogger(ledger=ledger))

    async def run():
        await acall(llm_server)
        stream = await acall(llm_server, "reasoning", model="openai/o4-mini", stream=True,
                             stream_options={"include_usage": True})
        async for _ in stream:
            pass
        await settled(logger, ledger, 2)

    asyncio.run(run())
    first, second = sorted(entries(ledger, 2, logger), key=lambda e: e.request_id)
    assert (first.model, first.usage) == ("gpt-4o-mini", Usage(input_tokens=25,
                                                                 output_tokens=10))
    assert first.total == Decimal("0.00000975")
    assert (second.model, second.usage) == ("o4-mini", Usage(input_tokens=25, output_tokens=10,
                                                             reasoning_tokens=6))


def test_a_budget_refuses_an_async_call_before_any_request(llm_server, ledger, use):
    budget = Budget("0.000001", ledger=ledger)
    logger = use(CostbookLogger(budget=budget))
    with pytest.raises(BudgetExceeded, match="budget"):
        asyncio.run(acall(llm_server))
    assert llm_server.requests == []
    time.sleep(0.2)
    assert [(e.status, e.total, e.refused_by) for e in ledger.entries()] == [
        ("refused", 0, "budget $0.000001 (all time)")]
    assert budget.reserved() == 0 and budget.spent() == 0
    assert logger.pending == 0


def test_a_budget_holds_an_async_call_and_commits_its_cost(llm_server, ledger, use):
    budget = Budget("1", ledger=ledger, tags={"team": "a"})
    logger = use(CostbookLogger(budget=budget))

    async def run():
        await acall(llm_server, max_tokens=20)
        await settled(logger, ledger, 1)

    asyncio.run(run())
    [entry] = ledger.entries()
    assert entry.tags == {"team": "a"}
    assert budget.spent() == Decimal("0.00000975")
    assert budget.reserved() == 0


def test_a_sync_call_a_budget_would_refuse_is_sent_with_a_warning(llm_server, ledger, use):
    budget = Budget("0.000001", ledger=ledger)
    logger = use(CostbookLogger(budget=budget))
    with pytest.warns(RuntimeWarning, match="acompletion"):
        call(llm_server)
    assert len(llm_server.requests) == 1
    [entry] = entries(ledger, 1, logger)
    assert budget.spent() == entry.total == Decimal("0.00000975")


def test_tags_of_a_tagged_block_go_on_the_entry(llm_server, ledger, use):
    logger = use(CostbookLogger(ledger=ledger, tags={"app": "ll"}))
    with costbook.tagged(user="u-1"):
        call(llm_server)

    async def run():
        with costbook.tagged(user="u-2"):
            await acall(llm_server)
        await settled(logger, ledger, 2)

    asyncio.run(run())
    tags = sorted(e.tags["user"] for e in entries(ledger, 2, logger))
    assert tags == ["u-1", "u-2"]


def test_an_openrouter_call_keeps_the_reported_charge(llm_server, ledger, use):
    logger = use(CostbookLogger(ledger=ledger, provider="openrouter"))
    call(llm_server, "openrouter", model="openai/openai/gpt-4o-mini")
    [entry] = entries(ledger, 1, logger)
    assert (entry.provider, entry.model) == ("openrouter", "openai/gpt-4o-mini")
    assert entry.total == Decimal("0.00000975")


def test_an_unknown_model_is_sent_and_warned_about(llm_server, ledger, use):
    use(CostbookLogger(ledger=ledger))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        answer = call(llm_server, model="openai/my-own-model")
        time.sleep(0.3)
    assert answer.choices[0].message.content == "Hello from the local server."
    assert any("my-own-model" in str(w.message) for w in caught)


def test_anthropic_usage_through_litellm_keeps_cache_writes():
    response = {"id": "msg_1", "model": "claude-sonnet-4-5",
                "choices": [{"message": {"content": "hi"}}],
                "usage": {"prompt_tokens": 1000, "completion_tokens": 50,
                          "prompt_tokens_details": {"cached_tokens": 600},
                          "cache_creation_input_tokens": 300}}
    payload, text = answer_payload(response, "anthropic")
    assert text == "hi"
    assert costbook.usage_from_response(payload).usage == Usage(
        input_tokens=1000, output_tokens=50, cache_read_tokens=600, cache_write_tokens=300)


def _anthropic_call(server, **options):
    from fake_anthropic_server import API_KEY as ANTHROPIC_KEY

    return litellm.completion(
        model="anthropic/claude-sonnet-4-5", messages=MESSAGES, api_base=server.url,
        api_key=ANTHROPIC_KEY, max_tokens=100, max_retries=0,
        extra_headers={"X-Fake-Scenario": "cached,cache-write,cache-write-1h"}, **options)


# claude-sonnet-4-5 with 25 uncached tokens, 2,000 cache reads, 1,500 five-minute and 500
# one-hour cache writes, 10 out
CLAUDE_CACHED = Usage(input_tokens=4025, output_tokens=10, cache_read_tokens=2000,
                      cache_write_tokens=2000, cache_write_1h_tokens=500)
CLAUDE_CACHED_ITEMS = {
    "input": Decimal("0.000075"),  # 25 x $3/M
    "cache_read": Decimal("0.0006"),  # 2,000 x $0.30/M
    "cache_write": Decimal("0.005625"),  # 1,500 x $3.75/M
    "cache_write_1h": Decimal("0.003"),  # 500 x $6/M
    "output": Decimal("0.00015"),  # 10 x $15/M
}


def test_one_hour_cache_writes_through_litellm_are_priced_as_such(llm_server, ledger, use):
    logger = use(CostbookLogger(ledger=ledger))
    answer = _anthropic_call(llm_server)
    assert answer.usage.prompt_tokens_details.cache_creation_token_details is not None
    [entry] = entries(ledger, 1, logger)
    assert (entry.status, entry.provider, entry.model) == ("ok", "anthropic",
                                                           "claude-sonnet-4-5-20250929")
    assert entry.usage == CLAUDE_CACHED
    assert entry.items == CLAUDE_CACHED_ITEMS
    assert entry.total == Decimal("0.00945")


def test_one_hour_cache_writes_of_a_litellm_stream_are_priced_as_such(
        llm_server, ledger, use):
    logger = use(CostbookLogger(ledger=ledger))
    for _ in _anthropic_call(llm_server, stream=True, stream_options={"include_usage": True}):
        pass
    [entry] = entries(ledger, 1, logger)
    assert (entry.status, entry.usage, entry.total) == ("ok", CLAUDE_CACHED, Decimal("0.00945"))


def test_lifetimes_of_cache_writes_in_litellms_usage_are_read():
    response = {"id": "msg_1", "model": "claude-sonnet-4-5",
                "choices": [{"message": {"content": "hi"}}],
                "usage": {"prompt_tokens": 6000, "completion_tokens": 400,
                          "prompt_tokens_details": {
                              "cached_tokens": 3000, "cache_creation_tokens": 2000,
                              "cache_write_tokens": 2000,
                              "cache_creation_token_details": {
                                  "ephemeral_5m_input_tokens": 1500,
                                  "ephemeral_1h_input_tokens": 500}},
                          "cache_creation_input_tokens": 2000,
                          "cache_read_input_tokens": 3000}}
    payload, _ = answer_payload(response, "anthropic")
    usage = costbook.usage_from_response(payload).usage
    assert usage == Usage(input_tokens=6000, output_tokens=400, cache_read_tokens=3000,
                          cache_write_tokens=2000, cache_write_1h_tokens=500)
    assert costbook.price(usage, "claude-sonnet-4-5", provider="anthropic").total == \
        Decimal("0.018525")


def test_an_answer_with_no_input_tokens_for_a_prompt_gets_its_input_counted(
        llm_server, ledger, use):
    logger = use(CostbookLogger(ledger=ledger))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES,
                           api_base=llm_server.base_url, api_key=API_KEY, max_retries=0,
                           extra_headers={"X-Fake-Usage":
                                          '{"prompt_tokens": 0, "completion_tokens": 10}'})
        [entry] = entries(ledger, 1, logger)
    assert entry.status == "incomplete"
    assert entry.usage.output_tokens == 10
    assert entry.usage.input_tokens > 0
    assert any("no input tokens" in str(w.message) for w in caught)
