import json
import urllib.error
import urllib.request

import pytest

BODY = {"model": "claude-sonnet-4-6", "max_tokens": 5, "messages": [
    {"role": "user", "content": "hi"}]}


def post(server, body, **headers):
    request = urllib.request.Request(
        f"{server.url}/v1/messages", data=json.dumps(body).encode(), method="POST",
        headers={"content-type": "application/json", **headers})
    return urllib.request.urlopen(request, timeout=10)


def test_a_stream_sends_anthropics_event_sequence(llm_server):
    with post(llm_server, {**BODY, "stream": True},
              **{"X-Fake-Scenario": "cache-write-1h"}) as answer:
        text = answer.read().decode()
        assert answer.headers["request-id"].startswith("req_fake_")
    events = [line.removeprefix("event: ") for line in text.splitlines()
              if line.startswith("event: ")]
    assert events == ["message_start", "content_block_start", "ping"] + [
        "content_block_delta"] * 5 + ["content_block_stop", "message_delta", "message_stop"]
    datas = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]
    start, delta = datas[0], datas[-2]
    assert start["message"]["usage"]["cache_creation"] == {
        "ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 500}
    assert start["message"]["usage"]["output_tokens"] == 1
    assert delta["usage"]["output_tokens"] == 5  # capped at max_tokens
    assert delta["delta"]["stop_reason"] == "max_tokens"


def test_errors_are_anthropics_error_json(llm_server):
    with pytest.raises(urllib.error.HTTPError) as raised:
        post(llm_server, BODY, **{"X-Fake-Scenario": "overloaded"})
    assert raised.value.code == 529
    body = json.loads(raised.value.read())
    assert body["type"] == "error" and body["error"]["type"] == "overloaded_error"
    with pytest.raises(urllib.error.HTTPError) as raised:
        post(llm_server, {"model": "claude-sonnet-4-6", "messages": []})
    assert raised.value.code == 400
    assert "max_tokens" in json.loads(raised.value.read())["error"]["message"]
