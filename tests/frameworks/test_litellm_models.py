"""LiteLLM with costbook's logger, routing to OpenAI and to Anthropic: sync and async,
plain and streamed."""

import asyncio
import os
import time

import pytest

import fake_anthropic_server
from fake_llm_server import API_KEY
from framework_checks import CLAUDE_CALL, GPT_4O_MINI_CALL, framework, once_each, refused_by_budget

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's prices from its wheel
litellm = framework("litellm", "costbook[litellm]")

from costbook.integrations.litellm import CostbookLogger  # noqa: E402

MESSAGES = [{"role": "user", "content": "Say hello."}]
_CALLBACK_LISTS = ("callbacks", "input_callback", "success_callback", "failure_callback",
                   "_async_input_callback", "_async_success_callback",
                   "_async_failure_callback")
ROUTES = {
    "openai": ("openai/gpt-4o-mini", "/v1/chat/completions", GPT_4O_MINI_CALL),
    "anthropic": ("anthropic/claude-sonnet-4-6", "/v1/messages", CLAUDE_CALL),
}


@pytest.fixture
def logged():
    """Put costbook's logger in LiteLLM's callbacks for one test, then all lists back."""
    saved = {name: list(getattr(litellm, name, [])) for name in _CALLBACK_LISTS}

    def install(logger):
        litellm.callbacks = [logger]
        return logger

    yield install
    for name, value in saved.items():
        setattr(litellm, name, value)


def _options(server, route):
    model, _, _ = ROUTES[route]
    if route == "anthropic":
        return {"model": model, "api_base": server.url, "api_key": fake_anthropic_server.API_KEY,
                "max_tokens": 100}
    return {"model": model, "api_base": server.base_url, "api_key": API_KEY}


def _settled(logger, ledger, count):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if logger.pending == 0 and len(ledger.entries()) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{len(ledger.entries())} entries, {count} expected")


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_call_is_recorded_once_at_its_price(llm_server, ledger, logged, route):
    logger = logged(CostbookLogger(ledger=ledger))
    options = {**_options(llm_server, route), "messages": MESSAGES, "max_retries": 0}
    litellm.completion(**options)
    for _ in litellm.completion(**options, stream=True, stream_options={"include_usage": True}):
        pass

    async def main():
        await litellm.acompletion(**options)
        async for _ in await litellm.acompletion(**options, stream=True,
                                                 stream_options={"include_usage": True}):
            pass
        deadline = time.monotonic() + 15
        while (logger.pending or len(ledger.entries()) < 4) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    asyncio.run(main())
    _settled(logger, ledger, 4)
    time.sleep(0.2)  # a call logged twice would show now
    once_each(ledger, llm_server, ROUTES[route][1], ROUTES[route][2])
    assert len(ledger.entries()) == 4


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_budget_refuses_an_async_call_before_it_is_sent(llm_server, tiny_budget, logged,
                                                          route):
    logged(CostbookLogger(budget=tiny_budget))
    with pytest.raises(Exception) as raised:
        asyncio.run(litellm.acompletion(**_options(llm_server, route), messages=MESSAGES,
                                        max_retries=0))
    assert refused_by_budget(raised.value)
    assert llm_server.requests == []
    assert tiny_budget.spent() == 0
