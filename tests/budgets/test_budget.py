"""Budgets: reservations checked in one transaction, windows, tags, expiry, racing processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import costbook
from costbook import Budget, BudgetExceeded, Ledger, Reservation, Usage, price
from ledger_workers import cost_of, hanging, run_together, start

UTC = timezone.utc


class Bounds:
    """Shaped like costbook's Estimate: low and high costs."""

    def __init__(self, low: str, high: str) -> None:
        self.low = cost_of(low)
        self.high = cost_of(high)


def test_a_reservation_holds_money_until_committed_with_the_actual_cost(ledger):
    budget = Budget("1.00", ledger=ledger)
    reservation = budget.reserve(Decimal("0.30"))
    assert isinstance(reservation, Reservation)
    assert reservation.open and reservation.amount == Decimal("0.30")
    assert (budget.spent(), budget.reserved(), budget.remaining()) == (0, Decimal("0.30"),
                                                                      Decimal("0.70"))
    entry = reservation.commit(cost_of("0.25"), request_id="chatcmpl-1")
    assert reservation.state == "committed"
    assert entry.total == Decimal("0.25") and entry.request_id == "chatcmpl-1"
    assert ledger.entries() == [entry]
    assert (budget.spent(), budget.reserved(), budget.remaining()) == (Decimal("0.25"), 0,
                                                                      Decimal("0.75"))
    assert ledger.store.holds() == []


def test_a_refusal_names_limit_spent_reserved_and_asked(ledger):
    budget = Budget(1, ledger=ledger)
    budget.reserve("0.60").commit(cost_of("0.60"))
    held = budget.reserve("0.30")
    with pytest.raises(BudgetExceeded) as refused:
        budget.reserve("0.30")
    message = str(refused.value)
    for part in ("limit $1.00", "spent $0.60", "reserved $0.30", "asked $0.30", "$0.10 left"):
        assert part in message
    assert (refused.value.limit, refused.value.spent, refused.value.reserved,
            refused.value.asked) == (1, Decimal("0.60"), Decimal("0.30"), Decimal("0.30"))
    assert budget.reserved() == Decimal("0.30")  # the refusal held nothing
    assert held.open
    budget.reserve("0.10").release()  # exactly up to the limit is allowed


def test_a_release_gives_the_money_back(ledger):
    budget = Budget("0.50", ledger=ledger)
    first = budget.reserve("0.50")
    with pytest.raises(BudgetExceeded):
        budget.reserve("0.01")
    first.release()
    first.release()  # twice does nothing
    assert first.state == "released"
    budget.reserve("0.50").release()
    assert ledger.entries() == []


def test_a_reservation_used_as_a_context_manager_releases_on_error(ledger):
    budget = Budget("1", ledger=ledger)
    with pytest.raises(ConnectionError), budget.reserve("0.40") as reservation:
        raise ConnectionError("the call failed")
    assert reservation.state == "released"
    with budget.reserve("0.40") as unused:
        pass
    assert unused.state == "released"  # leaving without committing releases too
    with budget.reserve("0.40") as used:
        used.commit(cost_of("0.35"))
    assert used.state == "committed"
    assert (budget.spent(), budget.reserved()) == (Decimal("0.35"), 0)


def test_a_reservation_is_settled_once(ledger):
    budget = Budget("1", ledger=ledger)
    reservation = budget.reserve("0.1")
    reservation.commit(cost_of("0.1"))
    with pytest.raises(RuntimeError, match="was committed; it cannot commit"):
        reservation.commit(cost_of("0.1"))
    with pytest.raises(RuntimeError, match="was committed; it cannot be released"):
        reservation.release()
    released = budget.reserve("0.1")
    released.release()
    with pytest.raises(RuntimeError, match="was released; it cannot commit"):
        released.commit(cost_of("0.1"))
    assert len(ledger.entries()) == 1


def test_commit_takes_an_entry_recorded_already(ledger):
    budget = Budget("1", ledger=ledger, tags={"user": "alice"})
    reservation = budget.reserve("0.5")
    untagged = ledger.record(cost_of("0.2"))
    with pytest.raises(ValueError, match="lacks the budget's tags user=alice"):
        reservation.commit(untagged)
    assert reservation.open
    with pytest.raises(ValueError, match="an Entry is recorded already"):
        reservation.commit(untagged, tags={"user": "alice"})
    entry = ledger.record(cost_of("0.2"), tags={"user": "alice", "feature": "chat"})
    assert reservation.commit(entry) is entry
    assert (budget.spent(), budget.reserved()) == (Decimal("0.2"), 0)


def test_commit_of_a_cost_carries_the_budgets_tags(ledger):
    budget = Budget("1", ledger=ledger, tags={"user": "alice"})
    entry = budget.reserve("0.5").commit(cost_of("0.2"), tags={"feature": "chat"})
    assert entry.tags == {"user": "alice", "feature": "chat"}
    with pytest.raises(ValueError, match="tags user=bob differ from the budget's user=alice"):
        budget.reserve("0.1").commit(cost_of("0.1"), tags={"user": "bob"})
    assert budget.spent() == Decimal("0.2")


def test_actual_costs_past_the_limit_leave_a_negative_remainder(ledger):
    budget = Budget("0.10", ledger=ledger)
    budget.reserve("0.10").commit(cost_of("0.15"))
    status = budget.status()
    assert (status.spent, status.remaining, status.exhausted) == (Decimal("0.15"),
                                                                 Decimal("-0.05"), True)
    with pytest.raises(BudgetExceeded, match=r"\$0.00 left"):
        budget.reserve(0)


def test_reserve_takes_amounts_costs_and_estimates(ledger):
    budget = Budget("10", ledger=ledger)
    assert budget.reserve(cost_of("0.3")).amount == Decimal("0.3")
    assert budget.reserve(Bounds("0.01", "0.45")).amount == Decimal("0.45")
    assert budget.reserve("$0.25").amount == Decimal("0.25")
    assert budget.reserve(2).amount == Decimal(2)
    assert budget.reserved() == Decimal("3.00")
    with pytest.raises(TypeError, match=r"not float 0\.5"):
        budget.reserve(0.5)
    with pytest.raises(ValueError, match="a reservation must be 0 or more"):
        budget.reserve("-1")
    with pytest.raises(TypeError, match="reserve takes an amount"):
        budget.reserve(object())


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"limit": 1.5}, TypeError, "limit must be an exact amount"),
        ({"limit": "-1"}, ValueError, "limit must be 0 or more"),
        ({"window": "week"}, ValueError, "window must be one of total, day, month"),
        ({"ttl": 0}, ValueError, "ttl must be more than 0 seconds"),
        ({"ttl": "1h"}, TypeError, "ttl must be seconds or a timedelta"),
        ({"tags": {"user": 1}}, TypeError, "tag 'user' must have a string value"),
    ],
)
def test_bad_budgets_are_refused(ledger, kwargs, error, message):
    arguments = {"limit": "1", **kwargs}
    with pytest.raises(error, match=message):
        Budget(arguments.pop("limit"), ledger=ledger, **arguments)


def test_a_budget_needs_a_ledger():
    with pytest.raises(TypeError, match=r"ledger must be a costbook\.Ledger"):
        Budget("1", ledger="spend.sqlite")  # type: ignore[arg-type]


# -- windows and tags -----------------------------------------------------------------------------


def test_windows_count_spend_since_the_start_of_the_utc_day_or_month(ledger):
    now = datetime.now(UTC)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    ledger.record(cost_of("0.40"), at=month_start - timedelta(seconds=1))  # last month
    ledger.record(cost_of("0.20"), at=day_start - timedelta(microseconds=1))  # before today
    ledger.record(cost_of("0.10"), at=now)
    total = Budget("1", ledger=ledger)
    day = Budget("1", ledger=ledger, window="day")
    month = Budget("1", ledger=ledger, window="month")
    assert total.spent() == Decimal("0.70")
    assert day.spent() == Decimal("0.10")
    assert month.spent() == (Decimal("0.30") if day_start > month_start else Decimal("0.10"))
    assert day.window_start(now) == day_start
    assert month.window_start(now) == month_start
    assert total.window_start(now) is None
    with pytest.raises(BudgetExceeded):
        total.reserve("0.31")
    day.reserve("0.90").release()


def test_tagged_budgets_count_their_own_spend_and_reservations(ledger):
    everyone = Budget("1", ledger=ledger)
    alice = Budget("0.5", ledger=ledger, tags={"user": "alice"})
    bob = Budget("0.5", ledger=ledger, tags={"user": "bob"})
    alice.reserve("0.3").commit(cost_of("0.3"))
    ledger.record(cost_of("0.1"), tags={"user": "bob", "feature": "chat"})
    ledger.record(cost_of("0.05"))
    held = alice.reserve("0.2")
    assert (alice.spent(), alice.reserved()) == (Decimal("0.3"), Decimal("0.2"))
    assert (bob.spent(), bob.reserved()) == (Decimal("0.1"), 0)
    assert (everyone.spent(), everyone.reserved()) == (Decimal("0.45"), Decimal("0.2"))
    with pytest.raises(BudgetExceeded, match="tags user=alice"):
        alice.reserve("0.01")
    bob.reserve("0.4").release()
    held_by_all = everyone.reserve("0.3")
    assert alice.reserved() == Decimal("0.2")  # a reservation without tags is not alice's
    with pytest.raises(BudgetExceeded):
        everyone.reserve("0.1")
    held.release()
    held_by_all.release()


# -- processes ------------------------------------------------------------------------------------


def test_eight_racing_processes_cannot_overspend(tmp_path):
    path = tmp_path / "spend.sqlite"
    Ledger(path).close()
    workers = [start("race", path, "1.00", "0.30") for _ in range(8)]
    results = [out.strip() for out in run_together(workers)]
    committed = [r for r in results if r.startswith("committed")]
    refused = [r for r in results if r.startswith("exceeded")]
    assert len(committed) == 3
    assert len(refused) == 5
    for message in refused:
        assert "limit $1.00" in message and "asked $0.30" in message
    with Ledger(path) as ledger:
        assert ledger.total() == Decimal("0.90")
        assert len(ledger.entries()) == 3
        assert ledger.store.holds() == []


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_process_reservation_on_this_host_is_freed_at_once(tmp_path):
    path = tmp_path / "spend.sqlite"
    Ledger(path).close()
    killed, living = hanging(path, "0.70"), hanging(path, "0.20")
    try:
        with Ledger(path) as ledger:
            budget = Budget("1", ledger=ledger)
            assert budget.reserved() == Decimal("0.9")
            os.kill(killed.pid, signal.SIGKILL)
            killed.wait(timeout=30)
            assert budget.reserved() == Decimal("0.2")  # the living one still holds
            assert [h.amount for h in ledger.store.holds()] == [Decimal("0.2")]
            budget.reserve("0.80").commit(cost_of("0.80"))
            with pytest.raises(BudgetExceeded, match=r"reserved \$0\.20"):
                budget.reserve("0.01")
    finally:
        living.kill()
        living.wait(timeout=30)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_but_unreaped_process_holds_nothing(tmp_path):
    path = tmp_path / "spend.sqlite"
    Ledger(path).close()
    zombie = hanging(path, "0.70")
    try:
        os.kill(zombie.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        with Ledger(path) as ledger:
            while Budget("1", ledger=ledger).reserved() and time.monotonic() < deadline:
                time.sleep(0.01)  # the kill takes a moment to land; the pid stays unreaped
            assert Budget("1", ledger=ledger).reserved() == 0
    finally:
        zombie.wait(timeout=30)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_reservation_made_on_another_host_holds_until_its_ttl(tmp_path):
    path = tmp_path / "spend.sqlite"
    Ledger(path).close()
    lasting, short = hanging(path, "0.70"), hanging(path, "0.20", 0.3)
    for child in (lasting, short):
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    with sqlite3.connect(path) as connection:  # as if both ran on another machine
        connection.execute("UPDATE reservations SET host = 'elsewhere.example'")
    connection.close()
    with Ledger(path) as ledger:
        budget = Budget("1", ledger=ledger)
        holds = ledger.store.holds()
        assert sorted(h.amount for h in holds) == [Decimal("0.2"), Decimal("0.7")]
        short_expiry = min(h.expires for h in holds)
        time.sleep(max(0.0, (short_expiry - datetime.now(UTC)).total_seconds()) + 0.05)
        assert budget.reserved() == Decimal("0.7")  # the short one expired, the other holds
        with pytest.raises(BudgetExceeded, match=r"reserved \$0\.70"):
            budget.reserve("0.31")
        budget.reserve("0.30").commit(cost_of("0.30"))
        assert [h.amount for h in ledger.store.holds()] == [Decimal("0.7")]


def test_the_names_are_public():
    assert costbook.Budget is Budget
    assert costbook.Reservation is Reservation
    assert repr(Budget("1.5", ledger=Ledger(":memory:"), window="day", tags={"a": "b"})) == (
        "Budget('1.5', window='day', tags={'a': 'b'})"
    )
    assert price(Usage(input_tokens=375_000), "claude-3-5-haiku-20241022").total == Decimal(
        "0.3"
    )


@pytest.mark.parametrize("limit", ["10.000", "0.100", "1E-30", "1E+30", str(10**40)])
def test_a_refusal_names_the_numbers_whatever_their_zeros_or_size(ledger, limit):
    budget = Budget(Decimal(limit), ledger=ledger)
    with pytest.raises(BudgetExceeded, match="exceeded: asked") as refused:
        budget.reserve(Decimal(limit) * 2)
    assert refused.value.limit == Decimal(limit)


def test_a_refusal_after_spend_with_zeros_past_the_cents(ledger):
    budget = Budget("0.05", ledger=ledger)
    for _ in range(2):
        budget.reserve("0.015").commit(cost_of("0.015"))
    assert budget.spent() == Decimal("0.030")
    with pytest.raises(BudgetExceeded, match=r"spent \$0.03, reserved \$0.00"):
        budget.reserve("0.05")


# -- commits past their reservation --------------------------------------------------------


def test_a_commit_above_its_reservation_is_recorded_in_full_and_marked(ledger):
    budget = Budget("1", ledger=ledger)
    entry = budget.reserve("0.10").commit(cost_of("0.30"))
    assert (entry.total, entry.overrun, entry.late) == (Decimal("0.3"), Decimal("0.2"), False)
    [stored] = ledger.entries()
    assert (stored.overrun, stored.late) == (Decimal("0.2"), False)
    assert stored.as_dict()["overrun"] == "0.2"
    status = budget.status()
    assert (status.spent, status.overrun, status.late) == (Decimal("0.3"), Decimal("0.2"), 0)
    assert status.as_dict()["overrun"] == "0.2"


def test_a_commit_within_its_reservation_has_no_overrun(ledger):
    budget = Budget("1", ledger=ledger)
    entry = budget.reserve("0.30").commit(cost_of("0.30"))
    assert (entry.overrun, entry.late) == (None, False)
    assert (budget.status().overrun, budget.status().late) == (0, 0)
    assert ledger.record(cost_of("0.10")).overrun is None  # no reservation, nothing to pass


def test_committing_a_recorded_entry_above_its_reservation_marks_it(ledger):
    budget = Budget("1", ledger=ledger)
    reservation = budget.reserve("0.10")
    recorded = ledger.record(cost_of("0.25"))
    entry = reservation.commit(recorded)
    assert entry.overrun == Decimal("0.15")
    assert ledger.entries()[0].overrun == Decimal("0.15")
    assert budget.status().overrun == Decimal("0.15")


def test_a_commit_after_its_reservation_expired_is_recorded_and_marked_late(ledger):
    budget = Budget("1", ledger=ledger, ttl=0.2)
    lapsed = budget.reserve("0.60")
    time.sleep(0.3)
    budget.reserve("0.60")  # the lapsed reservation no longer held its money
    entry = lapsed.commit(cost_of("0.30"))
    assert (entry.total, entry.overrun, entry.late) == (Decimal("0.3"), None, True)
    assert ledger.entries()[0].late is True
    status = budget.status()
    assert (status.spent, status.late) == (Decimal("0.3"), 1)


def test_renew_keeps_a_reservation_past_its_ttl(ledger):
    budget = Budget("1", ledger=ledger, ttl=0.3)
    reservation = budget.reserve("0.60")
    first = reservation.expires
    for _ in range(3):
        time.sleep(0.15)
        assert reservation.renew()
    assert reservation.expires > first
    assert budget.reserved() == Decimal("0.6")
    assert reservation.commit(cost_of("0.30")).late is False
    assert not reservation.renew()


def test_renew_after_expiry_says_the_money_was_not_held(ledger):
    budget = Budget("1", ledger=ledger, ttl=0.1)
    reservation = budget.reserve("0.60")
    time.sleep(0.2)
    assert not reservation.renew()
    assert reservation.commit(cost_of("0.30")).late is True


def test_keep_alive_renews_while_the_call_runs(ledger):
    budget = Budget("1", ledger=ledger, ttl=0.3)
    reservation = budget.reserve("0.60").keep_alive()
    time.sleep(1.0)
    assert budget.reserved() == Decimal("0.6")
    with pytest.raises(BudgetExceeded):
        budget.reserve("0.50")
    entry = reservation.commit(cost_of("0.30"))
    assert entry.late is False
    time.sleep(0.4)
    assert budget.reserved() == 0


@pytest.mark.parametrize("limit", [Decimal("1E-999999999"), Decimal("1E+999999999")])
def test_a_limit_past_any_amount_is_refused(ledger, limit):
    with pytest.raises(ValueError, match="limit must be an amount under 1E\\+100"):
        Budget(limit, ledger=ledger)
