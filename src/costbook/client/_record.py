"""Recording a response that came back: usage from the payload, priced, into a ledger."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._errors import UnknownModelError
from ..pricing._calculator import price
from ..pricing._catalog import catalog
from ..pricing._cost import Cost
from ..pricing._usage import Usage
from ._response_usage import ResponseUsage, usage_from_response

if TYPE_CHECKING:
    from ..ledger._entry import Entry
    from ..ledger._ledger import Ledger
    from ..pricing._model import Model


def answered_model(named: str | None, provider: str, asked: Model | None) -> Model:
    """The model to price an answer with: the one the answer names (a router's fallback
    can answer with another model than asked), else the one asked for."""
    if named:
        try:
            return catalog().resolve(named, provider)
        except UnknownModelError:
            if asked is None:
                raise
            warnings.warn(
                f"the answer names model {named!r}, which the {provider} table does not "
                f"know; priced as {asked.ref}, the model asked for",
                stacklevel=3,
            )
    if asked is None:
        raise UnknownModelError(
            "(none)", detail="the response names no model; pass model= to say which"
        )
    return asked


def response_cost(answer: ResponseUsage, usage: Usage, provider: str,
                  asked: Model | None) -> Cost:
    """The table cost of ``usage`` for the model ``answer`` names at ``provider``."""
    return price(usage, answered_model(answer.model, provider, asked))


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
    or Anthropic Messages call. ``model`` is used when the payload names none. A payload
    with no usage at all is an error: there is nothing to price, and it is not taken as 0.
    """
    answer = usage_from_response(payload, provider=provider)
    if answer.usage is None:
        raise ValueError(
            "the response reports no usage, so its cost is unknown; nothing was recorded "
            "(record the call with ledger.record and a usage you counted instead)"
        )
    asked = catalog().resolve(model, provider) if model else None
    cost = response_cost(answer, answer.usage, provider, asked)
    return ledger.record(
        cost,
        tags=tags,
        request_id=answer.request_id,
        reported_cost=answer.reported_cost,
    )
