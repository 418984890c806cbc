import asyncio
import json
import subprocess
import sys
import warnings
from decimal import Decimal

import pytest
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_openai import ChatOpenAI

import costbook
from costbook import Budget, BudgetExceeded, Ledger, UnknownModelError, Usage
from costbook.integrations.langchain import (
    CostbookCallbackHandler,
    answer_payload,
    chat_usage,
    provider_of,
)
from fake_llm_server import API_KEY


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def chat(server, handler, *words, **options):
    headers = {"X-Fake-Scenario": ",".join(words)} if words else {}
    return ChatOpenAI(model=options.pop("model", "gpt-4o-mini"), base_url=server.base_url,
                      api_key=API_KEY, max_retries=0, callbacks=[handler],
                      default_headers=headers, **options)


def test_importing_the_integrations_loads_neither_library():
    probe = ("import json, sys; import costbook, costbook.integrations; "
             "print(json.dumps(sorted(sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True,
                                       text=True, check=True).stdout)
    assert not [name for name in loaded if name.startswith(("langchain", "litellm"))]


def test_a_call_is_priced_from_its_usage_metadata(llm_server, ledger):
    handler = CostbookCallbackHandler(ledger=ledger, tags={"app": "lc"})
    answer = chat(llm_server, handler).invoke("Say hello.")
    [entry] = ledger.entries()
    assert entry.status == "ok"
    assert (entry.provider, entry.model) == ("openai", "gpt-4o-mini")
    assert entry.usage == Usage(input_tokens=25, output_tokens=10)
    # 25 input tokens at $0.15/M and 10 output tokens at $0.60/M
    assert entry.items == {"input": Decimal("0.00000375"), "output": Decimal("0.000006")}
    assert entry.total == Decimal("0.00000975")
    assert entry.request_id == answer.response_metadata["id"]
    assert entry.request_id.startswith("chatcmpl-fake-")
    assert entry.tags == {"app": "lc"}
    assert entry.estimate_low is not None and entry.estimate_low < entry.total
    assert handler.pending == 0


def test_cached_tokens_are_billed_at_the_cache_read_rate(llm_server, ledger):
    handler = CostbookCallbackHandler(ledger=ledger)
    chat(llm_server, handler, "cached").invoke("Say hello.")
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=25, output_tokens=10, cache_read_tokens=16)
    # 9 uncached at $0.15/M, 16 cached at $0.075/M, 10 output at $0.60/M
    assert entry.items == {"input": Decimal("0.00000135"), "cache_read": Decimal("0.0000012"),
                           "output": Decimal("0.000006")}
    assert entry.total == Decimal("0.00000855")


def test_reasoning_tokens_are_read(llm_server, ledger):
    handler = CostbookCallbackHandler(ledger=ledger)
    chat(llm_server, handler, "reasoning", model="o4-mini").invoke("Think.")
    [entry] = ledger.entries()
    assert entry.usage == Usage(input_tokens=25, output_tokens=10, reasoning_tokens=6)
    assert entry.model == "o4-mini"


def test_a_stream_with_usage_is_recorded_once_it_ends(llm_server, ledger):
    handler = CostbookCallbackHandler(ledger=ledger)
    text = "".join(str(c.content) for c in
                   chat(llm_server, handler, stream_usage=True).stream("Say hello."))
    assert text == "Hello from the local server."
    assert llm_server.requests[0].body["stream_options"] == {"include_usage": True}
    [entry] = ledger.entries()
    assert entry.status == "ok"
    assert entry.usage == Usage(input_tokens=25, output_tokens=10)
    assert entry.total == Decimal("0.00000975")


def test_a_stream_without_usage_is_recorded_incomplete_with_counted_tokens(llm_server, ledger):
    handler = CostbookCallbackHandler(ledger=ledger)
    for _ in chat(llm_server, handler).stream("Say hello."):
        pass
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage.output_tokens == 6  # "Hello from the local server." counted
    assert entry.usage.input_tokens > 0


def test_a_failed_call_is_recorded_as_an_error_and_the_error_reaches_the_caller(
        llm_server, ledger):
    handler = CostbookCallbackHandler(ledger=ledger)
    with pytest.raises(Exception, match="fake server") as raised:
        chat(llm_server, handler, "server-error").invoke("Say hello.")
    assert not isinstance(raised.value, costbook.CostbookError)
    [entry] = ledger.entries()
    assert entry.status == "error"
    assert entry.total == 0
    assert handler.pending == 0


def test_a_budget_refuses_a_call_before_any_request(llm_server, ledger):
    budget = Budget("0.000001", ledger=ledger)
    handler = CostbookCallbackHandler(budget=budget)
    with pytest.raises(BudgetExceeded, match="budget"):
        chat(llm_server, handler).invoke("Say hello.")
    assert llm_server.requests == []
    assert [(e.status, e.total, e.refused_by) for e in ledger.entries()] == [
        ("refused", 0, "budget $0.000001 (all time)")]
    assert budget.reserved() == 0 and budget.spent() == 0


def test_a_budget_holds_then_commits_the_actual_cost(llm_server, ledger):
    budget = Budget("1", ledger=ledger, tags={"team": "a"})
    handler = CostbookCallbackHandler(budget=budget)
    chat(llm_server, handler, max_tokens=20).invoke("Say hello.")
    [entry] = ledger.entries()
    assert entry.tags == {"team": "a"}
    assert budget.spent() == entry.total == Decimal("0.00000975")
    assert budget.reserved() == 0


def test_an_async_call_under_a_budget(llm_server, ledger):
    budget = Budget("0.000001", ledger=ledger)
    refused = chat(llm_server, CostbookCallbackHandler(budget=budget))
    with pytest.raises(BudgetExceeded):
        asyncio.run(refused.ainvoke("Say hello."))
    assert llm_server.requests == []
    allowed = chat(llm_server, CostbookCallbackHandler(ledger=ledger))
    asyncio.run(allowed.ainvoke("Say hello."))
    assert [e.status for e in ledger.entries()] == ["refused", "ok"]
    assert ledger.total() == ledger.entries()[1].total == Decimal("0.00000975")


def test_a_max_cost_block_refuses_and_collects(llm_server, ledger):
    handler = CostbookCallbackHandler(ledger=ledger)
    with costbook.max_cost("0.000001"), pytest.raises(BudgetExceeded, match="max_cost"):
        chat(llm_server, handler).invoke("Say hello.")
    assert llm_server.requests == []
    with costbook.max_cost("1") as block:
        chat(llm_server, handler, max_tokens=20).invoke("Say hello.")
    assert block.spent == Decimal("0.00000975")


def test_tags_of_a_tagged_block_join_the_handlers(llm_server, ledger):
    handler = CostbookCallbackHandler(ledger=ledger, tags={"app": "lc"})
    with costbook.tagged(user="u-1"):
        chat(llm_server, handler).invoke("Say hello.")
    [entry] = ledger.entries()
    assert entry.tags == {"app": "lc", "user": "u-1"}


def test_an_unknown_model_is_sent_with_a_warning_and_refused_under_a_budget(
        llm_server, ledger):
    handler = CostbookCallbackHandler(ledger=ledger)
    with pytest.warns(RuntimeWarning, match="my-own-model"):
        answer = chat(llm_server, handler, model="my-own-model").invoke("Say hello.")
    assert answer.content == "Hello from the local server."
    assert handler.pending == 0
    budgeted = CostbookCallbackHandler(budget=Budget("1", ledger=ledger))
    llm_server.reset()
    with pytest.raises(UnknownModelError, match="my-own-model"):
        chat(llm_server, budgeted, model="my-own-model").invoke("Say hello.")
    assert llm_server.requests == []


def test_a_ledger_that_cannot_be_written_never_breaks_the_call(llm_server, tmp_path):
    book = Ledger(tmp_path / "ledger.sqlite")
    handler = CostbookCallbackHandler(ledger=book)
    book.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        answer = chat(llm_server, handler).invoke("Say hello.")
    assert answer.content == "Hello from the local server."


def test_the_provider_comes_from_the_base_url_then_ls_provider():
    router = {"kwargs": {"openai_api_base": "https://openrouter.ai/api/v1"}}
    assert provider_of(router, {"ls_provider": "openai"}) == "openrouter"
    assert provider_of({"kwargs": {}}, {"ls_provider": "groq"}) == "groq"
    assert provider_of({}, {"ls_provider": "together_ai"}) == "together"
    assert provider_of({}, {"ls_provider": "no-such-provider"}) is None


def test_an_explicit_provider_wins(llm_server, ledger):
    handler = CostbookCallbackHandler(ledger=ledger, provider="openrouter")
    chat(llm_server, handler, "openrouter", model="openai/gpt-4o-mini").invoke("Say hello.")
    [entry] = ledger.entries()
    assert (entry.provider, entry.model) == ("openrouter", "openai/gpt-4o-mini")
    assert entry.reported_cost == Decimal("0.0000123")


def test_anthropic_usage_metadata_keeps_cache_writes_by_lifetime():
    metadata = {
        "input_tokens": 1000, "output_tokens": 50, "total_tokens": 1050,
        "input_token_details": {"cache_read": 600, "cache_creation": 300,
                                "ephemeral_5m_input_tokens": 100,
                                "ephemeral_1h_input_tokens": 200},
        "output_token_details": {"reasoning": 20},
    }
    message = AIMessage(content="hi", usage_metadata=metadata,
                        response_metadata={"model": "claude-sonnet-4-5-20250929",
                                           "id": "msg_01"})
    payload, text = answer_payload(LLMResult(generations=[[ChatGeneration(message=message)]]))
    assert text == "hi"
    assert payload["model"] == "claude-sonnet-4-5-20250929"
    answer = costbook.usage_from_response(payload, provider="anthropic")
    assert answer.usage == Usage(input_tokens=1000, output_tokens=50, cache_read_tokens=600,
                                 cache_write_tokens=300, cache_write_1h_tokens=200,
                                 reasoning_tokens=20)
    assert answer.request_id == "msg_01"


def test_usage_metadata_without_details():
    usage = chat_usage({"input_tokens": 5, "output_tokens": 2, "total_tokens": 7})
    assert costbook.usage_from_response({"usage": usage}).usage == Usage(input_tokens=5,
                                                                         output_tokens=2)


# --- usage as LangChain's provider packages report it ------------------------------------------

def _recorded(metadata, model="claude-sonnet-4-5", provider="anthropic", **meta):
    """What a payload built from ``metadata`` reads as, and its price."""
    message = AIMessage(content="hi", usage_metadata=metadata,
                        response_metadata={"model": model, **meta})
    payload, _ = answer_payload(LLMResult(generations=[[ChatGeneration(message=message)]]))
    usage = costbook.usage_from_response(payload, provider=provider).usage
    return usage, costbook.price(usage, model, provider=provider,
                                 service_tier=meta.get("service_tier"))


def test_langchain_anthropic_cache_writes_by_lifetime_are_priced_as_such():
    # langchain-anthropic 1.7: the writes split by lifetime, cache_creation left at 0
    usage, cost = _recorded({
        "input_tokens": 6000, "output_tokens": 400, "total_tokens": 6400,
        "input_token_details": {"cache_read": 3000, "cache_creation": 0,
                                "ephemeral_5m_input_tokens": 1500,
                                "ephemeral_1h_input_tokens": 500},
    })
    assert usage == Usage(input_tokens=6000, output_tokens=400, cache_read_tokens=3000,
                          cache_write_tokens=2000, cache_write_1h_tokens=500)
    # 1,000 uncached at $3/M, 3,000 reads at $0.30/M, 1,500 five-minute writes at
    # $3.75/M, 500 one-hour writes at $6/M, 400 out at $15/M
    assert cost.items == {"input": Decimal("0.003"), "cache_read": Decimal("0.0009"),
                          "cache_write": Decimal("0.005625"),
                          "cache_write_1h": Decimal("0.003"), "output": Decimal("0.006")}
    assert cost.total == Decimal("0.018525")


def test_cache_writes_that_langchain_anthropic_could_not_split_stay_in_cache_creation():
    usage, _ = _recorded({"input_tokens": 2100, "output_tokens": 10, "total_tokens": 2110,
                          "input_token_details": {"cache_read": 0, "cache_creation": 2000}})
    assert usage == Usage(input_tokens=2100, output_tokens=10, cache_write_tokens=2000)


def test_langchain_openai_counts_of_a_flex_call_are_read_with_their_tier():
    # langchain-openai names the parts of a flex call flex_cache_read, flex_reasoning
    usage, cost = _recorded({
        "input_tokens": 1000, "output_tokens": 300, "total_tokens": 1300,
        "input_token_details": {"flex_cache_read": 400, "flex": 600},
        "output_token_details": {"flex_reasoning": 100, "flex": 200},
    }, model="o4-mini", provider="openai", service_tier="flex")
    assert usage == Usage(input_tokens=1000, output_tokens=300, cache_read_tokens=400,
                          reasoning_tokens=100)
    assert cost.service_tier == "flex"
    plain = costbook.price(usage, "o4-mini", provider="openai")
    assert cost.total < plain.total
    # a priority call without cache reads or reasoning: the tier from its counts alone
    message = AIMessage(content="hi", response_metadata={"model": "o4-mini"}, usage_metadata={
        "input_tokens": 100, "output_tokens": 20, "total_tokens": 120,
        "input_token_details": {"priority": 100}, "output_token_details": {"priority": 20}})
    payload, _ = answer_payload(LLMResult(generations=[[ChatGeneration(message=message)]]))
    assert costbook.usage_from_response(payload).service_tier == "priority"


@pytest.mark.parametrize("usage", ["{}", '{"prompt_tokens": null, "completion_tokens": null}',
                                   '{"input_tokens": 25, "output_tokens": 10}'])
def test_an_answer_whose_usage_langchain_reads_as_zero_is_recorded_incomplete_and_counted(
        llm_server, ledger, usage):
    # langchain-openai turns each of these usages into 0 input and 0 output tokens
    handler = CostbookCallbackHandler(ledger=ledger)
    with pytest.warns(RuntimeWarning, match="reports no tokens"):
        answer = chat(llm_server, handler).invoke(
            "Say hello.", extra_headers={"X-Fake-Usage": usage})
    assert answer.content == "Hello from the local server."
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    estimate = costbook.estimate_request({"model": "gpt-4o-mini",
                                          "messages": [{"role": "user", "content": "Say hello."}]},
                                         provider="openai")
    assert entry.usage == Usage(input_tokens=estimate.input_tokens,
                                output_tokens=costbook.count_tokens(
                                    "Hello from the local server.", "gpt-4o-mini"))
    assert entry.total > 0


def test_an_answer_with_no_input_tokens_for_a_prompt_gets_its_input_counted(
        llm_server, ledger):
    handler = CostbookCallbackHandler(ledger=ledger)
    with pytest.warns(RuntimeWarning, match="no input tokens"):
        chat(llm_server, handler).invoke(
            "Say hello.", extra_headers={"X-Fake-Usage":
                                         '{"prompt_tokens": 0, "completion_tokens": 10}'})
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage.output_tokens == 10
    assert entry.usage.input_tokens > 0
