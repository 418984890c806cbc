"""The costliest entries: the most expensive calls, ranked by exact cost."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from costbook import Ledger, Usage, price


def cost(input_tokens: int, model: str = "gpt-4o-mini"):
    return price(Usage(input_tokens=input_tokens), model)


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "spend.sqlite") as opened:
        yield opened


def test_the_costliest_come_first_ranked_exactly_and_ties_by_recording_order(ledger):
    for tokens in (10, 3000, 7, 3000, 999_999, 1):
        ledger.record(cost(tokens))
    top = ledger.costliest(3)
    assert [e.id for e in top] == [5, 2, 4]
    assert [e.total for e in top] == [Decimal("0.14999985"), Decimal("0.00045"),
                                      Decimal("0.00045")]
    assert [e.id for e in ledger.costliest()] == [5, 2, 4, 1, 3, 6]  # default 10: all six
    assert ledger.costliest(0) == []


def test_amounts_that_differ_past_a_float_s_precision_are_ranked_apart(ledger):
    # 0.1 + 1e-20 and 0.1 are the same float; as Decimals one is larger
    ledger.record(cost(1), reported_cost=None)
    ledger.record(cost(1))
    db = sqlite3.connect(ledger.location)
    db.execute("UPDATE entries SET cost = '0.1' WHERE id = 1")
    db.execute("UPDATE entries SET cost = '0.10000000000000000001' WHERE id = 2")
    db.commit()
    db.close()
    assert [e.id for e in ledger.costliest(2)] == [2, 1]


def test_the_filters_are_those_of_entries(ledger):
    ledger.record(cost(5000), tags={"team": "a"}, at=datetime(2025, 6, 1, tzinfo=timezone.utc))
    ledger.record(cost(4000), tags={"team": "b"}, at=datetime(2025, 6, 2, tzinfo=timezone.utc))
    ledger.record(cost(100, "gpt-4o"), tags={"team": "a"}, status="error")
    assert [e.id for e in ledger.costliest(tags={"team": "a"})] == [1, 3]
    assert [e.id for e in ledger.costliest(since=datetime(2025, 6, 2))] == [2, 3]
    assert [e.id for e in ledger.costliest(model="gpt-4o")] == [3]
    assert [e.id for e in ledger.costliest(status="ok")] == [1, 2]


def test_a_bad_limit_is_refused(ledger):
    with pytest.raises(ValueError, match="0 or more"):
        ledger.costliest(-1)
    with pytest.raises(TypeError, match="whole number"):
        ledger.costliest(2.5)  # type: ignore[arg-type]
