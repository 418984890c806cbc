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
    model: str,
    usage: Usage,
    *,
    at: date | datetime | None = None,
    service_tier: str | None = None,
) -> list[Cost | Unpriced]:
    """The cost of ``usage`` for ``model`` at every provider that sells it, cheapest first,
    then the providers that cannot price a part of the usage, each with the reason. A
    provider with no price in force on ``at`` (default today) is left out, and, when ``at``
    is given, one whose tables do not say since when they sell it; so is one that does not
    sell the model at ``service_tier`` (when one is given)."""
    costs: list[Cost] = []
    unpriced: list[Unpriced] = []
    for seller in catalog().sellers(model):
        if service_tier not in (None, "standard") and service_tier not in seller.service_tiers:
            continue
        if at is not None and not seller.known_at(at, service_tier):
            continue
        try:
            rates = seller.rates_at(at, service_tier)
        except PricingError:
            continue  # not sold at that date
        try:
            refuse_counted_images(seller, usage.images)
            costs.append(price_with(usage, seller, rates))
        except PricingError as exc:
            unpriced.append(Unpriced(seller.provider, seller.id, str(exc)))
    costs.sort(key=lambda c: (c.total, c.provider))
    return [*costs, *unpriced]
