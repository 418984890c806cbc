"""Usage from API responses: the counts, model, id and reported charge of one answer.

These wire shapes are read and normalised to :class:`~costbook.Usage`'s conventions:

- Chat Completions (OpenAI, OpenRouter, Requesty, DeepSeek): ``prompt_tokens`` and
  ``completion_tokens`` with ``prompt_tokens_details`` (``cached_tokens``,
  ``cache_write_tokens``, or Requesty's ``caching_tokens``; ``audio_tokens``) and
  ``completion_tokens_details`` (``reasoning_tokens``, ``audio_tokens``); DeepSeek's
  ``prompt_cache_hit_tokens`` are cache reads (its ``prompt_tokens`` is hits plus misses);
- Responses: ``input_tokens`` and ``output_tokens`` with ``input_tokens_details`` and
  ``output_tokens_details``;
- OpenAI Realtime ``response.done``: ``input_tokens`` and ``output_tokens`` with
  ``input_token_details`` (``cached_tokens``, ``audio_tokens``, and
  ``cached_tokens_details.audio_tokens``) and ``output_token_details.audio_tokens``;
- Anthropic Messages: ``input_tokens`` *excludes* ``cache_creation_input_tokens`` and
  ``cache_read_input_tokens``, so all three are added up; ``cache_creation`` splits cache
  writes into 5-minute and 1-hour parts; ``output_tokens_details.thinking_tokens`` are
  the reasoning part of the output;
- Bedrock Converse: ``inputTokens`` *excludes* ``cacheReadInputTokens`` and
  ``cacheWriteInputTokens`` (added up, as Anthropic's), with ``outputTokens``;
- Gemini ``usage_metadata`` (or ``usageMetadata``): ``prompt_token_count`` includes
  ``cached_content_token_count``; ``candidates_token_count`` *excludes*
  ``thoughts_token_count``, so the output is both; ``tool_use_prompt_token_count`` is
  input too.

Web searches billed per search are read from ``server_tool_use.web_search_requests``
(Anthropic, and OpenRouter's web search), in any shape.

``usage.cost`` (OpenRouter, Requesty) is what the provider says it charged, and
``usage.cost_details.upstream_inference_cost`` (OpenRouter) what the upstream provider
charged for a bring-your-own-key call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..pricing._money import money_text
from ..pricing._usage import MAX_COUNT, Usage, count_text

MAX_DEPTH = 100
"""The deepest nesting of arrays and objects read from JSON text (answers nest a few levels)."""
MAX_NUMBER_TEXT = 100
"""The longest number read from JSON text, in characters."""
MAX_EXPONENT = 1000
"""The largest power of ten of a number read from JSON text, either way (``1e1000``)."""

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NUMBER = re.compile(rf"[-+0-9.eE]{{{MAX_NUMBER_TEXT + 1},}}")
_BRACKET = re.compile(r"[\[\]{}]")
_EMPTY: Mapping[str, Any] = {}
_ANTHROPIC_MARKERS = ("cache_creation_input_tokens", "cache_read_input_tokens", "cache_creation")


@dataclass(frozen=True, slots=True)
class ResponseUsage:
    """What one API answer says about itself.

    ``usage`` is ``None`` when the answer reported no usage at all (never zeros in its
    place). ``model`` is the model the answer names, which can differ from the one asked
    for (fallbacks, dated snapshots). ``request_id`` is the provider's response or
    generation id. ``reported_cost`` is what the provider says it charged, in USD, and
    ``upstream_cost`` what an upstream provider charged when a router passed the call on
    with the caller's own key. ``provider`` is the provider given, else the one the answer's
    shape names without doubt (``anthropic``, ``openrouter``, ``requesty``), else ``None``.
    ``service_tier`` is the service tier the answer says served it (OpenAI's
    ``service_tier``, Anthropic's ``usage.service_tier``), as named.
    """

    usage: Usage | None
    model: str | None = None
    request_id: str | None = None
    reported_cost: Decimal | None = None
    upstream_cost: Decimal | None = None
    provider: str | None = None
    service_tier: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts are exact decimal strings, never floats."""
        return {
            "usage": None if self.usage is None else self.usage.as_dict(),
            "model": self.model,
            "request_id": self.request_id,
            "reported_cost": _text(self.reported_cost),
            "upstream_cost": _text(self.upstream_cost),
            "provider": self.provider,
            "service_tier": self.service_tier,
        }


def usage_from_response(payload: object, *, provider: str | None = None) -> ResponseUsage:
    """Read the usage, model, id and reported cost from an API response.

    ``payload`` is a response as a dict, as raw JSON text (``str`` or ``bytes``), or as an
    ``openai`` SDK object (``ChatCompletion``, the final ``ChatCompletionChunk`` of a stream
    with usage, ``Response``, or a ``response.completed`` stream event). Costs in JSON text
    become exact Decimals; costs that arrive as floats (SDK objects, dicts from a JSON
    parser that made floats) are converted through their shortest ``repr``, so ``0.95``
    gives ``Decimal('0.95')`` but digits the float already lost cannot come back: pass the
    raw text for every digit. ``provider="anthropic"`` reads the Anthropic convention even
    when the answer carries no cache fields.

    Raises ValueError when a count is not a whole number of 0 or more, or a part is larger
    than its total (naming both fields).
    """
    if provider is not None and not isinstance(provider, str):
        raise TypeError(f"provider must be a provider id such as 'openai', got {provider!r}")
    data = _as_mapping(payload)
    inner = data.get("response")
    if "usage" not in data and isinstance(inner, Mapping):
        data = inner  # a Responses or Realtime event such as response.completed
    model = _first_text(data, "model", "model_version", "modelVersion")
    request_id = _first_text(data, "id", "response_id", "responseId")
    raw = data.get("usage")
    shape = ""
    if raw is None:
        raw = _gemini_usage_of(data)
        shape = "gemini" if raw is not None else ""
    tier = data.get("service_tier")
    if tier is None and isinstance(raw, Mapping):
        tier = raw.get("service_tier")
    found = ResponseUsage(
        usage=None, model=model, request_id=request_id, provider=provider,
        service_tier=tier if isinstance(tier, str) else None,
    )
    if raw is None:
        return found
    if not isinstance(raw, Mapping):
        raise ValueError(f"usage must be an object of token counts, got {raw!r}")
    shape = shape or _shape(data, raw, provider)
    usage = _READERS[shape](raw) if shape in _READERS else None
    if usage is not None:
        searches = _count(_details(raw, "server_tool_use"), "web_search_requests",
                          "usage.server_tool_use")
        if searches:
            usage = Usage(**{**usage.as_dict(), "web_searches": searches})
    cost_details = _details(raw, "cost_details")
    return ResponseUsage(
        usage=usage,
        model=found.model,
        request_id=found.request_id,
        service_tier=found.service_tier,
        reported_cost=_amount(raw.get("cost"), "usage.cost"),
        upstream_cost=_amount(
            cost_details.get("upstream_inference_cost"),
            "usage.cost_details.upstream_inference_cost",
        ),
        provider=provider if provider is not None else _named_provider(shape, raw),
    )


# Which total each count of a usage object is, for telling what could not be read.
_TOTAL_OF = {
    "prompt_tokens": "input", "input_tokens": "input", "cache_read_input_tokens": "input",
    "cache_creation_input_tokens": "input", "completion_tokens": "output",
    "output_tokens": "output",
    # Bedrock Converse
    "inputTokens": "input", "cacheReadInputTokens": "input", "cacheWriteInputTokens": "input",
    "outputTokens": "output",
}


@dataclass(frozen=True, slots=True)
class Salvage:
    """What could be read from an answer whose usage is invalid: the answer with the usage
    built from the counts that were valid (parts that did not fit their totals left out),
    ``unread``, the totals (``input``, ``output``) that were given but unreadable or
    missing, and ``problem``, what was wrong."""

    answer: ResponseUsage
    unread: frozenset[str]
    problem: str


def salvage_response(payload: object, problem: str, *,
                     provider: str | None = None) -> Salvage:
    """The part of an answer that can be read when :func:`usage_from_response` refused it
    with ``problem``: never raises."""
    both = frozenset({"input", "output"})
    try:
        data = _as_mapping(payload)
    except (ValueError, TypeError):
        return Salvage(ResponseUsage(usage=None, provider=provider), both, problem)
    inner = data.get("response")
    if "usage" not in data and isinstance(inner, Mapping):
        data = inner
    model, request_id = data.get("model"), data.get("id")
    raw = data.get("usage")
    reported: Decimal | None = None
    usage: Usage | None = None
    unread: frozenset[str] = both
    if isinstance(raw, Mapping):
        try:
            reported = _amount(raw.get("cost"), "usage.cost")
        except ValueError:
            reported = None
        kept: dict[str, Any] = {}
        for name, value in raw.items():
            if name in _TOTAL_OF and _valid_count(value):
                kept[name] = value
            elif isinstance(value, Mapping) and name != "cost_details":
                kept[name] = {k: v for k, v in value.items() if _valid_count(v)}
        unread = both - {_TOTAL_OF[name] for name in kept if name in _TOTAL_OF}
        shaped = {**data, "usage": kept}
        for attempt in (kept, {k: v for k, v in kept.items() if k in _TOTAL_OF}):
            try:
                usage = usage_from_response({**shaped, "usage": attempt},
                                            provider=provider).usage
                break
            except (ValueError, TypeError):
                continue
    answer = ResponseUsage(
        usage=usage,
        model=model if isinstance(model, str) else None,
        request_id=request_id if isinstance(request_id, str) else None,
        reported_cost=reported,
        provider=provider,
    )
    return Salvage(answer, unread, problem)


def _valid_count(value: object) -> bool:
    try:
        return _count({"n": value}, "n", "usage") is not None
    except ValueError:
        return False


def _as_mapping(payload: object) -> Mapping[str, Any]:
    if isinstance(payload, Mapping):
        return payload
    if isinstance(payload, (str, bytes, bytearray)):
        data = parse_json(payload)
        if not isinstance(data, Mapping):
            raise ValueError(f"the response must be a JSON object, got {type(data).__name__}")
        return data
    dump = getattr(payload, "model_dump", None)
    if callable(dump):
        try:  # an SDK object holding what its types do not expect is dumped without warnings
            data = dump(warnings=False)
        except TypeError:
            data = dump()
        if isinstance(data, Mapping):
            return data
    raise TypeError(
        "usage_from_response takes a response as a dict, JSON text or an openai SDK "
        f"object, got {type(payload).__name__}"
    )


def parse_json(text: str | bytes | bytearray) -> Any:
    """JSON text parsed with bounds, so that hostile text is refused at once: numbers of at
    most :data:`MAX_NUMBER_TEXT` characters and powers of ten up to :data:`MAX_EXPONENT`,
    nesting at most :data:`MAX_DEPTH` deep, no NaN or Infinity. Fractions and exponents
    become exact Decimals."""
    if not isinstance(text, str):
        try:
            text = bytes(text).decode(json.detect_encoding(text))
        except (UnicodeDecodeError, LookupError) as exc:
            raise ValueError(f"the response is not valid JSON text: {exc}") from None
    skeleton = _STRING.sub('""', text)
    if _NUMBER.search(skeleton):
        raise ValueError(
            f"the response has a number of more than {MAX_NUMBER_TEXT} digits or signs; "
            "an API answer's numbers are far shorter"
        )
    depth = deepest = 0
    for match in _BRACKET.finditer(skeleton):
        depth += 1 if match.group() in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_DEPTH:
                raise ValueError(
                    f"the response is nested more than {MAX_DEPTH} levels deep; an API "
                    "answer nests a few levels"
                )
    try:
        return json.loads(text, parse_float=_bounded_decimal, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"the response is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise ValueError(f"the response is not valid JSON: {exc}") from None
        raise


def _bounded_decimal(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except ArithmeticError:  # an exponent past what decimal represents
        number = Decimal("Infinity")
    if not number.is_finite() or abs(number.adjusted()) > MAX_EXPONENT:
        raise ValueError(
            f"the response has a number too large or too small to be a count or an amount "
            f"({text[:40]}); powers of ten up to {MAX_EXPONENT} are read"
        )
    return number


def _no_constant(text: str) -> Any:
    raise ValueError(f"the response has {text}, which is no count or amount (not valid JSON)")


def _first_text(data: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, str):
            return value
    return None


def _gemini_usage_of(data: Mapping[str, Any]) -> Any:
    for name in ("usage_metadata", "usageMetadata"):
        if data.get(name) is not None:
            return data[name]
    return None


def _shape(data: Mapping[str, Any], raw: Mapping[str, Any], provider: str | None) -> str:
    if "prompt_tokens" in raw or "completion_tokens" in raw:
        return "chat"
    if "inputTokens" in raw or "outputTokens" in raw:
        return "bedrock"
    if "input_token_details" in raw or "output_token_details" in raw:
        return "realtime"
    if (
        provider == "anthropic"
        or data.get("type") == "message"
        or any(key in raw for key in _ANTHROPIC_MARKERS)
    ):
        return "anthropic"
    if "input_tokens" in raw or "output_tokens" in raw:
        return "responses"
    if all(value is None for value in raw.values()):
        return "empty"
    raise ValueError(
        "usage has none of prompt_tokens/completion_tokens (Chat Completions), "
        "input_tokens/output_tokens (Responses, Anthropic Messages, Realtime) or "
        "inputTokens/outputTokens (Bedrock Converse); "
        f"it has {', '.join(sorted(map(str, raw))) or 'no fields'}"
    )


def _named_provider(shape: str, raw: Mapping[str, Any]) -> str | None:
    if shape == "anthropic":
        return "anthropic"
    if "cost_details" in raw or "is_byok" in raw:
        return "openrouter"
    if "caching_tokens" in _details(raw, "prompt_tokens_details"):
        return "requesty"
    return None


def _chat_usage(raw: Mapping[str, Any]) -> Usage | None:
    prompt = _count(raw, "prompt_tokens", "usage")
    completion = _count(raw, "completion_tokens", "usage")
    if prompt is None and completion is None:
        return None
    prompt_details = _details(raw, "prompt_tokens_details")
    where = "usage.prompt_tokens_details"
    cache_read = _count(prompt_details, "cached_tokens", where)
    read_name = f"{where}.cached_tokens"
    if cache_read is None:  # DeepSeek: prompt_tokens is cache hits plus misses
        cache_read = _count(raw, "prompt_cache_hit_tokens", "usage")
        read_name = "usage.prompt_cache_hit_tokens"
    cache_write = _count(prompt_details, "cache_write_tokens", where)
    write_name = f"{where}.cache_write_tokens"
    if cache_write is None:
        cache_write = _count(prompt_details, "caching_tokens", where)
        write_name = f"{where}.caching_tokens"
    completion_details = _details(raw, "completion_tokens_details")
    reasoning = _count(completion_details, "reasoning_tokens", "usage.completion_tokens_details")
    audio_in = _count(prompt_details, "audio_tokens", where)
    audio_out = _count(completion_details, "audio_tokens", "usage.completion_tokens_details")
    # routers that pass an Anthropic answer on keep its split of cache writes by lifetime
    write_1h = _count(
        _details(raw, "cache_creation"), "ephemeral_1h_input_tokens", "usage.cache_creation"
    )
    return _usage(
        total_in=("usage.prompt_tokens", prompt or 0),
        cache_read=(read_name, cache_read or 0),
        cache_write=(write_name, cache_write or 0),
        cache_write_1h=("usage.cache_creation.ephemeral_1h_input_tokens", write_1h or 0),
        total_out=("usage.completion_tokens", completion or 0),
        reasoning=("usage.completion_tokens_details.reasoning_tokens", reasoning or 0),
        audio_in=(f"{where}.audio_tokens", audio_in or 0),
        audio_out=("usage.completion_tokens_details.audio_tokens", audio_out or 0),
    )


def _responses_usage(raw: Mapping[str, Any]) -> Usage | None:
    total_in = _count(raw, "input_tokens", "usage")
    total_out = _count(raw, "output_tokens", "usage")
    if total_in is None and total_out is None:
        return None
    where = "usage.input_tokens_details"
    details = _details(raw, "input_tokens_details")
    reasoning = _count(
        _details(raw, "output_tokens_details"), "reasoning_tokens", "usage.output_tokens_details"
    )
    return _usage(
        total_in=("usage.input_tokens", total_in or 0),
        cache_read=(f"{where}.cached_tokens", _count(details, "cached_tokens", where) or 0),
        cache_write=(
            f"{where}.cache_write_tokens",
            _count(details, "cache_write_tokens", where) or 0,
        ),
        cache_write_1h=("", 0),
        total_out=("usage.output_tokens", total_out or 0),
        reasoning=("usage.output_tokens_details.reasoning_tokens", reasoning or 0),
    )


def _anthropic_usage(raw: Mapping[str, Any]) -> Usage | None:
    uncached = _count(raw, "input_tokens", "usage")
    output = _count(raw, "output_tokens", "usage")
    cache_read = _count(raw, "cache_read_input_tokens", "usage")
    cache_write = _count(raw, "cache_creation_input_tokens", "usage")
    if uncached is None and output is None and cache_read is None and cache_write is None:
        return None
    creation = _details(raw, "cache_creation")
    write_5m = _count(creation, "ephemeral_5m_input_tokens", "usage.cache_creation") or 0
    write_1h = _count(creation, "ephemeral_1h_input_tokens", "usage.cache_creation") or 0
    if cache_write is None:
        cache_write = write_5m + write_1h
    elif write_5m + write_1h > cache_write:
        raise ValueError(
            "usage.cache_creation.ephemeral_5m_input_tokens + ephemeral_1h_input_tokens "
            f"({write_5m} + {write_1h}) is larger than usage.cache_creation_input_tokens "
            f"({cache_write}); the split by lifetime is a part of all cache writes"
        )
    thinking = _count(_details(raw, "output_tokens_details"), "thinking_tokens",
                      "usage.output_tokens_details") or 0
    if thinking > (output or 0):
        _check_part(("usage.output_tokens_details.thinking_tokens", thinking),
                    ("usage.output_tokens", output or 0))
    return Usage(
        input_tokens=(uncached or 0) + (cache_read or 0) + cache_write,
        output_tokens=output or 0,
        cache_read_tokens=cache_read or 0,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=write_1h,
        reasoning_tokens=thinking,
    )


def _realtime_usage(raw: Mapping[str, Any]) -> Usage | None:
    total_in = _count(raw, "input_tokens", "usage")
    total_out = _count(raw, "output_tokens", "usage")
    if total_in is None and total_out is None:
        return None
    where = "usage.input_token_details"
    details = _details(raw, "input_token_details")
    cached_where = f"{where}.cached_tokens_details"
    cached_details = _details(details, "cached_tokens_details")
    out_where = "usage.output_token_details"
    cached = _count(details, "cached_tokens", where) or 0
    audio_in = _count(details, "audio_tokens", where) or 0
    audio_cached = _count(cached_details, "audio_tokens", cached_where) or 0
    audio_out = _count(_details(raw, "output_token_details"), "audio_tokens", out_where) or 0
    _check_part((f"{cached_where}.audio_tokens", audio_cached), (f"{where}.audio_tokens", audio_in))
    _check_part((f"{cached_where}.audio_tokens", audio_cached), (f"{where}.cached_tokens", cached))
    _check_part((f"{where}.cached_tokens", cached), ("usage.input_tokens", total_in or 0))
    _check_part((f"{where}.audio_tokens", audio_in), ("usage.input_tokens", total_in or 0))
    _check_part((f"{out_where}.audio_tokens", audio_out), ("usage.output_tokens", total_out or 0))
    return Usage(
        input_tokens=total_in or 0,
        output_tokens=total_out or 0,
        cache_read_tokens=cached,
        audio_input_tokens=audio_in,
        audio_cache_read_tokens=audio_cached,
        audio_output_tokens=audio_out,
    )


def _bedrock_usage(raw: Mapping[str, Any]) -> Usage | None:
    uncached = _count(raw, "inputTokens", "usage")
    output = _count(raw, "outputTokens", "usage")
    if uncached is None and output is None:
        return None
    cache_read = _count(raw, "cacheReadInputTokens", "usage") or 0
    cache_write = _count(raw, "cacheWriteInputTokens", "usage") or 0
    return Usage(
        input_tokens=(uncached or 0) + cache_read + cache_write,
        output_tokens=output or 0,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )


def _gemini_usage(raw: Mapping[str, Any]) -> Usage | None:
    snake = "prompt_token_count" in raw or "candidates_token_count" in raw
    names = ("prompt_token_count", "cached_content_token_count", "candidates_token_count",
             "thoughts_token_count", "tool_use_prompt_token_count")
    if not snake:
        names = ("promptTokenCount", "cachedContentTokenCount", "candidatesTokenCount",
                 "thoughtsTokenCount", "toolUsePromptTokenCount")
    where = "usage_metadata" if snake else "usageMetadata"
    prompt, cached, candidates, thoughts, tool_prompt = (_count(raw, n, where) for n in names)
    if prompt is None and candidates is None and thoughts is None:
        return None
    return _usage(
        total_in=(f"{where}.{names[0]}", (prompt or 0) + (tool_prompt or 0)),
        cache_read=(f"{where}.{names[1]}", cached or 0),
        cache_write=("", 0),
        cache_write_1h=("", 0),
        total_out=(f"{where}.{names[2]} + {names[3]}", (candidates or 0) + (thoughts or 0)),
        reasoning=(f"{where}.{names[3]}", thoughts or 0),
    )


def _usage(
    *,
    total_in: tuple[str, int],
    cache_read: tuple[str, int],
    cache_write: tuple[str, int],
    cache_write_1h: tuple[str, int],
    total_out: tuple[str, int],
    reasoning: tuple[str, int],
    audio_in: tuple[str, int] = ("", 0),
    audio_out: tuple[str, int] = ("", 0),
) -> Usage:
    """A usage from counts that carry the response field they came from, checked so that an
    error names the fields the response used."""
    _check_part(cache_read, total_in)
    _check_part(cache_write, total_in)
    if cache_read[1] + cache_write[1] > total_in[1]:
        raise ValueError(
            f"{cache_read[0]} + {cache_write[0]} ({cache_read[1]} + {cache_write[1]}) is larger "
            f"than {total_in[0]} ({total_in[1]}); cache reads and writes are parts of the input"
        )
    _check_part(cache_write_1h, cache_write)
    _check_part(reasoning, total_out)
    _check_part(audio_in, total_in)
    _check_part(audio_out, total_out)
    if reasoning[1] + audio_out[1] > total_out[1]:
        raise ValueError(
            f"{reasoning[0]} + {audio_out[0]} ({reasoning[1]} + {audio_out[1]}) is larger "
            f"than {total_out[0]} ({total_out[1]}); both are parts of the output"
        )
    return Usage(
        input_tokens=total_in[1],
        output_tokens=total_out[1],
        cache_read_tokens=cache_read[1],
        cache_write_tokens=cache_write[1],
        cache_write_1h_tokens=cache_write_1h[1],
        reasoning_tokens=reasoning[1],
        audio_input_tokens=audio_in[1],
        audio_output_tokens=audio_out[1],
    )


_READERS = {
    "chat": _chat_usage,
    "anthropic": _anthropic_usage,
    "responses": _responses_usage,
    "realtime": _realtime_usage,
    "bedrock": _bedrock_usage,
    "gemini": _gemini_usage,
}


def _check_part(part: tuple[str, int], total: tuple[str, int]) -> None:
    if part[1] > total[1]:
        raise ValueError(
            f"{part[0]} ({part[1]}) is larger than {total[0]} ({total[1]}); "
            f"it is a part of {total[0]}"
        )


def _details(raw: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = raw.get(name)
    if value is None:
        return _EMPTY
    if not isinstance(value, Mapping):
        raise ValueError(f"usage.{name} must be an object, got {value!r}")
    return value


def _count(raw: Mapping[str, Any], name: str, where: str) -> int | None:
    value = raw.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif _whole(value):
        if abs(value) > MAX_COUNT:  # before int(), which is slow on a huge exponent
            raise ValueError(
                f"{where}.{name} must be at most 2**63 - 1 ({MAX_COUNT}), got {value!r}"
            )
        number = int(value)
    else:
        raise ValueError(f"{where}.{name} must be a whole number of tokens, got {value!r}")
    if number < 0:
        shown = str(number) if number > -(10**30) else "a large negative number"
        raise ValueError(f"{where}.{name} must be 0 or more, got {shown}")
    if number > MAX_COUNT:
        raise ValueError(
            f"{where}.{name} must be at most 2**63 - 1 ({MAX_COUNT}), got {count_text(number)}"
        )
    return number


def _whole(value: object) -> bool:
    """A float or Decimal that is a whole number, such as ``12.0``."""
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()


def _amount(value: object, where: str) -> Decimal | None:
    if value is None:
        return None
    amount: Decimal
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int) and not isinstance(value, bool):
        amount = Decimal(value)
    elif isinstance(value, float):
        # the shortest repr of a float is the decimal text it was parsed from
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{where} must be an amount in USD, got {value!r}") from None
    else:
        raise ValueError(f"{where} must be an amount in USD, got {value!r}")
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{where} must be a finite amount of 0 or more USD, got {value!r}")
    return amount


def _text(amount: Decimal | None) -> str | None:
    return None if amount is None else money_text(amount)
