"""A budget's burn-down: cumulative spend over its window, per hour or per day."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from costbook import Budget, Ledger, Usage, price

UTC = timezone.utc


def cost(input_tokens: int):
    return price(Usage(input_tokens=input_tokens), "gpt-4o-mini")  # $0.15 per million


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "spend.sqlite") as opened:
        yield opened


def at(day: int, hour: int = 12, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


def test_a_month_s_window_is_burned_day_by_day_up_to_now(ledger):
    ledger.record(cost(1_000_000), at=at(30, month=5))  # before the window
    ledger.record(cost(1_000_000), at=at(3))
    ledger.record(cost(2_000_000), at=at(3, 18))
    ledger.record(cost(1), at=at(9))
    ledger.record(cost(2), at=at(10, 6))  # today, before now: its point is now
    down = Budget("1", ledger=ledger, window="month").burn_down(now=at(10, 8))
    assert down.step == "day" and down.window == "month"
    assert down.start == datetime(2025, 6, 1, tzinfo=UTC)
    assert down.end == datetime(2025, 7, 1, tzinfo=UTC)
    assert [(p.at, p.spent) for p in down.points] == [
        (datetime(2025, 6, 1, tzinfo=UTC), Decimal(0)),
        (datetime(2025, 6, 4, tzinfo=UTC), Decimal("0.45")),
        (datetime(2025, 6, 10, tzinfo=UTC), Decimal("0.45000015")),
        (at(10, 8), Decimal("0.45000045")),
    ]
    assert down.spent == Decimal("0.45000045") and down.reserved == 0
    assert down.remaining == Decimal("0.54999955")
    data = down.as_dict()
    assert data["points"][1] == {"at": "2025-06-04T00:00:00.000000Z", "spent": "0.45"}
    assert data["limit"] == "1" and data["remaining"] == "0.54999955"


def test_a_day_s_window_is_burned_hour_by_hour_with_the_open_reservations(ledger):
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    now = start + timedelta(hours=3)
    ledger.record(cost(1_000_000), at=start + timedelta(minutes=5))
    ledger.record(cost(2_000_000), at=start + timedelta(minutes=50))
    ledger.record(cost(1_000_000), at=start - timedelta(minutes=1))  # yesterday
    budget = Budget("2", ledger=ledger, window="day")
    hold = budget.reserve("0.5")
    down = budget.burn_down(now=now)
    assert down.step == "hour" and down.start == start and down.end == start + timedelta(1)
    assert [(p.at, p.spent) for p in down.points][:2] == [
        (start, Decimal(0)), (start + timedelta(hours=1), Decimal("0.45")),
    ]
    assert down.points[-1].spent == Decimal("0.45")
    assert (down.spent, down.reserved, down.remaining) == (
        Decimal("0.45"), Decimal("0.5"), Decimal("1.05")
    )
    assert down.spent == budget.status().spent
    hold.release()


def test_all_time_starts_the_day_before_the_first_spend_and_keeps_to_the_budget_s_tags(ledger):
    ledger.record(cost(1_000_000), tags={"team": "a"}, at=at(2))
    ledger.record(cost(3_000_000), tags={"team": "b"}, at=at(4))
    ledger.record(cost(2_000_000), tags={"team": "a"}, at=at(5))
    down = Budget("10", ledger=ledger, tags={"team": "a"}).burn_down(now=at(6))
    assert down.end is None and down.tags == {"team": "a"}
    assert [(p.at.day, p.spent) for p in down.points] == [
        (2, Decimal(0)), (3, Decimal("0.15")), (6, Decimal("0.45")), (6, Decimal("0.45")),
    ]
    assert down.points[-1].at == at(6)


def test_an_empty_window_has_a_flat_line_from_its_start(ledger):
    down = Budget("5", ledger=ledger, window="month").burn_down(now=at(15))
    assert [(p.at, p.spent) for p in down.points] == [
        (datetime(2025, 6, 1, tzinfo=UTC), Decimal(0)), (at(15), Decimal(0)),
    ]
    assert down.remaining == Decimal(5)
