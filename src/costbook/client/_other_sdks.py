"""``track()`` for the SDKs that are not built on the openai / anthropic pattern: Google's
``google-genai`` (:mod:`._gemini`) and AWS's ``boto3`` ``bedrock-runtime`` client
(:mod:`._bedrock`). Neither SDK is imported here: a client of it exists only once it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..pricing._catalog import catalog
from ..records._tags import check_tags
from ._call import tracked_settings

if TYPE_CHECKING:
    from ..budgets._budget import Budget
    from ..ledger._ledger import Ledger


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
    settings = tracked_settings(catalog().provider(provider or default).id, ledger, budget,
                                {**extra, **check_tags(tags)}, unknown_models, models, key)
    return install(client, settings)
