"""``track()`` for the SDKs that are not built on the openai / anthropic pattern: Google's
``google-genai`` (:mod:`._gemini`) and AWS's ``boto3`` ``bedrock-runtime`` client
(:mod:`._bedrock`). Neither SDK is imported here: a client of it exists only once it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..pricing._catalog import catalog
from ..records._tags import check_tags

if TYPE_CHECKING:
    from ..budgets._budget import Budget
    from ..ledger._ledger import Ledger
    from ._call import _Settings


def track_other_sdk(
    client: Any,
    *,
    ledger: Ledger | None,
    budget: Budget | None,
    provider: str | None,
    tags: Mapping[str, str] | None,
    unknown_models: str | None,
    models: Mapping[str, str] | None,
) -> Any | None:
    """A tracked copy of a ``google.genai.Client`` or a ``boto3`` ``bedrock-runtime``
    client; ``None`` for a client of another kind."""
    from . import _bedrock, _gemini

    if _gemini.is_gemini_client(client):
        default, key, extra = _gemini.client_facts(client)
        install = _gemini.install_gemini
    elif _bedrock.is_bedrock_client(client):
        default, key, extra = _bedrock.client_facts(client)
        install = _bedrock.install_bedrock
    else:
        return None
    settings = _settings(provider or default, ledger, budget, {**extra, **check_tags(tags)},
                         unknown_models, models, key)
    return install(client, settings)


def _settings(provider: str, ledger: Ledger | None, budget: Budget | None,
              tags: dict[str, str], unknown_models: str | None,
              models: Mapping[str, str] | None, api_key: str | None) -> _Settings:
    """The settings of a tracked client, checked as ``track()`` checks them."""
    from ._call import UNKNOWN_MODEL_POLICIES, _deployments, _Settings

    chosen = catalog().provider(provider).id
    if budget is not None:
        if ledger is not None and ledger is not budget.ledger:
            raise ValueError(
                "the budget counts the spend in its own ledger; give track() that ledger, "
                "or no ledger, so that the calls count against the budget"
            )
        ledger = budget.ledger
    if unknown_models not in UNKNOWN_MODEL_POLICIES:
        raise ValueError(
            f"unknown_models must be 'allow' or 'refuse' (or None: sent unless a budget or "
            f"max_cost limit is in force), got {unknown_models!r}"
        )
    settings = _Settings(chosen, ledger, budget, tags,
                         api_key if isinstance(api_key, str) and len(api_key) >= 8 else None,
                         unknown_models, _deployments(models, chosen))
    settings.check_tags(settings.tags)
    return settings

