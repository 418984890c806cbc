"""A tracked call: the settings ``track()`` gives a client, and the call that estimates a
request, holds its budget, and records what the answer cost. Every door of every SDK
goes through it."""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from .._errors import BudgetExceeded, CostbookError, UnknownModelError
from ..ledger._ledger import make_entry
from ..pricing._catalog import catalog
from ..pricing._cost import Cost
from ..pricing._usage import Usage
from ..records._tags import SECRET, current_tags
from ..tokens._estimate import request_estimate
from ._record import answer_cost, warn_unpriced
from ._refusals import (
    budget_label,
    record_refusal,
    scope_label,
    unestimated_refusal,
    warn_misfit,
    warn_unestimated,
)
from ._response_usage import ResponseUsage, salvage_response, usage_from_response
from ._scopes import active_scopes, ledger_for_call

if TYPE_CHECKING:
    from ..budgets._budget import Budget, Reservation
    from ..ledger._ledger import Ledger
    from ..pricing._model import Model
    from ..records._entry import Entry
    from ..tokens._estimate import Estimate



_TRACKED = "_costbook_tracked"
# Request options of the SDK that are not part of the request body.
_NOT_BODY = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
# The header the SDK's with_raw_response ("true") and with_streaming_response ("stream")
# add to a call.
RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"
UNKNOWN_MODEL_POLICIES = (None, "allow", "refuse")


class _Hold(Protocol):
    def commit(self, entry: Entry, /) -> Any: ...
    def release(self) -> Any: ...


@dataclass(frozen=True)
class _Settings:
    provider: str
    ledger: Ledger | None
    budget: Budget | None
    tags: dict[str, str]
    api_key: str | None = None
    unknown_models: str | None = None
    models: Mapping[str, str] = field(default_factory=dict)
    # the Anthropic beta flags the client sends with every request
    betas: tuple[str, ...] = ()
    # whether a refusal is recorded (False where the caller sends the call all the same)
    record_refusals: bool = True

    def check_tags(self, tags: Mapping[str, str]) -> None:
        """Refuse tags that hold the client's own API key (the key is never shown)."""
        for key, value in tags.items():
            if _holds_key(key, self.api_key):
                raise ValueError("a tag key holds the client's API key; a ledger never "
                                 "stores secrets")
            if _holds_key(value, self.api_key):
                raise ValueError(f"tag {key!r} holds the client's API key; a ledger never "
                                 "stores secrets")


def _holds_key(text: object, api_key: str | None) -> bool:
    """Whether ``text`` contains the client's API key."""
    return api_key is not None and isinstance(text, str) and api_key in text


def _deployments(models: Mapping[str, str] | None, provider: str) -> dict[str, str]:
    """``models`` checked: each name maps to a model of the provider's table."""
    if models is None:
        return {}
    if not isinstance(models, Mapping):
        raise TypeError(f"models must map names to model refs, got {type(models).__name__}")
    found: dict[str, str] = {}
    for name, ref in models.items():
        if not isinstance(name, str) or not isinstance(ref, str):
            raise TypeError(f"models must map names to model refs, got {name!r}: {ref!r}")
        try:
            found[name] = catalog().resolve(ref, provider).id
        except UnknownModelError as exc:
            raise UnknownModelError(
                ref, exc.suggestions, detail=f"(models={{{name!r}: {ref!r}}}) at provider "
                f"{provider!r}; map {name!r} to a model of its table"
            ) from None
    return found


def tracked_settings(provider: str, ledger: Ledger | None, budget: Budget | None,
                     tags: dict[str, str], unknown_models: str | None,
                     models: Mapping[str, str] | None, api_key: object) -> _Settings:
    """The settings of a client tracked with ``provider`` (a provider id of the tables),
    checked as ``track()`` checks them: a budget counts in its own ledger, the unknown-model
    policy is one costbook has, each deployment name maps to a model of the provider, and no
    tag holds the client's API key (a string of 8 characters or more)."""
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
    settings = _Settings(provider, ledger, budget, tags,
                         api_key if isinstance(api_key, str) and len(api_key) >= 8 else None,
                         unknown_models, _deployments(models, provider))
    settings.check_tags(settings.tags)
    return settings


def mark_tracked(client: Any, settings: _Settings,
                 install: Callable[[Any, _Settings], Any]) -> Any:
    """``client`` marked as tracked, its ``with_options`` and ``copy`` giving copies that
    ``install`` tracks with the same settings."""
    copy = client.with_options

    @functools.wraps(copy)
    def tracked_copy(*args: Any, **kwargs: Any) -> Any:
        return install(copy(*args, **kwargs), settings)

    client.with_options = client.copy = tracked_copy
    setattr(client, _TRACKED, True)
    return client


def _raw_mode(kwargs: Mapping[str, Any]) -> str | None:
    headers = kwargs.get("extra_headers")
    if not headers:
        return None
    mode = headers.get(RAW_RESPONSE_HEADER)
    return mode if isinstance(mode, str) else None


def _request_body(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The request body the SDK will send, less the SDK's "not given" markers, with the
    caller's ``extra_body`` merged in as the SDK merges it."""
    body = {
        k: v for k, v in kwargs.items()
        if k not in _NOT_BODY and type(v).__name__ not in ("NotGiven", "Omit")
    }
    extra = kwargs.get("extra_body")
    if isinstance(extra, Mapping):
        body.update(extra)
    return body


class _Call:
    """One tracked call: its estimate and holds before sending, its entry after."""

    def __init__(self, settings: _Settings, api: str, body: dict[str, Any],
                 estimate: Estimate | None = None, *, estimated: bool = False,
                 problem: Exception | None = None) -> None:
        """``estimated``: ``estimate`` was made for another API's body (Anthropic's), None
        when it could not be made (``problem`` says why; none for a model no table
        knows); else the body is estimated here.

        The fit of a request (context window, max output) never refuses it: a misfit is
        warned about once per model and the call is sent. Only a budget, a ``max_cost``
        block or ``unknown_models="refuse"`` refuse a call; each refusal is recorded
        with status ``refused``."""
        self.settings = settings
        self.api = api
        self.started = time.perf_counter()
        self.body = body
        asked = body.get("model")
        self.asked_ref = asked if isinstance(asked, str) else None
        if estimated:
            self.estimate: Estimate | None = estimate
            self.asked: Model | None = (
                None if estimate is None
                else catalog().resolve(estimate.model, estimate.provider)
            )
        else:
            self.estimate, self.asked, problem = _preflight(settings, body)
        budget = settings.budget
        # a budget's tags always go on the entry, or its cost would not count against it
        self.tags = {**settings.tags, **current_tags(), **(budget.tags if budget else {})}
        settings.check_tags(self.tags)
        self.ledger = settings.ledger or ledger_for_call()
        self.holds: list[_Hold] = []
        self.reservation: Reservation | None = None
        self.done = False
        estimate = self.estimate
        if estimate is not None and estimate.misfit is not None:
            warn_misfit(estimate)
        scopes = active_scopes()
        if estimate is None:
            refused_by = _refuses_unestimated(settings, scopes, problem)
            if refused_by is not None:
                self._refused(refused_by)
                if problem is not None:
                    raise unestimated_refusal(problem, refused_by) from None
                raise _unknown_model_refusal(settings, str(asked))
            if problem is not None:
                warn_unestimated(self.asked_ref, settings.provider, problem)
        high = estimate.high.total if estimate is not None else Decimal(0)
        try:
            for scope in scopes:
                self.holds.append(scope.admit(high))
            if budget is not None and estimate is not None:
                # renewed while the call runs, however long it takes (a stream, retries)
                self.reservation = budget.reserve(high).keep_alive()
        except BudgetExceeded:
            self._release()
            self._refused(scope_label(scopes[len(self.holds)])
                          if len(self.holds) < len(scopes) else budget_label(budget))
            raise
        except BaseException:
            self._release()
            raise

    def _refused(self, refused_by: str) -> None:
        """Record this call as refused by ``refused_by`` before it was sent."""
        self.done = True
        if not self.settings.record_refusals:
            return
        record_refusal(self.ledger, model=self.asked,
                       ref=self.asked_ref, provider=self.settings.provider,
                       estimate=self.estimate, tags=self.tags, refused_by=refused_by)

    @classmethod
    def begin(
        cls, settings: _Settings, api: str, kwargs: dict[str, Any]
    ) -> tuple[_Call, dict[str, Any], bool]:
        """Estimate and hold before sending; for a streamed chat completion, ask for the
        usage chunk if the caller did not (and say that it is to be hidden from them)."""
        body = _request_body(kwargs)
        hide = False
        if api == "chat" and body.get("stream"):
            options = dict(body.get("stream_options") or {})
            if not options.get("include_usage"):
                hide = True
                kwargs = {**kwargs, "stream_options": {**options, "include_usage": True}}
        return cls(settings, api, body), kwargs, hide

    def answered(self, response: Any) -> None:
        """Record a whole (non-streamed) answer."""
        self.finish(response, _answer_text(response, self.api), complete=True)

    def finish(self, payload: Any, text: str, *, complete: bool) -> None:
        """Record the call from its final payload; without usage in it, the usage known so
        far (counted input and output) is recorded as ``incomplete``; with a usage that
        cannot be read as given, what could be read (and counted) as ``invalid_usage``."""
        if self.done:
            return
        payload = payload if payload is not None else {}
        try:
            answer = usage_from_response(payload, provider=self.settings.provider)
        except (ValueError, TypeError) as exc:
            self._finish_invalid(payload, text, str(exc))
            return
        usage = answer.usage
        status = "ok" if complete and usage is not None else "incomplete"
        if usage is None:
            usage = self._counted_usage(text)
        self._price_and_record(answer, usage, status)

    def _finish_invalid(self, payload: Any, text: str, problem: str) -> None:
        salvage = salvage_response(payload, problem, provider=self.settings.provider)
        answer = salvage.answer
        counted = self._counted_usage(text)
        counts = (answer.usage or Usage(requests=1)).as_dict()
        if "input" in salvage.unread:
            parts = counts["cache_read_tokens"] + counts["cache_write_tokens"]
            counts["input_tokens"] = max(counted.input_tokens, parts)
            counts["images"] = max(counts["images"], counted.images)
        if "output" in salvage.unread:
            counts["output_tokens"] = max(counted.output_tokens, counts["reasoning_tokens"])
        warnings.warn(
            f"the answer's usage is invalid ({problem}); the answer is returned, and the call "
            "is recorded with status 'invalid_usage', the counts that could be read, counted "
            "tokens in place of the others, and the provider's reported cost",
            RuntimeWarning,
            stacklevel=4,
        )
        self._price_and_record(answer, Usage(**counts), "invalid_usage")

    def _price_and_record(self, answer: ResponseUsage, usage: Usage, status: str) -> None:
        cost, reason = answer_cost(answer, usage, self.settings.provider, self.asked,
                                   self.asked_ref, self.body.get("service_tier"))
        if reason is not None:
            # the call happened: record what is known, at what the provider charged
            warn_unpriced(cost, reason, answer.reported_cost, stacklevel=6)
            status = "unpriced"
        self._record(cost, status, answer.request_id, answer.reported_cost)

    def failed(self, exc: BaseException) -> None:
        """Record a call the API refused or that never got an answer."""
        if self.done:
            return
        # a zero-cost entry: committing the holds with it releases what they held
        model = self.asked
        cost = Cost(total=Decimal(0), items={},
                    model=model.id if model is not None else str(self.asked_ref),
                    provider=model.provider if model is not None else self.settings.provider,
                    usage=Usage(requests=0))
        request_id = getattr(exc, "request_id", None)
        self._record(cost, "error", request_id if isinstance(request_id, str) else None, None)

    def _counted_usage(self, text: str) -> Usage:
        from ..tokens._tokens import counter_for, text_counter

        if self.estimate is not None and self.asked is not None:
            output = counter_for(self.asked).count(text) if text else 0
            return Usage(input_tokens=self.estimate.input_tokens, output_tokens=output,
                         images=self.estimate.images)
        # a model no table knows: its tokens are approximated with the commonest encoding
        import json

        counter = text_counter("o200k_base")
        sent = self.body.get("messages", self.body.get("input"))
        prompt = json.dumps(sent, default=str, ensure_ascii=False) if sent else ""
        return Usage(input_tokens=counter.count(prompt),
                     output_tokens=counter.count(text) if text else 0)

    def _record(self, cost: Cost, status: str, request_id: str | None,
                reported_cost: Decimal | None) -> None:
        """One entry; with a budget, recorded and settled in one transaction. A ledger that
        cannot be written keeps the entry in its spool: the caller still gets the answer
        (or the SDK's own error)."""
        self.done = True
        asked = self.asked_ref if self.asked_ref != cost.model else None
        details: dict[str, Any] = dict(
            tags=self.tags, request_id=self._safe_id(request_id), reported_cost=reported_cost,
            estimate=self.estimate, status=status, duration=time.perf_counter() - self.started,
            asked_model=asked,
        )
        try:
            if self.reservation is not None:
                entry = self.reservation.commit(cost, spool=True, **details)
            else:
                entry = self.ledger.keep(make_entry(cost, **details))
        except BaseException:
            self._release()
            raise
        for hold in self.holds:
            hold.commit(entry)

    def _safe_id(self, request_id: str | None) -> str | None:
        """The request id, or None (with a warning) when it holds the client's API key or
        is shaped like a key: the call is recorded without it rather than lost."""
        if request_id is None:
            return None
        if _holds_key(request_id, self.settings.api_key) or SECRET.search(request_id):
            warnings.warn(
                "the answer's request id looks like an API key (or holds the client's); the "
                "call is recorded without it",
                RuntimeWarning,
                stacklevel=5,
            )
            return None
        return request_id

    def _release(self) -> None:
        for hold in self.holds:
            hold.release()
        if self.reservation is not None and self.reservation.open:
            self.reservation.release()


def _preflight(settings: _Settings, body: dict[str, Any]) -> tuple[
        Estimate | None, Model | None, Exception | None]:
    """The estimate of a request and the model it asks for; with several candidates (a
    router's ``models`` list), the estimate of the most expensive known one. ``(None,
    None, problem)`` when none could be estimated: ``problem`` is why the model asked for
    could not be (None when no table knows it)."""
    asked = body.get("model")
    candidates = [asked]
    others = body.get("models")
    if isinstance(others, (list, tuple)):
        candidates += [ref for ref in others if isinstance(ref, str) and ref != asked]
    best: Estimate | None = None
    model: Model | None = None
    problem: Exception | None = None
    for number, ref in enumerate(candidates):
        target = settings.models.get(ref, ref) if isinstance(ref, str) else ref
        try:
            found = request_estimate(body if target == asked else {**body, "model": target},
                                     provider=settings.provider, strict=False)
        except UnknownModelError:
            continue
        except (ValueError, CostbookError) as exc:
            if number == 0:
                problem = exc  # a part no table prices, a body costbook cannot read, ...
            continue  # a fallback that cannot take the request is not one it will use
        if best is None or found.high.total > best.high.total:
            best = found
        if model is None:
            model = catalog().resolve(found.model, found.provider)
    return best, model, None if best is not None else problem


def _refuses_unestimated(settings: _Settings, scopes: list[Any],
                         problem: Exception | None) -> str | None:
    """What refuses a call that could not be estimated (``problem``: why; None for a model
    no table knows) before sending, or None: it is sent."""
    if settings.unknown_models == "refuse" and problem is None:
        return "unknown_models='refuse'"
    if settings.unknown_models == "allow":
        return None
    if settings.budget is not None:
        return budget_label(settings.budget)
    for scope in scopes:
        if scope.limit is not None:
            return scope_label(scope)
    return None


def _unknown_model_refusal(settings: _Settings, ref: str) -> UnknownModelError:
    policy = settings.unknown_models
    why = ("track(..., unknown_models='refuse') was given" if policy == "refuse"
           else "a budget or max_cost limit is in force and its cost cannot be held")
    name = ref.strip() or ref
    return UnknownModelError(
        ref,
        catalog().suggest(name, settings.provider),
        detail=(
            f"at provider {settings.provider!r}: the call was not sent, as {why}. To send "
            "it, track the client with unknown_models='allow' (nothing is held before the "
            "call; its reported charge counts after it), map the name to a known model with "
            f"models={{{name!r}: '<model>'}}, or give it a rate in a pricing table of your "
            "own (costbook.load(path) or COSTBOOK_PRICING_PATH)"
        ),
    )


def _answer_text(response: Any, api: str) -> str:
    """The text of an answer, for counting its output when it reports no usage."""
    if api == "responses":
        return str(getattr(response, "output_text", "") or "")
    parts = []
    for choice in getattr(response, "choices", None) or []:
        message = getattr(choice, "message", None)
        content = getattr(message, "content", getattr(choice, "text", None))
        if isinstance(content, str):
            parts.append(content)
    return "".join(parts)
