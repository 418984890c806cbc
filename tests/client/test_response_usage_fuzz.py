"""Hostile input for usage_from_response and Usage: random JSON shapes, huge and negative
numbers, deep nesting. Every answer is a ResponseUsage or a ValueError/TypeError, at once;
a count that was reported is never read as zero."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costbook import ResponseUsage, Usage, usage_from_response
from costbook.client._response_usage import salvage_response

COUNT_NAMES = ["prompt_tokens", "completion_tokens", "input_tokens", "output_tokens",
               "cache_read_input_tokens", "cache_creation_input_tokens"]
DETAIL_NAMES = ["prompt_tokens_details", "completion_tokens_details", "input_tokens_details",
                "output_tokens_details", "cache_creation", "cost_details"]
PART_NAMES = ["cached_tokens", "cache_write_tokens", "caching_tokens", "reasoning_tokens",
              "ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens",
              "upstream_inference_cost"]

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from([2**63 - 1, 2**63, -1, 0, 10**19]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
number_texts = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-99, 99), st.integers(-10**20, 10**20)),
    st.builds(lambda m, e: f"{m}E+{e}", st.integers(1, 9), st.integers(0, 10**20)),
    st.sampled_from(["1e1000000", "1E+999999999999999999", "-0", "0.0", "1e400", "NaN",
                     "Infinity", "-Infinity", "9" * 200]),
)
values = st.recursive(
    st.one_of(numbers, st.none(), st.booleans(), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(COUNT_NAMES + PART_NAMES + ["cost"]), inner,
                        max_size=4),
    ),
    max_leaves=8,
)
usages = st.dictionaries(
    st.sampled_from(COUNT_NAMES + DETAIL_NAMES + ["cost", "is_byok"]),
    st.one_of(numbers, values,
              st.dictionaries(st.sampled_from(PART_NAMES), numbers, max_size=3)),
    max_size=6,
)
payloads = st.fixed_dictionaries(
    {"usage": st.one_of(usages, values)},
    optional={"model": st.one_of(st.text(max_size=10), numbers), "type": st.just("message"),
              "id": st.text(max_size=10)},
)


def _check(payload: Any, provider: str | None) -> None:
    started = time.perf_counter()
    try:
        found = usage_from_response(payload, provider=provider)
    except (ValueError, TypeError):
        pass
    else:
        assert isinstance(found, ResponseUsage)
        usage = found.usage
        if usage is not None:
            assert all(0 <= v <= 2**63 - 1 for v in usage.as_dict().values())
            # a Chat Completions total that was reported is never read as zero
            reported = payload["usage"]
            for name, total in (("prompt_tokens", usage.input_tokens),
                                ("completion_tokens", usage.output_tokens)):
                value = reported.get(name)
                if type(value) is int and value > 0:
                    assert total == value
    assert time.perf_counter() - started < 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads, st.sampled_from([None, "openai", "anthropic", "openrouter"]))
def test_dicts_of_any_shape(payload: Any, provider: str | None) -> None:
    _check(payload, provider)


def _json_text(draw_usage: dict[str, str]) -> str:
    return '{"usage": {' + ", ".join(f'"{k}": {v}' for k, v in draw_usage.items()) + "}}"


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from([*COUNT_NAMES, "cost"]), number_texts, max_size=4),
       st.sampled_from([None, "openai", "anthropic"]))
def test_json_text_with_hostile_numbers(usage: dict[str, str], provider: str | None) -> None:
    text = _json_text(usage)
    started = time.perf_counter()
    with contextlib.suppress(ValueError):
        usage_from_response(text, provider=provider)
    assert time.perf_counter() - started < 1


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=20_000), st.sampled_from(["[", '{"a":']),
       st.booleans())
def test_deep_nesting_is_refused_at_once(depth: int, opener: str, as_bytes: bool) -> None:
    closer = "]" if opener == "[" else "}"
    inner = "1" if opener != "[" else ""
    text = '{"usage": {"prompt_tokens": 1}, "x": ' + opener * depth + inner + closer * depth + "}"
    payload: str | bytes = text.encode() if as_bytes else text
    started = time.perf_counter()
    try:
        found = usage_from_response(payload)
    except ValueError as exc:
        assert depth > 90 and "nested" in str(exc)
    else:
        assert found.usage == Usage(input_tokens=1)
    assert time.perf_counter() - started < 1


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(
    st.sampled_from(["input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                     "cache_write_1h_tokens", "reasoning_tokens", "images", "requests"]),
    st.one_of(st.integers(min_value=-(2**80), max_value=2**80), numbers, st.none(),
              st.booleans(), st.text(max_size=3)),
))
def test_usage_takes_counts_or_says_what_is_wrong(counts: dict[str, Any]) -> None:
    try:
        usage = Usage(**counts)
    except ValueError as exc:
        assert "usage " in str(exc)
    else:
        assert usage.as_dict() == {**Usage().as_dict(), **counts}
        assert all(0 <= v <= 2**63 - 1 for v in usage.as_dict().values())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payloads, st.sampled_from([None, "openai", "anthropic", "openrouter"]))
def test_what_can_be_read_of_an_invalid_answer_never_raises(payload: Any,
                                                              provider: str | None) -> None:
    found = salvage_response(payload, "invalid", provider=provider)
    assert found.unread <= {"input", "output"}
    if found.answer.usage is not None:
        assert all(0 <= v <= 2**63 - 1 for v in found.answer.usage.as_dict().values())
