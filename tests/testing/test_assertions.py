from decimal import Decimal

import pytest

import costbook
from costbook import CostLimitExceeded, assert_estimate

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 1000}


def test_a_request_under_the_limit_passes_and_returns_its_estimate():
    estimate = assert_estimate(BODY, max="0.001")
    assert estimate.high.total == costbook.estimate_request(BODY).high.total
    assert estimate.high.total <= Decimal("0.001")


def test_a_request_over_the_limit_fails_with_the_numbers():
    with pytest.raises(CostLimitExceeded) as failed:
        assert_estimate(BODY, max="0.0001")
    assert isinstance(failed.value, AssertionError)
    message = str(failed.value)
    high = costbook.estimate_request(BODY).high.total
    assert f"may cost up to ${high} (8 input tokens" in message
    assert "up to 1000 output tokens" in message and "limit of $0.0001" in message


def test_the_provider_changes_the_bound():
    body = {**BODY, "messages": [{"role": "user", "content": "x" * 4000}], "max_tokens": 1}
    cheap = assert_estimate(body, max="1", provider="requesty")
    assert cheap.provider == "requesty"


def test_a_float_limit_is_refused():
    with pytest.raises(TypeError):
        assert_estimate(BODY, max=0.1)  # type: ignore[arg-type]
