"""What a converted public catalog holds, and the helpers the converters of each catalog
(:mod:`._genai_prices`, :mod:`._litellm_prices`, :mod:`._models_dev`) share: rates as exact
``Decimal`` per million tokens (per unit for per-unit fees), provider ids, notes and skips.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from ._sync import _plain, _rate, per_million

ZERO = Decimal(0)
THOUSAND = Decimal(1000)
SHAPE_ERRORS = (ValueError, TypeError, AttributeError, LookupError)
"""What converting a model of an unexpected shape raises: the model is skipped."""


@dataclass
class ConvertedTable:
    """One provider's models as a catalog lists them, as costbook table entries."""

    provider: str
    name: str
    source_provider: str
    pricing_url: str | None = None
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Entry fields (``prices``, ``service_tiers``, ...) by model id."""


@dataclass
class Converted:
    """A whole catalog converted: its tables by costbook provider id, the version or date
    the file states (if any), and what was skipped with the reason."""

    tables: dict[str, ConvertedTable] = field(default_factory=dict)
    version: str | None = None
    skipped_at: list[tuple[str | None, str]] = field(default_factory=list)
    """What was skipped and why, with costbook's provider id (None: no provider)."""
    counts: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """Notes by provider: a note's text -> the models it is about."""

    def notes_at(self, provider: str) -> dict[str, list[str]]:
        """The notes of one provider, to add to."""
        return self.counts.setdefault(provider, {})

    @property
    def notes(self) -> list[str]:
        return self.notes_for(None)

    def notes_for(self, providers: Iterable[str] | None) -> list[str]:
        """The notes, grouped, at ``providers`` only when given."""
        merged: dict[str, list[str]] = {}
        for provider, counts in self.counts.items():
            if providers is None or provider in providers:
                for text, models in counts.items():
                    merged.setdefault(text, []).extend(models)
        return notes_of(merged)

    def skip(self, provider: str | None, reason: str) -> None:
        self.skipped_at.append((provider, reason))

    def skipped(self, providers: Iterable[str] | None = None) -> list[str]:
        """What was skipped, at ``providers`` only when given."""
        wanted = None if providers is None else set(providers)
        return [r for p, r in self.skipped_at if wanted is None or p in wanted]

    def table(self, provider: str, name: str, source_provider: str) -> ConvertedTable:
        found = self.tables.get(provider)
        if found is None:
            found = self.tables[provider] = ConvertedTable(provider, name, source_provider)
        return found

    def add(self, table: ConvertedTable, model_id: str, fields: dict[str, Any]) -> None:
        """Add an entry; a second listing of the same id at the same provider is skipped."""
        key = model_id.lower()
        if any(k.lower() == key for k in table.entries):
            self.skip(table.provider, f"{table.source_provider}/{model_id}: listed twice; "
                      "the first listing is used")
            return
        table.entries[model_id] = fields


_SLUG = re.compile(r"[^a-z0-9_.-]+")


def provider_id(raw: str, known: Mapping[str, str]) -> str:
    """costbook's id for a catalog's provider id: a spelling this catalog is known to use
    for it (``known``), an alias the tables in use give, else the id made a slug."""
    key = str(raw).strip().lower()
    if key in known:
        return known[key]
    from .._errors import CostbookError
    from ..pricing._catalog import catalog

    try:
        return catalog().provider(key).id
    except CostbookError:
        pass
    slug = _SLUG.sub("-", key).strip("-.")
    if not slug or not slug[0].isalnum():
        slug = "p-" + slug.lstrip("_.-") if slug.strip("_.-") else "unnamed"
    return slug


def rate(value: Any, where: str) -> Decimal:
    """A non-negative rate as the catalog states it (a JSON number or a decimal string)."""
    number = _rate(value, where)
    if number < 0:
        raise ValueError(f"{where} is negative ({number})")
    return number


def mtok(value: Decimal) -> Decimal:
    """A rate per million tokens as stated, written without trailing zeros."""
    return _plain(value)


def token(value: Decimal) -> Decimal:
    """A per-token rate per million tokens, exactly as its digits state it."""
    return per_million(value)


def kcount(value: Decimal) -> Decimal:
    """A rate per thousand units per unit, exactly."""
    return _plain(value / THOUSAND) if value else ZERO


def all_zero(price_set: Mapping[str, Any]) -> bool:
    """Whether every rate of a price set (tiers included) is zero: free, or included in a
    plan; costbook never turns that into a $0 price."""
    values = [v for k, v in price_set.items() if isinstance(v, Decimal) and k != "above"]
    for tier in price_set.get("tiers") or ():
        values += [v for k, v in tier.items() if isinstance(v, Decimal)]
    return all(v == ZERO for v in values)


def notes_of(counts: Mapping[str, list[str]]) -> list[str]:
    """Grouped notes: ``note (a, b, c, ...: N models)``."""
    return [
        f"{note} ({', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''}: {len(ids)} models)"
        for note, ids in sorted(counts.items())
    ]


def note(counts: dict[str, list[str]], text: str, model: str) -> None:
    counts.setdefault(text, []).append(model)


def https(urls: Iterable[Any]) -> str | None:
    """The first https URL among ``urls`` (a pricing page), if any."""
    if not isinstance(urls, (list, tuple)):
        return None
    for url in urls:
        if isinstance(url, str) and url.startswith("https://") and " " not in url:
            return url
    return None


def day(value: Any) -> date | None:
    """A ``YYYY-MM-DD`` date from a catalog, or None when absent or not a date."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def limit(value: Any) -> int | None:
    """A positive whole token count, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    if value != int(value) or value <= 0:
        return None
    return int(value)


def set_at(sets: list[Mapping[str, Any]], when: date) -> Mapping[str, Any] | None:
    """The price set in force on ``when`` among ``sets`` (oldest first), if any."""
    found = None
    for price_set in sets:
        effective = day(price_set.get("effective"))
        if effective is None or effective <= when:
            found = price_set
    return found


def flat_rates(price_set: Mapping[str, Any]) -> dict[str, Decimal]:
    """The rates a price set states, prompt-size tiers included as ``input above 200000``:
    each an exact Decimal without trailing zeros, for comparing."""
    from ..pricing._schema import RATE_FIELDS

    found = {k: _plain(Decimal(price_set[k])) for k in RATE_FIELDS
             if price_set.get(k) is not None}
    for tier in price_set.get("tiers") or ():
        if tier.get("above") is not None:
            label = f"above {tier['above']}"
        else:
            label = f"at or above {tier.get('at_or_above')}"
        found.update({f"{k} {label}": _plain(Decimal(tier[k])) for k in RATE_FIELDS
                      if tier.get(k) is not None})
    return found


def skip_reason(exc: Exception) -> str:
    """Why a model was skipped, in one line: a ValueError's own words, else the field of
    the wrong shape."""
    from .._printable import clipped

    if isinstance(exc, ValueError):
        return clipped(" ".join(str(exc).split()), 300)
    return f"a field is not of the catalog's shape ({clipped(' '.join(str(exc).split()), 120)})"
