"""The same model at every provider that sells it, cheapest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from .._errors import PricingError
from ._calculator import price_with, refuse_counted_images
from ._catalog import catalog
from ._cost import Cost
from ._usage import Usage


@dataclass(frozen=True, slots=True)
class Unpriced:
    """A provider that sells the model but cannot price a part of the usage, and why."""

    provider: str
    model: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"provider": self.provider, "model": self.model, "total": None,
                "unpriced": self.reason}


def compare(
    model: str, usage: Usage, *, at: date | datetime | None = None
) -> list[Cost | Unpriced]:
    """The cost of ``usage`` for ``model`` at every provider that sells it, cheapest first,
    then the providers that cannot price a part of the usage, each with the reason. A
    provider with no price in force on ``at`` (default today) is left out."""
    costs: list[Cost] = []
    unpriced: list[Unpriced] = []
    for seller in catalog().sellers(model):
        try:
            rates = seller.rates_at(at)
        except PricingError:
            continue  # not sold at that date
        try:
            refuse_counted_images(seller, usage.images)
            costs.append(price_with(usage, seller, rates))
        except PricingError as exc:
            unpriced.append(Unpriced(seller.provider, seller.id, str(exc)))
    costs.sort(key=lambda c: (c.total, c.provider))
    return [*costs, *unpriced]
