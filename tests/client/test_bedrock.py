import json
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

import costbook
from costbook import Budget, BudgetExceeded, Ledger, Usage, track
from fake_bedrock_server import REGION, REPLY, FakeBedrockServer

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
PRICED_AS = "regional.anthropic.claude-sonnet-4-5-20250929-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Say hello."}]}]
TEXT = "".join(REPLY)
PLAIN = Usage(input_tokens=30, output_tokens=10)
PLAIN_TOTAL = Decimal("0.000264")  # 30 x $3.30/M + 10 x $16.50/M (regional rates)
ANTHROPIC_BODY = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 100,
                  "messages": [{"role": "user", "content": "Say hello."}]}


@pytest.fixture(scope="module")
def server_session():
    with FakeBedrockServer() as server:
        yield server


@pytest.fixture
def server(server_session):
    server_session.reset()
    return server_session


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


def test_a_converse_call_is_priced_and_recorded_as_bedrock(server, ledger):
    client = track(server.client(), ledger=ledger, tags={"app": "t"})
    answer = client.converse(modelId=MODEL, messages=MESSAGES,
                             inferenceConfig={"maxTokens": 100})
    assert answer["output"]["message"]["content"][0]["text"] == TEXT
    [entry] = ledger.entries()
    assert (entry.status, entry.provider, entry.model) == ("ok", "bedrock", PRICED_AS)
    assert entry.asked_model == MODEL
    assert entry.usage == PLAIN
    assert entry.items == {"input": Decimal("0.000099"), "output": Decimal("0.000165")}
    assert entry.total == PLAIN_TOTAL
    assert entry.tags == {"app": "t", "aws_region": REGION}
    assert entry.request_id == "fake-bedrock-request"
    assert entry.estimate_low < entry.total < entry.estimate_high
    [request] = server.requests
    assert (request.model_id, request.operation) == (MODEL, "converse")
    assert request.body["messages"] == MESSAGES


def test_cache_reads_and_writes_of_both_lifetimes_are_priced(server, ledger):
    server.answer.cache_read = 2000
    server.answer.cache_write = 1500
    server.answer.cache_write_1h = 500
    client = track(server.client(), ledger=ledger)
    client.converse(modelId=MODEL, messages=MESSAGES)
    client.invoke_model(modelId=MODEL, body=json.dumps(ANTHROPIC_BODY))
    usage = Usage(input_tokens=3530, output_tokens=10, cache_read_tokens=2000,
                  cache_write_tokens=1500, cache_write_1h_tokens=500)
    items = {
        "input": Decimal("0.000099"),  # 30 uncached x $3.30/M
        "cache_read": Decimal("0.00066"),  # 2,000 x $0.33/M
        "cache_write": Decimal("0.004125"),  # 1,000 five-minute x $4.125/M
        "cache_write_1h": Decimal("0.0033"),  # 500 one-hour x $6.60/M
        "output": Decimal("0.000165"),
    }
    for entry in ledger.entries():
        assert entry.usage == usage
        assert entry.items == items
        assert entry.total == Decimal("0.008349")


def test_global_and_foundation_model_ids_are_priced_at_their_own_rates(server, ledger):
    client = track(server.client(), ledger=ledger)
    client.converse(modelId="global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                    messages=MESSAGES)
    client.converse(modelId="arn:aws:bedrock:us-east-1::foundation-model/"
                            "anthropic.claude-sonnet-4-5-20250929-v1:0", messages=MESSAGES)
    first, second = ledger.entries()
    assert (first.model, first.total) == ("global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                                          Decimal("0.00024"))
    assert (second.model, second.total) == (PRICED_AS, PLAIN_TOTAL)
    assert server.requests[1].model_id.startswith("arn:aws:bedrock:")


def test_an_application_inference_profile_is_priced_through_models(server, ledger):
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
    client = track(server.client(), ledger=ledger, models={arn: MODEL})
    client.converse(modelId=arn, messages=MESSAGES)
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.asked_model, entry.total) == (
        "ok", PRICED_AS, arn, PLAIN_TOTAL)


DEEPSEEK = "deepseek.v3.2"


def test_a_call_in_a_region_with_its_own_rates_is_priced_at_them(server, ledger):
    client = track(server.client("ap-northeast-1"), ledger=ledger)
    client.converse(modelId=DEEPSEEK, messages=MESSAGES, inferenceConfig={"maxTokens": 100})
    client.invoke_model(modelId="apac.deepseek.v3.2", body=json.dumps({"prompt": "Hi"}))
    for entry in ledger.entries():
        assert (entry.status, entry.model) == ("ok", "ap-northeast-1/deepseek.v3.2")
        assert entry.tags == {"aws_region": "ap-northeast-1"}
        assert entry.usage == PLAIN
        # 30 x $0.74/M + 10 x $2.22/M: Bedrock's ap-northeast-1 rates
        assert entry.items == {"input": Decimal("0.0000222"), "output": Decimal("0.0000222")}
        assert entry.total == Decimal("0.0000444")
    first = ledger.entries()[0]
    assert first.asked_model == DEEPSEEK
    assert first.estimate_low < first.total < first.estimate_high


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_a_call_in_a_region_without_its_own_rates_is_priced_in_region(server, ledger, region):
    client = track(server.client(region), ledger=ledger)
    client.converse(modelId=DEEPSEEK, messages=MESSAGES)
    [entry] = ledger.entries()
    assert (entry.model, entry.tags) == ("regional.deepseek.v3.2", {"aws_region": region})
    # 30 x $0.62/M + 10 x $1.85/M: the in-region rates
    assert entry.total == Decimal("0.0000371")


def test_a_models_mapping_wins_over_the_region(server, ledger):
    arn = "arn:aws:bedrock:ap-northeast-1:123456789012:application-inference-profile/a1b2c3"
    client = track(server.client("ap-northeast-1"), ledger=ledger,
                   models={arn: DEEPSEEK, "mine": "eu-west-2/qwen.qwen3-coder-next"})
    client.converse(modelId=arn, messages=MESSAGES)
    client.converse(modelId="mine", messages=MESSAGES)
    first, second = ledger.entries()
    assert (first.model, first.total) == ("regional.deepseek.v3.2", Decimal("0.0000371"))
    # 30 x $0.78/M + 10 x $1.86/M: eu-west-2's rates, as mapped
    assert (second.model, second.total) == ("eu-west-2/qwen.qwen3-coder-next",
                                            Decimal("0.0000420"))


def test_a_region_ref_prices_at_the_region_rates_else_in_region():
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert costbook.price(usage, "bedrock:ap-northeast-1/deepseek.v3.2").total == Decimal("2.96")
    assert costbook.price(usage, "bedrock:ap-northeast-1/apac.deepseek.v3.2").total == (
        Decimal("2.96"))
    cost = costbook.price(usage, "bedrock:eu-west-1/deepseek.v3.2")
    assert (cost.model, cost.total) == ("regional.deepseek.v3.2", Decimal("2.47"))
    cost = costbook.price(usage, "bedrock:eu-west-3/mistral.mistral-large-2402")
    assert (cost.model, cost.total) == ("eu-west-3/mistral.mistral-large-2402-v1:0",
                                        Decimal("20.8"))
    # a bare model id is the in-region entry, never one region's
    assert costbook.price(usage, "bedrock:deepseek.v3.2").model == "regional.deepseek.v3.2"
    assert costbook.price(usage, "nvidia.nemotron-super-3-120b").model == (
        "regional.nvidia.nemotron-super-3-120b")
    # a global. profile bills its own rates in any region
    assert costbook.price(
        usage, "bedrock:ap-northeast-1/global.anthropic.claude-sonnet-4-5-20250929-v1:0"
    ).model == "global.anthropic.claude-sonnet-4-5-20250929-v1:0"


def test_a_converse_stream_is_passed_through_and_recorded_from_its_metadata(server, ledger):
    server.answer.cache_read = 2000
    client = track(server.client(), ledger=ledger)
    answer = client.converse_stream(modelId=MODEL, messages=MESSAGES)
    pieces = [event["contentBlockDelta"]["delta"]["text"] for event in answer["stream"]
              if "contentBlockDelta" in event]
    assert tuple(pieces) == REPLY
    [entry] = ledger.entries()
    assert entry.status == "ok"
    assert entry.usage == Usage(input_tokens=2030, output_tokens=10, cache_read_tokens=2000)
    assert entry.total == Decimal("0.000924")  # 0.000099 + 0.00066 + 0.000165


def test_a_converse_stream_cut_short_is_recorded_incomplete(server, ledger):
    server.answer.cut = True
    client = track(server.client(), ledger=ledger)
    answer = client.converse_stream(modelId=MODEL, messages=MESSAGES)
    with pytest.raises(Exception):  # noqa: B017 - botocore's own error, whatever its class
        list(answer["stream"])
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage.output_tokens == costbook.count_tokens(REPLY[0], PRICED_AS)


def test_invoke_model_is_priced_and_its_body_is_still_readable(server, ledger):
    client = track(server.client(), ledger=ledger)
    answer = client.invoke_model(modelId=MODEL, body=json.dumps(ANTHROPIC_BODY))
    message = json.loads(answer["body"].read())
    assert message["content"][0]["text"] == TEXT
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.usage, entry.total) == (
        "ok", PRICED_AS, PLAIN, PLAIN_TOTAL)
    body = {**ANTHROPIC_BODY, "model": MODEL}
    estimate = costbook.estimate_messages(body, provider="bedrock")
    assert entry.estimate_high == estimate.high.total


def test_invoke_model_of_another_maker_is_priced_from_the_token_count_headers(server, ledger):
    server.answer.invoke_body = {"output": {"message": {"role": "assistant",
                                                        "content": [{"text": TEXT}]}},
                                 "stopReason": "end_turn"}
    body = {"messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": {"max_new_tokens": 100}}
    client = track(server.client(), ledger=ledger)
    answer = client.invoke_model(modelId="us.amazon.nova-lite-v1:0", body=json.dumps(body))
    assert json.loads(answer["body"].read()) == server.answer.invoke_body
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.usage) == ("ok", "amazon.nova-lite-v1:0", PLAIN)
    assert entry.total == Decimal("0.0000042")  # 30 x $0.06/M + 10 x $0.24/M


def test_invoke_model_with_response_stream_is_recorded_from_its_events(server, ledger):
    client = track(server.client(), ledger=ledger)
    answer = client.invoke_model_with_response_stream(modelId=MODEL,
                                                      body=json.dumps(ANTHROPIC_BODY))
    events = [json.loads(event["chunk"]["bytes"]) for event in answer["body"]]
    assert "".join(e["delta"]["text"] for e in events
                   if e["type"] == "content_block_delta") == TEXT
    [entry] = ledger.entries()
    assert (entry.status, entry.usage, entry.total) == ("ok", PLAIN, PLAIN_TOTAL)


def test_a_budget_refuses_before_any_request(server, ledger):
    config = {"maxTokens": 100}
    body = {"model": MODEL, "max_tokens": 100,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Say hello."}]}]}
    high = costbook.estimate_messages(body, provider="bedrock").high.total
    budget = Budget(PLAIN_TOTAL + high - Decimal("0.000001"), ledger=ledger)
    client = track(server.client(), budget=budget)
    client.converse(modelId=MODEL, messages=MESSAGES, inferenceConfig=config)
    server.reset()
    with pytest.raises(BudgetExceeded):
        client.converse(modelId=MODEL, messages=MESSAGES, inferenceConfig=config)
    with pytest.raises(BudgetExceeded):
        client.converse_stream(modelId=MODEL, messages=MESSAGES, inferenceConfig=config)
    with pytest.raises(BudgetExceeded):
        client.invoke_model(modelId=MODEL, body=json.dumps(ANTHROPIC_BODY))
    assert server.requests == []
    assert budget.spent() == PLAIN_TOTAL and budget.status().reserved == 0


def test_a_max_cost_block_holds_bedrock_calls(server, ledger):
    client = track(server.client(), ledger=ledger)
    config = {"maxTokens": 100}
    with costbook.max_cost("1", ledger=ledger) as scope:
        client.converse(modelId=MODEL, messages=MESSAGES, inferenceConfig=config)
        list(client.converse_stream(modelId=MODEL, messages=MESSAGES,
                                    inferenceConfig=config)["stream"])
    assert scope.calls == 2 and scope.spent == 2 * PLAIN_TOTAL


def test_an_unknown_model_is_sent_and_recorded_unpriced(server, ledger):
    client = track(server.client(), ledger=ledger)
    with pytest.warns(RuntimeWarning, match=r"acme\.new-model-v1:0.*unpriced"):
        client.converse(modelId="acme.new-model-v1:0", messages=MESSAGES)
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.total) == ("unpriced", "acme.new-model-v1:0", 0)
    assert entry.usage == PLAIN


def test_an_unknown_profile_is_refused_under_a_budget_naming_models(server, ledger):
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
    client = track(server.client(), budget=Budget("1", ledger=ledger))
    with pytest.raises(costbook.UnknownModelError, match=r"not sent.*models="):
        client.converse(modelId=arn, messages=MESSAGES)
    assert server.requests == []


def test_a_malformed_usage_keeps_the_answer_and_is_recorded(server, ledger):
    server.answer.usage = {"inputTokens": 30, "outputTokens": -3, "totalTokens": 27}
    client = track(server.client(), ledger=ledger)
    with pytest.warns(RuntimeWarning, match="usage.outputTokens must be 0 or more"):
        answer = client.converse(modelId=MODEL, messages=MESSAGES)
    assert answer["output"]["message"]["content"][0]["text"] == TEXT
    [entry] = ledger.entries()
    assert entry.status == "invalid_usage"
    assert entry.usage.input_tokens == 30
    assert entry.usage.output_tokens == costbook.count_tokens(TEXT, PRICED_AS)


def test_api_errors_reach_the_caller_and_are_recorded(server, ledger):
    server.answer.status = 429
    budget = Budget("1", ledger=ledger)
    client = track(server.client(), budget=budget)
    with pytest.raises(ClientError) as raised:
        client.converse(modelId=MODEL, messages=MESSAGES, inferenceConfig={"maxTokens": 100})
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    [entry] = ledger.entries()
    assert (entry.status, entry.total) == ("error", 0)
    assert budget.remaining() == Decimal("1") and budget.status().reserved == 0


def test_the_original_client_is_left_untracked(server, ledger):
    original = server.client()
    client = track(original, ledger=ledger)
    original.converse(modelId=MODEL, messages=MESSAGES)
    assert ledger.entries() == []
    client.converse(modelId=MODEL, messages=MESSAGES)
    assert len(ledger.entries()) == 1
    with pytest.raises(ValueError, match="tracked already"):
        track(client)


def test_other_clients_of_boto3_are_refused():
    import boto3

    s3 = boto3.client("s3", region_name=REGION, aws_access_key_id="x",
                      aws_secret_access_key="y")
    with pytest.raises(TypeError, match="bedrock-runtime"):
        track(s3)


def test_an_invoke_stream_cut_short_is_recorded_incomplete_with_the_input_it_reported(
        server, ledger):
    server.answer.cut = True
    client = track(server.client(), ledger=ledger)
    answer = client.invoke_model_with_response_stream(modelId=MODEL,
                                                      body=json.dumps(ANTHROPIC_BODY))
    with pytest.raises(Exception):  # noqa: B017 - botocore's own error, whatever its class
        list(answer["body"])
    [entry] = ledger.entries()
    assert entry.status == "incomplete"
    assert entry.usage.input_tokens == 30
    assert entry.usage.output_tokens == max(1, costbook.count_tokens(REPLY[0], PRICED_AS))


def test_a_stream_closed_early_is_recorded_incomplete(server, ledger):
    client = track(server.client(), ledger=ledger)
    answer = client.converse_stream(modelId=MODEL, messages=MESSAGES)
    events = iter(answer["stream"])
    next(events)
    answer["stream"].close()
    [entry] = ledger.entries()
    assert entry.status == "incomplete"


def test_the_estimate_reads_converse_and_says_what_it_approximates():
    from costbook.client._bedrock import _begin
    from costbook.client._call import tracked_settings

    settings = tracked_settings("bedrock", None, None, {}, None, None, None)
    kwargs = {
        "modelId": MODEL, "system": [{"text": "Be terse."}],
        "messages": [{"role": "user", "content": [
            {"text": "What is in this picture?"},
            {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}]}],
        "toolConfig": {"tools": [{"toolSpec": {"name": "lookup", "description": "Look up.",
                                               "inputSchema": {"json": {"type": "object"}}}}]},
        "inferenceConfig": {"maxTokens": 50},
    }
    estimate = _begin(settings, kwargs, converse=True).estimate
    body = {"model": MODEL, "max_tokens": 50, "system": "Be terse.",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "What is in this picture?"}]}],
            "tools": [{"name": "lookup", "description": "Look up.",
                       "input_schema": {"type": "object"}}]}
    assert estimate.input_tokens == costbook.estimate_messages(
        body, provider="bedrock").input_tokens
    assert (estimate.model, estimate.max_output_tokens, estimate.exact) == (
        PRICED_AS, 50, False)
    assert "messages[0].content[1] (image) is not counted" in estimate.approximations


def test_another_makers_invoke_body_is_counted_as_its_text():
    from costbook.client._bedrock import _begin
    from costbook.client._call import tracked_settings

    settings = tracked_settings("bedrock", None, None, {}, None, None, None)
    body = json.dumps({"inputText": "Hello", "textGenerationConfig": {"maxTokenCount": 20}})
    estimate = _begin(settings, {"modelId": "amazon.nova-lite-v1:0", "body": body},
                      converse=False).estimate
    assert estimate.model == "amazon.nova-lite-v1:0" and not estimate.exact
    assert any("counted as its JSON text" in note for note in estimate.approximations)
