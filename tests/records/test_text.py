"""Storable text: a NUL byte, a lone surrogate or an endless string never stops a ledger
from recording, in any store, and never holds back the entries after it."""

from __future__ import annotations

import warnings
from datetime import date
from decimal import Decimal

import pytest

from costbook import Budget, BudgetExceeded, Usage, price
from costbook.ledger._ledger import make_entry
from costbook.records._entry import Entry
from costbook.records._text import MAX_TEXT, cut_marker


def unpriced(model: str, charge: str = "0.01"):
    """A call answered by a model no table prices, as the tracked client records it."""
    from costbook import Cost

    return Cost(total=Decimal(charge), items={"reported": Decimal(charge)}, model=model,
                provider="openai", usage=Usage(input_tokens=10, output_tokens=5),
                effective=None)


def test_nul_bytes_and_lone_surrogates_are_stored_replaced_with_a_warning(ledger):
    with pytest.warns(RuntimeWarning, match=r"the model of this entry held a NUL"):
        first = ledger.record(unpriced("gpt-\x00evil"), request_id="chatcmpl-\x00",
                              tags={"user": "bad\x00user", "te\x00am": "x"},
                              asked_model="a\ud800b", status="unpriced")
    assert first.model == "gpt-\ufffdevil" and first.request_id == "chatcmpl-\ufffd"
    assert first.tags == {"user": "bad\ufffduser", "te\ufffdam": "x"}
    assert first.asked_model == "a\ufffdb"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in range(49):
            ledger.record(unpriced(f"m\x00{n}"), request_id=f"id-\x00{n}", status="unpriced")
    stored = ledger.entries()
    assert len(stored) == 50 and ledger.spooled() == 0
    assert stored[0] == first
    assert ledger.total() == Decimal("0.50")
    assert ledger.entries(tags={"user": "bad\ufffduser"}) == [first]
    # a filter finds what was stored from the same text
    assert ledger.entries(tags={"user": "bad\x00user"}, model="gpt-\x00evil") == [first]
    assert ledger.total(tags={"te\x00am": "x"}) == Decimal("0.01")


def test_a_budget_keeps_counting_calls_with_nul_bytes(ledger):
    budget = Budget("0.02", ledger=ledger)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in range(2):
            budget.reserve("0.01").commit(unpriced(f"\x00{n}"), status="unpriced",
                                          tags={"user": "bad\x00user"}, spool=True)
    assert budget.spent() == Decimal("0.02") and ledger.spooled() == 0
    with pytest.raises(BudgetExceeded, match=r"spent \$0\.02"):
        budget.reserve("0.01")


def test_a_string_longer_than_the_limit_is_cut_with_a_marker(ledger):
    name = "m" * 200_000
    with pytest.warns(RuntimeWarning, match=r"model of this entry had 200000 characters"):
        entry = ledger.record(unpriced(name), status="unpriced", tags={"k": "v" * 5000})
    (stored,) = ledger.entries()
    assert stored == entry
    assert len(stored.model) == MAX_TEXT
    assert stored.model.endswith(cut_marker(200_000))
    assert stored.model.startswith("m" * 900)
    assert stored.tags["k"].endswith(cut_marker(5000)) and len(stored.tags["k"]) == MAX_TEXT
    exactly = "x" * MAX_TEXT
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # at the limit: kept whole, no warning
        assert ledger.record(unpriced(exactly), status="unpriced").model == exactly


def raw_entry(model: str) -> Entry:
    """An entry as an older costbook could have spooled it, unchecked."""
    entry = make_entry(price(Usage(input_tokens=1000), "gpt-4o-mini"))
    return Entry(id=0, time=entry.time, provider="openai", model=model, usage=entry.usage,
                 total=entry.total, items=entry.items, effective=date(2025, 1, 1))


def test_an_entry_the_store_refuses_never_holds_back_the_ones_behind_it(ledger):
    spool = ledger._spool
    bad = "bad\ud800" if ledger.location.endswith(".sqlite") else "bad\x00"
    spool.add(raw_entry("first"))
    spool.add(raw_entry(bad))
    spool.add(raw_entry("third"))
    assert ledger.spooled() == 3
    with pytest.warns(RuntimeWarning, match=r"refused by the ledger.*\.rejected"):
        ledger.keep(make_entry(price(Usage(input_tokens=1000), "gpt-4o-mini")))
    assert [e.model for e in ledger.entries()] == ["first", "third", "gpt-4o-mini"]
    assert ledger.spooled() == 0
    assert spool.path is not None
    with open(spool.path + ".rejected", encoding="utf-8") as rejected:
        (line,) = rejected.read().splitlines()
    assert '"model": "bad\\' in line  # kept, never dropped
    # a fresh entry the store refuses is kept apart too, and never spooled
    with pytest.warns(RuntimeWarning, match=r"refused the entry.*kept apart"):
        kept = ledger.keep(raw_entry(bad))
    assert kept.id == 0 and ledger.spooled() == 0
    assert ledger.record(price(Usage(input_tokens=10), "gpt-4o-mini")).id > 0
