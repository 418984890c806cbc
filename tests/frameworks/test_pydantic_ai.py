"""pydantic-ai given tracked clients: its OpenAI chat and Responses models and its
Anthropic model (which sends through ``client.beta.messages.create``), run and streamed."""

import asyncio

import pytest

import fake_anthropic_server
from costbook import track
from framework_checks import (
    CLAUDE_CALL,
    GPT_4O_MINI_CALL,
    REPLY,
    framework,
    once_each,
    refused_by_budget,
)

framework("pydantic_ai", "pydantic-ai-slim[openai,anthropic]")

from pydantic_ai import Agent  # noqa: E402
from pydantic_ai.models.anthropic import AnthropicModel  # noqa: E402
from pydantic_ai.models.openai import OpenAIChatModel, OpenAIResponsesModel  # noqa: E402
from pydantic_ai.providers.anthropic import AnthropicProvider  # noqa: E402
from pydantic_ai.providers.openai import OpenAIProvider  # noqa: E402

OPENAI_MODELS = {"chat": (OpenAIChatModel, "/v1/chat/completions"),
                 "responses": (OpenAIResponsesModel, "/v1/responses")}


def _openai_agent(server, api, **options):
    model, _ = OPENAI_MODELS[api]
    client = track(server.async_client(), provider="openai", **options)
    return Agent(model("gpt-4o-mini", provider=OpenAIProvider(openai_client=client)))


def _anthropic_agent(server, **options):
    client = track(fake_anthropic_server.async_client(server), provider="anthropic", **options)
    return Agent(AnthropicModel("claude-sonnet-4-6",
                                provider=AnthropicProvider(anthropic_client=client))), client


async def _run_and_stream(agent):
    answer = await agent.run("Say hello.")
    async with agent.run_stream("Say hello.") as streamed:
        text = await streamed.get_output()
    return answer.output, text


@pytest.mark.parametrize("api", sorted(OPENAI_MODELS))
def test_every_call_of_an_openai_model_is_recorded_once_at_its_price(llm_server, ledger, api):
    async def main():
        return await _run_and_stream(_openai_agent(llm_server, api, ledger=ledger))

    assert asyncio.run(main()) == (REPLY, REPLY)
    once_each(ledger, llm_server, OPENAI_MODELS[api][1], GPT_4O_MINI_CALL)
    assert len(ledger.entries()) == 2


@pytest.mark.parametrize("api", sorted(OPENAI_MODELS))
def test_a_budget_refuses_an_openai_models_call_before_it_is_sent(llm_server, tiny_budget,
                                                                  api):
    async def main():
        await _openai_agent(llm_server, api, budget=tiny_budget).run("Say hello.")

    with pytest.raises(Exception) as raised:
        asyncio.run(main())
    assert refused_by_budget(raised.value)
    assert llm_server.requests == []
    assert tiny_budget.spent() == 0


def test_every_call_of_the_anthropic_model_is_recorded_once_at_its_price(
        llm_server, ledger):
    async def main():
        agent, _ = _anthropic_agent(llm_server, ledger=ledger)
        return await _run_and_stream(agent)

    assert asyncio.run(main()) == (REPLY, REPLY)
    once_each(ledger, llm_server, "/v1/messages", CLAUDE_CALL)
    assert len(ledger.entries()) == 2


def test_a_budget_refuses_the_anthropic_models_call_before_it_is_sent(
        llm_server, tiny_budget):
    async def main():
        agent, _ = _anthropic_agent(llm_server, budget=tiny_budget)
        await agent.run("Say hello.")

    with pytest.raises(Exception) as raised:
        asyncio.run(main())
    assert refused_by_budget(raised.value)
    assert llm_server.requests == []
    assert tiny_budget.spent() == 0
