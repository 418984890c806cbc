"""A LangChain callback handler that records every chat-model call in a costbook ledger.

>>> from costbook.integrations.langchain import CostbookCallbackHandler
>>> model = ChatOpenAI(model="gpt-4o-mini", callbacks=[CostbookCallbackHandler()])  # doctest: +SKIP

Usage comes from the answer's ``usage_metadata``, the model from its
``response_metadata``; calls are priced with costbook's tables. Requires ``langchain-core``
(``pip install 'costbook[langchain]'``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage, convert_to_openai_messages
from langchain_core.outputs import LLMResult

from ..pricing._catalog import catalog
from ..pricing._providers import provider_for_base_url
from ._calls import CallBook

if TYPE_CHECKING:
    from ..budgets._budget import Budget
    from ..ledger._ledger import Ledger

__all__ = ["CostbookCallbackHandler"]

# Request parameters that change what a call may cost, as LangChain's invocation params name them.
_BODY_PARAMS = ("max_tokens", "max_completion_tokens", "n", "tools", "functions",
                "response_format", "service_tier")
# Keys of a model's serialized constructor arguments that hold its API base URL.
_BASE_URL_KEYS = ("openai_api_base", "base_url", "anthropic_api_url", "api_base")
# Service tiers whose counts langchain-openai names with the tier first (flex_cache_read).
_TIERS = ("flex", "priority")


class CostbookCallbackHandler(BaseCallbackHandler):
    """Records each chat-model (and LLM) call of the runnables it is given to.

    With ``budget``, a call is estimated from its messages and the high bound reserved
    before it is sent; a call the budget (or an open ``costbook.max_cost`` block) cannot
    take is refused with :class:`~costbook.BudgetExceeded`, raised from the callback so
    that no request is made. Nothing else the handler meets is ever raised into the call:
    it is warned about instead.

    ``provider`` is who bills the calls; by default the one the model's base URL names,
    else LangChain's ``ls_provider`` (``openai``, ``anthropic``, ``groq``, ...). Without
    ``ledger``, calls record into the budget's ledger, the innermost ``max_cost`` block's,
    or the default ledger file. ``tags`` go on every entry, with those of any
    ``costbook.tagged`` block around the call.
    """

    raise_error = True  # a refusal must stop the call: LangChain re-raises it
    run_inline = True  # in the caller's thread and context (tags, max_cost blocks)

    def __init__(
        self,
        ledger: Ledger | None = None,
        budget: Budget | None = None,
        provider: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._book = CallBook(ledger=ledger, budget=budget, provider=provider, tags=tags,
                              owner="CostbookCallbackHandler")

    @property
    def pending(self) -> int:
        """How many calls have started and not yet ended."""
        return self._book.pending()

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Estimate and hold the call before it is sent."""
        try:
            chat = convert_to_openai_messages(messages[0] if messages else [])
        except Exception:  # content LangChain cannot convert: estimated as no messages
            chat = []
        self._start(run_id, serialized, metadata, kwargs.get("invocation_params"), chat)

    def on_llm_start(
        self,
        serialized: dict[str, Any],
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """The same for a text-completion model: its prompt is taken as one user message."""
        chat = [{"role": "user", "content": prompts[0] if prompts else ""}]
        self._start(run_id, serialized, metadata, kwargs.get("invocation_params"), chat)

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        """Price and record the answer."""
        try:
            payload, text = answer_payload(response)
        except Exception as exc:  # an answer of an unexpected shape: recorded from counts
            self._book._warn(f"the answer could not be read ({exc}); counted instead")
            payload, text = {}, ""
        self._book.answered(run_id, payload, text)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Record a call that failed: as an error, or, when part of a streamed answer came
        back before it broke off, as ``incomplete`` with what came."""
        partial = kwargs.get("response")
        try:
            payload, text = answer_payload(partial) if isinstance(partial, LLMResult) else ({}, "")
        except Exception:
            payload, text = {}, ""
        if text or "usage" in payload:
            self._book.answered(run_id, payload, text, complete=False)
        else:
            self._book.failed(run_id, error)

    def _start(self, run_id: UUID, serialized: Mapping[str, Any] | None,
               metadata: Mapping[str, Any] | None, params: Any,
               messages: Sequence[Any]) -> None:
        try:
            params = params if isinstance(params, Mapping) else {}
            metadata = metadata or {}
            model = (params.get("model") or params.get("model_name")
                     or params.get("model_id") or metadata.get("ls_model_name"))
            body: dict[str, Any] = {"model": str(model), "messages": list(messages)}
            for name in _BODY_PARAMS:
                if params.get(name) is not None:
                    body[name] = params[name]
            provider = provider_of(serialized, metadata)
        except Exception as exc:
            self._book._warn(f"the call could not be read before it was sent ({exc})")
            return
        self._book.start(run_id, body, provider)


def provider_of(serialized: Mapping[str, Any] | None,
                metadata: Mapping[str, Any] | None) -> str | None:
    """The provider a LangChain model bills through: the one its base URL names, else its
    ``ls_provider`` when a table knows it, else ``None``."""
    arguments = (serialized or {}).get("kwargs")
    if isinstance(arguments, Mapping):
        for key in _BASE_URL_KEYS:
            url = arguments.get(key)
            if isinstance(url, str) and (found := provider_for_base_url(url)) is not None:
                return found
    named = (metadata or {}).get("ls_provider")
    if isinstance(named, str) and named:
        try:
            return catalog().provider(named).id
        except LookupError:
            return None
    return None


def answer_payload(response: LLMResult) -> tuple[dict[str, Any], str]:
    """A Chat Completions-shaped payload (model, id, usage) for the first answer of
    ``response``, and its text (to count when it reports no usage)."""
    generation = response.generations[0][0] if response.generations and \
        response.generations[0] else None
    message = getattr(generation, "message", None)
    found = getattr(message, "response_metadata", None)
    meta: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    output: Mapping[str, Any] = response.llm_output or {}
    model = (meta.get("model_name") or meta.get("model") or output.get("model_name")
             or output.get("model"))
    payload: dict[str, Any] = {}
    if isinstance(model, str):
        payload["model"] = model
    request_id = meta.get("id") or output.get("id") or _provider_id(getattr(message, "id", None))
    if isinstance(request_id, str):
        payload["id"] = request_id
    tier = meta.get("service_tier")
    if isinstance(tier, str):
        payload["service_tier"] = tier
    metadata = getattr(message, "usage_metadata", None)
    if isinstance(metadata, Mapping):
        raw = output.get("token_usage")
        cost = raw.get("cost") if isinstance(raw, Mapping) else None
        payload["usage"] = chat_usage(metadata, cost)
    text = generation.text if generation is not None else ""
    return payload, text if isinstance(text, str) else ""


def _provider_id(message_id: object) -> str | None:
    """A message id that the provider gave (LangChain makes up ``run-...`` / ``lc_...``
    ids for messages that came without one)."""
    if isinstance(message_id, str) and not message_id.startswith(("run-", "lc_")):
        return message_id
    return None


def chat_usage(metadata: Mapping[str, Any], cost: Any = None) -> dict[str, Any]:
    """LangChain's ``UsageMetadata`` as a Chat Completions usage object.

    The conventions of LangChain's provider packages: ``input_tokens`` counts all input
    (cache reads and writes included) and ``output_tokens`` all output, as in costbook;
    ``input_token_details`` gives ``cache_read`` and ``cache_creation``, and
    ``output_token_details`` gives ``reasoning``. langchain-anthropic splits
    cache writes by lifetime into ``ephemeral_5m_input_tokens`` and
    ``ephemeral_1h_input_tokens``, leaving in ``cache_creation`` only the writes it could
    not split (0 when all are split), so all writes are the three added up; a
    ``cache_creation`` that already holds the split (the sum would pass the input) is
    taken as all writes. langchain-openai names the counts of a ``flex`` or ``priority``
    call ``flex_cache_read``, ``priority_reasoning``, ...; they are read, and the tier
    is given as the usage's ``service_tier``.
    """
    details_in = _mapping(metadata.get("input_token_details"))
    details_out = _mapping(metadata.get("output_token_details"))
    tier = next((name for name in _TIERS
                 if name in details_in or name in details_out
                 or any(f"{name}_{part}" in details for details, part in
                        ((details_in, "cache_read"), (details_in, "cache_creation"),
                         (details_out, "reasoning")))), None)

    def detail(details: Mapping[str, Any], name: str) -> Any:
        value = details.get(name)
        if value is None and tier is not None:
            value = details.get(f"{tier}_{name}")
        return value

    total_in = metadata.get("input_tokens")
    read = detail(details_in, "cache_read")
    write = detail(details_in, "cache_creation")
    write_5m = _tokens(details_in.get("ephemeral_5m_input_tokens"))
    write_1h = _tokens(details_in.get("ephemeral_1h_input_tokens"))
    if write_5m is not None or write_1h is not None:
        split = (write_5m or 0) + (write_1h or 0)
        given = _tokens(write)
        if write is None:
            write = split
        elif given is not None:
            room = (_tokens(total_in) or 0) - (_tokens(read) or 0)
            if not (given >= split and given + split > room):  # else it holds the split
                write = given + split
    usage: dict[str, Any] = {
        "prompt_tokens": total_in,
        "completion_tokens": metadata.get("output_tokens"),
        "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": write},
        "completion_tokens_details": {"reasoning_tokens": detail(details_out, "reasoning")},
    }
    if write_1h:
        usage["cache_creation"] = {"ephemeral_1h_input_tokens": write_1h}
    if tier is not None:
        usage["service_tier"] = tier
    if cost is not None:
        usage["cost"] = cost
    return usage


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _tokens(value: object) -> int | None:
    """``value`` when it is a count of tokens, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None
