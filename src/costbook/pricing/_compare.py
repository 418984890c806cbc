"""The same model at every provider that sells it, cheapest first."""

from __future__ import annotations

from datetime import date, datetime

from .._errors import PricingError
from ._calculator import price
from ._catalog import catalog
from ._cost import Cost
from ._usage import Usage


def compare(
    model: str, usage: Usage, *, at: date | datetime | None = None
) -> list[Cost]:
    """The cost of ``usage`` for ``model`` at every provider that sells it, cheapest first.

    A provider that cannot price a part of the usage (no rate for it) is left out."""
    costs = []
    for seller in catalog().sellers(model):
        try:
            costs.append(price(usage, seller, at=at))
        except PricingError:
            continue
    return sorted(costs, key=lambda c: (c.total, c.provider))
