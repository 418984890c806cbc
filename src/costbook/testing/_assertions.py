"""Assertions for tests and CI: a request's cost bound stays under a limit."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .._errors import CostLimitExceeded
from ..pricing._money import usd

if TYPE_CHECKING:
    from ..tokens._estimate import Estimate


def assert_estimate(
    body: Mapping[str, Any],
    *,
    max: Decimal | str | int,  # shadows the builtin: the name the API documents
    provider: str | None = None,
) -> Estimate:
    """Fail (``CostLimitExceeded``, an ``AssertionError``) when the request's high bound
    passes ``max``; return the estimate otherwise."""
    from ..client._scopes import _as_limit
    from ..tokens._estimate import estimate_request

    limit = _as_limit(max)
    estimate = estimate_request(body, provider=provider)
    high = estimate.high.total
    if high > limit:
        raise CostLimitExceeded(
            f"{estimate.provider}:{estimate.model} may cost up to {usd(high)} "
            f"({estimate.input_tokens} input tokens, up to "
            f"{estimate.max_output_tokens} output tokens), more than the limit of "
            f"{usd(limit)}"
        )
    return estimate
