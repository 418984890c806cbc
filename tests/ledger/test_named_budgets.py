"""Named budgets kept in the ledger's meta table, in SQLite and in a real PostgreSQL
server: the round trip, replacing, removing, clear errors, and reconciliations kept."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal

import pytest

from costbook import Budget, BudgetExceeded, Ledger, LedgerError, Usage, price
from costbook.reports._html import html_report

LIMIT = "12.345678901234567890123"


def test_a_named_budget_round_trips_exactly_and_any_opening_of_the_ledger_finds_it(ledger):
    assert ledger.budgets() == {}
    assert ledger.set_budget("team-search", LIMIT, window="month",
                             tags={"team": "search"}) is None
    assert ledger.set_budget("nightly_eval", Decimal("0.25"), window="day") is None
    with Ledger(ledger.location, read_only=True) as other:  # another connection
        kept = other.budgets()
        assert list(kept) == ["nightly_eval", "team-search"]
        assert kept["team-search"].limit == Decimal(LIMIT)
        assert kept["team-search"].as_dict() == {"name": "team-search", "limit": LIMIT,
                                                 "window": "month",
                                                 "tags": {"team": "search"}}
        budget = Budget.named("team-search", ledger=other)
        assert (budget.name, budget.limit, budget.window, budget.tags) == (
            "team-search", Decimal(LIMIT), "month", {"team": "search"})
    cost = price(Usage(input_tokens=1_000_000), "gpt-4o-mini")
    ledger.record(cost, tags={"team": "search"})
    ledger.record(cost, tags={"team": "ads"})
    status = Budget.named("team-search", ledger=ledger).status()
    assert status.spent == Decimal("0.15")
    assert status.remaining == Decimal(LIMIT) - Decimal("0.15")
    assert ledger.total() == Decimal("0.30")  # the budgets are no entries


def test_setting_a_name_again_replaces_it_and_returns_what_it_replaced(ledger):
    ledger.set_budget("team", 10, window="month", tags={"team": "search"})
    replaced = ledger.set_budget("team", "12.50")
    assert replaced is not None
    assert (replaced.limit, replaced.window, replaced.tags) == (Decimal(10), "month",
                                                                {"team": "search"})
    budget = Budget.named("team", ledger=ledger)
    assert (budget.limit, budget.window, budget.tags) == (Decimal("12.50"), "total", {})
    assert list(ledger.budgets()) == ["team"]


def test_deleting_returns_the_budget_and_an_unknown_name_lists_the_known_ones(ledger):
    ledger.set_budget("alpha", 1)
    ledger.set_budget("beta", 2)
    removed = ledger.delete_budget("alpha")
    assert (removed.name, removed.limit) == ("alpha", Decimal(1))
    with pytest.raises(LookupError, match=r"no budget named 'alpha' in .*; the budgets "
                                          r"there: beta$"):
        Budget.named("alpha", ledger=ledger)
    with pytest.raises(LookupError, match="no budget named 'alpha'"):
        ledger.delete_budget("alpha")
    ledger.delete_budget("beta")
    with pytest.raises(LookupError, match="it keeps none; add one with costbook budget set"):
        Budget.named("beta", ledger=ledger)


@pytest.mark.parametrize("name", ["", "has space", "-dash-first", "x" * 65, "a/b", "é"])
def test_a_bad_name_is_refused_naming_what_a_name_may_hold(ledger, name):
    with pytest.raises(ValueError, match="is not valid: use 1 to 64 letters, digits"):
        ledger.set_budget(name, 1)
    assert ledger.budgets() == {}


def test_a_bad_limit_window_or_tag_is_refused_before_anything_is_kept(ledger):
    with pytest.raises(ValueError, match="window must be one of total, day, month"):
        ledger.set_budget("a", 1, window="week")
    with pytest.raises(ValueError, match="limit must be 0 or more"):
        ledger.set_budget("a", -1)
    with pytest.raises(TypeError, match="exact amount"):
        ledger.set_budget("a", 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="looks like an API key"):
        ledger.set_budget("a", 1, tags={"key": "sk-proj-abcdefghijklmnopqrstuvwxyz"})
    assert ledger.budgets() == {}


def test_a_named_budget_refuses_past_its_limit_and_says_its_name(ledger):
    ledger.set_budget("tight", "0.10", tags={"user": "u1"})
    budget = Budget.named("tight", ledger=ledger)
    refused = r"budget 'tight' of \$0\.10 \(all time, tags user=u1\) exceeded: asked \$0\.05"
    with budget.reserve("0.06"), pytest.raises(BudgetExceeded, match=refused):
        budget.reserve("0.05")


def test_a_read_only_ledger_reads_budgets_but_cannot_change_them(ledger):
    ledger.set_budget("kept", 3)
    with Ledger(ledger.location, read_only=True) as reader:
        assert reader.read_only and not ledger.read_only
        assert reader.budgets()["kept"].limit == Decimal(3)
        with pytest.raises(LedgerError, match="read-only"):
            reader.set_budget("other", 1)
        with pytest.raises(LedgerError, match="read-only"):
            reader.delete_budget("kept")
    assert list(ledger.budgets()) == ["kept"]


def test_the_ledgers_own_meta_rows_are_never_settings(ledger):
    for key in ("schema_version", "application", "statuses", "budget:", "other:x"):
        with pytest.raises(ValueError, match="a setting's key starts with budget: or "
                                             "reconciliation:"):
            ledger.store.put_setting(key, "1")
    with Ledger(ledger.location) as again:  # still a sound ledger
        assert again.budgets() == {}


def test_the_latest_reconciliation_per_provider_is_kept(ledger):
    assert ledger.reconciliations() == {}
    first = {"provider": "openai", "totals": {"ledger": "0.1"}, "groups": []}
    ledger.keep_reconciliation("openai", first)
    ledger.keep_reconciliation("anthropic", {"provider": "anthropic", "groups": []})
    ledger.keep_reconciliation("openai", {**first, "totals": {"ledger": "0.2"}})
    kept = ledger.reconciliations()
    assert list(kept) == ["anthropic", "openai"]
    assert kept["openai"]["totals"] == {"ledger": "0.2"}
    assert ledger.budgets() == {}  # kept apart from budgets


@pytest.mark.sqlite_only
def test_each_budget_is_one_meta_row_of_json_with_exact_decimal_text(ledger):
    ledger.set_budget("team", LIMIT, window="day", tags={"k": "v"})
    ledger.close()
    with sqlite3.connect(ledger.location) as raw:
        rows = raw.execute("SELECT key, value FROM meta WHERE key LIKE 'budget:%'").fetchall()
        assert rows == [("budget:team", json.dumps(
            {"limit": LIMIT, "tags": {"k": "v"}, "window": "day"}, sort_keys=True))]
        raw.execute("UPDATE meta SET value = '{\"limit\": \"lots\"}' WHERE key = 'budget:team'")
        raw.execute("INSERT INTO meta VALUES ('reconciliation:openai', 'not json')")
    with Ledger(ledger.location) as again:
        assert again.reconciliations() == {"openai": {}}
        page = html_report(again)  # the page is made all the same
        assert "The reconciliation kept in the ledger cannot be read" in page
        with pytest.raises(LedgerError, match=r"budget 'team' in .* cannot be read .*; set it "
                                              r"again with costbook budget set team"):
            again.budgets()
        again.set_budget("team", 1)  # setting it again mends it
        assert again.budgets()["team"].limit == Decimal(1)
