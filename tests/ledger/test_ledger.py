"""The ledger: recording, filtering, exact totals, reports, exports, drift, the default path."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import sys
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

import costbook
from costbook import Cost, Entry, Ledger, LedgerError, Usage, default_ledger_path, price
from costbook.ledger._export import CSV_COLUMNS
from costbook.records._entry import exact_sum
from costbook.stores import _sqlite_store as sqlite_store
from costbook.stores._sqlite_store import SQLiteStore

UTC = timezone.utc


def mini(input_tokens: int = 1000, output_tokens: int = 0, **parts: int) -> Cost:
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens, **parts)
    return price(usage, "gpt-4o-mini")


def routed(input_tokens: int = 1000, output_tokens: int = 0) -> Cost:
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return price(usage, "openai/gpt-4o-mini", provider="openrouter")


def on(day: int, hour: int = 12, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class Bounds:
    """Shaped like costbook's Estimate: a low and a high Cost."""

    low: Cost
    high: Cost


# -- recording ------------------------------------------------------------------------------


def test_record_returns_the_entry_as_stored(ledger):
    cost = mini(1000, 200, cache_read_tokens=100, reasoning_tokens=50)
    entry = ledger.record(
        cost, tags={"user": "alice", "feature": "search"}, request_id="chatcmpl-9",
        reported_cost=Decimal("0.0003"), estimate=Bounds(mini(1000), mini(1000, 4000)),
        duration=timedelta(milliseconds=1250), at=on(10),
    )
    assert isinstance(entry, Entry)
    assert entry.id == 1
    assert entry.time == on(10)
    assert (entry.provider, entry.model) == ("openai", "gpt-4o-mini")
    assert entry.usage == cost.usage
    assert entry.total == Decimal("0.0002625") == cost.total
    assert entry.items == {"input": Decimal("0.000135"), "cache_read": Decimal("0.0000075"),
                           "output": Decimal("0.00012")}
    assert entry.reported_cost == Decimal("0.0003")
    assert (entry.estimate_low, entry.estimate_high) == (Decimal("0.00015"), Decimal("0.00255"))
    assert entry.duration == 1.25
    assert entry.status == "ok"
    assert entry.effective == date(2024, 7, 18)
    assert ledger.entries() == [entry]


def test_record_stamps_the_current_utc_time(ledger):
    before = datetime.now(UTC)
    entry = ledger.record(mini())
    assert before <= entry.time <= datetime.now(UTC)
    assert entry.time.tzinfo == UTC
    naive = ledger.record(mini(), at=datetime(2025, 6, 10, 8, 30))
    assert naive.time == datetime(2025, 6, 10, 8, 30, tzinfo=UTC)


def test_a_failed_call_is_recorded_with_zero_usage(ledger):
    failed = price(Usage(), "openai/gpt-4o-mini", provider="openrouter")
    entry = ledger.record(failed, status="error", duration=0.4)
    assert entry.status == "error"
    assert entry.total == 0
    assert entry.usage == Usage()
    assert ledger.entries(status="error") == [entry]
    assert ledger.total() == 0


@pytest.mark.parametrize(
    ("estimate", "low", "high"),
    [
        (Decimal("0.01"), "0.01", "0.01"),
        (2, "2", "2"),
        ("0.005", "0.005", "0.005"),
        (mini(1000), "0.00015", "0.00015"),
        (Bounds(mini(100), mini(100, 100)), "0.000015", "0.000075"),
    ],
)
def test_an_estimate_is_kept_as_its_bounds(ledger, estimate, low, high):
    entry = ledger.record(mini(), estimate=estimate)
    assert (entry.estimate_low, entry.estimate_high) == (Decimal(low), Decimal(high))
    assert ledger.entries()[0].estimate_high == Decimal(high)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"status": "failed"}, ValueError, "status must be one of ok, error, incomplete"),
        ({"reported_cost": 0.0003}, TypeError, r"not float 0.0003: write Decimal\('0.0003'\)"),
        ({"reported_cost": "lots"}, ValueError, "reported_cost: 'lots' is not an amount"),
        ({"estimate": 0.5}, TypeError, "estimate must be an exact amount"),
        ({"estimate": object()}, TypeError, "estimate must be an amount, a costbook.Cost"),
        ({"estimate": Bounds(mini(9), mini(1))}, ValueError, "low .* is more than its high"),
        ({"tags": {"user": 42}}, TypeError, "tag 'user' must have a string value"),
        ({"tags": {"": "x"}}, ValueError, "tag keys must be non-empty strings"),
        ({"tags": ["user"]}, TypeError, "tags must be a mapping"),
        ({"duration": -1}, ValueError, "duration must be 0 or more seconds"),
        ({"duration": "1s"}, TypeError, "duration must be seconds or a timedelta"),
        ({"request_id": 12}, TypeError, "request_id must be a string"),
        ({"at": date(2025, 6, 10)}, TypeError, "at must be a datetime"),
    ],
)
def test_bad_input_is_refused_with_what_would_be_right(ledger, kwargs, error, message):
    with pytest.raises(error, match=message):
        ledger.record(mini(), **kwargs)
    assert ledger.entries() == []


def test_a_cost_must_be_a_cost(ledger):
    with pytest.raises(TypeError, match=r"cost must be a costbook\.Cost"):
        ledger.record(Decimal("0.1"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "secret",
    ["sk-proj-abcdefghijklmnopqrstuvwxyz123456", "sk-or-v1-0123456789abcdef0123456789",
     "Bearer eyJhbGciOiJIUzI1NiJ9.abc"],
)
def test_secrets_are_never_stored(ledger, secret):
    with pytest.raises(ValueError, match="never stores secrets") as refused:
        ledger.record(mini(), tags={"auth": secret})
    assert secret not in str(refused.value)
    with pytest.raises(ValueError, match="never stores secrets") as refused:
        ledger.record(mini(), request_id=secret)
    assert secret not in str(refused.value)
    assert ledger.entries() == []


def test_threads_sharing_a_ledger_lose_nothing(ledger):
    def work(n: int) -> None:
        for i in range(100):
            ledger.record(mini(n * 1000 + i + 1), tags={"thread": str(n)})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ledger.entries()) == 400
    assert ledger.total() == exact_sum(mini(n * 1000 + i + 1).total
                                       for n in range(4) for i in range(100))


# -- filters and totals -------------------------------------------------------------------------


@pytest.fixture
def month(ledger):
    """Nine entries over June 2025 and one in July, at two providers, with tags."""
    plan = [
        (mini(1000, 100), on(1, 0), {"user": "alice", "team": "search"}, "ok"),
        (mini(2000, 200), on(1, 23), {"user": "bob", "team": "search"}, "ok"),
        (routed(3000, 300), on(2), {"user": "alice"}, "ok"),
        (mini(4000, 0), on(2), {"user": "alice", "team": "ads"}, "error"),
        (routed(5000, 500), on(3), {"user": "carol", "team": "ads"}, "incomplete"),
        (mini(6000, 600), on(10), {}, "ok"),
        (mini(7000, 700), on(20), {"user": "bob"}, "ok"),
        (routed(8000, 800), on(30, 23), {"user": "bob", "team": "search"}, "ok"),
        (mini(9000, 900), on(30, 0), {"user": "alice"}, "ok"),
        (mini(10000, 1000), on(1, 0, month=7), {"user": "alice"}, "ok"),
    ]
    return [ledger.record(c, at=t, tags=tags, status=s) for c, t, tags, s in plan]


def ids(entries: list[Entry]) -> list[int]:
    return [e.id for e in entries]


def test_entries_filter_by_time_model_provider_tags_and_status(ledger, month):
    assert ids(ledger.entries()) == list(range(1, 11))
    assert ids(ledger.entries(since=date(2025, 6, 2))) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert ids(ledger.entries(until=date(2025, 6, 1))) == [1, 2]  # a date until is inclusive
    assert ids(ledger.entries(until=on(1, 23))) == [1]  # a datetime until is exclusive
    assert ids(ledger.entries(since=on(1, 23), until=on(2, 12))) == [2]
    june = ledger.entries(since=date(2025, 6, 1), until=date(2025, 6, 30))
    assert ids(june) == list(range(1, 10))
    assert ids(ledger.entries(provider="openrouter")) == [3, 5, 8]
    assert ids(ledger.entries(model="openai/gpt-4o-mini")) == [3, 5, 8]
    assert ids(ledger.entries(model="gpt-4o-mini", provider="openrouter")) == []
    assert ids(ledger.entries(tags={"user": "alice"})) == [1, 3, 4, 9, 10]
    assert ids(ledger.entries(tags={"user": "alice", "team": "search"})) == [1]
    assert ids(ledger.entries(tags={"team": "nobody"})) == []
    assert ids(ledger.entries(status="error")) == [4]
    assert ids(ledger.entries(status="incomplete", tags={"team": "ads"})) == [5]
    tokyo = timezone(timedelta(hours=9))
    assert ids(ledger.entries(since=datetime(2025, 6, 2, 8, tzinfo=tokyo))) == ids(
        ledger.entries(since=on(1, 23))
    )


def test_totals_are_exact_sums_with_the_same_filters(ledger, month):
    assert ledger.total() == exact_sum(e.total for e in month)
    assert ledger.total() == Decimal("0.01131")  # 0.00021 per 1000 + 100 tokens
    assert ledger.total(provider="openrouter") == Decimal("0.00336")
    assert ledger.total(tags={"user": "alice"}) == exact_sum(
        month[i - 1].total for i in (1, 3, 4, 9, 10)
    )
    assert ledger.total(since=date(2025, 7, 1)) == Decimal("0.0021")
    assert ledger.total(status="error") == Decimal("0.0006")
    assert ledger.total(tags={"team": "nobody"}) == Decimal(0)


def test_bad_filters_are_refused(ledger):
    with pytest.raises(ValueError, match=r"since .* must come before until"):
        ledger.entries(since=date(2025, 6, 2), until=date(2025, 6, 1))
    with pytest.raises(TypeError, match="since must be a date or a datetime"):
        ledger.total(since="2025-06-01")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status must be one of"):
        ledger.total(status="fine")


def test_many_small_amounts_sum_exactly(ledger):
    costs = [mini(i, i % 13, cache_read_tokens=i % 5) for i in range(1, 301)]
    for cost in costs:
        ledger.record(cost)
    expected = exact_sum(c.total for c in costs)
    assert ledger.total() == expected
    assert ledger.report(by=())[0].cost == expected
    assert expected == Decimal("0.0078045")  # 44550 x 0.15 + 600 x 0.075 + 1795 x 0.6 per M


# -- reports ---------------------------------------------------------------------------------------


def test_a_report_by_model_sums_calls_tokens_and_cost(ledger, month):
    rows = ledger.report()
    assert [r.group for r in rows] == [{"model": "gpt-4o-mini"},
                                       {"model": "openai/gpt-4o-mini"}]
    direct = rows[0]
    assert direct.calls == 7
    assert direct.usage == Usage(input_tokens=39000, output_tokens=3500, requests=7)
    assert direct.cost == Decimal("0.00795")
    assert rows[1].calls == 3
    assert rows[1].cost == Decimal("0.00336")
    assert exact_sum(r.cost for r in rows) == ledger.total()


@pytest.mark.parametrize(
    ("by", "groups", "calls"),
    [
        ("provider", [{"provider": "openai"}, {"provider": "openrouter"}], [7, 3]),
        ("day", [{"day": d} for d in ("2025-06-01", "2025-06-02", "2025-06-03", "2025-06-10",
                                      "2025-06-20", "2025-06-30", "2025-07-01")],
         [2, 2, 1, 1, 1, 2, 1]),
        ("month", [{"month": "2025-06"}, {"month": "2025-07"}], [9, 1]),
        ("status", [{"status": "error"}, {"status": "incomplete"}, {"status": "ok"}],
         [1, 1, 8]),
        ("team", [{"team": "ads"}, {"team": "search"}, {"team": None}], [2, 3, 5]),
        ("tag:team", [{"tag:team": "ads"}, {"tag:team": "search"}, {"tag:team": None}],
         [2, 3, 5]),
        (["month", "user"],
         [{"month": "2025-06", "user": "alice"}, {"month": "2025-06", "user": "bob"},
          {"month": "2025-06", "user": "carol"}, {"month": "2025-06", "user": None},
          {"month": "2025-07", "user": "alice"}], [4, 3, 1, 1, 1]),
        ((), [{}], [10]),
    ],
)
def test_reports_group_by_any_key(ledger, month, by, groups, calls):
    rows = ledger.report(by)
    assert [r.group for r in rows] == groups
    assert [r.calls for r in rows] == calls
    assert exact_sum(r.cost for r in rows) == ledger.total()
    assert sum(r.usage.input_tokens for r in rows) == 55000


def test_a_report_takes_the_filters_too(ledger, month):
    rows = ledger.report("user", since=date(2025, 6, 2), until=date(2025, 6, 30),
                         provider="openrouter")
    assert [(r.group["user"], r.calls, r.cost) for r in rows] == [
        ("alice", 1, Decimal("0.00063")), ("bob", 1, Decimal("0.00168")),
        ("carol", 1, Decimal("0.00105")),
    ]
    assert ledger.report("user", tags={"team": "nobody"}) == []
    assert ledger.report((), tags={"team": "nobody"}) == []


def test_a_tag_named_like_a_column_is_reached_with_the_prefix(ledger):
    ledger.record(mini(), tags={"model": "v2-prompt"})
    assert ledger.report("tag:model")[0].group == {"tag:model": "v2-prompt"}
    assert ledger.report("model")[0].group == {"model": "gpt-4o-mini"}


@pytest.mark.parametrize("by", ["", "tag:", ["model", ""], [3]])
def test_bad_report_keys_are_refused(ledger, by):
    with pytest.raises(ValueError, match=r"report keys must be non-empty|tag: needs a tag key"):
        ledger.report(by)


def test_report_rows_as_dicts_are_exact(ledger, month):
    row = ledger.report("month")[1].as_dict()
    assert row == {
        "month": "2025-07", "calls": 1, "cost": "0.0021",
        "usage": {"input_tokens": 10000, "output_tokens": 1000, "cache_read_tokens": 0,
                  "cache_write_tokens": 0, "cache_write_1h_tokens": 0, "reasoning_tokens": 0,
                  "audio_input_tokens": 0, "audio_output_tokens": 0,
                  "audio_cache_read_tokens": 0, "images": 0, "web_searches": 0,
                  "requests": 1},
    }


# -- exports ---------------------------------------------------------------------------------------


def test_csv_export_has_one_row_per_entry_with_exact_amounts(ledger, month):
    ledger.record(mini(1), reported_cost="0.00000015", estimate=Decimal("0.5"), at=on(5))
    text = ledger.export("csv", since=date(2025, 6, 5), until=date(2025, 6, 10))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in rows] == ["6", "11"]
    first, second = rows
    assert first["time"] == "2025-06-10T12:00:00.000000Z"
    assert first["cost"] == "0.00126"
    assert json.loads(first["cost_items"]) == {"input": "0.0009", "output": "0.00036"}
    assert first["reported_cost"] == "" and first["tags"] == "{}"
    assert first["input_tokens"] == "6000" and first["requests"] == "1"
    assert second["reported_cost"] == "0.00000015"
    assert second["estimate_low"] == second["estimate_high"] == "0.5"


def test_jsonl_export_writes_to_a_file_and_counts(ledger, month):
    out = io.StringIO()
    written = ledger.export("jsonl", out, tags={"user": "bob"})
    assert written == 3
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [
        e.as_dict() for e in ledger.entries(tags={"user": "bob"})
    ]
    assert json.loads(lines[2])["cost"] == "0.00168"
    assert ledger.export("jsonl", tags={"team": "nobody"}) == ""


def test_an_export_format_must_be_known(ledger):
    with pytest.raises(ValueError, match="unknown export format 'xml'; use one of csv, jsonl"):
        ledger.export("xml")  # type: ignore[call-overload]


# -- drift -----------------------------------------------------------------------------------------


def test_drift_lists_calls_whose_reported_cost_differs(ledger):
    exact = routed(1000, 100)  # 0.00021
    ledger.record(exact, reported_cost=exact.total, request_id="gen-1")
    ledger.record(exact, reported_cost=Decimal("0.00022"), request_id="gen-2")
    ledger.record(exact, reported_cost=Decimal("0.000231"), request_id="gen-3")
    ledger.record(mini(1000, 100), reported_cost=Decimal("0.00021"), request_id="r-1")
    ledger.record(mini(1000, 100))  # nothing reported: not compared

    (openai, openrouter) = ledger.drift()
    assert (openai.provider, openai.model, openai.compared) == ("openai", "gpt-4o-mini", 1)
    assert openai.drifted == ()
    assert (openrouter.provider, openrouter.compared) == ("openrouter", 3)
    assert [e.request_id for e in openrouter.drifted] == ["gen-2", "gen-3"]
    assert openrouter.table_cost == Decimal("0.00063")
    assert openrouter.reported_cost == Decimal("0.000661")
    assert openrouter.difference == Decimal("0.000031")
    assert [e.drift for e in openrouter.drifted] == [Decimal("0.00001"), Decimal("0.000021")]

    assert [e.request_id for e in ledger.drift("0.00001")[1].drifted] == ["gen-3"]
    assert [e.request_id for e in ledger.drift(Decimal("0.00003"))[1].drifted] == []
    assert [e.request_id for e in ledger.drift("5%")[1].drifted] == ["gen-3"]
    assert [e.request_id for e in ledger.drift("10%")[1].drifted] == []
    assert ledger.drift(provider="openai")[0].provider == "openai"
    data = ledger.drift()[1].as_dict()
    assert data["difference"] == "0.000031"
    assert data["drifted"][1] == {
        "id": 3, "time": data["drifted"][1]["time"], "request_id": "gen-3",
        "table_cost": "0.00021", "reported_cost": "0.000231", "difference": "0.000021",
    }


@pytest.mark.parametrize("tolerance", ["-1", "lots", "-2%", "x%", 0.1, "1e999999999%", "1E+99"])
def test_a_bad_tolerance_is_refused(ledger, tolerance):
    with pytest.raises((ValueError, TypeError), match="tolerance"):
        ledger.drift(tolerance)


# -- paths and backends ----------------------------------------------------------------------------


def test_the_default_ledger_comes_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "from-env.sqlite"
    monkeypatch.setenv("COSTBOOK_LEDGER", str(path))
    assert default_ledger_path() == path
    with Ledger() as ledger:
        ledger.record(mini())
        assert ledger.location == str(path)
    assert path.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG directories are Linux's")
def test_the_default_ledger_is_in_the_user_data_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("COSTBOOK_LEDGER", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    expected = tmp_path / "data" / "costbook" / "ledger.sqlite"
    assert default_ledger_path() == expected
    with Ledger() as ledger:
        ledger.record(mini())
    assert expected.exists()


def test_a_ledger_works_over_any_store(tmp_path):
    store = SQLiteStore(tmp_path / "spend.sqlite")
    ledger = Ledger.from_store(store)
    ledger.record(mini(2000))
    assert ledger.store is store
    assert ledger.total() == Decimal("0.0003")
    assert repr(ledger) == f"Ledger({str(tmp_path / 'spend.sqlite')!r})"
    ledger.close()


def test_the_names_are_public():
    assert costbook.Ledger is Ledger
    assert costbook.Entry is Entry
    for name in ("Ledger", "Entry", "Budget", "Reservation", "default_ledger_path"):
        assert name in costbook.__all__


def test_reports_sum_counts_past_a_64_bit_integer_exactly(ledger):
    big = 5 * 10**18
    for _ in range(2):
        ledger.record(price(Usage(input_tokens=big, output_tokens=big), "gpt-4o-mini"))
    [row] = ledger.report()
    assert row.calls == 2
    assert row.usage.input_tokens == row.usage.output_tokens == 2 * big
    assert row.cost == ledger.total() == 2 * price(Usage(input_tokens=big, output_tokens=big),
                                                   "gpt-4o-mini").total
    [everything] = ledger.report(())
    assert everything.usage.input_tokens == 2 * big
    assert everything.as_dict()["usage"]["input_tokens"] == 10**19
    lines = ledger.export("jsonl").splitlines()
    assert [json.loads(line)["usage"]["input_tokens"] for line in lines] == [big, big]
    assert len(list(csv.DictReader(io.StringIO(ledger.export("csv"))))) == 2


def test_a_summed_usage_past_the_bound_is_not_recorded(ledger):
    big = Usage(input_tokens=5 * 10**18)
    with pytest.raises(ValueError, match=r"input_tokens must be at most 2\*\*63 - 1"):
        ledger.record(price(big + big, "gpt-4o-mini"))
    assert ledger.entries() == []


def test_a_ledger_in_a_missing_folder_says_the_folder_does_not_exist(tmp_path):
    folder = tmp_path / "no" / "such"
    with pytest.raises(LedgerError) as caught:
        Ledger(folder / "x.sqlite")
    assert str(caught.value) == (
        f"cannot open ledger {folder / 'x.sqlite'}: the folder {folder} does not exist "
        "(create it, or give a path in a folder that exists)"
    )
    assert not folder.exists()


def test_tag_keys_are_the_keys_carried_by_any_entry(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as ledger:
        assert ledger.tag_keys() == []
        cost = price(Usage(input_tokens=10), "gpt-4o-mini")
        ledger.record(cost, tags={"team": "a", "user": "u"})
        ledger.record(cost, tags={"app": "x", "team": "b"})
        ledger.record(cost)
        assert ledger.tag_keys() == ["app", "team", "user"]


def test_a_ledger_opened_read_only_reads_and_refuses_to_record(tmp_path):
    file = tmp_path / "l.sqlite"
    cost = price(Usage(input_tokens=1000), "gpt-4o-mini")
    with Ledger(file) as ledger:
        ledger.record(cost, tags={"team": "a"})
    before = file.read_bytes()
    with Ledger(file, read_only=True) as ledger:
        assert [e.total for e in ledger.entries()] == [Decimal("0.00015")]
        assert ledger.total() == Decimal("0.00015")
        assert [r.calls for r in ledger.report("team")] == [1]
        with pytest.raises(LedgerError, match="was opened read-only"):
            ledger.record(cost)
    assert file.read_bytes() == before
    with pytest.raises(LedgerError, match="the file does not exist"):
        Ledger(tmp_path / "none.sqlite", read_only=True)
    assert not (tmp_path / "none.sqlite").exists()


# -- times out of range, and rows that cannot be read back ------------------------------------


@pytest.mark.parametrize(
    "at",
    [
        datetime(999, 12, 31),
        datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))),  # before year 1 in UTC
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),  # after 9999
    ],
    ids=["year-999", "before-1970", "underflows-utc", "overflows-utc"],
)
def test_a_time_outside_1970_to_9999_is_refused_and_nothing_is_stored(ledger, at):
    with pytest.raises(ValueError, match=r"at must be between 1970-01-01 and 9999-12-31 "
                                         r"\(UTC\), got "):
        ledger.record(mini(), at=at)
    assert ledger.entries() == []


def test_the_ends_of_the_time_range_are_kept(ledger):
    first = ledger.record(mini(), at=datetime(1970, 1, 1, tzinfo=UTC))
    last = ledger.record(mini(), at=datetime(9999, 12, 31, 23, 59, 59, 999999))  # naive: UTC
    assert [e.time for e in ledger.entries()] == [first.time, last.time]
    assert last.time == datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert ledger.export("jsonl").splitlines()[1].startswith(
        '{"id": 2, "time": "9999-12-31T23:59:59.999999Z"')


def damage(ledger: Ledger, entry_id: int, **columns: object) -> None:
    """Write stored values directly, as another program or an older costbook could have."""
    db = sqlite3.connect(ledger.location, isolation_level=None)
    sets = ", ".join(f"{name} = ?" for name in columns)
    db.execute(f"UPDATE entries SET {sets} WHERE id = ?", [*columns.values(), entry_id])
    db.close()


@pytest.mark.sqlite_only
def test_a_stored_row_with_a_bad_time_is_still_read_and_exported(ledger):
    for day in (10, 11, 12):
        ledger.record(mini(1000 * day), at=on(day), tags={"user": "bob"})
    damage(ledger, 1, time="999-12-31T00:00:00.000000Z")
    damage(ledger, 2, time="yesterday-ish")

    first, second, third = ledger.entries()
    assert first.time == datetime(999, 12, 31, tzinfo=UTC)  # read, but not as costbook writes
    assert first.unreadable == {"time": "999-12-31T00:00:00.000000Z"}
    assert second.unreadable == {"time": "yesterday-ish"}
    assert second.time == datetime(1970, 1, 1, tzinfo=UTC)  # a stand-in, marked unreadable
    assert second.as_dict()["time"] == "yesterday-ish"
    assert second.as_dict()["unreadable"] == {"time": "yesterday-ish"}
    assert third.time == on(12) and third.unreadable == {}
    assert "unreadable" not in third.as_dict()
    assert ledger.total() == Decimal("0.00495")
    assert ledger.entries(tags={"user": "bob"})[2].id == 3

    rows = list(csv.DictReader(io.StringIO(ledger.export("csv"))))
    assert [r["time"] for r in rows] == [
        "999-12-31T00:00:00.000000Z", "yesterday-ish", "2025-06-12T12:00:00.000000Z"]
    lines = [json.loads(line) for line in ledger.export("jsonl").splitlines()]
    assert [line["time"] for line in lines] == [r["time"] for r in rows]
    assert lines[1]["unreadable"] == {"time": "yesterday-ish"}
    assert lines[1]["cost"] == "0.00165"


@pytest.mark.sqlite_only
def test_a_stored_row_with_unreadable_values_is_still_read_and_exported(ledger):
    ledger.record(mini(1000), at=on(10), reported_cost="0.001")
    ledger.record(mini(2000), at=on(11))
    damage(ledger, 1, cost_items="{not json", tags="[1, 2]", effective="someday",
           reported_cost="n/a", input_tokens=-5, duration="slow")

    damaged, fine = ledger.entries()
    assert damaged.unreadable == {
        "cost_items": "{not json", "tags": "[1, 2]", "effective": "someday",
        "reported_cost": "n/a", "usage": '{"input_tokens": -5, "output_tokens": 0, '
        '"cache_read_tokens": 0, "cache_write_tokens": 0, "cache_write_1h_tokens": 0, '
        '"reasoning_tokens": 0, "audio_input_tokens": 0, "audio_output_tokens": 0, '
        '"audio_cache_read_tokens": 0, "images": 0, "web_searches": 0, "requests": 1}',
        "duration": "slow",
    }
    assert damaged.total == Decimal("0.00015") and damaged.time == on(10)
    assert fine.unreadable == {} and fine.total == Decimal("0.0003")
    assert len(list(csv.DictReader(io.StringIO(ledger.export("csv"))))) == 2
    lines = [json.loads(line) for line in ledger.export("jsonl").splitlines()]
    assert lines[0]["unreadable"]["cost_items"] == "{not json"
    assert lines[1] == fine.as_dict()


@pytest.mark.sqlite_only
def test_exports_stream_in_pages_and_give_exactly_what_the_entries_say(ledger, monkeypatch):
    monkeypatch.setattr(sqlite_store, "_EXPORT_PAGE", 2)
    ledger.record(mini(1000, 20, cache_read_tokens=100, reasoning_tokens=5), at=on(1),
                  tags={"user": "zoë", "team": 'say "hi", \\ ok'}, request_id="req-\u2028-1",
                  reported_cost="0.00021", estimate=Bounds(mini(1000), mini(1000, 4000)),
                  duration=timedelta(microseconds=1))
    ledger.record(routed(7, 3), at=on(2, 23), status="incomplete", duration=1234.5)
    ledger.record(price(Usage(), "gpt-4o-mini"), at=on(3), status="error", estimate="0.5")
    ledger.record(mini(5), at=datetime(1970, 1, 1, tzinfo=UTC), tags={"emoji": "\U0001f4b8"})
    ledger.record(mini(6), at=on(4), duration=0)
    entries = ledger.entries()

    out = io.StringIO()
    assert ledger.export("jsonl", out) == 5
    assert out.getvalue() == "".join(
        json.dumps(e.as_dict(), ensure_ascii=False) + "\n" for e in entries)

    expected = io.StringIO()
    writer = csv.writer(expected, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        data = e.as_dict()
        flat = {**data, **data.pop("usage"), "cost_items": json.dumps(data["cost_items"]),
                "tags": json.dumps(data["tags"], ensure_ascii=False), "late": int(data["late"])}
        writer.writerow(["" if flat[c] is None else flat[c] for c in CSV_COLUMNS])
    assert ledger.export("csv") == expected.getvalue()
    assert ledger.export("csv", status="error").count("\n") == 2
    assert ledger.export("jsonl", since=on(2), until=on(4)).count("\n") == 2


@pytest.mark.sqlite_only
def test_exports_are_the_same_without_sqlites_own_json_functions(ledger):
    ledger.record(mini(1000), at=on(10), tags={"user": "zoë"})
    ledger.record(mini(2000), at=on(11))
    damage(ledger, 2, tags="{broken")
    with_sqlite = ledger.export("jsonl"), ledger.export("csv")
    sqlite_store._python_json_functions(ledger.store._conn())  # type: ignore[attr-defined]
    assert (ledger.export("jsonl"), ledger.export("csv")) == with_sqlite
    assert json.loads(with_sqlite[0].splitlines()[1])["unreadable"] == {"tags": "{broken"}


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("columns", "unreadable"),
    [
        ({"input_tokens": "many"}, "usage"),
        ({"duration": "slow"}, "duration"),
        ({"duration": float("inf")}, None),
        ({"provider": 42}, None),
        ({"time": "2025-06-10"}, "time"),
        ({"tags": '"a string"'}, "tags"),
    ],
)
def test_an_export_of_a_row_with_a_value_of_another_type_is_still_json(ledger, columns,
                                                                        unreadable):
    ledger.record(mini(1000), at=on(10), duration=2.5)
    damage(ledger, 1, **columns)
    (line,) = ledger.export("jsonl").splitlines()
    data = json.loads(line)
    assert data == ledger.entries()[0].as_dict()
    if unreadable:
        assert unreadable in data["unreadable"]
    assert len(list(csv.DictReader(io.StringIO(ledger.export("csv"))))) == 1


def unpriced(charge: str | None) -> Cost:
    """An answer no table prices: its cost is the provider's charge, or 0."""
    amount = Decimal(charge) if charge is not None else Decimal(0)
    return Cost(total=amount, items={"reported": amount} if charge else {},
                model="acme/new-model", provider="openrouter",
                usage=Usage(input_tokens=100, output_tokens=20))


def test_an_unpriced_entry_counts_its_reported_charge_and_keeps_the_asked_model(ledger):
    ledger.record(mini())
    first = ledger.record(unpriced("0.0021"), status="unpriced", reported_cost="0.0021",
                          asked_model="openrouter/auto")
    ledger.record(unpriced(None), status="unpriced")
    assert (first.status, first.asked_model, first.total) == ("unpriced", "openrouter/auto",
                                                              Decimal("0.0021"))
    stored = ledger.entries(status="unpriced")
    assert [(e.total, e.reported_cost, e.asked_model) for e in stored] == [
        (Decimal("0.0021"), Decimal("0.0021"), "openrouter/auto"), (Decimal(0), None, None)]
    assert ledger.total() == mini().total + Decimal("0.0021")
    [row] = ledger.report(by="status", status="unpriced")
    assert (row.calls, row.cost) == (2, Decimal("0.0021"))
    budget = costbook.Budget("1", ledger=ledger)
    assert budget.spent() == ledger.total()
    # an unpriced entry has no table cost to compare with what was charged
    assert ledger.drift() == []
    lines = [json.loads(line) for line in ledger.export("jsonl").splitlines()]
    assert [line["asked_model"] for line in lines] == [None, "openrouter/auto", None]
    assert lines == [e.as_dict() for e in ledger.entries()]
    rows = list(csv.DictReader(io.StringIO(ledger.export("csv"))))
    assert [(r["status"], r["asked_model"]) for r in rows] == [
        ("ok", ""), ("unpriced", "openrouter/auto"), ("unpriced", "")]


def test_refused_calls_are_counted_apart_and_never_spend(ledger):
    from costbook import Budget

    spent = ledger.record(price(Usage(input_tokens=1000, output_tokens=100), "gpt-4o-mini"),
                          tags={"team": "a"})
    for high in ("0.25", "0.5"):
        ledger.record(price(Usage(requests=0), "gpt-4o-mini"), status="refused", estimate=high,
                      tags={"team": "a", "refused_by": "budget $1.00 (all time)"})
    ledger.record(price(Usage(requests=0), "claude-sonnet-4-6"), status="refused", estimate="0.125",
                  tags={"refused_by": "max_cost $0.10"})
    assert ledger.total() == spent.total
    rows = ledger.report("model")
    assert [(r.group["model"], r.calls, r.cost, r.refused, r.risked) for r in rows] == [
        ("claude-sonnet-4-6", 0, 0, 1, Decimal("0.125")),
        ("gpt-4o-mini", 1, spent.total, 2, Decimal("0.75")),
    ]
    assert rows[1].usage == spent.usage
    assert rows[1].as_dict()["refused"] == 2 and rows[1].as_dict()["risked"] == "0.75"
    assert "refused" not in ledger.report("model", status="ok")[0].as_dict()
    [total] = ledger.report(())
    assert (total.calls, total.refused, total.risked) == (1, 3, Decimal("0.875"))
    budget = Budget("1", ledger=ledger, tags={"team": "a"})
    status = budget.status()
    assert (status.spent, status.refused, status.risked) == (spent.total, 2, Decimal("0.75"))
    assert budget.spent() == spent.total
    assert [e.refused_by for e in ledger.entries(status="refused")] == [
        "budget $1.00 (all time)", "budget $1.00 (all time)", "max_cost $0.10"]
    assert spent.refused_by is None


def damage_cost(ledger: Ledger, entry_id: int) -> str:
    """Store a cost that is no amount, as another program could; the stored text."""
    if ledger.location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(ledger.location, autocommit=True) as db:
            db.execute("UPDATE costbook.entries SET cost = 'NaN' WHERE id = %s", (entry_id,))
        return "NaN"
    damage(ledger, entry_id, cost="not-a-number")
    return "not-a-number"


def test_a_damaged_cost_counts_as_zero_everywhere_and_check_reports_it(ledger):
    from costbook import Budget, BudgetExceeded

    for day in (10, 11, 12):
        ledger.record(mini(1000 * day), at=on(day), tags={"team": "a"})
    stored = damage_cost(ledger, 2)
    damaged = ledger.entries()[1]
    assert damaged.total == 0 and damaged.unreadable == {"cost": stored}
    expected = mini(10_000).total + mini(12_000).total
    assert ledger.total() == expected == Decimal("0.0033")
    assert ledger.total(tags={"team": "a"}) == expected
    assert [(r.calls, r.cost) for r in ledger.report("model")] == [(3, expected)]
    assert [r.cost for r in ledger.report("day")] == [mini(10_000).total, 0,
                                                     mini(12_000).total]
    assert [e.id for e in ledger.costliest(3)] == [3, 1, 2]
    budget = Budget("0.004", ledger=ledger)
    assert budget.spent() == expected
    assert budget.status().remaining == Decimal("0.0007")
    budget.reserve("0.0007").release()
    with pytest.raises(BudgetExceeded, match=r"spent \$0\.0033"):
        budget.reserve("0.0008")
    (problem,) = ledger.check()
    assert problem.startswith("1 entry whose cost or overrun cannot be read")
    assert "counted as 0" in problem
    assert json.loads(ledger.export("jsonl").splitlines()[1])["unreadable"] == {
        "cost": stored}


def test_the_report_command_reads_a_ledger_with_a_damaged_cost(ledger, tmp_path):
    import subprocess

    ledger.record(mini(1000), at=on(10))
    ledger.record(mini(2000), at=on(11))
    damage_cost(ledger, 1)
    command = [sys.executable, "-m", "costbook", "report", "--ledger", ledger.location]
    shown = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "$0.0003" in shown.stdout
    page = tmp_path / "report.html"
    drawn = subprocess.run([*command, "--html", str(page)], capture_output=True, text=True,
                           timeout=120)
    assert drawn.returncode == 0, drawn.stderr
    assert "$0.0003" in page.read_text()
