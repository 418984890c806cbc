import json
from decimal import Decimal

import pytest

import costbook
from costbook import ContextWindowExceeded, Estimate, estimate_request
from costbook.pricing._catalog import reset
from samples import CORPORATE_JARGON, WEATHER_MESSAGES, WEATHER_TOOLS, data_url, png
from table_factory import model_entry, table_data

TILES = {"billing": "tokens", "tokens": {"method": "tiles", "base_tokens": 85, "tile_tokens": 170}}


@pytest.fixture
def tiny(tmp_path):
    """acme:tiny-1 in the catalog in use: a 1000-token window, 100 tokens of output at
    most, $1/M input and $2/M output."""
    table = table_data("acme", model_entry(images=TILES))
    path = tmp_path / "acme.yaml"
    path.write_text(json.dumps(table), encoding="utf-8")  # JSON is YAML
    costbook.load(path)
    yield "acme:tiny-1"
    reset()


def n(text: str) -> int:
    return costbook.count_tokens(text, "gpt-4o-mini")


def chat(**fields):
    return {"model": "gpt-4o-mini", "messages": CORPORATE_JARGON, **fields}


# --- Chat Completions -------------------------------------------------------------------


def test_chat_body_bounds():
    estimate = estimate_request(chat(max_tokens=100))
    assert isinstance(estimate, Estimate)
    assert (estimate.model, estimate.provider) == ("gpt-4o-mini", "openai")
    assert estimate.input_tokens == 124
    assert estimate.max_output_tokens == 100
    assert estimate.images == 0
    assert estimate.exact is True and estimate.approximations == ()
    assert estimate.low.total == Decimal("0.0000186")  # 124 x $0.15/M
    assert estimate.low.usage.output_tokens == 0
    assert estimate.high.total == Decimal("0.0000786")  # + 100 x $0.60/M
    assert estimate.high.items == {"input": Decimal("0.0000186"), "output": Decimal("0.00006")}


def test_n_multiplies_the_output():
    estimate = estimate_request(chat(max_tokens=100, n=3))
    assert estimate.n == 3
    assert estimate.high.usage.output_tokens == 300
    assert estimate.high.total == Decimal("0.0001986")
    assert estimate.low.total == Decimal("0.0000186")  # the input is billed once


def test_max_completion_tokens_wins_over_max_tokens():
    estimate = estimate_request(chat(max_tokens=50, max_completion_tokens=100))
    assert estimate.max_output_tokens == 100


def test_without_a_maximum_high_uses_the_models_max_output():
    estimate = estimate_request(chat())
    assert estimate.max_output_tokens == 16_384
    assert estimate.high.total == Decimal("0.0098490")  # 0.0000186 + 16384 x $0.60/M


def test_tools_are_counted():
    body = {"model": "gpt-4o-mini", "messages": WEATHER_MESSAGES, "tools": WEATHER_TOOLS}
    assert estimate_request(body).input_tokens == 101
    legacy = {"model": "gpt-4o-mini", "messages": WEATHER_MESSAGES,
              "functions": [WEATHER_TOOLS[0]["function"]]}
    assert estimate_request(legacy).input_tokens == 101


def test_provider_picks_who_bills():
    estimate = estimate_request(chat(max_tokens=100), provider="requesty")
    assert (estimate.provider, estimate.model) == ("requesty", "openai/gpt-4o-mini")
    qualified = estimate_request({**chat(max_tokens=100), "model": "requesty:openai/gpt-4o-mini"})
    assert qualified.high.total == estimate.high.total


# --- images -----------------------------------------------------------------------------


def image_body(url: str, detail: str = "high") -> dict:
    return {"model": "gpt-4o-mini", "max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": url, "detail": detail}}]}]}


def test_images_billed_as_tokens_are_input_tokens():
    estimate = estimate_request(image_body(data_url(png(512, 512))))
    text = 3 + n("user") + n("What is this?") + 3
    assert estimate.input_tokens == text + 2833 + 5667
    assert estimate.images == 1
    assert estimate.low.usage.images == 0
    assert estimate.exact is True


def test_images_billed_per_image_are_counted_as_images():
    estimate = estimate_request(image_body(data_url(png(512, 512))), provider="openrouter")
    assert estimate.input_tokens == 3 + n("user") + n("What is this?") + 3
    assert estimate.images == 1
    assert estimate.low.items["image"] == Decimal("0.000217")
    assert estimate.exact is True


def test_images_by_url_are_not_fetched():
    url = "https://example.com/cat.png"
    unknown = estimate_request(image_body(url))
    assert unknown.exact is False
    assert unknown.approximations == (
        "messages[0].content[1]: image of unknown size counted at the most one image costs "
        "(48169 tokens); give its size in image_sizes",
    )
    sized = estimate_request(image_body(url), image_sizes={url: (512, 512)})
    assert sized.exact is True
    assert unknown.input_tokens - sized.input_tokens == 7 * 5667
    assert estimate_request(image_body(url, "low")).exact is True  # low detail: size-free


def test_an_image_by_file_id_counts_at_the_most_one_image_costs():
    body = {"model": "gpt-4o-mini", "input": [{"role": "user", "content": [
        {"type": "input_image", "file_id": "file-abc", "detail": "high"}]}]}
    estimate = estimate_request(body)
    assert estimate.input_tokens == 3 + n("user") + 3 + 2833 + 8 * 5667
    assert estimate.approximations == (
        "input[0].content[0]: image of unknown size counted at the most one image costs "
        "(48169 tokens)",)


# --- Responses API ------------------------------------------------------------------------


def test_responses_body_with_a_string_input():
    body = {"model": "gpt-4o-mini", "instructions": "Be brief.", "input": "Hello",
            "max_output_tokens": 10}
    estimate = estimate_request(body)
    assert estimate.input_tokens == (3 + n("developer") + n("Be brief.")
                                     + 3 + n("user") + n("Hello") + 3)
    assert estimate.max_output_tokens == 10


def test_responses_body_with_items():
    body = {"model": "gpt-4o-mini", "max_output_tokens": 20, "input": [
        {"role": "user", "content": [
            {"type": "input_text", "text": "What is this?"},
            {"type": "input_image", "image_url": data_url(png(512, 512)), "detail": "low"}]},
        {"type": "function_call", "call_id": "c1", "name": "lookup", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "42"},
        {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
         "content": [{"type": "output_text", "text": "It is 42."}]},
    ], "tools": [{"type": "function", "name": "lookup", "description": "Look up.",
                  "parameters": {"type": "object", "properties": {}}}]}
    estimate = estimate_request(body)
    expected = (3 + n("user") + n("What is this?") + 2833
                + 3 + n("lookup") + n("{}")
                + 3 + n("42")
                + 3 + n("assistant") + n("It is 42.")
                + 3
                + 7 + n("lookup:Look up") + 12)
    assert estimate.input_tokens == expected
    assert estimate.images == 1
    assert estimate.exact is True


def test_uncountable_items_make_the_estimate_approximate():
    body = {"model": "gpt-4o-mini", "input": [
        {"type": "reasoning", "id": "rs_1", "encrypted_content": "..."},
        {"role": "user", "content": "Go on"}],
        "tools": [{"type": "web_search_preview"}]}
    estimate = estimate_request(body)
    assert estimate.approximations == (
        "input[0] (reasoning) is not counted", "tools[0] (web_search_preview) is not counted")
    assert estimate.exact is False


def test_a_structured_output_schema_is_approximated():
    schema = {"name": "answer", "schema": {"type": "object",
                                            "properties": {"value": {"type": "string"}}}}
    plain = estimate_request(chat(max_tokens=10))
    estimate = estimate_request(chat(max_tokens=10,
                                     response_format={"type": "json_schema", "json_schema": schema}))
    assert estimate.input_tokens == plain.input_tokens + n(json.dumps(schema, separators=(",", ":")))
    assert estimate.exact is False


def test_an_approximated_tokenizer_says_so():
    body = {"model": "claude-3-5-haiku-20241022", "max_tokens": 100,
            "messages": [{"role": "user", "content": "Hello"}]}
    estimate = estimate_request(body)
    assert estimate.exact is False
    assert estimate.approximations[0] == "claude tokenizer: approximate: o200k_base tokens x 1.2"


# --- the context window ---------------------------------------------------------------------


def long_body(model: str, words: int, **fields) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": " hello" * words}], **fields}


def test_input_plus_requested_output_must_fit_the_window(tiny):
    body = long_body(tiny, 940)
    used = costbook.count_message_tokens(body["messages"], tiny)
    assert 900 < used < 1000
    room = 1000 - used
    assert estimate_request({**body, "max_tokens": room}).max_output_tokens == room
    with pytest.raises(ContextWindowExceeded) as info:
        estimate_request({**body, "max_tokens": room + 1})
    assert str(info.value) == (
        f"acme:tiny-1: {used} input tokens + {room + 1} output tokens = 1001, "
        "more than its context window of 1000 tokens"
    )
    assert (info.value.input_tokens, info.value.output_tokens, info.value.context_window) == (
        used, room + 1, 1000)


def test_without_a_maximum_output_is_what_the_window_leaves(tiny):
    body = long_body(tiny, 940)
    used = costbook.count_message_tokens(body["messages"], tiny)
    estimate = estimate_request(body)
    assert estimate.max_output_tokens == 1000 - used
    assert estimate.high.total == Decimal(used) / 1_000_000 + Decimal(2 * (1000 - used)) / 1_000_000
    assert estimate_request(long_body(tiny, 10)).max_output_tokens == 100


def test_input_alone_past_the_window(tiny):
    with pytest.raises(ContextWindowExceeded, match=r"\d+ input tokens \+ 0 output tokens"):
        estimate_request(long_body(tiny, 1200))


def test_more_output_than_the_model_gives(tiny):
    with pytest.raises(ValueError, match="asks for up to 101 output tokens, but acme:tiny-1 "
                       "gives at most 100"):
        estimate_request(long_body(tiny, 10, max_tokens=101))


# --- output and errors --------------------------------------------------------------------


def test_as_dict_is_json_ready():
    data = estimate_request(chat(max_tokens=100, n=2)).as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["input_tokens"] == 124
    assert data["n"] == 2
    assert data["context_window"] == 128_000
    assert data["low"]["total"] == "0.0000186"
    assert data["high"]["total"] == "0.0001386"
    assert data["exact"] is True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "a request body must be a JSON object"),
        ({"messages": []}, "the request body has no 'model'"),
        ({"model": "gpt-4o-mini"}, "has neither 'messages'"),
        ({"model": "gpt-4o-mini", "messages": [], "input": "x"}, "has both 'messages'"),
        ({"model": "gpt-4o-mini", "messages": "hi"}, "messages must be a list"),
        ({"model": "gpt-4o-mini", "input": 5}, "input must be a string or a list"),
        ({"model": "gpt-4o-mini", "input": "x", "instructions": 5}, "instructions must be a string"),
        (chat(max_tokens="100"), "max_tokens must be a whole number of tokens above 0, got '100'"),
        (chat(max_completion_tokens=0), "max_completion_tokens must be a whole number"),
        (chat(n=0), "n must be a whole number of choices above 0, got 0"),
        (chat(tools={"type": "function"}), "tools must be a list of tool definitions"),
        (chat(tools=[{"type": "function", "function": {"description": "x"}}]), "has no function name"),
    ],
)
def test_bad_bodies_are_clear_errors(body, message):
    with pytest.raises(ValueError, match=message):
        estimate_request(body)


def test_an_unknown_model_is_a_lookup_error():
    with pytest.raises(costbook.UnknownModelError, match="gpt-4o-mini"):
        estimate_request(chat(model="gpt-4o-mnii"))


def test_a_tracked_calls_estimate_notes_a_misfit_instead_of_raising():
    from costbook.tokens._estimate import request_estimate

    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}],
            "max_tokens": 50_000}
    with pytest.raises(ValueError, match="gives at most 16384"):
        costbook.estimate_request(body)
    loose = request_estimate(body, strict=False)
    assert loose.max_output_tokens == 16384
    assert loose.misfit == ("the request asks for up to 50000 output tokens, more than the "
                            "16384 that openai:gpt-4o-mini's table gives; the high bound uses "
                            "16384")
    assert loose.as_dict()["misfit"] == loose.misfit
    big = {"model": "gpt-4", "messages": [{"role": "user", "content": "word " * 9000}]}
    over = request_estimate(big, strict=False)
    assert over.misfit is not None and "more than its context window of 8192" in over.misfit
    assert costbook.estimate_request(
        {**big, "messages": [{"role": "user", "content": "Hi"}]}).misfit is None
