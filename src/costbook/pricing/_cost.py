"""Cost: an exact breakdown of what a usage costs at a provider."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ._money import money_text
from ._usage import Usage

TYPE_CHECKING = False  # typing is not imported at run time, to keep `import costbook` fast
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True, slots=True)
class Cost:
    """What a usage costs: one exact ``Decimal`` per priced part and their sum, in USD.

    ``items`` maps each priced part (``input``, ``cache_read``, ``output``, ...) to its cost;
    their sum is ``total``. ``effective`` is the date the price set used took effect,
    ``service_tier`` the request mode it priced (``standard``, ``batch``, ...) and
    ``prompt_tier`` the prompt-size tier (``above 200000``), or ``None`` for the base rates;
    ``time_window`` the time-of-day window whose rates applied (``peak (mon-fri 01:00-04:00
    UTC)``, or ``outside ...`` for the rates of every other hour), ``None`` where the rates
    do not depend on the hour. ``note`` says why a cost is 0 without being free of charge
    (use included in a plan) or that the model was retired.
    """

    total: Decimal
    items: Mapping[str, Decimal]
    model: str
    provider: str
    usage: Usage
    effective: date | None = None
    currency: str = "USD"
    service_tier: str = "standard"
    prompt_tier: str | None = None
    time_window: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; every amount is a decimal string, never a float."""
        found: dict[str, Any] = {
            "model": self.model,
            "provider": self.provider,
            "currency": self.currency,
            "total": money_text(self.total),
            "items": {part: money_text(value) for part, value in self.items.items()},
            "usage": self.usage.as_dict(),
            "effective": self.effective.isoformat() if self.effective else None,
            "service_tier": self.service_tier,
            "prompt_tier": self.prompt_tier,
        }
        if self.time_window is not None:
            found["time_window"] = self.time_window
        if self.note is not None:
            found["note"] = self.note
        return found
