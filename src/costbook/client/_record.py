"""Recording a response that came back: usage from the payload, priced, into a ledger.

An answer that no pricing table can price (a model no table knows, a usage part or a
service tier its table has no rate for) is recorded all the same, with status
``unpriced``: its cost is the provider's reported charge where the answer carries one
(OpenRouter, Requesty), else 0, and a warning says so and how to price it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from .._errors import CostbookError, UnknownModelError
from ..pricing._calculator import price
from ..pricing._catalog import catalog, place_of
from ..pricing._cost import Cost
from ..pricing._money import money_text
from ..pricing._usage import Usage
from ._response_usage import ResponseUsage, usage_from_response

if TYPE_CHECKING:
    from ..ledger._ledger import Ledger
    from ..pricing._model import Model
    from ..records._entry import Entry

# Routers whose live models API ``costbook sync`` can read prices from.
SYNCED = ("openrouter", "requesty")
# Service tiers OpenAI names for its standard rates.
STANDARD_TIERS = frozenset({"default", "auto", "standard"})


def served_tier(answered: str | None, requested: object = None) -> str | None:
    """The service tier that priced a call: the one the answer names, else the one the
    request asked for; ``default`` and ``auto`` are the standard rates (None)."""
    tier = answered if isinstance(answered, str) and answered else requested
    if not isinstance(tier, str) or tier.lower() in STANDARD_TIERS:
        return None
    return tier


def answered_model(named: str | None, provider: str, asked: Model | None) -> Model:
    """The model to price an answer with: the one the answer names (a router's fallback
    can answer with another model than asked), else the one asked for. Raises
    :class:`~costbook.UnknownModelError` when the one that answered is unknown. Asked
    for in one place (an Azure Data Zone: ``eu/gpt-4o``), the answer's model is priced
    at that place's rates where the table has them."""
    if named:
        place = place_of(asked.id) if asked is not None and asked.provider == provider else None
        if place is not None and "/" not in named:
            try:
                return catalog().resolve(f"{place}/{named}", provider)
            except UnknownModelError:
                pass
        return catalog().resolve(named, provider)
    if asked is None:
        raise UnknownModelError(
            "(none)", detail="the response names no model; pass model= to say which"
        )
    return asked


def answer_cost(
    answer: ResponseUsage,
    usage: Usage,
    provider: str,
    asked: Model | None,
    asked_ref: str | None = None,
    requested_tier: object = None,
) -> tuple[Cost, str | None]:
    """The cost of an answer and None; or, when no table can price it, the cost that
    counts for it (the provider's reported charge, else 0) and the reason."""
    model: Model | None = None
    try:
        model = answered_model(answer.model, provider, asked)
        return price(usage, model,
                     service_tier=served_tier(answer.service_tier, requested_tier)), None
    except CostbookError as exc:
        if isinstance(exc, UnknownModelError):
            name = answer.model or asked_ref or "(none)"
            reason = f"no {provider} pricing table knows model {name!r}"
        else:
            reason = str(exc)
    charge = answer.reported_cost
    cost = Cost(
        total=charge if charge is not None else Decimal(0),
        items={"reported": charge} if charge is not None else {},
        model=model.id if model is not None else (answer.model or asked_ref or "(none)"),
        provider=model.provider if model is not None else provider,
        usage=usage,
    )
    return cost, reason


def warn_unpriced(cost: Cost, reason: str, charge: Decimal | None, stacklevel: int) -> None:
    """Say that a call is recorded unpriced, what it counts, and how to price it."""
    counted = (f"the provider's reported charge of ${money_text(charge)}"
               if charge is not None else "$0, as the answer reported no charge")
    sync = (f", or run `costbook sync {cost.provider}`" if cost.provider in SYNCED else "")
    warnings.warn(
        f"{reason}: the call to {cost.model} is recorded with status 'unpriced' and counts "
        f"{counted}; to price such calls, give {cost.model} a rate in a pricing table of "
        f"your own (costbook.load(path) or COSTBOOK_PRICING_PATH){sync}",
        RuntimeWarning,
        stacklevel=stacklevel,
    )


def record_response(
    payload: object,
    *,
    ledger: Ledger,
    provider: str,
    model: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> Entry:
    """Price and record a response obtained by any client (raw HTTP, another SDK).

    ``payload`` is the response body (dict or SDK object) of a Chat Completions, Responses
    or Anthropic Messages call, or any usage shape :func:`usage_from_response` reads.
    ``model`` is used when the payload names none. A payload with no usage at all is an
    error: there is nothing to price, and it is not taken as 0. An answer no table can
    price is recorded with status ``unpriced`` at the provider's reported charge (0 when
    it reports none), with a warning.
    """
    answer = usage_from_response(payload, provider=provider)
    if answer.usage is None:
        raise ValueError(
            "the response reports no usage, so its cost is unknown; nothing was recorded "
            "(record the call with ledger.record and a usage you counted instead)"
        )
    asked: Model | None = None
    if model:
        try:
            asked = catalog().resolve(model, provider)
        except UnknownModelError:
            asked = None
    cost, reason = answer_cost(answer, answer.usage, provider, asked, model)
    if reason is not None:
        warn_unpriced(cost, reason, answer.reported_cost, stacklevel=2)
    return ledger.record(
        cost,
        tags=tags,
        request_id=answer.request_id,
        reported_cost=answer.reported_cost,
        status="ok" if reason is None else "unpriced",
        asked_model=model if model and model != cost.model else None,
    )
