"""Named budgets: a budget's limit, window and tags kept in the ledger under a name, so
that any process or command sharing the ledger finds it by that name.

Each is one row of the ledger's ``meta`` table (key ``budget:NAME``, value JSON with the
limit as exact decimal text); no schema change is needed, in SQLite or PostgreSQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .._errors import CostbookError, LedgerError
from ..pricing._money import money_text
from ..records._store import LedgerStore
from ..records._tags import check_tags

PREFIX = "budget:"
WINDOWS: tuple[str, ...] = ("total", "day", "month")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class UnknownBudget(CostbookError, LookupError):
    """No budget of that name is kept in the ledger."""


@dataclass(frozen=True, slots=True)
class NamedBudget:
    """A budget kept in a ledger under ``name``: its limit (USD), window (``total``,
    ``day``, ``month``) and tags."""

    name: str
    limit: Decimal
    window: str = "total"
    tags: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; the limit as exact decimal text."""
        return {"name": self.name, "limit": money_text(self.limit), "window": self.window,
                "tags": dict(sorted(self.tags.items()))}

    def describe(self) -> str:
        """The budget in words: ``$10.00 per month (UTC), tags team=search``."""
        from ..pricing._money import usd

        scope = {"total": "over all time", "day": "per day (UTC)", "month": "per month (UTC)"}
        text = f"{usd(self.limit)} {scope[self.window]}"
        if self.tags:
            text += ", tags " + " ".join(f"{k}={v}" for k, v in sorted(self.tags.items()))
        return text


def check_name(name: object) -> str:
    """``name`` when it can name a budget: 1 to 64 letters, digits, ``.``, ``_``, ``-``,
    starting with a letter or digit."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = repr(name) if not isinstance(name, str) or len(name) <= 70 \
            else repr(name[:60]) + "..."
        raise ValueError(
            f"budget name {shown} is not valid: use 1 to 64 letters, digits, '.', '_' or "
            "'-', starting with a letter or digit (team-search, nightly_eval)"
        )
    return name


def make(name: str, limit: Decimal | int | str, window: str = "total",
         tags: Mapping[str, str] | None = None) -> NamedBudget:
    """A checked :class:`NamedBudget`; a bad name, limit, window or tag raises."""
    from ..pricing._money import amount_of

    check_name(name)
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {', '.join(WINDOWS)}, got {window!r}")
    amount = amount_of(limit, "limit")
    if amount < 0:
        raise ValueError(f"limit must be 0 or more, got {limit}")
    return NamedBudget(name, amount, window, check_tags(tags))


def _text(budget: NamedBudget) -> str:
    data = budget.as_dict()
    del data["name"]
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _parse(key: str, text: str, location: str) -> NamedBudget:
    name = key.removeprefix(PREFIX)
    try:
        data = json.loads(text)
        return make(name, data["limit"], data["window"], data.get("tags") or {})
    except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
        raise LedgerError(
            f"budget {name!r} in {location} cannot be read ({exc}); set it again with "
            f"costbook budget set {name} --limit AMOUNT --window total|day|month"
        ) from None


def put(store: LedgerStore, budget: NamedBudget) -> NamedBudget | None:
    """Keep ``budget`` under its name; the budget it replaced (None when the name is new)."""
    before = store.put_setting(PREFIX + budget.name, _text(budget))
    if before is None:
        return None
    try:
        return _parse(PREFIX + budget.name, before, store.location)
    except LedgerError:
        return None  # an unreadable budget, mended by this one


def all_budgets(store: LedgerStore) -> dict[str, NamedBudget]:
    """Every named budget kept in the ledger, by name, sorted."""
    return {
        key.removeprefix(PREFIX): _parse(key, text, store.location)
        for key, text in sorted(store.settings(PREFIX).items())
    }


def get(store: LedgerStore, name: str) -> NamedBudget:
    """The budget kept under ``name``; an unknown name lists the known ones."""
    check_name(name)
    found = all_budgets(store)
    if name not in found:
        raise _unknown(name, found, store.location)
    return found[name]


def remove(store: LedgerStore, name: str) -> NamedBudget:
    """Remove the budget kept under ``name`` and return it; an unknown name lists the
    known ones."""
    check_name(name)
    before = store.put_setting(PREFIX + name, None)
    if before is None:
        raise _unknown(name, all_budgets(store), store.location)
    return _parse(PREFIX + name, before, store.location)


def _unknown(name: str, found: Mapping[str, NamedBudget], location: str) -> UnknownBudget:
    known = f"the budgets there: {', '.join(found)}" if found else \
        "it keeps none; add one with costbook budget set NAME --limit AMOUNT"
    return UnknownBudget(f"no budget named {name!r} in {location}; {known}")
