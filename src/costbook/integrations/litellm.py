"""A LiteLLM custom logger that records each call in a costbook ledger, at costbook's price.

>>> import litellm
>>> from costbook.integrations.litellm import CostbookLogger
>>> litellm.callbacks = [CostbookLogger()]  # doctest: +SKIP

The price is costbook's, from the usage the answer reports; LiteLLM's own
``response_cost`` is not used. Requires ``litellm`` (``pip install 'costbook[litellm]'``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from litellm.integrations.custom_logger import CustomLogger

from .._errors import BudgetExceeded, CostbookError
from ..pricing._catalog import catalog
from ._calls import CallBook

if TYPE_CHECKING:
    from ..budgets._budget import Budget
    from ..ledger._ledger import Ledger

__all__ = ["CostbookLogger", "costbook_ref"]

# LiteLLM's provider names that costbook spells otherwise (the catalog knows the rest, or
# their aliases: together_ai, fireworks_ai, vertex_ai, gemini, bedrock_converse, ...).
LITELLM_PROVIDERS: dict[str, str] = {
    "text-completion-openai": "openai",
    "azure_text": "azure",
    "anthropic_text": "anthropic",
    "vertex_ai_beta": "vertex",
    "codestral": "mistral",
    "text-completion-codestral": "mistral",
    "palm": "google",
}
# Request parameters that change what a call may cost.
_BODY_PARAMS = ("max_tokens", "max_completion_tokens", "n", "tools", "functions",
                "response_format", "service_tier")
# Providers whose answers say what they charged (``usage.cost``).
_REPORTING = frozenset({"openrouter", "requesty"})
_CHAT_CALLS = frozenset({"completion", "acompletion"})


def provider_id(name: str | None) -> str | None:
    """costbook's id of LiteLLM's provider ``name``, or ``None`` when no table has it."""
    if not name:
        return None
    name = LITELLM_PROVIDERS.get(name, name)
    try:
        return catalog().provider(name).id
    except LookupError:
        return None


def costbook_ref(model: str, provider: str | None = None) -> tuple[str | None, str]:
    """costbook's provider and model for LiteLLM's ``model`` string and
    ``custom_llm_provider``: ``openai/gpt-4o-mini`` is ``("openai", "gpt-4o-mini")``,
    ``openrouter/openai/gpt-4o-mini`` is ``("openrouter", "openai/gpt-4o-mini")``. The
    provider is ``None`` when neither names one costbook's tables have."""
    head, slash, rest = model.partition("/")
    if provider:
        if slash and head == provider:
            model = rest
        return provider_id(provider), model
    if slash and (found := provider_id(head)) is not None:
        return found, rest
    return None, model


class CostbookLogger(CustomLogger):  # type: ignore[misc,unused-ignore]
    """Records each LiteLLM completion, streamed or not, sync or async: a success with
    costbook's price of the usage the answer reports, a failure with status ``error``.

    With ``budget``, an async call (``litellm.acompletion``) is estimated from its
    messages and the high bound reserved before it is sent; a call the budget (or an
    open ``costbook.max_cost`` block) cannot take is refused with
    :class:`~costbook.BudgetExceeded` and no request is made. LiteLLM gives its loggers
    no way to stop a sync ``litellm.completion``: such a call is still held against the
    budget, and one the budget would refuse is sent with a warning. Nothing else the
    logger meets is ever raised into the call: it is warned about instead.

    ``provider`` is who bills the calls; by default the provider LiteLLM routes to
    (``custom_llm_provider``, or the prefix of the model string). Without ``ledger``,
    calls record into the budget's ledger, the innermost ``max_cost`` block's, or the
    default ledger file. ``tags`` go on every entry, with those of any
    ``costbook.tagged`` block around the call.
    """

    def __init__(
        self,
        ledger: Ledger | None = None,
        budget: Budget | None = None,
        provider: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self._book = CallBook(ledger=ledger, budget=budget, provider=provider, tags=tags,
                              owner="CostbookLogger")

    @property
    def pending(self) -> int:
        """How many calls have started and not yet ended."""
        return self._book.pending()

    # -- before the call -----------------------------------------------------------------

    async def async_pre_call_deployment_hook(self, kwargs: dict[str, Any],
                                             call_type: Any) -> None:
        """Estimate and hold an async call before it is sent; raising refuses it."""
        kind = getattr(call_type, "value", call_type)
        if kind is not None and kind not in _CHAT_CALLS:
            return None
        self._start(kwargs, kwargs.get("model"), kwargs.get("custom_llm_provider"), kwargs)
        return None

    def log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        """Estimate and hold a call that no earlier hook saw (a sync call)."""
        try:
            self._start(kwargs, kwargs.get("model"), kwargs.get("custom_llm_provider"),
                        kwargs.get("optional_params") or {}, refusable=False)
        except (CostbookError, ValueError) as exc:  # LiteLLM sends it whatever is raised
            self._book._warn(
                f"{exc}. LiteLLM sends a sync completion whatever its loggers say, so this "
                "call is sent and recorded; use litellm.acompletion to have budgets refuse "
                "calls before they are sent"
            )

    async def async_log_pre_api_call(self, model: Any, messages: Any, kwargs: Any) -> None:
        """Seen after :meth:`log_pre_api_call`; nothing more to do."""

    def _start(self, kwargs: Mapping[str, Any], model: Any, provider: Any,
               params: Mapping[str, Any], *, refusable: bool = True) -> None:
        """``refusable``: raising refuses the call (else it is sent whatever is raised, and
        no refusal is recorded)."""
        key = kwargs.get("litellm_call_id")
        if key is None:
            return
        try:
            ref = str(model or "")
            chosen, ref = costbook_ref(ref, provider if isinstance(provider, str) else None)
            if chosen is None and not provider:
                chosen, ref = _routed(ref, kwargs)
            body: dict[str, Any] = {"model": ref, "messages": list(kwargs.get("messages") or [])}
            for name in _BODY_PARAMS:
                if params.get(name) is not None:
                    body[name] = params[name]
        except Exception as exc:
            self._book._warn(f"the call could not be read before it was sent ({exc})")
            return
        self._book.start(key, body, chosen, refusable=refusable)

    # -- after the call ------------------------------------------------------------------

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        """Record a call that answered."""
        self._answered(kwargs, response_obj)

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        """Record an async call that answered."""
        self._answered(kwargs, response_obj)

    def log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        """Record a call that failed."""
        self._failed(kwargs)

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any,
                                      end_time: Any) -> None:
        """Record an async call that failed."""
        self._failed(kwargs)

    def _answered(self, kwargs: Any, response_obj: Any) -> None:
        try:
            key = kwargs.get("litellm_call_id")
            if kwargs.get("cache_hit"):  # answered from LiteLLM's cache: nothing was spent
                self._book.forget(key)
                return
            chosen, _ = costbook_ref(str(kwargs.get("model") or ""),
                                     kwargs.get("custom_llm_provider"))
            payload, text = answer_payload(response_obj, chosen)
            if _usage_counted_by_litellm(kwargs, chosen):
                payload.pop("usage", None)  # LiteLLM's own count, not the provider's
        except Exception as exc:
            self._book._warn(f"the answer could not be read ({exc})")
            return
        self._book.answered(key, payload, text, provider=chosen)

    def _failed(self, kwargs: Any) -> None:
        try:
            key = kwargs.get("litellm_call_id")
            error = kwargs.get("exception")
        except Exception:
            return
        if isinstance(error, BudgetExceeded):
            return  # refused by a budget: never sent
        self._book.failed(key, error if isinstance(error, BaseException) else
                          RuntimeError(str(error)))


# Providers whose streams report usage without being asked (stream_options.include_usage).
_STREAMS_REPORT_USAGE = frozenset({"anthropic", "google", "vertex", "bedrock"})


def _usage_counted_by_litellm(kwargs: Mapping[str, Any], provider: str | None) -> bool:
    """Whether a streamed answer's usage is LiteLLM's own count: the stream came from an
    OpenAI-compatible API that sends usage only when asked, and the request did not ask."""
    if not kwargs.get("stream") or provider in _STREAMS_REPORT_USAGE:
        return False
    for options in (kwargs, kwargs.get("optional_params") or {}):
        asked = options.get("stream_options") if isinstance(options, Mapping) else None
        if isinstance(asked, Mapping) and asked.get("include_usage"):
            return False
    return True


def _routed(model: str, kwargs: Mapping[str, Any]) -> tuple[str | None, str]:
    """The provider LiteLLM itself routes ``model`` to (``gpt-4o-mini`` is OpenAI's)."""
    import litellm

    try:
        name, provider, _, _ = litellm.get_llm_provider(
            model=model, api_base=kwargs.get("api_base"))
    except Exception:
        return None, model
    return provider_id(provider), name


def answer_payload(response: Any, provider: str | None) -> tuple[dict[str, Any], str]:
    """A Chat Completions payload (model, id, usage) for LiteLLM's ``ModelResponse``, and
    its text (to count when it reports no usage). A usage of all zeros, which LiteLLM
    gives a stream that reported none, counts as no usage."""
    dump = getattr(response, "model_dump", None)
    data: Mapping[str, Any] = dump() if callable(dump) else response
    payload: dict[str, Any] = {}
    for name in ("model", "id"):
        if isinstance(data.get(name), str):
            payload[name] = data[name]
    usage = data.get("usage")
    if isinstance(usage, Mapping) and (usage.get("prompt_tokens") or
                                       usage.get("completion_tokens")):
        details_in = usage.get("prompt_tokens_details") or {}
        details_out = usage.get("completion_tokens_details") or {}
        write = details_in.get("cache_write_tokens")
        if write is None:
            write = usage.get("cache_creation_input_tokens")
        read = details_in.get("cached_tokens")
        if read is None:
            read = usage.get("cache_read_input_tokens")
        # Anthropic's split of cache writes by lifetime, as LiteLLM passes it on
        lifetimes = details_in.get("cache_creation_token_details") or \
            usage.get("cache_creation")
        if not isinstance(lifetimes, Mapping):
            lifetimes = {}
        write_1h = lifetimes.get("ephemeral_1h_input_tokens")
        if write is None:
            split = [lifetimes.get(name) for name in ("ephemeral_5m_input_tokens",
                                                       "ephemeral_1h_input_tokens")]
            if any(isinstance(n, int) for n in split):
                write = sum(n for n in split if isinstance(n, int))
        chat: dict[str, Any] = {
            "prompt_tokens": usage.get("prompt_tokens"),
            "completion_tokens": usage.get("completion_tokens"),
            "prompt_tokens_details": {"cached_tokens": read, "cache_write_tokens": write},
            "completion_tokens_details": {
                "reasoning_tokens": details_out.get("reasoning_tokens")},
        }
        if write_1h:
            chat["cache_creation"] = {"ephemeral_1h_input_tokens": write_1h}
        if provider in _REPORTING and usage.get("cost") is not None:
            chat["cost"] = usage["cost"]
        payload["usage"] = chat
    parts = []
    for choice in data.get("choices") or []:
        message = choice.get("message") or choice.get("delta") or {}
        if isinstance(message.get("content"), str):
            parts.append(message["content"])
    return payload, "".join(parts)
