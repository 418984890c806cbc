"""``track()``: an ``openai`` client whose calls are estimated, held against budgets, priced
from the answer, and recorded in a ledger. The SDK is used as it is; requests go out
unchanged but for ``stream_options.include_usage`` on streamed chat completions.

Every door of the SDK that sends a chat completion or a response is tracked: ``create``
and ``parse``, the ``.stream()`` helpers (which call ``create``), and
``with_raw_response`` / ``with_streaming_response`` (see :mod:`._raw_responses`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from ..pricing._providers import provider_for_client
from ..records._tags import check_tags
from ._call import _TRACKED, tracked_settings
from ._openai_doors import _install
from ._sdk_support import check_sdk_surface

if TYPE_CHECKING:
    from ..budgets._budget import Budget
    from ..ledger._ledger import Ledger

ClientT = TypeVar("ClientT")


def track(
    client: ClientT,
    *,
    ledger: Ledger | None = None,
    budget: Budget | None = None,
    provider: str | None = None,
    tags: Mapping[str, str] | None = None,
    unknown_models: str | None = None,
    models: Mapping[str, str] | None = None,
) -> ClientT:
    """A copy of an ``openai.OpenAI``, ``openai.AsyncOpenAI`` or ``openai.AzureOpenAI``
    client, used exactly like it, whose chat completions and responses (``create``,
    ``parse``, ``.stream()``, streamed or not, through ``with_raw_response`` and
    ``with_streaming_response`` too) are estimated before sending, held against
    ``budget`` and any open ``max_cost`` block, priced from the answer and recorded in
    ``ledger``; or of an ``anthropic.Anthropic`` or ``anthropic.AsyncAnthropic`` client,
    whose ``messages.create`` (streamed or not) and ``messages.stream`` calls are tracked
    the same way; or of a ``google.genai.Client`` (``models.generate_content`` and
    ``generate_content_stream``, and the same of ``client.aio``) or a ``boto3``
    ``bedrock-runtime`` client (``converse``, ``converse_stream``, ``invoke_model``,
    ``invoke_model_with_response_stream``): see :mod:`._gemini` and :mod:`._bedrock`.

    ``provider`` defaults to the one the client's base URL names (api.openai.com,
    openrouter.ai, router.requesty.ai, openai.azure.com, api.anthropic.com); an
    ``anthropic`` client on a host no table lists is priced as ``anthropic`` (an
    ``AnthropicBedrock`` or ``AnthropicVertex`` client as ``bedrock`` or ``vertex``). Without
    ``ledger``, calls record into the budget's ledger, the innermost ``max_cost`` block's,
    or the default ledger file.

    A call to a model no pricing table knows is sent, and recorded with status
    ``unpriced`` at the provider's reported charge (0 when it reports none), with a
    warning. Under a ``budget`` or a ``max_cost`` block its cost cannot be held, so it is
    refused before sending with :class:`~costbook.UnknownModelError`, unless
    ``unknown_models="allow"`` (sent, nothing held; its reported charge counts after the
    call). ``unknown_models="refuse"`` refuses such calls always. A call to a known model
    that its table cannot price (a usage part without a rate) is treated the same way.

    A tracked call is never stricter than the provider: what a table knows of a model's
    limits (context window, max output) informs the estimate and never refuses a call. A
    request past them is sent, with a warning once per model, and a budget holds its
    best bound (``max_tokens`` capped at the table's max output). Only a budget, a
    ``max_cost`` block or ``unknown_models="refuse"`` refuse a call; each refusal is
    recorded with status ``refused`` (cost 0, never spend), the estimate refused and the
    limit in its tag ``refused_by``.

    ``models`` maps names the client sends that are not model ids (Azure deployment
    names) to models of the provider's table: ``{"prod-4o": "gpt-4o"}``, for estimates
    and budgets before the call; the answer's own model prices it after.

    Embeddings (priced from their input tokens), legacy completions and the ``beta``
    twins of chat completions and responses of the openai SDK, and ``messages.parse`` and
    ``beta.messages`` (``create``, ``stream``, ``parse``) of the anthropic SDK are tracked
    the same way; docs/tracked-calls.md lists every method, and those left alone and why.
    """
    from ._anthropic import anthropic_provider, is_anthropic_client
    from ._anthropic_doors import install_anthropic
    from ._other_sdks import track_other_sdk

    if getattr(client, _TRACKED, False):
        raise ValueError("this client is tracked already; track the original client once")
    other = track_other_sdk(client, ledger=ledger, budget=budget, provider=provider, tags=tags,
                            unknown_models=unknown_models, models=models)
    if other is not None:  # google-genai's Client, boto3's bedrock-runtime client
        return other  # type: ignore[no-any-return]
    is_anthropic = is_anthropic_client(client)
    for name in ("with_options", "messages" if is_anthropic else "chat"):
        if not hasattr(client, name):
            raise TypeError(
                f"track() takes an openai.OpenAI, openai.AsyncOpenAI, anthropic.Anthropic, "
                f"anthropic.AsyncAnthropic, google.genai.Client or boto3 bedrock-runtime "
                f"client, got {type(client).__name__}"
            )
    check_sdk_surface(client, "anthropic" if is_anthropic else "openai")
    base_url = getattr(client, "base_url", None)
    chosen = provider_for_client(None if base_url is None else str(base_url), provider,
                                 default=anthropic_provider(client) if is_anthropic else None)
    settings = tracked_settings(chosen, ledger, budget, check_tags(tags), unknown_models,
                                models, getattr(client, "api_key", None))
    install = install_anthropic if is_anthropic else _install
    return install(client.with_options(), settings)  # type: ignore[attr-defined, no-any-return]
