"""The calculator: a usage and a model in, an exact cost out. Pure; no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

from .._errors import PricingError
from ._catalog import catalog
from ._cost import Cost
from ._model import Model, Rates
from ._usage import Usage

_ZERO = Decimal(0)
_ONE = Decimal(1)
_TEN = Decimal(10)


def price(
    usage: Usage,
    model: str | Model,
    *,
    provider: str | None = None,
    at: date | datetime | None = None,
    service_tier: str | None = None,
) -> Cost:
    """The exact cost of ``usage`` for ``model`` (a ref or a resolved :class:`Model`).

    ``provider`` picks who bills it (default: the model's maker, or the provider of a
    qualified ref such as ``requesty:openai/gpt-4o-mini``); ``at`` picks the price set in
    force then (default: now, UTC), and within it the time-of-day window of that moment (a
    date alone is taken at 00:00 UTC); ``service_tier`` picks a request mode the table lists
    (``batch``, ``flex``, ``priority``, ...; default ``standard``). A price set with
    prompt-size tiers bills the whole request at the tier its prompt reaches. A model
    included in a plan prices to 0 with a note saying so.
    """
    if not isinstance(usage, Usage):
        raise TypeError(f"usage must be a costbook.Usage, got {type(usage).__name__}")
    resolved = model if isinstance(model, Model) else catalog().resolve(model, provider)
    if resolved.included:
        return included_cost(usage, resolved)
    cost = price_with(usage, resolved, resolved.rates_at(at, service_tier), at=at)
    if resolved.retired_at(at):
        cost = replace(cost, note=retired_note(resolved))
    return cost


def retired_note(model: Model) -> str:
    """What a cost of a retired model says."""
    day = model.deprecated.isoformat() if model.deprecated else "?"
    return f"{model.ref} was retired by the provider on {day}; priced at its last rates"


def included_cost(usage: Usage, model: Model) -> Cost:
    """The cost of a call whose use is included in a plan: 0, with a note saying why."""
    return Cost(
        total=_ZERO, items={}, model=model.id, provider=model.provider, usage=usage,
        note=f"included in a {model.provider} plan: no per-unit price, so 0 here; the plan "
        "itself is billed apart",
    )


def estimate(
    model: str | Model,
    *,
    provider: str | None = None,
    at: date | datetime | None = None,
    service_tier: str | None = None,
    input_tokens: int = 0,
    output_tokens: int = 0,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    reasoning_tokens: int = 0,
    audio_input_tokens: int = 0,
    audio_output_tokens: int = 0,
    images: int = 0,
    web_searches: int = 0,
) -> Cost:
    """The exact cost of the given counts: ``price(Usage(...), model, ...)``.

    ``images`` counts images of a model that bills them per image; a model that bills
    images as input tokens refuses a count (add their tokens to ``input_tokens``)."""
    resolved = model if isinstance(model, Model) else catalog().resolve(model, provider)
    refuse_counted_images(resolved, images)
    usage = Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
        reasoning_tokens=reasoning_tokens,
        audio_input_tokens=audio_input_tokens,
        audio_output_tokens=audio_output_tokens,
        images=images,
        web_searches=web_searches,
    )
    return price(usage, resolved, at=at, service_tier=service_tier)


def refuse_counted_images(model: Model, images: int) -> None:
    """A count of images cannot price a model that bills images as input tokens (their
    tokens depend on their sizes): raise a :class:`PricingError` that says how to count
    them, rather than price them at $0."""
    if images and model.images is not None and model.images.billing == "tokens":
        raise PricingError(
            f"{model.ref} bills input images as input tokens, so {images} image(s) cannot "
            f"be priced by count: count their tokens with costbook.image_tokens(width, "
            f"height, {model.ref!r}) and add them to input_tokens (on the command line: "
            "costbook estimate --image WxH, once per image)"
        )


def price_with(
    usage: Usage, model: Model, rates: Rates, *, at: date | datetime | None = None
) -> Cost:
    """Price ``usage`` with one compiled price set of ``model`` (at the time-of-day window
    of ``at``, default now, and the prompt-size tier that the usage's input reaches)."""
    if rates.windows:
        rates = rates.for_time(at)
    if rates.tiers:
        rates = rates.for_prompt(usage.input_tokens)
    per_token = rates.per_token
    items: dict[str, Decimal] = {}
    audio_cached = usage.audio_cache_read_tokens
    audio_uncached = usage.audio_input_tokens - audio_cached
    text_output = usage.output_tokens - usage.audio_output_tokens
    reasoning = usage.reasoning_tokens if rates.reasoning_separate else 0
    five_minute = usage.cache_write_tokens - usage.cache_write_1h_tokens
    for rate_name, count in (
        ("input", usage.input_tokens - usage.cache_read_tokens - usage.cache_write_tokens
         - audio_uncached),
        ("cache_read", usage.cache_read_tokens - audio_cached),
        ("cache_write", five_minute),
        ("cache_write_1h", usage.cache_write_1h_tokens),
        ("audio_input", audio_uncached),
        ("audio_cache_read", audio_cached),
        ("output", text_output - reasoning),
        ("reasoning", reasoning),
        ("audio_output", usage.audio_output_tokens),
    ):
        if count:
            rate = per_token.get(rate_name)
            if rate is None:
                raise _no_rate(model, rate_name, count)
            items[rate_name] = _tidy(rate * count)
    if usage.images:
        _price_images(usage.images, model, rates, items)
    if usage.web_searches:
        fee = rates.per_web_search
        if fee is None:
            raise PricingError(
                f"{model.ref} has no per_web_search rate, so {usage.web_searches} web "
                "searches cannot be priced; its table can give one (USD per search)"
            )
        items["web_search"] = _tidy(fee * usage.web_searches)
    if rates.per_request is not None and usage.requests:
        items["request"] = _tidy(rates.per_request * usage.requests)
    return Cost(
        total=_tidy(sum(items.values(), _ZERO)),
        items=items,
        model=model.id,
        provider=model.provider,
        usage=usage,
        effective=rates.effective,
        service_tier=rates.service_tier,
        prompt_tier=rates.prompt_tier,
        time_window=rates.time_window,
    )


_PARTS = {
    "input": "input_tokens (uncached text)",
    "cache_read": "cache_read_tokens",
    "cache_write": "cache_write_tokens",
    "cache_write_1h": "cache_write_1h_tokens",
    "audio_input": "audio_input_tokens (uncached)",
    "audio_cache_read": "audio_cache_read_tokens",
    "output": "output_tokens",
    "reasoning": "reasoning_tokens",
    "audio_output": "audio_output_tokens",
}


def _no_rate(model: Model, rate_name: str, count: int) -> PricingError:
    return PricingError(
        f"{model.ref} has no {rate_name} rate, so {count} {_PARTS[rate_name]} cannot be "
        f"priced; its table can give a {rate_name} rate" + _billed_as_hint(rate_name)
    )


def _billed_as_hint(rate_name: str) -> str:
    if rate_name in ("cache_write", "cache_write_1h"):
        return " (a cache write costs more than input, so costbook never assumes one)"
    return f" or say which rate bills it (billed_as: {{{rate_name}: input}})"


def _tidy(amount: Decimal) -> Decimal:
    """The same amount without trailing zeros: 0.021 rather than 0.02100000; whole
    amounts keep exponent 0 (100, not 1E+2)."""
    tidy = amount.normalize()
    if tidy < _TEN:  # a positive exponent needs a whole number of 10 or more (1E+2)
        return tidy
    exponent = tidy.as_tuple().exponent
    return tidy if isinstance(exponent, int) and exponent <= 0 else tidy.quantize(_ONE)


def _price_images(count: int, model: Model, rates: Rates, items: dict[str, Decimal]) -> None:
    billing = model.images
    if billing is None:
        raise PricingError(f"{model.ref} takes no image input, but the usage has {count} images")
    if billing.billing == "tokens":
        return  # the images are in input_tokens already
    if rates.per_image is None:
        raise PricingError(
            f"{model.ref} bills images per image but its price set of "
            f"{rates.effective or 'its launch'} has no per_image rate"
        )
    items["image"] = _tidy(rates.per_image * count)
