"""The format of a pricing table, as pydantic models: unknown fields are forbidden.

This module is the single definition of ``pricing/*.yaml``; ``pricing/schema.json`` is
generated from :class:`ProviderTable`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ._model import window_label

RateName = Literal[
    "input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning",
    "audio_input", "audio_output", "audio_cache_read",
]
Tokenizer = Literal["o200k_base", "cl100k_base", "claude", "approximate"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
TierName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
ClockTime = Annotated[str, Field(pattern=r"^(?:[01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")]

# Rate fields: token rates in USD per million tokens, per-unit fees in USD per unit.
TOKEN_RATE_FIELDS: tuple[str, ...] = (
    "input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning",
    "audio_input", "audio_output", "audio_cache_read",
)
UNIT_RATE_FIELDS: tuple[str, ...] = ("per_image", "per_request", "per_web_search")
RATE_FIELDS = TOKEN_RATE_FIELDS + UNIT_RATE_FIELDS


MAX_DIGITS = 28
"""Significant digits a number in a table may have: the precision the calculator keeps."""
MAX_PLACES = 20
"""Decimal places a number in a table may have."""
MAX_AMOUNT = Decimal(1_000_000_000)
"""Rates and amounts in a table are below this many dollars."""


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError(
            f"rate {value!r} came through binary float; write it in the YAML table as a "
            "number or pass a Decimal or a string"
        )
    return value


def _in_range(value: Decimal | None) -> Decimal | None:
    """Refuse a number the calculator would round or could not hold: more than
    :data:`MAX_DIGITS` significant digits, more than :data:`MAX_PLACES` decimal places,
    or :data:`MAX_AMOUNT` or more. Trailing zeros do not count (``1.50`` is ``1.5``)."""
    if value is None:
        return None
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # pydantic lets only finite numbers through
    significant = len(digits)
    while significant > 1 and digits[significant - 1] == 0:
        significant -= 1
    exponent += len(digits) - significant  # of the last significant digit
    if value.is_zero():
        if not -MAX_PLACES <= exponent < 9:
            raise ValueError(f"{_short(value)} is out of range: write zero as 0")
        return value
    if significant > MAX_DIGITS:
        raise ValueError(
            f"{significant} significant digits are more than the calculator keeps; "
            f"write at most {MAX_DIGITS}"
        )
    if exponent < -MAX_PLACES or value.adjusted() >= 9:
        raise ValueError(
            f"{_short(value)} is out of range: a number in a table is below "
            f"{MAX_AMOUNT:,} with at most {MAX_PLACES} decimal places"
        )
    return value


def _short(value: Decimal) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:20] + "..." + text[-12:]


def _iso_date(value: Any) -> Any:
    """Only a date or ``YYYY-MM-DD`` text is a date: a number is refused, not read as
    seconds since 1970."""
    if value is None or isinstance(value, date) or (
        isinstance(value, str) and len(value) >= 10 and value[4] == "-" and value[7] == "-"
    ):
        return value
    raise ValueError("a date is written YYYY-MM-DD")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _rate(description: str) -> Any:
    return Field(None, ge=0, description=description)


class _RateFields(_Strict):
    """The rates a price set, a prompt-size tier or an override can state."""

    input: Decimal | None = _rate("USD per 1M uncached text input tokens.")
    output: Decimal | None = _rate("USD per 1M text output tokens.")
    cache_read: Decimal | None = _rate(
        "USD per 1M cache-read tokens (default: the input rate, never less)."
    )
    cache_write: Decimal | None = _rate("USD per 1M cache-write tokens (5-minute lifetime).")
    cache_write_1h: Decimal | None = _rate(
        "USD per 1M cache-write tokens with a 1-hour lifetime."
    )
    reasoning: Decimal | None = _rate(
        "USD per 1M reasoning tokens, where it differs from output (default: output)."
    )
    audio_input: Decimal | None = _rate("USD per 1M uncached audio input tokens.")
    audio_output: Decimal | None = _rate("USD per 1M audio output tokens.")
    audio_cache_read: Decimal | None = _rate(
        "USD per 1M cached audio input tokens (default: the audio input rate)."
    )
    per_image: Decimal | None = _rate("USD per input image.")
    per_request: Decimal | None = _rate("USD per request.")
    per_web_search: Decimal | None = _rate("USD per web search (a $10 per 1,000 fee is 0.01).")

    _rates_are_exact = field_validator(*RATE_FIELDS, mode="before")(_no_float)
    _rates_in_range = field_validator(*RATE_FIELDS)(_in_range)

    def stated(self) -> dict[str, Decimal]:
        """The rates this object states, by name."""
        return {name: getattr(self, name) for name in RATE_FIELDS
                if getattr(self, name) is not None}


class PromptTier(_RateFields):
    """Rates for the whole request once its prompt (all input tokens, cache parts included)
    passes a threshold; a rate not given here is the price set's own."""

    above: int | None = Field(None, ge=0, description="Applies when the prompt has more tokens.")
    at_or_above: int | None = Field(
        None, ge=0, description="Applies when the prompt has at least this many tokens."
    )

    @model_validator(mode="after")
    def _one_threshold(self) -> PromptTier:
        if (self.above is None) == (self.at_or_above is None):
            raise ValueError("a prompt-size tier gives one threshold: above or at_or_above")
        if not self.stated():
            raise ValueError("a prompt-size tier gives at least one rate")
        return self

    @property
    def threshold(self) -> int:
        """The prompt size this tier starts past (``above``) or at (``at_or_above``)."""
        return self.above if self.above is not None else (self.at_or_above or 0)

    @property
    def label(self) -> str:
        """How :class:`~costbook.Cost` names this tier: ``above 200000``."""
        if self.above is not None:
            return f"above {self.above}"
        return f"at or above {self.at_or_above}"

    def applies(self, prompt_tokens: int) -> bool:
        """Whether a prompt of ``prompt_tokens`` is billed at this tier."""
        if self.above is not None:
            return prompt_tokens > self.above
        return prompt_tokens >= (self.at_or_above or 0)


def _every_day() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class TimeWindow(_RateFields):
    """Rates in force at certain UTC hours on certain weekdays (DeepSeek's peak hours, ...);
    a rate not given here is the price set's own, which bills every other hour."""

    name: TierName = Field(description="What the provider calls the window: peak, off_peak, ...")
    days: list[Weekday] = Field(
        default_factory=_every_day,
        description="UTC weekdays on which the window is in force (default: every day).",
    )
    start: ClockTime = Field(description="UTC time the window opens, HH:MM (inclusive).")
    end: ClockTime = Field(description="UTC time the window closes, HH:MM (exclusive; 24:00 "
                           "for midnight); later than start: split a window across midnight.")

    @model_validator(mode="after")
    def _opens_before_it_closes(self) -> TimeWindow:
        if self.start >= self.end:
            raise ValueError(
                f"a time window opens before it closes, got {self.start} to {self.end}; "
                "write a window across midnight as two windows"
            )
        if not self.days:
            raise ValueError("a time window names at least one weekday (mon ... sun)")
        if not self.stated():
            raise ValueError("a time window gives at least one rate")
        return self

    @property
    def label(self) -> str:
        """How :class:`~costbook.Cost` names the window: ``peak (mon-fri 01:00-04:00 UTC)``."""
        return window_label(self.name, self.days, self.start, self.end)


class PriceSet(_RateFields):
    """The rates in force from one date on. Token rates are USD per million tokens."""

    effective: date | None = Field(
        None,
        description="The date these rates took effect; the first set of a model may omit "
        "it when the provider does not say (then it is in force on any date).",
    )
    billed_as: dict[RateName, RateName] = Field(
        default_factory=dict,
        description="Parts billed at another rate, e.g. {cache_read: input}: no discount.",
    )
    tiers: list[PromptTier] = Field(
        default_factory=list,
        description="Prompt-size tiers, lowest threshold first: the whole request is "
        "billed at a tier's rates once its prompt passes the threshold.",
    )
    windows: list[TimeWindow] = Field(
        default_factory=list,
        description="Rates in force at certain UTC hours and weekdays; a call is billed at "
        "the rates of its own time (the price set's own rates outside every window).",
    )

    _dates = field_validator("effective", mode="before")(_iso_date)

    @model_validator(mode="after")
    def _billed_as_names_a_rate(self) -> PriceSet:
        for part, rate in self.billed_as.items():
            if part == rate:
                raise ValueError(f"billed_as: {part} cannot be billed as itself")
            if getattr(self, part) is not None:
                raise ValueError(
                    f"billed_as: {part} has its own rate {getattr(self, part)}; "
                    "give either the rate or billed_as, not both"
                )
            chain = [part]
            while getattr(self, rate) is None:
                if rate in chain:
                    raise ValueError(
                        f"billed_as: {' -> '.join([*chain, rate])} is a cycle; end it at "
                        "a rate the price set gives"
                    )
                if rate not in self.billed_as:
                    raise ValueError(
                        f"billed_as: {part} is billed as {rate}, which has no rate"
                    )
                chain.append(rate)
                rate = self.billed_as[rate]
        for number, window in enumerate(self.windows):
            for other in self.windows[number + 1:]:
                if set(window.days) & set(other.days) and (
                    window.start < other.end and other.start < window.end
                ):
                    raise ValueError(
                        f"time windows {window.label} and {other.label} overlap; a moment "
                        "is in one window at most"
                    )
        thresholds = [t.threshold for t in self.tiers]
        if thresholds != sorted(set(thresholds)):
            raise ValueError(
                "tiers must be listed lowest threshold first with distinct thresholds, got "
                + ", ".join(str(t) for t in thresholds)
            )
        return self


class RateOverride(_RateFields):
    """Rates a router's own page lists differently from the upstream entry it follows."""


class TileImages(_Strict):
    """OpenAI's tile rule: base tokens plus tokens per 512-pixel tile (``low``: base only)."""

    method: Literal["tiles"] = "tiles"
    base_tokens: int = Field(ge=0)
    tile_tokens: int = Field(ge=0)


class PatchImages(_Strict):
    """32-pixel patches, capped, times a per-model multiplier (newer mini and nano models)."""

    method: Literal["patches"] = "patches"
    multiplier: Decimal = Field(gt=0)
    max_patches: int = Field(1536, gt=0)

    _exact = field_validator("multiplier", mode="before")(_no_float)
    _in_range = field_validator("multiplier")(_in_range)


class PixelImages(_Strict):
    """Tokens from the pixel count: width x height / ``pixels_per_token`` after scaling the
    image to fit ``max_edge`` and ``max_tokens`` (Anthropic: 750 pixels a token)."""

    method: Literal["pixels"] = "pixels"
    pixels_per_token: int = Field(gt=0)
    max_edge: int = Field(1568, gt=0)
    max_tokens: int = Field(1600, gt=0)


class ImageBilling(_Strict):
    """How input images are billed: per image, or as input tokens (never both)."""

    billing: Literal["per_image", "tokens"]
    tokens: TileImages | PatchImages | PixelImages | None = Field(
        None, discriminator="method", description="The token rule when billed as tokens."
    )

    @model_validator(mode="after")
    def _one_way(self) -> ImageBilling:
        if self.billing == "per_image" and self.tokens is not None:
            raise ValueError("images billed per_image take no token rule")
        return self


class ExampleUsage(_Strict):
    input_tokens: int = Field(0, ge=0)
    output_tokens: int = Field(0, ge=0)
    cache_read_tokens: int = Field(0, ge=0)
    cache_write_tokens: int = Field(0, ge=0)
    cache_write_1h_tokens: int = Field(0, ge=0)
    reasoning_tokens: int = Field(0, ge=0)
    audio_input_tokens: int = Field(0, ge=0)
    audio_output_tokens: int = Field(0, ge=0)
    audio_cache_read_tokens: int = Field(0, ge=0)
    images: int = Field(0, ge=0)
    web_searches: int = Field(0, ge=0)
    requests: int = Field(1, ge=0)


class Example(_Strict):
    """A documented example: a usage and its exact total as the provider's page states it."""

    usage: ExampleUsage
    total: Decimal
    service_tier: TierName | None = Field(None, description="The service tier; default standard.")
    at: date | None = Field(None, description="Price date of the example; default: today.")
    source: str | None = Field(None, description="Where the provider states it.")

    _exact = field_validator("total", mode="before")(_no_float)
    _total_in_range = field_validator("total")(_in_range)
    _dates = field_validator("at", mode="before")(_iso_date)


class ModelEntry(_Strict):
    """One model as one provider sells it.

    Only ``id`` and the rates are needed; names, URLs, the checked date and the limits are
    optional (a bundled table gives them all). A router entry may instead follow an
    upstream entry with ``same_as`` and override what the router's own page lists
    differently.
    """

    id: str = Field(min_length=1, description="The id as this provider spells it.")
    name: str | None = None
    aliases: list[str] = Field(
        default_factory=list, description="Dated snapshots and other spellings."
    )
    context_window: int | None = Field(None, gt=0)
    max_output_tokens: int | None = Field(None, gt=0)
    tokenizer: Tokenizer | None = Field(
        None, description="How to count its tokens offline; default: approximate."
    )
    pricing_url: str | None = Field(
        None, pattern=r"^https://", description="The provider's own pricing page."
    )
    checked: date | None = Field(
        None, description="When the prices were last checked at their source (a dataset's "
        "own release date for generated entries, never the date a script ran)."
    )
    source: str | None = Field(
        None, description="Where the rates came from: the provider's page, or a dataset and "
        "its version (genai-prices 0.2.5, LiteLLM 1.110.2, models.dev)."
    )
    deprecated: date | None = Field(
        None, description="When the provider retired the model: calls after it still price "
        "(history), but compare leaves it out and estimate says it is retired."
    )
    billing: Literal["free", "included"] | None = Field(
        None, description="How the entry bills when not per unit at its rates: free (no "
        "charge; its rates are 0) or included (in a subscription plan; no per-unit price, "
        "so it is never shown as a $0 price)."
    )
    canonical: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9._-]*/[a-z0-9][a-z0-9._:-]*$",
        description="maker/model key shared by every provider's entry of the same model "
        "(meta-llama/llama-3.3-70b-instruct): compare lists them all.",
    )
    note: str | None = Field(
        None, description="Why this entry differs from the maker's rules (a prompt-size tier "
        "the provider does not bill, ...)."
    )
    images: ImageBilling | None = None
    same_as: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9_.-]*:.+$",
        description="provider:model of the upstream entry this one charges the same as.",
    )
    overrides: RateOverride | None = Field(
        None, description="With same_as: rates this provider lists differently."
    )
    prices: list[PriceSet] = Field(
        default_factory=list, description="The standard rates, oldest first."
    )
    service_tiers: dict[TierName, list[PriceSet]] = Field(
        default_factory=dict,
        description="Other request modes (batch, flex, priority, fast, ...), each with "
        "its own rates, oldest first.",
    )
    examples: list[Example] = Field(default_factory=list)

    _dates = field_validator("checked", mode="before")(_iso_date)

    @model_validator(mode="after")
    def _prices_in_date_order(self) -> ModelEntry:
        if self.billing == "included":
            if self.prices or self.same_as is not None:
                raise ValueError(
                    "an entry included in a plan has no per-unit prices; give billing: "
                    "included alone, or its prices without billing"
                )
        elif self.same_as is None:
            if not self.prices:
                raise ValueError("a model gives its prices, or follows another with same_as")
            if self.overrides is not None:
                raise ValueError("overrides go with same_as")
        elif self.prices:
            raise ValueError("a same_as entry takes its prices from upstream; use overrides")
        if self.billing == "free":
            charged = [f"{name} {rate}" for p in self.prices for name, rate in p.stated().items()
                       if rate != 0]
            if charged:
                raise ValueError(f"a free entry has no rate above 0, got {', '.join(charged)}")
        if "standard" in self.service_tiers:
            raise ValueError("service_tiers: the standard rates are the model's prices")
        for name, sets in [("prices", self.prices), *self.service_tiers.items()]:
            if any(p.effective is None for p in sets[1:]):
                raise ValueError(f"{name}: only the first price set may omit its effective date")
            dates = [p.effective or date.min for p in sets]
            if dates != sorted(set(dates)):
                raise ValueError(
                    f"{name} must be listed oldest first with distinct effective dates, got "
                    + ", ".join(str(p.effective) for p in sets)
                )
            if name != "prices" and not sets:
                raise ValueError(f"service tier {name} lists no prices")
        if (
            self.max_output_tokens is not None
            and self.context_window is not None
            and self.max_output_tokens > self.context_window
        ):
            raise ValueError(
                f"max_output_tokens {self.max_output_tokens} is larger than "
                f"context_window {self.context_window}"
            )
        return self


class ProviderTable(_Strict):
    """A pricing table: every model one provider bills for."""

    provider: Slug = Field(description="Who bills the call: openai, anthropic, openrouter, ...")
    name: str | None = None
    pricing_url: str | None = Field(None, pattern=r"^https://")
    aliases: list[Slug] = Field(
        default_factory=list, description="Other spellings of the provider id: aws, x-ai, ..."
    )
    resells: bool = Field(
        False,
        description="The provider sells models other makers made (a router, a cloud, an "
        "inference host): a model ref that names no provider resolves at the maker first.",
    )
    api_hosts: list[str] = Field(
        default_factory=list, description="API host names that identify this provider."
    )
    models: list[ModelEntry]

    @model_validator(mode="after")
    def _unique_refs(self) -> ProviderTable:
        seen: dict[str, str] = {}
        for model in self.models:
            for ref in (model.id, *model.aliases):
                key = ref.lower()
                if key in seen:
                    raise ValueError(f"ref {ref!r} of {model.id} is already used by {seen[key]}")
                seen[key] = model.id
        return self


def table_json_schema() -> dict[str, Any]:
    """The JSON Schema of a pricing table, for editors (``pricing/schema.json``)."""
    schema = ProviderTable.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "costbook pricing table"
    return schema
