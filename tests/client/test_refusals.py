"""A tracked call is never stricter than the provider: the fit of a request never refuses
it, a part no table prices never refuses it without a limit, and every refusal a limit
makes is recorded with status ``refused`` and shown in reports."""

import warnings
from decimal import Decimal

import pytest

import costbook
from costbook import Budget, BudgetExceeded, Ledger, Usage, price, track
from costbook.client import _refusals
from fake_anthropic_server import client as anthropic_client
from table_factory import write_yaml

MESSAGES = [{"role": "user", "content": "Say hello."}]
ANSWERED = Usage(input_tokens=25, output_tokens=10)  # what the local servers report


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as book:
        yield book


@pytest.fixture(autouse=True)
def _warn_afresh(monkeypatch):
    monkeypatch.setattr(_refusals, "_warned", set())


# --- the fit of a request never refuses it ---------------------------------------------------

def test_max_tokens_above_the_tables_max_output_is_sent(llm_server, ledger):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    with pytest.warns(RuntimeWarning, match="50000 output tokens, more than the 16384 that openai:gpt-4o-mini"):
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                       max_tokens=50000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # said once per model
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                       max_tokens=50000)
    assert len(llm_server.requests) == 2
    assert llm_server.requests[0].body["max_tokens"] == 50000  # sent as asked
    assert [e.status for e in ledger.entries()] == ["ok", "ok"]
    assert ledger.entries()[0].total == price(ANSWERED, "gpt-4o-mini").total


def test_under_a_budget_it_is_sent_and_held_at_the_capped_bound(llm_server, ledger):
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 50000}
    capped = costbook.estimate_request({**body, "max_tokens": 16384}, provider="openai")
    budget = Budget("1", ledger=ledger)
    held = []
    budget_reserve = budget.reserve

    def reserve(amount):
        held.append(amount)
        return budget_reserve(amount)

    budget.reserve = reserve
    client = track(llm_server.client(), budget=budget, provider="openai")
    with pytest.warns(RuntimeWarning, match="budgets hold up to"):
        client.chat.completions.create(**body)
    assert len(llm_server.requests) == 1
    assert held == [capped.high.total]
    [entry] = ledger.entries()
    assert (entry.status, entry.estimate_high) == ("ok", capped.high.total)
    assert budget.reserved() == 0


def test_a_table_limit_is_still_reported_by_estimate_request_itself():
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 50000}
    with pytest.raises(ValueError, match="gives at most 16384"):
        costbook.estimate_request(body, provider="openai")


def test_a_1m_context_claude_request_is_sent_and_priced_at_the_long_context_tier(
        llm_server, ledger):
    prompt = "word " * 168_000
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100,
            "messages": [{"role": "user", "content": prompt}]}
    beta = {"anthropic-beta": "context-1m-2025-08-07"}
    with pytest.raises(costbook.ContextWindowExceeded, match="approximate"):
        costbook.estimate_messages(body, provider="anthropic")  # the window without the beta
    estimate = costbook.estimate_messages(body, provider="anthropic",
                                          betas=["context-1m-2025-08-07"])
    assert estimate.context_window == 1_000_000 and estimate.input_tokens > 200_000
    # above 200K input tokens, the whole prompt at $6/M and the output at $22.50/M
    assert estimate.high.total == (Decimal(estimate.input_tokens) * 6
                                   + 100 * Decimal("22.5")) / 1_000_000
    client = track(anthropic_client(llm_server), ledger=ledger)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the request fits the window its beta opens
        client.messages.create(**body, extra_headers=beta)
    [request] = llm_server.requests
    assert request.headers["anthropic-beta"] == "context-1m-2025-08-07"
    [entry] = ledger.entries()
    assert (entry.status, entry.provider, entry.estimate_high) == (
        "ok", "anthropic", estimate.high.total)


def test_the_beta_header_of_the_client_opens_the_window_too(llm_server, ledger):
    body = {"model": "claude-sonnet-4-5", "max_tokens": 100,
            "messages": [{"role": "user", "content": "word " * 168_000}]}
    sdk = anthropic_client(llm_server,
                           default_headers={"anthropic-beta": "context-1m-2025-08-07"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        track(sdk, ledger=ledger).messages.create(**body)
    # without the beta, the request is sent all the same: the provider decides
    with pytest.warns(RuntimeWarning, match="context window of 200000.*approximate"):
        track(anthropic_client(llm_server), ledger=ledger).messages.create(**body)
    assert len(llm_server.requests) == 2
    assert [e.status for e in ledger.entries()] == ["ok", "ok"]


def test_an_anthropic_client_on_a_host_no_table_lists_records_under_anthropic(
        llm_server, ledger):
    client = track(anthropic_client(llm_server), ledger=ledger)
    client.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=MESSAGES)
    [entry] = ledger.entries()
    assert (entry.provider, entry.model, entry.status) == ("anthropic", "claude-sonnet-4-6", "ok")
    assert entry.total == price(ANSWERED, "claude-sonnet-4-6", provider="anthropic").total


def test_provider_still_says_otherwise(llm_server, ledger):
    client = track(anthropic_client(llm_server), ledger=ledger, provider="vertex")
    client.messages.create(model="claude-sonnet-4", max_tokens=100, messages=MESSAGES)
    assert ledger.entries()[0].provider == "vertex"


def test_bedrock_and_vertex_clients_are_priced_as_their_providers():
    import anthropic

    from costbook.client._anthropic import anthropic_provider

    bedrock = anthropic.AnthropicBedrock(aws_region="us-east-1", aws_access_key="a",
                                         aws_secret_key="b")
    vertex = anthropic.AsyncAnthropicVertex(region="us-east5", project_id="p",
                                            access_token="t")
    assert (anthropic_provider(bedrock), anthropic_provider(vertex)) == ("bedrock", "vertex")
    assert track(bedrock, ledger=Ledger(":memory:")).messages.create.__wrapped__


# --- a part no table prices: sent and recorded unpriced unless a limit needs the price ---------

@pytest.fixture
def no_output_rate(tmp_path):
    write_yaml(tmp_path / "openai.yaml", """
provider: openai
name: OpenAI
pricing_url: https://example.com
models:
  - id: gpt-4o-mini
    context_window: 128000
    max_output_tokens: 16384
    tokenizer: o200k_base
    pricing_url: https://example.com
    checked: 2026-01-01
    prices: [{effective: 2024-01-01, input: 0.15}]
""")
    costbook.load(tmp_path / "openai.yaml")
    yield
    costbook.pricing._catalog.reset()


DOORS = {
    "chat.create": lambda c: c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES),
    "chat.parse": lambda c: c.chat.completions.parse(model="gpt-4o-mini", messages=MESSAGES),
    "chat.stream": lambda c: list(c.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True)),
    "responses.create": lambda c: c.responses.create(model="gpt-4o-mini", input="Say hello."),
    "raw": lambda c: c.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=MESSAGES).parse(),
}


@pytest.mark.parametrize("door", DOORS)
def test_an_unpriceable_part_is_sent_and_recorded_unpriced(llm_server, ledger, no_output_rate,
                                                           door):
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    with pytest.warns(RuntimeWarning, match="unpriced"):
        DOORS[door](client)
    assert len(llm_server.requests) == 1
    [entry] = ledger.entries()
    assert (entry.status, entry.model, entry.total) == ("unpriced", "gpt-4o-mini", 0)


@pytest.mark.parametrize("door", DOORS)
def test_an_unpriceable_part_is_refused_and_recorded_under_a_budget(llm_server, ledger,
                                                                    no_output_rate, door):
    client = track(llm_server.client(), budget=Budget("1", ledger=ledger), provider="openai")
    with pytest.raises(costbook.PricingError, match="output.*the call was not sent, as budget "
                       r"\$1.00 \(all time\) is in force"):
        DOORS[door](client)
    assert llm_server.requests == []
    [entry] = ledger.entries()
    assert (entry.status, entry.refused_by) == ("refused", "budget $1.00 (all time)")


# --- refusals are recorded ------------------------------------------------------------------

def test_a_budget_refusal_is_one_refused_entry_that_totals_ignore(llm_server, ledger):
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 1000}
    high = costbook.estimate_request(body, provider="openai").high.total
    budget = Budget(high, ledger=ledger, tags={"team": "search"})
    client = track(llm_server.client(), budget=budget, provider="openai", tags={"app": "a"})
    client.chat.completions.create(**body)
    with pytest.raises(BudgetExceeded):
        client.chat.completions.create(**body)
    assert len(llm_server.requests) == 1
    ok, refused = ledger.entries()
    assert ok.status == "ok"
    assert (refused.status, refused.total, refused.items, refused.usage) == (
        "refused", 0, {}, Usage(requests=0))
    assert refused.estimate_high == high and refused.model == "gpt-4o-mini"
    assert refused.tags == {"app": "a", "team": "search",
                            "refused_by": f"budget {usd(high)} (all time, tags team=search)"}
    assert refused.refused_by == refused.tags["refused_by"]
    assert ledger.total() == ok.total == budget.spent()
    [row] = ledger.report(())
    assert (row.calls, row.cost, row.refused, row.risked) == (1, ok.total, 1, high)
    assert row.usage == ok.usage
    status = budget.status()
    assert (status.refused, status.risked) == (1, high)
    assert status.as_dict()["refused"] == 1 and status.as_dict()["risked"] == money(high)


def test_a_max_cost_refusal_is_one_refused_entry_shown_exactly(llm_server, ledger):
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 1715}
    high = costbook.estimate_request(body, provider="openai").high.total
    client = track(llm_server.client(), ledger=ledger, provider="openai")
    limit = Decimal("0.001")
    assert limit < high < Decimal("0.00105")  # rounded to 4 places, it is the limit
    with costbook.max_cost(limit) as scope, pytest.raises(BudgetExceeded) as refused:
        client.chat.completions.create(**body)
    assert llm_server.requests == [] and scope.calls == 0 and scope.spent == 0
    message = str(refused.value)
    assert f"may cost up to {usd(high)};" in message and "limit $0.001:" in message
    assert usd(high) == "$0.0010305"
    [entry] = ledger.entries()
    assert (entry.status, entry.refused_by, entry.estimate_high) == (
        "refused", "max_cost $0.001", high)
    assert ledger.total() == 0
    [row] = ledger.report("status")
    assert (row.group, row.calls, row.refused, row.risked) == ({"status": "refused"}, 0, 1,
                                                               high)


def usd(amount):
    from costbook.pricing._money import usd as text

    return text(amount)


def money(amount):
    from costbook.pricing._money import money_text

    return money_text(amount)
