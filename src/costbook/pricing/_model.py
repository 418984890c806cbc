"""The runtime form of a table entry: a model at a provider, its rates ready to multiply.

Built straight from a table's parsed data (no validation at run time: tables are validated
by ``costbook check``, by the tests, and when a user's own table is loaded), so that the
first price after import reads only the one table it needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

from .._errors import PricingError
from ._money import MILLION
from ._usage import Usage

TYPE_CHECKING = False  # typing is not imported at run time, to keep `import costbook` fast
if TYPE_CHECKING:
    from typing import Any

TOKEN_RATES = (
    "input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning",
    "audio_input", "audio_output", "audio_cache_read",
)
UNIT_RATES = ("per_image", "per_request", "per_web_search")
STANDARD = "standard"

# Parts billed at another rate when a table gives them no rate of their own. Each default
# bills at the rate that is never lower: reasoning as output, a cache read as uncached
# input, cached audio as uncached audio. A cache write has no default (it costs more).
DEFAULT_BILLED_AS: dict[str, str] = {
    "reasoning": "output",
    "cache_read": "input",
    "audio_cache_read": "audio_input",
}


@dataclass(frozen=True, slots=True)
class PromptTierRule:
    """Where a prompt-size tier starts: past ``threshold`` tokens (``above``) or at it."""

    threshold: int
    inclusive: bool

    def applies(self, prompt_tokens: int) -> bool:
        if self.inclusive:
            return prompt_tokens >= self.threshold
        return prompt_tokens > self.threshold

    @property
    def label(self) -> str:
        return f"{'at or above' if self.inclusive else 'above'} {self.threshold}"


WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def window_label(name: str, days: Sequence[str], start: str, end: str) -> str:
    """``peak (mon-fri 01:00-04:00 UTC)``: a window's name, days and hours."""
    order = [WEEKDAY_NAMES.index(d) for d in days]
    if sorted(order) == list(range(7)):
        when = "daily"
    elif sorted(order) == list(range(min(order), max(order) + 1)) and len(order) > 2:
        when = f"{WEEKDAY_NAMES[min(order)]}-{WEEKDAY_NAMES[max(order)]}"
    else:
        when = ",".join(WEEKDAY_NAMES[i] for i in sorted(order))
    return f"{name} ({when} {start}-{end} UTC)"


@dataclass(frozen=True, slots=True)
class WindowRule:
    """When a time window is in force: UTC weekdays (0 is Monday) and minutes of the day,
    ``start`` inclusive, ``end`` exclusive."""

    name: str
    days: frozenset[int]
    start: int
    end: int
    label: str

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> WindowRule:
        days = tuple(data.get("days") or WEEKDAY_NAMES)
        return cls(
            name=str(data["name"]),
            days=frozenset(WEEKDAY_NAMES.index(d) for d in days),
            start=_minutes(str(data["start"])),
            end=_minutes(str(data["end"])),
            label=window_label(str(data["name"]), days, str(data["start"]), str(data["end"])),
        )

    def applies(self, moment: datetime) -> bool:
        minute = moment.hour * 60 + moment.minute
        return moment.weekday() in self.days and self.start <= minute < self.end


def outside_label(rules: Sequence[WindowRule]) -> str:
    """The hours outside every window: ``outside peak (mon-fri 01:00-04:00, 06:00-10:00
    UTC)``."""
    groups: dict[tuple[str, str], list[str]] = {}
    for rule in rules:
        name, _, rest = rule.label.partition(" (")
        days, _, hours = rest.removesuffix(" UTC)").partition(" ")
        groups.setdefault((name, days), []).append(hours)
    return "outside " + "; ".join(
        f"{name} ({days} {', '.join(hours)} UTC)" for (name, days), hours in groups.items())


def _minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    return int(hours) * 60 + int(minutes)


@dataclass(frozen=True, slots=True)
class Rates:
    """One price set, compiled: USD per token for each rate name, ``billed_as`` and the
    defaults resolved, and its prompt-size tiers compiled the same way."""

    effective: date | None
    per_token: dict[str, Decimal]
    per_million_tokens: dict[str, Decimal]
    per_unit: dict[str, Decimal]
    reasoning_separate: bool
    stated_per_million: dict[str, Decimal] = field(default_factory=dict)
    service_tier: str = STANDARD
    prompt_tier: str | None = None
    tiers: tuple[tuple[PromptTierRule, Rates], ...] = ()
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    windows: tuple[tuple[WindowRule, Rates], ...] = ()
    time_window: str | None = None

    @classmethod
    def compile(
        cls,
        data: Mapping[str, Any],
        service_tier: str = STANDARD,
        prompt_tier: str | None = None,
        time_window: str | None = None,
    ) -> Rates:
        """Compile one price set's data (rates per million tokens, per-unit fees)."""
        stated = {name: _decimal(data[name]) for name in TOKEN_RATES if data.get(name) is not None}
        billed_as: Mapping[str, str] = data.get("billed_as") or {}
        per_million: dict[str, Decimal] = {}
        explicit: dict[str, Decimal] = {}
        for name in TOKEN_RATES:
            rate = _follow(name, stated, billed_as)
            if rate is not None:
                per_million[name] = rate
                if name in stated or name in billed_as:
                    explicit[name] = rate
        per_unit = {name: _decimal(data[name]) for name in UNIT_RATES if data.get(name) is not None}
        reasoning_target = billed_as.get("reasoning", "output")
        tiers: list[tuple[PromptTierRule, Rates]] = []
        for tier in data.get("tiers") or ():
            inclusive = tier.get("at_or_above") is not None
            rule = PromptTierRule(int(tier["at_or_above" if inclusive else "above"]), inclusive)
            merged = {k: v for k, v in data.items() if k not in ("tiers", "windows")}
            merged.update({k: v for k, v in tier.items() if k not in ("above", "at_or_above")})
            tiers.append((rule, cls.compile(merged, service_tier, rule.label, time_window)))
        windows: list[tuple[WindowRule, Rates]] = []
        for window in data.get("windows") or ():
            when = WindowRule.from_data(window)
            merged = {k: v for k, v in data.items() if k != "windows"}
            merged.update({k: v for k, v in window.items()
                           if k not in ("name", "days", "start", "end")})
            windows.append((when, cls.compile(merged, service_tier, None, when.label)))
        return cls(
            effective=None if data.get("effective") is None else _day(data["effective"]),
            per_token={name: rate / MILLION for name, rate in per_million.items()},
            per_million_tokens=per_million,
            per_unit=per_unit,
            reasoning_separate="reasoning" in stated or reasoning_target != "output",
            stated_per_million=explicit,
            service_tier=service_tier,
            prompt_tier=prompt_tier,
            tiers=tuple(tiers),
            source=data,
            windows=tuple(windows),
            time_window=time_window if time_window is not None else (
                outside_label([w for w, _ in windows]) if windows else None),
        )

    @property
    def per_image(self) -> Decimal | None:
        return self.per_unit.get("per_image")

    @property
    def per_request(self) -> Decimal | None:
        return self.per_unit.get("per_request")

    @property
    def per_web_search(self) -> Decimal | None:
        return self.per_unit.get("per_web_search")

    def per_million(self, name: str) -> Decimal | None:
        """The rate ``name`` in USD per million tokens, as the tables write it."""
        return self.per_million_tokens.get(name)

    def for_time(self, at: date | datetime | None = None) -> Rates:
        """The rates in force at ``at`` (UTC; a date is taken at 00:00 UTC; default now):
        a time window's when one holds then, else this price set's own."""
        if not self.windows:
            return self
        moment = as_moment(at)
        for rule, rates in self.windows:
            if rule.applies(moment):
                return rates
        return self

    def for_prompt(self, prompt_tokens: int) -> Rates:
        """The rates that bill a request whose prompt has ``prompt_tokens`` tokens."""
        chosen = self
        for rule, rates in self.tiers:
            if rule.applies(prompt_tokens):
                chosen = rates
        return chosen


def _follow(
    name: str, stated: Mapping[str, Decimal], billed_as: Mapping[str, str]
) -> Decimal | None:
    """The rate that bills part ``name``: its own, else the one ``billed_as`` or a default
    names (followed to a stated rate), else ``None``."""
    target = name
    for _ in range(len(TOKEN_RATES)):
        rate = stated.get(target)
        if rate is not None:
            return rate
        following = billed_as.get(target) or DEFAULT_BILLED_AS.get(target)
        if following is None:
            return None
        target = following
    return None


@dataclass(frozen=True, slots=True)
class TileRule:
    """OpenAI's tile rule: base tokens plus tokens per 512-pixel tile."""

    base_tokens: int
    tile_tokens: int
    method: str = "tiles"


@dataclass(frozen=True, slots=True)
class PatchRule:
    """32-pixel patches, capped, times a per-model multiplier."""

    multiplier: Decimal
    max_patches: int = 1536
    method: str = "patches"


@dataclass(frozen=True, slots=True)
class PixelRule:
    """Tokens from the pixel count, after scaling to ``max_edge`` and ``max_tokens``."""

    pixels_per_token: int
    max_edge: int = 1568
    max_tokens: int = 1600
    method: str = "pixels"


@dataclass(frozen=True, slots=True)
class ImageBilling:
    """How input images are billed: ``per_image``, or as input tokens by a rule."""

    billing: str
    tokens: TileRule | PatchRule | PixelRule | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> ImageBilling:
        rule = data.get("tokens")
        tokens: TileRule | PatchRule | PixelRule | None = None
        if rule is not None:
            options = {k: v for k, v in rule.items() if k != "method"}
            method = rule.get("method")
            if method == "tiles":
                tokens = TileRule(**options)
            elif method == "patches":
                options["multiplier"] = _decimal(options["multiplier"])
                tokens = PatchRule(**options)
            else:
                tokens = PixelRule(**options)
        return cls(str(data["billing"]), tokens)


@dataclass(frozen=True, slots=True)
class Example:
    """A documented example: a usage and its exact total as the provider's page states it."""

    counts: Mapping[str, int]
    total: Decimal
    at: date | None = None
    source: str | None = None
    service_tier: str | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Example:
        at = data.get("at")
        return cls(
            counts={"requests": 1, **data["usage"]},
            total=_decimal(data["total"]),
            at=None if at is None else _day(at),
            source=data.get("source"),
            service_tier=data.get("service_tier"),
        )

    @property
    def usage(self) -> Usage:
        """The example's usage (a ValueError when its counts do not make one)."""
        return Usage(**self.counts)


@dataclass(frozen=True, slots=True)
class Model:
    """A model as one provider sells it, with its price history and service tiers."""

    provider: str
    id: str
    name: str | None
    aliases: tuple[str, ...]
    context_window: int | None
    max_output_tokens: int | None
    tokenizer: str | None
    images: ImageBilling | None
    pricing_url: str | None
    checked: date | None
    price_sets: tuple[Rates, ...]
    examples: tuple[Example, ...]
    source: str = field(compare=False)
    service_tiers: Mapping[str, tuple[Rates, ...]] = field(default_factory=dict)
    deprecated: date | None = None
    same_as: str | None = None
    billing: str | None = None
    canonical: str | None = None
    note: str | None = None
    rates_source: str | None = None

    @classmethod
    def from_data(
        cls,
        provider: str,
        data: Mapping[str, Any],
        source: str,
        upstream: Model | None = None,
    ) -> Model:
        """Build a model from a table entry's data; a ``same_as`` entry takes its prices,
        service tiers and unstated facts from ``upstream``."""
        if upstream is not None:
            overrides = data.get("overrides") or {}
            price_sets = tuple(_override(r, overrides) for r in upstream.price_sets)
            service_tiers = dict(upstream.service_tiers)
            base: Mapping[str, Any] = {
                "name": upstream.name,
                "context_window": upstream.context_window,
                "max_output_tokens": upstream.max_output_tokens,
                "tokenizer": upstream.tokenizer,
                "pricing_url": upstream.pricing_url,
                "checked": upstream.checked,
                "deprecated": upstream.deprecated,
                "billing": upstream.billing,
                "canonical": upstream.canonical,
                "source": upstream.rates_source,
            }
            images = upstream.images
        else:
            price_sets = tuple(Rates.compile(p) for p in data.get("prices") or ())
            service_tiers = {
                tier: tuple(Rates.compile(p, tier) for p in sets)
                for tier, sets in (data.get("service_tiers") or {}).items()
            }
            base = {}
            images = None

        def fact(key: str) -> Any:
            value = data.get(key)
            return base.get(key) if value is None else value

        raw_images = data.get("images")
        checked = fact("checked")
        deprecated = fact("deprecated")
        return cls(
            provider=provider,
            id=data["id"],
            name=fact("name"),
            aliases=tuple(data.get("aliases") or ()),
            context_window=fact("context_window"),
            max_output_tokens=fact("max_output_tokens"),
            tokenizer=fact("tokenizer"),
            images=ImageBilling.from_data(raw_images) if raw_images is not None else images,
            pricing_url=fact("pricing_url"),
            checked=None if checked is None else _day(checked),
            price_sets=price_sets,
            examples=tuple(Example.from_data(e) for e in data.get("examples") or ()),
            source=source,
            service_tiers=service_tiers,
            deprecated=None if deprecated is None else _day(deprecated),
            same_as=data.get("same_as"),
            billing=fact("billing"),
            canonical=fact("canonical"),
            note=data.get("note"),
            rates_source=fact("source"),
        )

    @property
    def ref(self) -> str:
        """The qualified ref, ``provider:id``."""
        return f"{self.provider}:{self.id}"

    @property
    def maker(self) -> str:
        """Who made the model: the prefix of ``maker/name`` ids, else the provider."""
        head, slash, _ = self.id.partition("/")
        return head if slash else self.provider

    @property
    def included(self) -> bool:
        """Whether use is included in a plan (no per-unit price)."""
        return self.billing == "included"

    def retired_at(self, at: date | datetime | None = None) -> bool:
        """Whether the provider had retired the model by ``at`` (default today, UTC)."""
        return self.deprecated is not None and self.deprecated <= as_day(at)

    @property
    def service_tier_names(self) -> tuple[str, ...]:
        """The service tiers this model is sold at, ``standard`` first."""
        return (STANDARD, *sorted(self.service_tiers))

    def rates_at(
        self, at: date | datetime | None = None, service_tier: str | None = None
    ) -> Rates:
        """The price set in force on ``at`` (UTC; default today) at ``service_tier``
        (default ``standard``)."""
        sets = self._sets(service_tier)
        day = as_day(at)
        if not sets:
            raise PricingError(
                f"{self.ref} is included in a plan and has no per-unit price; costbook "
                "never shows it as $0 per token"
            )
        for rates in reversed(sets):
            if rates.effective is None or rates.effective <= day:
                return rates
        tier = "" if service_tier in (None, STANDARD) else f" at service tier {service_tier!r}"
        first = sets[0].effective
        raise PricingError(
            f"{self.ref} has no price in force on {day.isoformat()}{tier}; "
            f"its first prices took effect on {first.isoformat() if first else '?'}"
        )

    def has_price_at(self, at: date | datetime | None, service_tier: str | None = None) -> bool:
        """Whether a price set is in force on ``at`` (a first set without a start date is
        taken to be in force on any date)."""
        sets = self._sets(service_tier)
        if not sets:
            return False
        first = sets[0].effective
        return first is None or first <= as_day(at)

    def known_at(self, at: date | datetime | None, service_tier: str | None = None) -> bool:
        """Whether the tables say the model was sold on ``at``: a price set in force then,
        from a stated date (what ``costbook models --at`` lists)."""
        sets = self._sets(service_tier)
        if not sets:
            return False
        first = sets[0].effective
        return first is not None and first <= as_day(at)

    def _sets(self, service_tier: str | None) -> tuple[Rates, ...]:
        if service_tier is None or service_tier == STANDARD:
            return self.price_sets
        sets = self.service_tiers.get(service_tier)
        if sets is None:
            if not isinstance(service_tier, str):
                raise TypeError(
                    f"service_tier must be a string such as 'batch', got {service_tier!r}"
                )
            raise PricingError(
                f"{self.ref} has no service tier {service_tier!r}; it has "
                + ", ".join(self.service_tier_names)
            )
        return sets


def _override(rates: Rates, overrides: Mapping[str, Any]) -> Rates:
    if not overrides:
        return rates
    data = dict(rates.source)
    billed_as = {k: v for k, v in (data.get("billed_as") or {}).items() if k not in overrides}
    data.update(overrides)
    data["billed_as"] = billed_as
    return Rates.compile(data, rates.service_tier)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return Decimal(value)
    raise PricingError(f"rate {value!r} is not an exact number; write it as a decimal number")


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def as_day(at: date | datetime | None) -> date:
    """A date from a date, a datetime (taken in UTC when it has a zone) or None (today, UTC)."""
    if at is None:
        return datetime.now(timezone.utc).date()
    if isinstance(at, datetime):
        if at.tzinfo is not None:
            at = at.astimezone(timezone.utc)
        return at.date()
    if isinstance(at, date):
        return at
    raise TypeError(f"at must be a date or datetime, got {type(at).__name__}")


def as_moment(at: date | datetime | None) -> datetime:
    """A UTC datetime from a datetime (naive ones taken as UTC), a date (00:00 UTC) or
    None (now)."""
    if at is None:
        return datetime.now(timezone.utc)
    if isinstance(at, datetime):
        if at.tzinfo is None:
            return at.replace(tzinfo=timezone.utc)
        return at.astimezone(timezone.utc)
    if isinstance(at, date):
        return datetime(at.year, at.month, at.day, tzinfo=timezone.utc)
    raise TypeError(f"at must be a date or datetime, got {type(at).__name__}")
