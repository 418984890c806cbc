"""Usage from API responses: the counts, model, id and reported charge of one answer.

Three wire shapes are read and normalised to :class:`~costbook.Usage`'s conventions:

- Chat Completions (OpenAI, OpenRouter, Requesty): ``prompt_tokens`` and
  ``completion_tokens`` with ``prompt_tokens_details`` (``cached_tokens``,
  ``cache_write_tokens``, or Requesty's ``caching_tokens``) and
  ``completion_tokens_details.reasoning_tokens``;
- Responses: ``input_tokens`` and ``output_tokens`` with ``input_tokens_details`` and
  ``output_tokens_details``;
- Anthropic Messages: ``input_tokens`` *excludes* ``cache_creation_input_tokens`` and
  ``cache_read_input_tokens``, so all three are added up; ``cache_creation`` splits cache
  writes into 5-minute and 1-hour parts; ``output_tokens_details.thinking_tokens`` is the
  thinking part of the output, and ``server_tool_use.web_search_requests`` the web
  searches billed per search.

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
    """

    usage: Usage | None
    model: str | None = None
    request_id: str | None = None
    reported_cost: Decimal | None = None
    upstream_cost: Decimal | None = None
    provider: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts are exact decimal strings, never floats."""
        return {
            "usage": None if self.usage is None else self.usage.as_dict(),
            "model": self.model,
            "request_id": self.request_id,
            "reported_cost": _text(self.reported_cost),
            "upstream_cost": _text(self.upstream_cost),
            "provider": self.provider,
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
        data = inner  # a Responses stream event such as response.completed
    model = data.get("model")
    request_id = data.get("id")
    found = ResponseUsage(
        usage=None,
        model=model if isinstance(model, str) else None,
        request_id=request_id if isinstance(request_id, str) else None,
        provider=provider,
    )
    raw = data.get("usage")
    if raw is None:
        return found
    if not isinstance(raw, Mapping):
        raise ValueError(f"usage must be an object of token counts, got {raw!r}")
    shape = _shape(data, raw, provider)
    usage: Usage | None = None
    if shape == "chat":
        usage = _chat_usage(raw)
    elif shape == "anthropic":
        usage = _anthropic_usage(raw)
    elif shape == "responses":
        usage = _responses_usage(raw)
    cost_details = _details(raw, "cost_details")
    return ResponseUsage(
        usage=usage,
        model=found.model,
        request_id=found.request_id,
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


def _shape(data: Mapping[str, Any], raw: Mapping[str, Any], provider: str | None) -> str:
    if "prompt_tokens" in raw or "completion_tokens" in raw:
        return "chat"
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
        "usage has none of prompt_tokens/completion_tokens (Chat Completions) or "
        "input_tokens/output_tokens (Responses, Anthropic Messages); "
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
    cache_write = _count(prompt_details, "cache_write_tokens", where)
    write_name = f"{where}.cache_write_tokens"
    if cache_write is None:
        cache_write = _count(prompt_details, "caching_tokens", where)
        write_name = f"{where}.caching_tokens"
    reasoning = _count(
        _details(raw, "completion_tokens_details"),
        "reasoning_tokens",
        "usage.completion_tokens_details",
    )
    # routers that pass an Anthropic answer on keep its split of cache writes by lifetime
    write_1h = _count(
        _details(raw, "cache_creation"), "ephemeral_1h_input_tokens", "usage.cache_creation"
    )
    return _usage(
        total_in=("usage.prompt_tokens", prompt or 0),
        cache_read=(f"{where}.cached_tokens", cache_read or 0),
        cache_write=(write_name, cache_write or 0),
        cache_write_1h=("usage.cache_creation.ephemeral_1h_input_tokens", write_1h or 0),
        total_out=("usage.completion_tokens", completion or 0),
        reasoning=("usage.completion_tokens_details.reasoning_tokens", reasoning or 0),
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
        raise ValueError(
            f"usage.output_tokens_details.thinking_tokens ({thinking}) is larger than "
            f"usage.output_tokens ({output or 0}); thinking is a part of the output"
        )
    searches = _count(_details(raw, "server_tool_use"), "web_search_requests",
                      "usage.server_tool_use") or 0
    return Usage(
        input_tokens=(uncached or 0) + (cache_read or 0) + cache_write,
        output_tokens=output or 0,
        cache_read_tokens=cache_read or 0,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=write_1h,
        reasoning_tokens=thinking,
        web_searches=searches,
    )


def _usage(
    *,
    total_in: tuple[str, int],
    cache_read: tuple[str, int],
    cache_write: tuple[str, int],
    cache_write_1h: tuple[str, int],
    total_out: tuple[str, int],
    reasoning: tuple[str, int],
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
    return Usage(
        input_tokens=total_in[1],
        output_tokens=total_out[1],
        cache_read_tokens=cache_read[1],
        cache_write_tokens=cache_write[1],
        cache_write_1h_tokens=cache_write_1h[1],
        reasoning_tokens=reasoning[1],
    )


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
