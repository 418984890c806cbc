"""The runtime form of a table entry: a model at a provider, its rates ready to multiply."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

from .._errors import PricingError
from ._money import MILLION

TYPE_CHECKING = False  # typing is not imported at run time, to keep `import costbook` fast
if TYPE_CHECKING:
    from ._schema import Example, ImageBilling, ModelEntry, PriceSet

TOKEN_RATES = ("input", "output", "cache_read", "cache_write", "cache_write_1h", "reasoning")


@dataclass(frozen=True, slots=True)
class Rates:
    """One price set, compiled: USD per token for each rate name, ``billed_as`` resolved."""

    effective: date
    per_token: dict[str, Decimal]
    per_million_tokens: dict[str, Decimal]
    per_image: Decimal | None
    per_request: Decimal | None
    reasoning_separate: bool
    source: PriceSet

    @classmethod
    def compile(cls, price_set: PriceSet) -> Rates:
        per_token: dict[str, Decimal] = {}
        per_million: dict[str, Decimal] = {}
        for name in TOKEN_RATES:
            target = name
            for _ in range(len(TOKEN_RATES)):
                if getattr(price_set, target) is not None:
                    break
                target = price_set.billed_as.get(target, target)  # type: ignore[call-overload]
            rate = getattr(price_set, target)
            if rate is not None:
                per_million[name] = rate
                per_token[name] = rate / MILLION
        return cls(
            effective=price_set.effective,
            per_token=per_token,
            per_million_tokens=per_million,
            per_image=price_set.per_image,
            per_request=price_set.per_request,
            reasoning_separate=price_set.reasoning is not None
            or price_set.billed_as.get("reasoning", "output") != "output",
            source=price_set,
        )

    def per_million(self, name: str) -> Decimal | None:
        """The rate ``name`` in USD per million tokens, as the tables write it."""
        return self.per_million_tokens.get(name)


@dataclass(frozen=True, slots=True)
class Model:
    """A model as one provider sells it, with its price history."""

    provider: str
    id: str
    name: str | None
    aliases: tuple[str, ...]
    context_window: int
    max_output_tokens: int
    tokenizer: str
    images: ImageBilling | None
    pricing_url: str
    checked: date
    price_sets: tuple[Rates, ...]
    examples: tuple[Example, ...]
    source: str = field(compare=False)

    @classmethod
    def from_entry(cls, provider: str, entry: ModelEntry, source: str) -> Model:
        return cls(
            provider=provider,
            id=entry.id,
            name=entry.name,
            aliases=tuple(entry.aliases),
            context_window=entry.context_window,
            max_output_tokens=entry.max_output_tokens,
            tokenizer=entry.tokenizer,
            images=entry.images,
            pricing_url=entry.pricing_url,
            checked=entry.checked,
            price_sets=tuple(Rates.compile(p) for p in entry.prices),
            examples=tuple(entry.examples),
            source=source,
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

    def rates_at(self, at: date | datetime | None = None) -> Rates:
        """The price set in force on ``at`` (UTC; default today)."""
        day = as_day(at)
        sets = self.price_sets
        if sets[-1].effective <= day:
            return sets[-1]
        for rates in reversed(sets):
            if rates.effective <= day:
                return rates
        raise PricingError(
            f"{self.ref} has no price in force on {day.isoformat()}; "
            f"its first prices took effect on {sets[0].effective.isoformat()}"
        )


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
