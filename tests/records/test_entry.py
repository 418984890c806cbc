"""Entry: the cost it carries, drift, its JSON form; exact sums, times and amounts for people."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, Inexact, Rounded

import pytest

from costbook import Cost, Entry, Usage, price
from costbook.records._entry import EXACT, exact_sum, format_time, parse_time, utc


def entry(**changes: object) -> Entry:
    cost = price(Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=100),
                 "gpt-4o-mini")
    fields: dict[str, object] = dict(
        id=7, time=datetime(2025, 6, 10, 14, 3, 7, 250000, tzinfo=timezone.utc),
        provider=cost.provider, model=cost.model, usage=cost.usage, total=cost.total,
        items=dict(cost.items), effective=cost.effective,
    )
    fields.update(changes)
    return Entry(**fields)  # type: ignore[arg-type]


def test_an_entry_gives_back_its_cost():
    cost = entry().cost
    assert isinstance(cost, Cost)
    assert cost == price(Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=100),
                         "gpt-4o-mini")
    assert cost.total == Decimal("0.0002625")


def test_drift_is_reported_minus_table_cost():
    assert entry().drift is None
    assert entry(reported_cost=Decimal("0.0003")).drift == Decimal("0.0000375")
    assert entry(reported_cost=Decimal("0.00025")).drift == Decimal("-0.0000125")


def test_as_dict_is_json_ready_and_exact():
    data = entry(tags={"team": "search"}, reported_cost=Decimal("0.000300"), duration=1.5,
                 request_id="gen-1", estimate_low=Decimal("0.00015"),
                 estimate_high=Decimal("0.0099")).as_dict()
    assert data == {
        "id": 7,
        "time": "2025-06-10T14:03:07.250000Z",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "request_id": "gen-1",
        "status": "ok",
        "usage": {"input_tokens": 1000, "output_tokens": 200, "cache_read_tokens": 100,
                  "cache_write_tokens": 0, "cache_write_1h_tokens": 0, "reasoning_tokens": 0,
                  "audio_input_tokens": 0, "audio_output_tokens": 0,
                  "audio_cache_read_tokens": 0, "images": 0, "web_searches": 0,
                  "requests": 1},
        "cost": "0.0002625",
        "cost_items": {"input": "0.000135", "cache_read": "0.0000075", "output": "0.00012"},
        "currency": "USD",
        "effective": "2024-07-18",
        "reported_cost": "0.0003",
        "estimate_low": "0.00015",
        "estimate_high": "0.0099",
        "duration": 1.5,
        "tags": {"team": "search"},
        "overrun": None,
        "late": False,
        "asked_model": None,
    }


def test_times_are_fixed_width_utc_text_that_sorts_in_time_order():
    tokyo = timezone(timedelta(hours=9))
    moment = datetime(2025, 6, 11, 1, 0, tzinfo=tokyo)
    assert format_time(moment) == "2025-06-10T16:00:00.000000Z"
    assert format_time(datetime(2025, 6, 10, 16)) == "2025-06-10T16:00:00.000000Z"  # naive: UTC
    assert parse_time(format_time(moment)) == moment
    assert parse_time("2025-06-10T16:00:00.000000Z").tzinfo == timezone.utc
    times = [datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(hours=h * 7, microseconds=h)
             for h in range(500)]
    assert sorted(map(format_time, reversed(times))) == list(map(format_time, times))
    assert utc(moment).utcoffset() == timedelta(0)


def test_exact_sums_never_round():
    amounts = [Decimal("0.000000000000000000000000000001"), Decimal("1000000000")]
    assert exact_sum(amounts) == Decimal("1000000000.000000000000000000000000000001")
    assert exact_sum([]) == 0
    with pytest.raises((Inexact, Rounded)):
        EXACT.add(Decimal("1E+2000"), Decimal("1E-2000"))


def test_an_entry_is_immutable():
    with pytest.raises(AttributeError):
        entry().status = "error"  # type: ignore[misc]
    assert entry().effective == date(2024, 7, 18)


def test_times_are_iso_8601_for_any_year_and_read_back_when_written_otherwise():
    assert format_time(datetime(999, 12, 31)) == "0999-12-31T00:00:00.000000Z"
    assert parse_time("0999-12-31T00:00:00.000000Z") == datetime(999, 12, 31, tzinfo=timezone.utc)
    assert parse_time("999-12-31T00:00:00Z") == datetime(999, 12, 31, tzinfo=timezone.utc)
    assert parse_time("2025-06-10 14:03:07.25") == datetime(2025, 6, 10, 14, 3, 7, 250000,
                                                            tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="'2025-06-10T14:03:07\\+02:00' is not a UTC time"):
        parse_time("2025-06-10T14:03:07+02:00")
