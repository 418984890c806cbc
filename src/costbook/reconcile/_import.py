"""Import into the ledger the usage a provider's report holds that no tracked call
recorded: one ``imported`` entry per day and group (model, project), at the provider's
reported cost where it reports one (costbook's price of the same usage beside it, as the
entry's estimate), so that reports and budgets see the whole organisation's spend.
Importing a window twice adds nothing the second time."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from ..ledger._ledger import Ledger
from ..pricing._cost import Cost
from ..pricing._money import money_text
from ..pricing._usage import USAGE_FIELDS, Usage
from ..records._entry import Entry, exact_sum
from ._reconcile import beyond, fetch_report, ledger_entries, model_key, price_reported
from ._reports import NO_USAGE, PROJECT_TAG, ReportedUsage, day_start

_ZERO = Decimal(0)


@dataclass(frozen=True)
class ImportResult:
    """What an import added: the new entries, and how many groups were complete already."""

    provider: str
    since: date
    until: date
    added: tuple[Entry, ...]
    complete: int

    @property
    def total(self) -> Decimal:
        """The spend the new entries add."""
        return exact_sum(e.total for e in self.added)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"provider": self.provider, "since": self.since.isoformat(),
                "until": self.until.isoformat(), "added": [e.as_dict() for e in self.added],
                "complete_groups": self.complete, "total": money_text(self.total)}


def import_usage(
    provider: str,
    *,
    since: date,
    until: date | None = None,
    ledger: Ledger,
    base_url: str | None = None,
    key_env: str | None = None,
) -> ImportResult:
    """Record, as ``imported`` entries, the usage and cost that ``provider``'s reports hold
    for the UTC days ``since`` to ``until`` (inclusive) beyond what the ledger has."""
    _, report, until, _ = fetch_report(provider, since, until, base_url, key_env)
    Group = tuple[date, str | None, str | None]
    recorded: dict[Group, list[Entry]] = {}
    for entry in ledger_entries(ledger, provider, since, until):
        key = (entry.time.date(), model_key(entry.model, provider), entry.tags.get(PROJECT_TAG))
        recorded.setdefault(key, []).append(entry)
    usage: dict[Group, Usage] = {}
    priced: dict[Group, Decimal | None] = {}
    costs: dict[Group, Decimal] = {}
    rows: dict[Group, list[ReportedUsage]] = {}
    for row in report.usage:
        key = (row.day, model_key(row.model, provider), row.project)
        usage[key] = usage.get(key, NO_USAGE) + row.usage
        rows.setdefault(key, []).append(row)
        amount = price_reported(row, provider)
        before = priced.get(key, _ZERO)
        priced[key] = None if isinstance(amount, str) or before is None else before + amount
    for row_cost in report.costs:
        key = (row_cost.day, model_key(row_cost.model, provider), row_cost.project)
        costs[key] = costs.get(key, _ZERO) + row_cost.amount
    added: list[Entry] = []
    complete = 0
    for key in sorted(set(usage) | set(costs), key=lambda k: tuple(map(str, k))):
        day, model, project = key
        have = recorded.get(key, [])
        have_usage = sum((e.usage for e in have), NO_USAGE)
        missing = beyond(usage.get(key, NO_USAGE), have_usage)
        have_cost = exact_sum(e.total for e in have)
        reported = costs.get(key)
        extra_cost = None if reported is None else max(_ZERO, reported - have_cost)
        if not any(getattr(missing, n) for n in USAGE_FIELDS if n != "requests") \
                and not extra_cost:
            complete += 1
            continue
        price = _price_of(missing, rows.get(key, []), provider)
        if price is None:
            price = _share(priced.get(key), missing, usage.get(key, NO_USAGE))
        total = extra_cost if extra_cost is not None else price
        if total is None:
            total = _ZERO  # no cost reported and none costbook can price: counted at 0
        seen = sum(e.status == "imported" for e in have)
        request_id = f"imported:{provider}:{day.isoformat()}:{model or '-'}:{project or '-'}"
        cost = Cost(total=total, items={"reported": total} if total else {},
                    model=model or "(no model)", provider=provider, usage=missing)
        added.append(ledger.record(
            cost, status="imported", at=day_start(day),
            request_id=request_id + (f":{seen + 1}" if seen else ""),
            reported_cost=extra_cost, estimate=price,
            tags={PROJECT_TAG: project} if project else None,
        ))
    return ImportResult(provider, since, until, tuple(added), complete)


def _price_of(part: Usage, rows: list[ReportedUsage], provider: str) -> Decimal | None:
    """costbook's exact price of ``part`` of a group's usage, when the group's report rows
    share one model, service tier and prompt-size tier (None when they do not, or when it
    cannot be priced)."""
    if not rows or len({(r.model, r.service_tier, r.long_context) for r in rows}) > 1:
        return None
    amount = price_reported(replace(rows[0], usage=part), provider)
    return None if isinstance(amount, str) else amount


def _share(priced: Decimal | None, part: Usage, whole: Usage) -> Decimal | None:
    """costbook's price of ``part`` of a group's usage, in proportion of its tokens (the
    group was priced row by row at each row's tiers)."""
    if priced is None:
        return None
    whole_tokens = whole.input_tokens + whole.output_tokens
    if part == whole or not whole_tokens:
        return priced
    return priced * (part.input_tokens + part.output_tokens) / whole_tokens
