"""The OpenAI Agents SDK given a tracked AsyncOpenAI: its Responses and Chat Completions
models, run and streamed."""

import asyncio

import pytest

from costbook import track
from framework_checks import GPT_4O_MINI_CALL, REPLY, framework, once_each, refused_by_budget

agents = framework("agents", "openai-agents")

agents.set_tracing_disabled(True)  # the SDK would send its traces to OpenAI

MODELS = {
    "responses": (agents.OpenAIResponsesModel, "/v1/responses"),
    "chat": (agents.OpenAIChatCompletionsModel, "/v1/chat/completions"),
}


def _agent(server, api, **options):
    model, _ = MODELS[api]
    client = track(server.async_client(), provider="openai", **options)
    return agents.Agent(name="greeter", instructions="Be brief.",
                        model=model("gpt-4o-mini", client))


async def _run_and_stream(agent):
    answer = await agents.Runner.run(agent, "Say hello.")
    streamed = agents.Runner.run_streamed(agent, "Say hello.")
    async for _ in streamed.stream_events():
        pass
    return answer.final_output, streamed.final_output


@pytest.mark.parametrize("api", sorted(MODELS))
def test_every_call_of_an_agent_is_recorded_once_at_its_price(llm_server, ledger, api):
    async def main():
        return await _run_and_stream(_agent(llm_server, api, ledger=ledger))

    assert asyncio.run(main()) == (REPLY, REPLY)
    once_each(ledger, llm_server, MODELS[api][1], GPT_4O_MINI_CALL)
    assert len(ledger.entries()) == 2


@pytest.mark.parametrize("api", sorted(MODELS))
def test_a_budget_refuses_an_agents_call_before_it_is_sent(llm_server, tiny_budget, api):
    async def main():
        await agents.Runner.run(_agent(llm_server, api, budget=tiny_budget), "Say hello.")

    with pytest.raises(Exception) as raised:
        asyncio.run(main())
    assert refused_by_budget(raised.value)
    assert llm_server.requests == []
    assert tiny_budget.spent() == 0
