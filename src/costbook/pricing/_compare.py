"""The same model at every provider that sells it, cheapest first."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from .._errors import PricingError
from ._calculator import price_with, refuse_counted_images, retired_note
from ._catalog import catalog
from ._cost import Cost
from ._model import as_day
from ._usage import Usage


@dataclass(frozen=True, slots=True)
class Unpriced:
    """A provider that sells the model but cannot price a part of the usage (or sells it
    only within a plan), and why."""

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
    include_retired: bool = False,
) -> list[Cost | Unpriced]:
    """The cost of ``usage`` for ``model`` at every provider that sells it, cheapest first,
    then the providers that cannot price a part of the usage, each with the reason, then
    the ones that include it in a plan (never shown as a $0 price).

    ``model`` may be any provider's spelling of the model (entries of one model share a
    canonical key). Each cost is at the time-of-day window of ``at`` (default now). Left
    out: a provider with no price in force on ``at`` (and, when ``at`` is a past day, one
    whose tables do not say since when they sell it), one that does not sell the model at
    ``service_tier`` (when one is given), and one that had retired the model by ``at``
    unless ``include_retired``."""
    costs: list[Cost] = []
    unpriced: list[Unpriced] = []
    included: list[Unpriced] = []
    past = at is not None and as_day(at) < as_day(None)
    for seller in catalog().sellers(model):
        if not include_retired and seller.retired_at(at):
            continue
        if seller.included:
            if past:
                continue  # the tables do not say since when the plan includes it
            included.append(Unpriced(
                seller.provider, seller.id,
                f"included in a {seller.provider} plan: no per-token price"))
            continue
        if service_tier not in (None, "standard") and service_tier not in seller.service_tiers:
            continue
        if past and not seller.known_at(at, service_tier):
            continue
        try:
            rates = seller.rates_at(at, service_tier)
        except PricingError:
            continue  # not sold at that date
        try:
            refuse_counted_images(seller, usage.images)
            cost = price_with(usage, seller, rates, at=at)
            if seller.retired_at(at):
                cost = replace(cost, note=retired_note(seller))
            costs.append(cost)
        except PricingError as exc:
            unpriced.append(Unpriced(seller.provider, seller.id, str(exc)))
    costs.sort(key=lambda c: (c.total, c.provider, c.model))
    return [*costs, *unpriced, *included]
