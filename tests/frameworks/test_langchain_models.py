"""LangChain's ChatOpenAI and ChatAnthropic with costbook's callback handler: invoked and
streamed, sync and async."""

import asyncio
import importlib
from decimal import Decimal

import pytest

import costbook
import fake_anthropic_server
from costbook import Usage
from costbook.integrations.langchain import CostbookCallbackHandler
from fake_llm_server import API_KEY
from framework_checks import CLAUDE_CALL, GPT_4O_MINI_CALL, REPLY, framework, once_each

framework("langchain_openai", "langchain-openai")
framework("langchain_anthropic", "langchain-anthropic")

from langchain_anthropic import ChatAnthropic  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402


def _openai(server, handler, **options):
    return ChatOpenAI(model="gpt-4o-mini", base_url=server.base_url, api_key=API_KEY,
                      max_retries=0, callbacks=[handler], stream_usage=True, **options)


def _anthropic(server, handler, **options):
    return ChatAnthropic(model="claude-sonnet-4-6", base_url=server.url,
                         api_key=fake_anthropic_server.API_KEY, max_retries=0, max_tokens=100,
                         callbacks=[handler], **options)


@pytest.fixture
def own_event_loop_clients():
    """LangChain's chat models share one cached async HTTP client per base URL, bound to
    the event loop that first used it: cleared around a test that runs a loop of its own,
    so that neither this test nor a later one meets a client of a closed loop."""
    caches = []
    for name in ("langchain_openai.chat_models._client_utils",
                 "langchain_anthropic._client_utils"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for function in ("_cached_async_httpx_client", "_get_default_async_httpx_client"):
            found = getattr(module, function, None)
            if hasattr(found, "cache_clear"):
                caches.append(found)
    for cache in caches:
        cache.cache_clear()
    yield
    for cache in caches:
        cache.cache_clear()


MODELS = {"openai": (_openai, "/v1/chat/completions", GPT_4O_MINI_CALL),
          "anthropic": (_anthropic, "/v1/messages", CLAUDE_CALL)}


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_every_call_is_recorded_once_at_its_price(llm_server, ledger, provider,
                                                  own_event_loop_clients):
    make, path, cost = MODELS[provider]
    model = make(llm_server, CostbookCallbackHandler(ledger=ledger))
    assert model.invoke("Say hello.").content == REPLY
    assert "".join(str(c.content) for c in model.stream("Say hello.")) == REPLY

    async def main():
        answer = await model.ainvoke("Say hello.")
        text = "".join([str(c.content) async for c in model.astream("Say hello.")])
        return answer.content, text

    assert asyncio.run(main()) == (REPLY, REPLY)
    once_each(ledger, llm_server, path, cost)
    assert len(ledger.entries()) == 4


@pytest.mark.parametrize("provider", sorted(MODELS))
@pytest.mark.parametrize("stream", [False, True])
def test_a_budget_refuses_a_call_before_it_is_sent(llm_server, tiny_budget, provider, stream):
    make, _, _ = MODELS[provider]
    model = make(llm_server, CostbookCallbackHandler(budget=tiny_budget))
    with pytest.raises(costbook.BudgetExceeded):
        if stream:
            list(model.stream("Say hello."))
        else:
            model.invoke("Say hello.")
    assert llm_server.requests == []
    [refusal] = tiny_budget.ledger.entries()  # the refusal is recorded, and spends nothing
    assert refusal.status == "refused" and tiny_budget.spent() == 0


def test_chat_anthropic_cache_writes_by_lifetime_are_priced_as_such(llm_server, ledger):
    model = _anthropic(llm_server, CostbookCallbackHandler(ledger=ledger), default_headers={
        "X-Fake-Scenario": "cached,cache-write,cache-write-1h"})
    model.invoke("Say hello.")
    [entry] = ledger.entries()
    assert entry.status == "ok"
    assert entry.usage == Usage(input_tokens=4025, output_tokens=10, cache_read_tokens=2000,
                                cache_write_tokens=2000, cache_write_1h_tokens=500)
    assert entry.items == {  # claude-sonnet-4-6
        "input": Decimal("0.000075"),  # 25 uncached x $3/M
        "cache_read": Decimal("0.0006"),  # 2,000 x $0.30/M
        "cache_write": Decimal("0.005625"),  # 1,500 five-minute x $3.75/M
        "cache_write_1h": Decimal("0.003"),  # 500 one-hour x $6/M
        "output": Decimal("0.00015"),  # 10 x $15/M
    }


def test_a_chat_anthropic_stream_with_no_input_tokens_gets_its_input_counted(
        llm_server, ledger):
    # a message_delta that reports the output alone: LangChain adds up 0 input tokens
    model = _anthropic(llm_server, CostbookCallbackHandler(ledger=ledger), default_headers={
        "X-Fake-Usage": '{"output_tokens": 10}'})
    with pytest.warns(RuntimeWarning, match="no input tokens"):
        assert "".join(str(c.content) for c in model.stream("Say hello.")) == REPLY
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    estimate = costbook.estimate_messages(
        {"model": "claude-sonnet-4-6", "max_tokens": 100,
         "messages": [{"role": "user", "content": "Say hello."}]}, provider="anthropic")
    assert entry.usage == Usage(input_tokens=estimate.input_tokens, output_tokens=10)
    assert entry.total > Decimal("0.00015")  # more than the output alone
