"""Audit: the tables in use set beside the public catalogs, rate by rate.

For each model the tables in use price and at least one catalog lists at the same
provider, each rate the tables state today is compared with the rate each catalog states
today. A rate is *agreed* when every catalog that states it agrees with the tables,
*stale* when the tables differ from every catalog that states it (likely out of date),
and *disputed* when the catalogs disagree among themselves (the tables match some).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from .._errors import CostbookError
from ._converted import ConvertedTable, flat_rates, set_at
from ._fetch import Progress
from ._public_sources import CATALOG_IDS, catalog_source

Verdict = Literal["agree", "stale", "disputed"]
VERDICTS: tuple[Verdict, ...] = ("stale", "disputed", "agree")


@dataclass(frozen=True)
class AuditRow:
    """One rate of one model: the value in use and each catalog's (None: not stated)."""

    provider: str
    model: str
    rate: str
    in_use: Decimal
    sources: dict[str, Decimal | None]
    verdict: Verdict

    @property
    def ref(self) -> str:
        return f"{self.provider}:{self.model}"

    def as_dict(self) -> dict[str, object]:
        return {"provider": self.provider, "model": self.model, "rate": self.rate,
                "in_use": self.in_use, "sources": dict(self.sources), "verdict": self.verdict}


@dataclass
class AuditReport:
    """An audit's rows and where each catalog was read."""

    sources: list[str]
    checked: date
    read: dict[str, str] = field(default_factory=dict)
    """Where each catalog was read (a file, or the URL the data came from)."""
    versions: dict[str, str | None] = field(default_factory=dict)
    """The version or date each catalog's file states, where it states one."""
    rows: list[AuditRow] = field(default_factory=list)
    models: dict[str, set[str]] = field(default_factory=dict)
    """The models compared, by provider."""

    @property
    def ok(self) -> bool:
        """No rate in use differs from every catalog that states it."""
        return not any(r.verdict == "stale" for r in self.rows)

    def group(self, verdict: Verdict) -> list[AuditRow]:
        return [r for r in self.rows if r.verdict == verdict]

    def summary(self) -> dict[str, dict[str, int]]:
        """Per provider: models compared, and rates agreed, stale and disputed."""
        found: dict[str, dict[str, int]] = {}
        for provider, models in sorted(self.models.items()):
            found[provider] = {"models": len(models), "agree": 0, "stale": 0, "disputed": 0}
        for row in self.rows:
            found[row.provider][row.verdict] += 1
        return found

    def as_dict(self) -> dict[str, object]:
        return {
            "sources": list(self.sources),
            "checked": self.checked,
            "read": dict(self.read),
            "versions": dict(self.versions),
            "ok": self.ok,
            "summary": self.summary(),
            **{v: [r.as_dict() for r in self.group(v)] for v in VERDICTS},
        }


def audit(
    sources: Sequence[str] | None = None,
    *,
    files: Mapping[str, str | os.PathLike[str]] | None = None,
    urls: Mapping[str, str] | None = None,
    providers: Sequence[str] | None = None,
    today: date | None = None,
    progress: Progress | None = None,
) -> AuditReport:
    """Compare the tables in use with ``sources`` (default: genai-prices, LiteLLM and
    models.dev), each read from ``files[source]`` when given, else fetched (from
    ``urls[source]`` or the catalog's own URL); only ``providers`` when given."""
    from ..pricing._catalog import catalog
    from ..pricing._model import as_day
    from ._catalog_sync import load_catalog, selected

    day = today or as_day(None)
    names = [catalog_source(s).id for s in (sources or CATALOG_IDS)]
    names = list(dict.fromkeys(names))
    files = {catalog_source(k).id: v for k, v in (files or {}).items()}
    urls = {catalog_source(k).id: v for k, v in (urls or {}).items()}
    for name in [*files, *urls]:
        if name not in names:
            raise CostbookError(f"a file or URL is given for {name}, which is not among the "
                                f"sources audited ({', '.join(names)})")
    report = AuditReport(names, day)
    tables = catalog()
    listed: dict[tuple[str, str], dict[str, Any]] = {}  # (provider, model) -> source -> set
    for name in names:
        found, where, converted = load_catalog(
            name, url=urls.get(name), from_file=files.get(name), today=day, progress=progress)
        report.read[name] = where
        report.versions[name] = converted.version
        chosen = _chosen(converted.tables, providers, found, selected, converted)
        if progress is not None:
            progress(f"comparing {found.name}'s rates with the tables in use")
        for provider, table in chosen.items():
            _match(tables, provider, table, name, day, listed)
    for (provider, model_id), by_source in sorted(listed.items()):
        ours = by_source.pop("")
        report.models.setdefault(provider, set()).add(model_id)
        for rate, value in ours.items():
            theirs = {s: by_source[s].get(rate) if s in by_source else None for s in names}
            stated = [v for v in theirs.values() if v is not None]
            if not stated:
                continue
            equal = sum(1 for v in stated if v == value)
            verdict: Verdict = ("agree" if equal == len(stated)
                                else "stale" if equal == 0 else "disputed")
            report.rows.append(AuditRow(provider, model_id, rate, value, theirs, verdict))
    return report


def _chosen(tables: dict[str, ConvertedTable], providers: Sequence[str] | None, found: Any,
            selected: Any, converted: Any) -> dict[str, ConvertedTable]:
    if not providers:
        return tables
    from ._fetch import SyncError

    chosen: dict[str, ConvertedTable] = {}
    for name in providers:
        try:
            chosen.update(selected(converted, [name], found))
        except SyncError:
            continue  # this catalog does not list the provider; another may
    return chosen


def _match(tables: Any, provider: str, table: ConvertedTable, source: str, day: date,
           listed: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Each entry of ``table`` beside the model in use it names, if the tables hold one."""
    exact: set[tuple[str, str]] = set()
    for model_id, fields in sorted(table.entries.items()):
        if fields.get("deprecated") is not None and fields["deprecated"] <= day:
            continue
        theirs_set = set_at(fields["prices"], day)
        if theirs_set is None:
            continue
        try:
            held = tables.resolve(model_id, provider=provider)
            ours = flat_rates(held.rates_at(day).source)
        except CostbookError:
            continue
        key = (held.provider, held.id)
        is_exact = held.id.lower() == model_id.lower()
        entry = listed.setdefault(key, {"": ours})
        if source in entry and (key in exact or not is_exact):
            continue  # another spelling of a model this catalog already gave
        entry[source] = flat_rates(theirs_set)
        if is_exact:
            exact.add(key)
