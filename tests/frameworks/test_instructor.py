"""instructor given a tracked OpenAI client: structured answers, sync and async."""

import asyncio
import json

import pytest
from pydantic import BaseModel

from costbook import track
from framework_checks import GPT_4O_MINI_CALL, framework, once_each, refused_by_budget

instructor = framework("instructor", "instructor")

MESSAGES = [{"role": "user", "content": "Say hello."}]
ANSWER = {"X-Fake-Reply": json.dumps({"text": "Hello"})}


class Greeting(BaseModel):
    text: str


def test_every_structured_call_is_recorded_once_at_its_price(llm_server, ledger):
    client = instructor.from_openai(track(llm_server.client(), ledger=ledger,
                                          provider="openai"), mode=instructor.Mode.JSON)
    greeting = client.chat.completions.create(
        model="gpt-4o-mini", response_model=Greeting, messages=MESSAGES, max_retries=0,
        extra_headers=ANSWER)
    assert greeting.text == "Hello"

    async def main():
        tracked = track(llm_server.async_client(), ledger=ledger, provider="openai")
        return await instructor.from_openai(tracked, mode=instructor.Mode.JSON)\
            .chat.completions.create(model="gpt-4o-mini", response_model=Greeting,
                                     messages=MESSAGES, max_retries=0, extra_headers=ANSWER)

    assert asyncio.run(main()).text == "Hello"
    once_each(ledger, llm_server, "/v1/chat/completions", GPT_4O_MINI_CALL)
    assert len(ledger.entries()) == 2


def test_each_retry_of_an_invalid_answer_is_recorded(llm_server, ledger):
    client = instructor.from_openai(track(llm_server.client(), ledger=ledger,
                                          provider="openai"), mode=instructor.Mode.JSON)
    with pytest.raises(Exception) as raised:
        client.chat.completions.create(
            model="gpt-4o-mini", response_model=Greeting, messages=MESSAGES, max_retries=2,
            extra_headers={"X-Fake-Reply": json.dumps({"wrong": 1})})
    assert not refused_by_budget(raised.value)
    assert len(llm_server.requests) == 3  # the first try and two retries, each billed
    once_each(ledger, llm_server, "/v1/chat/completions", GPT_4O_MINI_CALL)


def test_a_budget_refuses_a_structured_call_before_it_is_sent(llm_server, tiny_budget):
    client = instructor.from_openai(track(llm_server.client(), budget=tiny_budget,
                                          provider="openai"), mode=instructor.Mode.JSON)
    with pytest.raises(Exception) as raised:
        client.chat.completions.create(model="gpt-4o-mini", response_model=Greeting,
                                       messages=MESSAGES, max_retries=0, extra_headers=ANSWER)
    assert refused_by_budget(raised.value)
    assert llm_server.requests == []
    assert tiny_budget.spent() == 0
