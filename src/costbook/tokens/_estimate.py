"""Pre-flight estimates: a request body in, its counted input and the bounds of its cost out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .._errors import ContextWindowExceeded
from ..pricing._calculator import price
from ..pricing._catalog import catalog
from ..pricing._cost import Cost
from ..pricing._model import Model
from ..pricing._usage import Usage
from ._tokens import Tally

_CHAT_MAX_KEYS = ("max_completion_tokens", "max_tokens")
_RESPONSES_MAX_KEYS = ("max_output_tokens",)
# The output bound assumed for a model whose table gives no max output and no context
# window, when the request sets no maximum either: the estimate says so.
UNKNOWN_MAX_OUTPUT = 32_768


@dataclass(frozen=True, slots=True)
class Estimate:
    """What a request will cost before it is sent.

    ``low`` prices the input alone (no output); ``high`` prices the input with
    ``max_output_tokens`` of output for each of the ``n`` choices. ``input_tokens`` includes
    images billed as tokens; ``images`` counts the request's input images. ``exact`` is
    ``False`` when anything was approximated; ``approximations`` says what. ``misfit``
    says how the request goes past what the table knows of the model (its context window
    or max output), for an estimate made for a tracked call, which is sent all the same;
    ``high`` then bounds the output at the table's max output.
    """

    model: str
    provider: str
    input_tokens: int
    images: int
    max_output_tokens: int
    n: int
    context_window: int | None
    low: Cost
    high: Cost
    exact: bool
    approximations: tuple[str, ...] = ()
    misfit: str | None = None

    @property
    def ref(self) -> str:
        """The qualified model ref, ``provider:model``."""
        return f"{self.provider}:{self.model}"

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts are exact decimal strings."""
        return {
            "model": self.model,
            "provider": self.provider,
            "input_tokens": self.input_tokens,
            "images": self.images,
            "max_output_tokens": self.max_output_tokens,
            "n": self.n,
            "context_window": self.context_window,
            "exact": self.exact,
            "approximations": list(self.approximations),
            "misfit": self.misfit,
            "low": self.low.as_dict(),
            "high": self.high.as_dict(),
        }


def estimate_request(
    body: Mapping[str, Any],
    *,
    provider: str | None = None,
    image_sizes: Mapping[str, tuple[int, int]] | None = None,
    at: date | datetime | None = None,
    service_tier: str | None = None,
) -> Estimate:
    """Estimate a Chat Completions body (``model``, ``messages``, ``tools``,
    ``max_completion_tokens`` or ``max_tokens``, ``n``) or a Responses API body
    (``model``, ``input``, ``instructions``, ``tools``, ``max_output_tokens``).

    ``provider`` picks who bills the call (default: the model's maker). Images in
    ``http(s)`` URLs are never fetched: give their sizes in ``image_sizes``
    (``{url: (width, height)}``), or each counts as the most one image can cost and the
    estimate is not exact. When no output maximum is set, ``high`` uses the model's max
    output, or what is left of its context window if that is less; a table that gives
    neither assumes :data:`UNKNOWN_MAX_OUTPUT` and says so in ``approximations``.
    ``service_tier`` prices it at a request mode the table lists (``batch``, ``flex``, ...);
    by default the body's own ``service_tier`` when it names one the table has, else
    ``standard``.

    Raises :class:`~costbook.ContextWindowExceeded` when the input plus the requested
    output do not fit the model's context window (saying when the input count is
    approximate), and ValueError when the request asks for more output than the model's
    table gives.
    """
    return request_estimate(body, provider=provider, image_sizes=image_sizes, at=at,
                            service_tier=service_tier)


def request_estimate(
    body: Mapping[str, Any],
    *,
    provider: str | None = None,
    image_sizes: Mapping[str, tuple[int, int]] | None = None,
    at: date | datetime | None = None,
    service_tier: str | None = None,
    strict: bool = True,
) -> Estimate:
    """:func:`estimate_request`; with ``strict=False`` (a tracked call), a request that
    does not fit what the table knows of the model is estimated all the same, and its
    :attr:`Estimate.misfit` says how."""
    if not isinstance(body, Mapping):
        raise ValueError(
            f"a request body must be a JSON object (a dict), got {type(body).__name__}"
        )
    ref = body.get("model")
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(
            "the request body has no 'model'; give one, e.g. {'model': 'gpt-4o-mini', ...}"
        )
    model = catalog().resolve(ref, provider)
    tally = Tally(model, image_sizes)
    if "messages" in body and "input" in body:
        raise ValueError(
            "the request body has both 'messages' (Chat Completions) and 'input' "
            "(Responses API); give one"
        )
    if "messages" in body:
        tally.chat(body["messages"], body.get("tools"))
        if body.get("functions") is not None:
            tally.tools(body["functions"], "functions")
        requested = _requested_output(body, _CHAT_MAX_KEYS)
        choices = _choices(body)
        schema = _chat_schema(body)
    elif "input" in body:
        tally.responses(body["input"], body.get("instructions"), body.get("tools"))
        requested = _requested_output(body, _RESPONSES_MAX_KEYS)
        choices = 1
        schema = _responses_schema(body)
    else:
        raise ValueError(
            "the request body has neither 'messages' (Chat Completions) nor 'input' "
            "(Responses API)"
        )
    if schema is not None:
        tally.text += tally.counter.raw(json.dumps(schema, separators=(",", ":")))
        tally.approximations.append(
            "the structured-output schema is counted as its JSON text; "
            "OpenAI publishes no rule for it"
        )
    if service_tier is None:
        service_tier = _body_service_tier(body, model)
    return _estimate(model, tally, requested, choices, at, service_tier, strict=strict)


def _body_service_tier(body: Mapping[str, Any], model: Model) -> str | None:
    """The body's ``service_tier`` when the table sells the model at it (``auto`` and
    ``default`` are the standard rates)."""
    asked = body.get("service_tier")
    if isinstance(asked, str) and asked in model.service_tiers:
        return asked
    return None


def _estimate(
    model: Model,
    tally: Tally,
    requested: int | None,
    choices: int,
    at: date | datetime | None,
    service_tier: str | None = None,
    *,
    strict: bool = True,
    context_window: int | None = None,
) -> Estimate:
    """The estimate of a counted request. ``strict``: a request past the model's context
    window or max output raises (else the estimate says so in ``misfit``);
    ``context_window``: the window the request itself opens (a long-context beta)."""
    input_tokens = tally.tokens
    window = context_window or model.context_window
    most = model.max_output_tokens
    lacking: list[str] = []
    misfit: str | None = None
    approximate = None if tally.counter.exact else tally.counter.method
    if requested is not None:
        if most is not None and requested > most:
            if strict:
                raise ValueError(
                    f"the request asks for up to {requested} output tokens, but {model.ref} "
                    f"gives at most {most}"
                )
            misfit = (f"the request asks for up to {requested} output tokens, more than the "
                      f"{most} that {model.ref}'s table gives; the high bound uses {most}")
        elif window is not None and input_tokens + requested > window:
            if strict:
                raise ContextWindowExceeded(model.ref, input_tokens, requested, window,
                                            approximate=approximate)
            misfit = str(ContextWindowExceeded(model.ref, input_tokens, requested, window,
                                               approximate=approximate))
        max_output = requested if most is None else min(requested, most)
    else:
        if window is not None and input_tokens > window:
            if strict:
                raise ContextWindowExceeded(model.ref, input_tokens, 0, window,
                                            approximate=approximate)
            misfit = str(ContextWindowExceeded(model.ref, input_tokens, 0, window,
                                               approximate=approximate))
        room = None if window is None or input_tokens > window else window - input_tokens
        bounds = [b for b in (most, room) if b is not None]
        if bounds:
            max_output = min(bounds)
        else:
            max_output = UNKNOWN_MAX_OUTPUT
            lacking.append(
                f"{model.ref}'s table gives no max output tokens or context window: the "
                f"high bound assumes {UNKNOWN_MAX_OUTPUT} output tokens (set max_tokens to "
                "bound it)"
            )
    if window is None:
        lacking.append(f"{model.ref}'s table gives no context window: the fit is not checked")
    per_image = model.images is not None and model.images.billing == "per_image"
    images = tally.images if per_image else 0
    low = price(Usage(input_tokens=input_tokens, images=images), model, at=at,
                service_tier=service_tier)
    high = price(
        Usage(input_tokens=input_tokens, output_tokens=max_output * choices, images=images),
        model,
        at=at,
        service_tier=service_tier,
    )
    approximations = list(tally.approximations) + lacking
    if not tally.counter.exact:
        tokenizer = (
            f"{model.tokenizer} tokenizer" if model.tokenizer else "no tokenizer in the table"
        )
        approximations.insert(0, f"{tokenizer}: {tally.counter.method}")
    return Estimate(
        model=model.id,
        provider=model.provider,
        input_tokens=input_tokens,
        images=tally.images,
        max_output_tokens=max_output,
        n=choices,
        context_window=window,
        low=low,
        high=high,
        exact=tally.exact and not lacking,
        approximations=tuple(approximations),
        misfit=misfit,
    )


def _requested_output(body: Mapping[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = body.get(key)
        if value is None:
            continue
        if type(value) is not int or value < 1:
            raise ValueError(f"{key} must be a whole number of tokens above 0, got {value!r}")
        return value
    return None


def _choices(body: Mapping[str, Any]) -> int:
    value = body.get("n")
    if value is None:
        return 1
    if type(value) is not int or value < 1:
        raise ValueError(f"n must be a whole number of choices above 0, got {value!r}")
    return value


def _chat_schema(body: Mapping[str, Any]) -> Any:
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping) and response_format.get("type") == "json_schema":
        return response_format.get("json_schema")
    return None


def _responses_schema(body: Mapping[str, Any]) -> Any:
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, Mapping) else None
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        return fmt.get("schema")
    return None
