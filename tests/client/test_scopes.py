import asyncio
import re
import threading
from decimal import Decimal

import pytest

import costbook
from costbook import Budget, BudgetExceeded, CostLimitExceeded, Ledger, max_cost, track
from costbook.client._scopes import ledger_for_call, pop_default_ledger, push_default_ledger

MESSAGES = [{"role": "user", "content": "hi"}]
BIG = {"X-Fake-Prompt-Tokens": "1000000"}  # $0.15 of gpt-4o-mini input, reported by the server


@pytest.fixture
def client(llm_server):
    return track(llm_server.client(), provider="openai")


def call(client, **extra):
    return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=10,
                                          **extra)


@pytest.mark.parametrize("limit", [0.1, True])
def test_a_float_limit_is_refused(limit):
    with pytest.raises(TypeError, match=r"Decimal, a string or an int"):
        max_cost(limit)


@pytest.mark.parametrize("limit", ["-1", "NaN", "Infinity"])
def test_a_limit_must_be_finite_and_not_negative(limit):
    with pytest.raises(ValueError, match="finite amount of 0 or more"):
        max_cost(limit)


def test_calls_are_counted_and_recorded_in_the_blocks_ledger(client):
    with max_cost("0.01") as block:
        call(client)
        call(client)
        assert block.calls == 2
    assert block.calls == 2
    assert block.spent == 2 * costbook.estimate("gpt-4o-mini", input_tokens=25,
                                                output_tokens=10).total
    assert [e.id for e in block.entries] == [e.id for e in block.ledger.entries()]


def test_passing_the_limit_fails_on_exit(client):
    with pytest.raises(CostLimitExceeded) as failed, max_cost("0.10"):
        call(client, extra_headers=BIG)
    assert isinstance(failed.value, AssertionError)
    assert "1 tracked call(s) cost $0.150006, more than the limit of $0.10" in str(failed.value)


def test_a_call_that_could_pass_the_limit_is_refused_before_sending(client, llm_server):
    with max_cost("0.000001") as block, pytest.raises(BudgetExceeded, match="refused before sending"):
        call(client)
    assert llm_server.requests == []
    assert block.calls == 0


def test_an_error_in_the_block_is_not_hidden_by_the_limit(client):
    with pytest.raises(KeyError), max_cost("0.10"):
        call(client, extra_headers=BIG)
        raise KeyError("the block's own error")


def test_calls_from_other_threads_count(client):
    with max_cost("0.01") as block:
        threads = [threading.Thread(target=call, args=(client,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert block.calls == 4


def test_nested_blocks_both_count_and_the_inner_ledger_records(client, tmp_path):
    inner_ledger = Ledger(tmp_path / "inner.sqlite")
    with max_cost("1") as outer, max_cost("1", ledger=inner_ledger) as inner:
        call(client)
    assert outer.calls == inner.calls == 1
    assert len(inner_ledger.entries()) == 1
    assert outer.ledger.entries() == []


def test_decorator_sync_and_async(llm_server):
    client = track(llm_server.client(), provider="openai")
    aclient = track(llm_server.async_client(), provider="openai")

    @max_cost("0.10")
    def sync_job():
        call(client, extra_headers=BIG)

    @max_cost("0.10")
    async def async_job():
        await aclient.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                              max_tokens=10, extra_headers=BIG)

    with pytest.raises(CostLimitExceeded):
        sync_job()
    with pytest.raises(CostLimitExceeded):
        asyncio.run(async_job())

    @max_cost("0.10")
    def cheap_job():
        call(client)

    cheap_job()
    cheap_job()  # a fresh limit for each call


def test_a_tracked_client_with_its_own_ledger_still_counts(llm_server, tmp_path):
    own = Ledger(tmp_path / "own.sqlite")
    client = track(llm_server.client(), provider="openai", ledger=own)
    with max_cost("1") as block:
        call(client)
    assert block.calls == 1 and len(own.entries()) == 1
    assert block.ledger.entries() == []


def test_default_ledger_order(tmp_path, monkeypatch):
    monkeypatch.setenv("COSTBOOK_LEDGER", str(tmp_path / "default.sqlite"))
    assert ledger_for_call().location.endswith("default.sqlite")
    pushed = Ledger(tmp_path / "pushed.sqlite")
    push_default_ledger(pushed)
    try:
        assert ledger_for_call() is pushed
        with max_cost("1") as block:
            assert ledger_for_call() is block.ledger
            with max_cost.collector():
                assert ledger_for_call() is block.ledger
    finally:
        pop_default_ledger(pushed)


def test_a_collector_has_no_limit(client):
    with max_cost.collector() as collector:
        call(client, extra_headers=BIG)
    assert collector.calls == 1 and collector.spent > Decimal("0.1")


def test_the_refusal_carries_its_numbers(client):
    with max_cost("0.000001"), pytest.raises(BudgetExceeded) as refused:
        call(client)
    assert refused.value.limit == Decimal("0.000001")
    assert refused.value.spent == 0 and refused.value.reserved == 0
    assert refused.value.asked > refused.value.limit


@pytest.mark.parametrize(("limit", "value"), [
    ("$0.01", Decimal("0.01")), ("0.01", Decimal("0.01")), (" $1_000 ", Decimal("1000")),
    (2, Decimal(2)), (Decimal("0.5"), Decimal("0.5")),
])
def test_max_cost_takes_every_money_form_a_budget_takes(limit, value):
    assert max_cost(limit).limit == value == Budget(limit, ledger=Ledger(":memory:")).limit


@pytest.mark.parametrize("limit", ["ten dollars", "", "0.0.1", "$"])
def test_a_bad_max_cost_limit_is_a_value_error_naming_it(limit):
    with pytest.raises(ValueError, match=re.escape(f"{limit!r} is not an amount of money")) as caught:
        max_cost(limit)
    assert type(caught.value) is ValueError


def test_a_tracked_call_on_a_fresh_machine_creates_the_default_ledger_folder(
    llm_server, tmp_path, monkeypatch
):
    monkeypatch.delenv("COSTBOOK_LEDGER")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "fresh-home" / ".local" / "share"))
    expected = tmp_path / "fresh-home" / ".local" / "share" / "costbook" / "ledger.sqlite"
    assert costbook.default_ledger_path() == expected
    client = track(llm_server.client(), provider="openrouter")
    client.chat.completions.create(model="openai/gpt-4o-mini",
                                   messages=[{"role": "user", "content": "Hi."}], max_tokens=5)
    assert len(llm_server.requests) == 1
    with Ledger(expected, create=False) as ledger:
        [entry] = ledger.entries()
    assert (entry.provider, entry.model, entry.status) == ("openrouter", "openai/gpt-4o-mini", "ok")
