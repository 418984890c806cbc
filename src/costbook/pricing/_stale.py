"""Stale prices: the models whose rates were last checked longer ago than a limit."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass
class StaleReport:
    """Models checked before ``before`` (``days`` before ``today``), and those the tables
    give no checked date, each by provider: ``{provider: [(id, checked), ...]}``."""

    days: int
    today: date
    stale: dict[str, list[tuple[str, date]]] = field(default_factory=dict)
    unchecked: dict[str, list[str]] = field(default_factory=dict)

    @property
    def before(self) -> date:
        return self.today - timedelta(days=self.days)

    @property
    def count(self) -> int:
        return sum(len(models) for models in self.stale.values())

    @property
    def ok(self) -> bool:
        return not self.stale

    def as_dict(self) -> dict[str, object]:
        return {
            "days": self.days,
            "checked_before": self.before,
            "stale": {p: [{"id": i, "checked": c, "age_days": (self.today - c).days}
                          for i, c in models] for p, models in self.stale.items()},
            "unchecked": self.unchecked,
        }


def stale_models(
    days: int,
    paths: Sequence[str | os.PathLike[str]] | None = None,
    *,
    today: date | None = None,
) -> StaleReport:
    """The models of the tables in ``paths`` (default: the tables in use) whose ``checked``
    date is more than ``days`` days before ``today`` (default: today, UTC), by provider;
    models without a checked date are listed apart. Deprecated models are left out."""
    from ._catalog import catalog
    from ._diff import load_tables
    from ._model import as_day

    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise ValueError(f"days must be a whole number of days, 0 or more; got {days!r}")
    report = StaleReport(days=days, today=today or as_day(None))
    tables = catalog() if paths is None else load_tables(paths)
    models, _ = tables.checked_models()
    for model in models:
        if model.deprecated is not None and model.deprecated <= report.today:
            continue
        if model.checked is None:
            report.unchecked.setdefault(model.provider, []).append(model.id)
        elif model.checked < report.before:
            report.stale.setdefault(model.provider, []).append((model.id, model.checked))
    return report
