"""Tests that keep LLM spend in check. Those named ``test_fails_*`` fail on purpose."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import costbook

HERE = Path(__file__).parent
ASK = [{"role": "user", "content": "Summarise our refund policy in one line."}]
BIG_PROMPT = {"X-Fake-Prompt-Tokens": "2000000"}


def test_fixture_ledger_holds_the_calls(client, costbook_ledger):
    client.chat.completions.create(model="acme-support", messages=ASK, max_tokens=50)
    [entry] = costbook_ledger.entries()
    assert entry.model == "ft:gpt-4o-mini-2024-07-18:acme::support-v3"
    assert entry.total == costbook.estimate("acme-support", input_tokens=25,
                                            output_tokens=10).total


@pytest.mark.max_cost("0.01")
def test_a_cheap_call_stays_under_the_limit(client, costbook_ledger):
    client.chat.completions.create(model="gpt-4o-mini", messages=ASK, max_tokens=100)
    client.chat.completions.create(model="acme-support", messages=ASK, max_tokens=100)
    assert len(costbook_ledger.entries()) == 2


@pytest.mark.max_cost("0.01")
def test_fails_when_calls_cost_more_than_the_marker(client):
    # the server reports 2M prompt tokens: $0.60 for the fine-tune, far past $0.01
    client.chat.completions.create(model="acme-support", messages=ASK, max_tokens=10,
                                   extra_headers=BIG_PROMPT)


@pytest.mark.max_cost("0.001")
def test_fails_when_a_call_could_pass_the_limit(client):
    # up to 16,384 output tokens at $1.20/M may cost $0.0197: refused before it is sent
    client.chat.completions.create(model="acme-support", messages=ASK)


def test_max_cost_block(client):
    with costbook.max_cost("0.05") as block:
        client.chat.completions.create(model="gpt-4o-mini", messages=ASK, max_tokens=100)
    assert block.calls == 1 and block.spent < costbook.max_cost("0.05").limit


def test_request_bound_is_under_budget():
    body = {"model": "acme-support", "messages": ASK, "max_tokens": 500}
    costbook.assert_estimate(body, max="0.001")


def test_fails_when_the_request_bound_is_over_budget():
    body = {"model": "acme-support", "messages": ASK}  # no max_tokens: up to 16,384 out
    costbook.assert_estimate(body, max="0.001")


def _check(pins: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "costbook", "check", "--pins", str(HERE / pins)],
                          capture_output=True, text=True, check=False)


def test_prices_are_the_ones_we_planned_with():
    result = _check("costbook-prices.lock")
    assert result.returncode == 0, result.stderr


def test_fails_when_prices_moved_under_us():
    # a pin file written before a price change: the check names each changed rate
    result = _check("stale-prices.lock")
    assert result.returncode == 0, result.stderr
