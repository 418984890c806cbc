"""Comparing two sets of pricing tables: models added and removed, rates changed."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from .._errors import PricingError
from ._catalog import Catalog
from ._model import Model
from ._pins import percent_change, rate_map


@dataclass(frozen=True)
class RateChange:
    """One rate of one model that differs between the old and the new tables."""

    ref: str
    rate: str
    old: Decimal | None
    new: Decimal | None

    @property
    def change(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return percent_change(self.old, self.new)

    @property
    def is_increase(self) -> bool:
        return self.old is None or (self.new is not None and self.new > self.old)

    def as_dict(self) -> dict[str, object]:
        return {"ref": self.ref, "rate": self.rate, "old": self.old, "new": self.new,
                "change": self.change}


@dataclass
class TableDiff:
    """What changed between two sets of tables, on one date."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[RateChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @property
    def has_increase(self) -> bool:
        return any(c.is_increase for c in self.changed)

    def as_dict(self) -> dict[str, object]:
        return {"added": self.added, "removed": self.removed,
                "changed": [c.as_dict() for c in self.changed]}


def load_tables(paths: Sequence[str | os.PathLike[str]]) -> Catalog:
    """A catalog of just the tables in ``paths`` (files or folders), without the bundled ones."""
    from ._catalog import catalog
    from ._tables import read_table, table_files

    return Catalog(((read_table(f), str(f)) for f in table_files(paths)), upstream=catalog)


def diff_tables(
    old: Sequence[str | os.PathLike[str]] | Catalog,
    new: Sequence[str | os.PathLike[str]] | Catalog,
    *,
    at: date | datetime | None = None,
) -> TableDiff:
    """Models added and removed, and every rate in force on ``at`` that changed."""
    before = old if isinstance(old, Catalog) else load_tables(old)
    after = new if isinstance(new, Catalog) else load_tables(new)
    old_models = {m.ref: m for m in before.models}
    new_models = {m.ref: m for m in after.models}
    result = TableDiff(
        added=sorted(set(new_models) - set(old_models)),
        removed=sorted(set(old_models) - set(new_models)),
    )
    for ref in sorted(set(old_models) & set(new_models)):
        old_rates = _rates_or_empty(old_models[ref], at)
        new_rates = _rates_or_empty(new_models[ref], at)
        for name in sorted(set(old_rates) | set(new_rates)):
            if old_rates.get(name) != new_rates.get(name):
                result.changed.append(
                    RateChange(ref, name, old_rates.get(name), new_rates.get(name))
                )
    return result


def _rates_or_empty(model: Model, at: date | datetime | None) -> dict[str, Decimal]:
    try:
        return rate_map(model.rates_at(at))
    except PricingError:
        return {}
