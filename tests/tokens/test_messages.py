import base64
import struct
import zlib
from decimal import Decimal

import pytest

import costbook
from costbook import ContextWindowExceeded, Usage, estimate_messages, price
from costbook.tokens._messages import TOOL_USE_SYSTEM_PROMPT

MODEL = "claude-sonnet-4-5"


def claude_tokens(text):
    """Claude's approximation: o200k_base tokens x 1.2, rounded up."""
    return costbook.count_tokens(text, MODEL)


def raw(text):
    from costbook.tokens._encodings import encoding

    return len(encoding("o200k_base").encode_ordinary(text))


def png(width, height):
    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + head
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(head)) + chunk + struct.pack(
        ">I", zlib.crc32(chunk))
    return base64.b64encode(data).decode()


def test_a_plain_body_counts_system_messages_and_framing():
    body = {"model": MODEL, "max_tokens": 100, "system": "Be brief.",
            "messages": [{"role": "user", "content": "Say hello."}]}
    found = estimate_messages(body)
    text = raw("Be brief.") + raw("user") + raw("Say hello.")
    assert found.input_tokens == -(-text * 6 // 5) + 3 + 3 + 3
    assert found.max_output_tokens == 100
    assert found.exact is False
    assert any("1.2" in a for a in found.approximations)
    assert found.high.total == price(Usage(input_tokens=found.input_tokens, output_tokens=100),
                                     MODEL).total
    assert found.low.total < found.high.total
    assert (found.provider, found.model) == ("anthropic", "claude-sonnet-4-5-20250929")


def test_system_blocks_count_as_the_system_string():
    plain = {"model": MODEL, "max_tokens": 10, "system": "Be brief.",
             "messages": [{"role": "user", "content": "Hi"}]}
    blocks = {**plain, "system": [{"type": "text", "text": "Be brief.",
                                   "cache_control": {"type": "ephemeral"}}]}
    assert estimate_messages(blocks).input_tokens == estimate_messages(plain).input_tokens


def test_tool_use_results_and_thinking_blocks_are_counted():
    base = {"model": MODEL, "max_tokens": 10,
            "messages": [{"role": "user", "content": "Weather in Paris?"}]}
    turn = [
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "I should call the tool.", "signature": "sig"},
            {"type": "tool_use", "id": "toolu_1", "name": "weather",
             "input": {"city": "Paris"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 C, sunny"}]},
    ]
    longer = {**base, "messages": base["messages"] + turn}
    before = estimate_messages(base)
    after = estimate_messages(longer)
    # each block's text and each message's role and framing
    text = (raw("assistant") + raw("I should call the tool.") + raw("weather")
            + raw('{"city":"Paris"}') + raw("user") + raw("18 C, sunny"))
    base_text = raw("user") + raw("Weather in Paris?")
    assert after.input_tokens - before.input_tokens == (
        -(-(base_text + text) * 6 // 5) - -(-base_text * 6 // 5) + 2 * 3)
    assert any("thinking counted in full" in a for a in after.approximations)


def test_tools_count_their_json_and_the_tool_use_system_prompt():
    tool = {"name": "weather", "description": "Weather of a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                             "required": ["city"]}}
    base = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}
    without = estimate_messages(base)
    auto = estimate_messages({**base, "tools": [tool]})
    forced = estimate_messages({**base, "tools": [tool],
                                "tool_choice": {"type": "tool", "name": "weather"}})
    shown = ('{"name":"weather","description":"Weather of a city.","input_schema":'
             '{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}')
    base_text = raw("user") + raw("Hi")
    grown = -(-(base_text + raw(shown)) * 6 // 5) - -(-base_text * 6 // 5)
    assert auto.input_tokens - without.input_tokens == grown + TOOL_USE_SYSTEM_PROMPT["auto"]
    assert forced.input_tokens - without.input_tokens == grown + TOOL_USE_SYSTEM_PROMPT["tool"]
    server = estimate_messages({**base, "tools": [
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]})
    assert any("tools[0] (web_search_20250305) is not counted" in a
               for a in server.approximations)


def test_images_count_by_their_pixels():
    def body(source):
        return {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": [
            {"type": "image", "source": source}, {"type": "text", "text": "What is it?"}]}]}

    known = estimate_messages(body({"type": "base64", "media_type": "image/png",
                                    "data": png(750, 100)}))
    assert known.images == 1
    url = "https://example.com/cat.png"
    sized = estimate_messages(body({"type": "url", "url": url}), image_sizes={url: (750, 100)})
    assert sized.input_tokens == known.input_tokens
    unsized = estimate_messages(body({"type": "url", "url": url}))
    assert unsized.input_tokens > known.input_tokens
    assert any("unknown size" in a for a in unsized.approximations)
    text_only = estimate_messages({"model": MODEL, "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is it?"}]}]})
    assert known.input_tokens - text_only.input_tokens == 100  # 750 x 100 / 750


def test_documents_are_listed_as_not_counted():
    found = estimate_messages({"model": MODEL, "max_tokens": 10, "messages": [
        {"role": "user", "content": [{"type": "document", "source": {"type": "text",
                                                                     "data": "x"}}]}]})
    assert "messages[0].content[0] (document) is not counted" in found.approximations


def test_fast_mode_is_estimated_at_the_fast_tier():
    body = {"model": "claude-opus-4-8", "max_tokens": 10,
            "messages": [{"role": "user", "content": "Hi"}]}
    standard = estimate_messages(body)
    fast = estimate_messages({**body, "speed": "fast"})
    assert fast.high.service_tier == "fast"
    assert fast.high.total == standard.high.total * 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": MODEL, "messages": []}, "needs 'max_tokens'"),
        ({"model": MODEL, "max_tokens": 0, "messages": []}, "needs 'max_tokens'"),
        ({"model": MODEL, "max_tokens": 5}, "needs 'messages'"),
        ({"max_tokens": 5, "messages": []}, "no 'model'"),
        ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]},
         "top-level 'system'"),
        ({"model": MODEL, "max_tokens": 5, "messages": "hi"}, "must be a list"),
        ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": [
            {"text": "no type"}]}]}, "with a 'type'"),
        ({"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": [
            {"type": "image"}]}]}, "without a 'source'"),
        ({"model": MODEL, "max_tokens": 5, "messages": [], "system": 5}, "must be a string"),
        ({"model": MODEL, "max_tokens": 70_000, "messages": []}, "at most 64000"),
    ],
)
def test_bad_bodies_are_refused_with_what_is_wrong(body, message):
    with pytest.raises(ValueError, match=message):
        estimate_messages(body)


def test_a_body_too_large_for_the_window_is_refused():
    body = {"model": MODEL, "max_tokens": 64_000,
            "messages": [{"role": "user", "content": "word " * 120_000}]}
    with pytest.raises(ContextWindowExceeded):
        estimate_messages(body)


def test_the_estimate_bounds_the_real_cost_of_a_claude_answer():
    body = {"model": MODEL, "max_tokens": 1000, "system": "Be brief.",
            "messages": [{"role": "user", "content": "Say hello."}]}
    found = estimate_messages(body)
    assert found.low.total == Decimal(found.input_tokens) * Decimal("0.000003")


def test_the_1m_context_beta_opens_the_window_and_the_long_context_rates():
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100,
            "messages": [{"role": "user", "content": "word " * 170_000}]}
    with pytest.raises(costbook.ContextWindowExceeded) as refused:
        costbook.estimate_messages(body, provider="anthropic")
    assert "the input count is approximate" in str(refused.value)
    assert refused.value.approximate
    wide = costbook.estimate_messages(body, provider="anthropic", betas="context-1m-2025-08-07")
    assert wide.context_window == 1_000_000 and wide.misfit is None
    assert wide.high.items["input"] == Decimal(wide.input_tokens) * 6 / 1_000_000
    assert any("context-1m-" in note for note in wide.approximations)
    other = costbook.estimate_messages({**body, "messages": [{"role": "user", "content": "Hi"}]},
                                       provider="anthropic", betas=["other-beta"])
    assert other.context_window == 200_000
