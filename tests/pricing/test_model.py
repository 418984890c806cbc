"""Entries as the calculator reads them: time-of-day windows, billing kinds, retirement."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from costbook import PricingError, Usage, price
from costbook.pricing._tables import validate_table
from table_factory import catalog_of, model_entry, table_data

PEAK = {"name": "peak", "days": ["mon", "tue", "wed", "thu", "fri"], "start": "01:00",
        "end": "04:00", "input": "0.3", "output": "1.2"}
OFF_PEAK_SET = {"effective": "2026-08-17", "input": "0.15", "output": "0.6", "windows": [PEAK]}
MILLION = Usage(input_tokens=1_000_000, output_tokens=1_000_000)


def _model(**changes):
    return catalog_of(table_data("acme", model_entry(**changes))).resolve("acme:tiny-1")


@pytest.mark.parametrize(("at", "total", "window"), [
    # Monday 2026-12-07
    (datetime(2026, 12, 7, 1, 0, tzinfo=timezone.utc), "1.5", "peak (mon-fri 01:00-04:00 UTC)"),
    (datetime(2026, 12, 7, 3, 59), "1.5", "peak (mon-fri 01:00-04:00 UTC)"),
    (datetime(2026, 12, 7, 4, 0, tzinfo=timezone.utc), "0.75",
     "outside peak (mon-fri 01:00-04:00 UTC)"),
    # 02:00 in UTC+2 is 00:00 UTC: outside the window
    (datetime.fromisoformat("2026-12-07T02:00:00+02:00"), "0.75",
     "outside peak (mon-fri 01:00-04:00 UTC)"),
    # Saturday 2026-12-12, peak hours but not a peak day
    (datetime(2026, 12, 12, 2, 0, tzinfo=timezone.utc), "0.75",
     "outside peak (mon-fri 01:00-04:00 UTC)"),
    # a date alone is 00:00 UTC
    (date(2026, 12, 7), "0.75", "outside peak (mon-fri 01:00-04:00 UTC)"),
])
def test_a_call_is_billed_at_the_rates_of_its_own_time(at, total, window):
    model = _model(prices=[{"input": "1", "output": "2"}, OFF_PEAK_SET])
    cost = price(MILLION, model, at=at)
    assert (cost.total, cost.time_window) == (Decimal(total), window)
    assert cost.as_dict()["time_window"] == window


def test_rates_before_the_windows_took_effect_have_no_window():
    model = _model(prices=[{"input": "1", "output": "2"}, OFF_PEAK_SET])
    cost = price(MILLION, model, at=datetime(2026, 8, 1, 2, 0))
    assert (cost.total, cost.time_window) == (Decimal(3), None)
    assert "time_window" not in cost.as_dict()


def test_a_window_keeps_the_prompt_size_tiers_of_its_price_set():
    tiered = {**OFF_PEAK_SET, "tiers": [{"above": 1000, "input": "0.5"}]}
    model = _model(prices=[tiered])
    cost = price(Usage(input_tokens=2000), model, at=datetime(2026, 12, 7, 2, 0))
    assert (cost.total, cost.prompt_tier) == (Decimal("0.001"), "above 1000")


@pytest.mark.parametrize(("window", "message"), [
    ({**PEAK, "start": "04:00", "end": "01:00"}, "write a window across midnight as two"),
    ({**PEAK, "start": "25:00"}, "start"),
    ({**PEAK, "days": ["monday"]}, "days"),
    ({"name": "peak", "start": "01:00", "end": "02:00"}, "at least one rate"),
])
def test_a_bad_window_is_refused_with_what_would_be_right(window, message):
    with pytest.raises(PricingError, match=message):
        validate_table(table_data("acme", model_entry(
            prices=[{"input": "1", "output": "2", "windows": [window]}])), source="acme.yaml")


def test_overlapping_windows_are_refused():
    second = {**PEAK, "name": "late", "days": ["fri", "sat"], "start": "03:00", "end": "05:00"}
    with pytest.raises(PricingError, match="overlap"):
        validate_table(table_data("acme", model_entry(
            prices=[{"input": "1", "output": "2", "windows": [PEAK, second]}])),
            source="acme.yaml")


def test_an_entry_included_in_a_plan_prices_to_zero_only_with_a_note():
    model = _model(prices=[], billing="included")
    cost = price(MILLION, model)
    assert (cost.total, cost.items) == (Decimal(0), {})
    assert cost.note is not None and cost.note.startswith("included in a acme plan")
    with pytest.raises(PricingError, match="included in a plan and has no per-unit price"):
        model.rates_at()


def test_an_included_entry_states_no_rates_and_a_free_one_none_above_zero():
    with pytest.raises(PricingError, match="included in a plan has no per-unit prices"):
        validate_table(table_data("acme", model_entry(billing="included")), source="a.yaml")
    with pytest.raises(PricingError, match="a free entry has no rate above 0, got output 2"):
        validate_table(table_data("acme", model_entry(
            billing="free", prices=[{"input": "0", "output": "2"}])), source="a.yaml")
    free = _model(billing="free", prices=[{"input": "0", "output": "0"}])
    assert price(MILLION, free).total == 0


def test_a_retired_model_still_prices_and_says_it_is_retired():
    model = _model(deprecated="2026-01-05")
    assert model.retired_at(date(2026, 1, 5)) and not model.retired_at(date(2026, 1, 4))
    cost = price(MILLION, model, at=date(2026, 2, 1))
    assert cost.total == 3
    assert cost.note == ("acme:tiny-1 was retired by the provider on 2026-01-05; priced at "
                         "its last rates")
    assert price(MILLION, model, at=date(2025, 2, 1)).note is None
