"""The ledger set beside a provider's usage and cost reports, per group (day, model,
project), with the three differences that point at three faults: calls made outside
costbook (usage the ledger lacks), a wrong or stale price (the provider's usage priced by
costbook's tables against the provider's cost), and extraction errors (the ledger's
tokens against the provider's, for the same calls)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from .._errors import CostbookError
from ..ledger._ledger import Ledger
from ..pricing._calculator import price_with
from ..pricing._catalog import catalog
from ..pricing._money import money_text
from ..pricing._usage import USAGE_FIELDS, Usage
from ..records._entry import NOT_SENT, Entry, exact_sum, format_time
from . import _anthropic_reports, _openai_reports, _openrouter_reports
from ._anthropic_reports import read_anthropic
from ._http import ReportError
from ._openai_reports import read_openai
from ._openrouter_reports import read_openrouter
from ._reports import NO_USAGE, PROJECT_TAG, ProviderReport, ReportedUsage

GROUP_KEYS = ("day", "model", "project")
"""What a reconciliation can group by: the UTC day, the model (as the tables name it) and
the project (OpenAI's project id, Anthropic's workspace id; the ledger's ``project`` tag)."""


KINDS = ("untracked", "price", "extraction")
"""The kinds of difference: usage the ledger lacks (calls made outside costbook), the
provider's cost against costbook's price of the provider's usage (a wrong or stale price),
and the ledger's tokens against the provider's for the same calls (an extraction error)."""

Reader = Callable[[str, str, str, date, date], ProviderReport]


@dataclass(frozen=True)
class ReportSource:
    """A provider whose organisation reports costbook reads."""

    provider: str
    base_url: str
    key_env: str
    read: Reader


SOURCES: dict[str, ReportSource] = {
    "openai": ReportSource("openai", _openai_reports.BASE_URL, _openai_reports.KEY_ENV,
                           read_openai),
    "anthropic": ReportSource("anthropic", _anthropic_reports.BASE_URL,
                              _anthropic_reports.KEY_ENV, read_anthropic),
    "openrouter": ReportSource("openrouter", _openrouter_reports.BASE_URL,
                               _openrouter_reports.KEY_ENV, read_openrouter),
}


@dataclass
class ReconciledGroup:
    """One group: what the ledger recorded, what the provider reported, costbook's price
    of what the provider reported, and the provider's cost, with the differences found."""

    group: dict[str, str | None]
    calls: int = 0
    usage: Usage = NO_USAGE
    cost: Decimal = Decimal(0)
    imported_cost: Decimal = Decimal(0)
    reported_requests: int | None = None
    reported_usage: Usage = NO_USAGE
    reported_priced: Decimal | None = Decimal(0)
    reported_cost: Decimal | None = None
    unpriced: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    @property
    def untracked_usage(self) -> Usage:
        """The usage the provider reported beyond the ledger's, part by part."""
        return beyond(self.reported_usage, self.usage)

    @property
    def price_difference(self) -> Decimal | None:
        """The provider's cost minus costbook's price of the provider's usage."""
        if self.reported_cost is None or self.reported_priced is None:
            return None
        return self.reported_cost - self.reported_priced

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts as exact decimal strings."""

        def text(amount: Decimal | None) -> str | None:
            return None if amount is None else money_text(amount)

        return {
            **self.group,
            "ledger": {"calls": self.calls, "usage": self.usage.as_dict(),
                       "cost": money_text(self.cost),
                       "imported_cost": money_text(self.imported_cost)},
            "reported": {"requests": self.reported_requests,
                         "usage": self.reported_usage.as_dict(),
                         "priced": text(self.reported_priced),
                         "cost": text(self.reported_cost)},
            "untracked_usage": self.untracked_usage.as_dict(),
            "price_difference": text(self.price_difference),
            "unpriced": self.unpriced,
            "differences": self.differences,
        }


@dataclass(frozen=True)
class Reconciliation:
    """A window of the ledger set beside a provider's reports."""

    provider: str
    since: date
    until: date
    by: tuple[str, ...]
    tolerance: Decimal
    groups: tuple[ReconciledGroup, ...]
    source: str

    @property
    def differences(self) -> dict[str, int]:
        """How many groups show each kind of difference beyond the tolerance."""
        return {kind: sum(kind in g.differences for g in self.groups) for kind in KINDS}

    @property
    def ok(self) -> bool:
        """Whether every group agrees within the tolerance."""
        return not any(g.differences for g in self.groups)

    def totals(self) -> dict[str, Decimal | None]:
        """The window's sums: the ledger's cost, costbook's price of the provider's usage
        and the provider's cost."""
        priced = [g.reported_priced for g in self.groups]
        reported = [g.reported_cost for g in self.groups if g.reported_cost is not None]
        return {
            "ledger": exact_sum(g.cost for g in self.groups),
            "priced": None if any(p is None for p in priced) else exact_sum(
                p for p in priced if p is not None),
            "reported": exact_sum(reported) if reported else None,
        }

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        totals = self.totals()
        return {
            "provider": self.provider, "since": self.since.isoformat(),
            "until": self.until.isoformat(), "by": list(self.by),
            "tolerance_percent": money_text(self.tolerance), "source": self.source,
            "ok": self.ok, "differences": self.differences,
            "totals": {k: None if v is None else money_text(v) for k, v in totals.items()},
            "groups": [g.as_dict() for g in self.groups],
        }


def reconcile_with(
    provider: str,
    *,
    since: date,
    until: date | None = None,
    ledger: Ledger,
    by: Sequence[str] = ("day", "model"),
    tolerance: Decimal | int | str = Decimal(1),
    base_url: str | None = None,
    key_env: str | None = None,
    keep: bool = True,
) -> Reconciliation:
    """Set the ledger's entries for ``provider`` from ``since`` to ``until`` (UTC days,
    inclusive; default today) beside the provider's usage and cost reports, grouped by
    ``by`` (any of ``day``, ``model``, ``project``). A group differs when a difference
    exceeds ``tolerance`` percent of the larger side. The admin key is read from the
    environment variable ``key_env`` (default per provider) and never shown. With
    ``keep`` (the default) and a ledger open for writing, the result is kept in the ledger
    as the latest reconciliation with ``provider`` (:meth:`Ledger.reconciliations`), for
    the HTML report to show."""
    source, report, until, _ = fetch_report(provider, since, until, base_url, key_env)
    keys = _group_keys(by)
    rate = _percent(tolerance)
    entries = ledger_entries(ledger, provider, since, until)
    result = Reconciliation(provider, since, until, tuple(keys), rate * 100,
                            _grouped(provider, entries, report, keys, rate),
                            source.base_url if base_url is None else base_url)
    if keep and not ledger.read_only:
        kept = result
        if "day" not in keys:  # kept per day too, for the HTML report's days
            kept = replace(result, by=("day", *keys), groups=_grouped(
                provider, entries, report, ["day", *keys], rate))
        ledger.keep_reconciliation(provider, {**kept.as_dict(), "made": format_time(
            datetime.now(timezone.utc))})
    return result


def _grouped(provider: str, entries: Sequence[Entry], report: ProviderReport,
             keys: Sequence[str], rate: Decimal) -> tuple[ReconciledGroup, ...]:
    """The ledger's ``entries`` and the provider's ``report`` summed per group of
    ``keys``, each group with the differences beyond ``rate`` found in it."""
    groups: dict[tuple[Any, ...], ReconciledGroup] = {}

    def group(day: date, model: str | None, project: str | None) -> ReconciledGroup:
        values = {"day": day.isoformat(), "model": model, "project": project}
        key = tuple(values[k] for k in keys)
        if key not in groups:
            groups[key] = ReconciledGroup(group={k: values[k] for k in keys})
        return groups[key]

    for entry in entries:
        target = group(entry.time.date(), model_key(entry.model, provider),
                       entry.tags.get(PROJECT_TAG))
        target.calls += 1
        target.usage = target.usage + entry.usage
        target.cost += entry.total
        if entry.status == "imported":
            target.imported_cost += entry.total
    for row in report.usage:
        target = group(row.day, model_key(row.model, provider), row.project)
        if row.requests is not None:
            target.reported_requests = (target.reported_requests or 0) + row.requests
        target.reported_usage = target.reported_usage + row.usage
        priced = price_reported(row, provider)
        if isinstance(priced, str):
            target.unpriced.append(priced)
            target.reported_priced = None
        elif target.reported_priced is not None:
            target.reported_priced += priced
    for cost in report.costs:
        target = group(cost.day, model_key(cost.model, provider), cost.project)
        target.reported_cost = (target.reported_cost or Decimal(0)) + cost.amount
    for found in groups.values():
        if not found.calls and not found.reported_usage.input_tokens \
                and not found.reported_usage.output_tokens:
            found.unpriced.append("a cost the usage report has no usage for (web searches, "
                                  "code execution, other products)")
            continue
        found.differences = _differences(found, rate, imported=bool(found.imported_cost))
    return tuple(sorted(groups.values(),
                        key=lambda g: tuple(str(v) for v in g.group.values())))


def fetch_report(provider: str, since: date, until: date | None, base_url: str | None,
           key_env: str | None) -> tuple[ReportSource, ProviderReport, date, str]:
    source = SOURCES.get(provider)
    if source is None:
        raise ValueError(f"costbook reads the usage reports of {', '.join(SOURCES)}; "
                         f"got {provider!r}")
    until = until or datetime.now().astimezone().date()
    if until < since:
        raise ValueError(f"--until ({until}) is before --since ({since})")
    key_name = key_env or source.key_env
    key = os.environ.get(key_name)
    if not key:
        raise ReportError(f"no admin key: set ${key_name} (or name another variable with "
                          "--key-env)")
    return source, source.read(base_url or source.base_url, key, f"${key_name}", since,
                               until), until, key_name


def _group_keys(by: Sequence[str] | str) -> list[str]:
    names = [by] if isinstance(by, str) else list(by)
    names = [n.strip() for name in names for n in name.split(",") if n.strip()]
    unknown = [n for n in names if n not in GROUP_KEYS]
    if unknown:
        raise ValueError(f"a reconciliation groups by {', '.join(GROUP_KEYS)}; got "
                         f"{', '.join(map(repr, unknown))}")
    return list(dict.fromkeys(names))


def _percent(tolerance: Decimal | int | str) -> Decimal:
    try:
        value = Decimal(str(tolerance))
    except ArithmeticError:
        raise ValueError(f"tolerance is a percentage such as 1 or 0.5, got {tolerance!r}") \
            from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"tolerance is a percentage of 0 or more, got {tolerance!r}")
    return value / 100


def ledger_entries(ledger: Ledger, provider: str, since: date, until: date) -> list[Entry]:
    return [e for e in ledger.entries(since=since, until=until, provider=provider)
            if e.status not in NOT_SENT]


def model_key(model: str | None, provider: str) -> str | None:
    """A model as the provider's table names it, so that the ledger's and the report's
    spellings (dated snapshots, aliases) meet; as given where no table knows it. A dated
    snapshot (``-20250929``, ``-2024-07-18``) meets its undated model where the table has
    both."""
    if model is None:
        return None
    undated = _DATED.sub("", model)
    for ref in ((undated, model) if undated != model else (model,)):
        try:
            return catalog().resolve(ref, provider).id
        except (CostbookError, LookupError):
            continue
    return model


_DATED = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")


def price_reported(row: ReportedUsage, provider: str) -> Decimal | str:
    """costbook's price of one report row at its day, service tier and prompt-size tier
    (a report sums many requests, so the tier is the one the report names, never the one
    the sum would reach), or why it cannot be priced."""
    if not any(getattr(row.usage, n) for n in USAGE_FIELDS if n != "requests"):
        return Decimal(0)
    if row.model is None:
        return "usage without a model"
    try:
        model = catalog().resolve(row.model, provider)
        rates = model.rates_at(row.day, row.service_tier)
        if rates.tiers:
            rates = replace(rates.for_prompt(10**12) if row.long_context else rates,
                            tiers=())
        return price_with(row.usage, model, rates).total
    except (CostbookError, ValueError) as exc:
        return f"{row.model} on {row.day}: {exc}"


def beyond(reported: Usage, recorded: Usage) -> Usage:
    """The usage ``reported`` holds beyond ``recorded``, part by part."""
    counts = {name: max(0, getattr(reported, name) - getattr(recorded, name))
              for name in USAGE_FIELDS}
    return Usage.summed(counts)


def _differs(a: Decimal | int, b: Decimal | int, rate: Decimal) -> bool:
    return abs(Decimal(a) - Decimal(b)) > rate * max(abs(Decimal(a)), abs(Decimal(b)))


def _differences(group: ReconciledGroup, rate: Decimal, *, imported: bool) -> list[str]:
    found: list[str] = []
    ledger_in, reported_in = group.usage.input_tokens, group.reported_usage.input_tokens
    ledger_out, reported_out = group.usage.output_tokens, group.reported_usage.output_tokens
    tokens_differ = (_differs(ledger_in, reported_in, rate)
                     or _differs(ledger_out, reported_out, rate))
    if group.reported_requests is not None and not imported:
        if group.reported_requests > group.calls:
            found.append("untracked")
        elif tokens_differ or group.reported_requests < group.calls:
            found.append("extraction")
    elif tokens_differ:
        found.append("untracked" if reported_in + reported_out > ledger_in + ledger_out
                     else "extraction")
    if group.reported_cost is not None and group.reported_priced is not None and _differs(
            group.reported_cost, group.reported_priced, rate):
        found.append("price")
    return found
