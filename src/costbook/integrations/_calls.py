"""Calls seen through another library's callbacks: held against budgets before they are
sent, priced and recorded when they end, keyed by the library's own call id."""

from __future__ import annotations

import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._errors import BudgetExceeded, UnknownModelError
from ..client._call import _Call, _Settings
from ..client._record import record_response
from ..client._scopes import active_scopes, ledger_for_call
from ..pricing._catalog import catalog
from ..records._tags import check_tags, current_tags

if TYPE_CHECKING:
    from ..budgets._budget import Budget
    from ..ledger._ledger import Ledger
    from ..records._entry import Entry

STALE_AFTER = 24 * 3600.0
"""Seconds after which a call that never ended is dropped (its holds released)."""
REMEMBERED = 10_000
"""How many ended calls are remembered, so that a call reported twice is recorded once."""


@dataclass
class _Pending:
    provider: str
    tags: dict[str, str]
    call: _Call | None
    started: float = field(default_factory=time.monotonic)


class CallBook:
    """The calls one handler has seen start and not yet seen end."""

    def __init__(
        self,
        *,
        ledger: Ledger | None,
        budget: Budget | None,
        provider: str | None,
        tags: Mapping[str, str] | None,
        owner: str,
    ) -> None:
        if budget is not None:
            if ledger is not None and ledger is not budget.ledger:
                raise ValueError(
                    "the budget counts the spend in its own ledger; give the budget's ledger, "
                    "or no ledger, so that the calls count against the budget"
                )
            ledger = budget.ledger
        self.ledger = ledger
        self.budget = budget
        self.provider = None if provider is None else catalog().provider(provider).id
        self.tags = check_tags(tags)
        self.owner = owner
        self._calls: dict[Hashable, _Pending] = {}
        self._ended: OrderedDict[Hashable, None] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, key: Hashable, body: Mapping[str, Any], provider: str | None, *,
              refusable: bool = True) -> None:
        """Estimate the call and hold its high bound against the budget and any open
        ``max_cost`` block. Raises :class:`BudgetExceeded` to refuse the call (and
        :class:`UnknownModelError` when a budget or block is to be enforced on a model no
        table prices, or the error that kept it from being estimated); a refusal is
        recorded with status ``refused`` when ``refusable`` (the library does not send a
        call its callback refuses). Without a limit, any problem is warned about, and the
        call is then recorded from its answer alone."""
        with self._lock:
            if key in self._calls:
                return  # the same call seen again by a second hook
            self._ended.pop(key, None)  # a new attempt of a call that ended (a retry)
        self._drop_stale()
        chosen = self.provider or provider
        tags = {**self.tags, **current_tags()}
        enforced = self.budget is not None or bool(active_scopes())
        call: _Call | None = None
        if chosen is None:
            if enforced:
                raise UnknownModelError(
                    str(body.get("model")),
                    detail=f"(cannot tell which provider bills it; give {self.owner} "
                    "provider=, so that the budget can hold what it may cost)",
                )
            self._warn(f"cannot tell which provider bills model {body.get('model')!r}; give "
                       f"{self.owner} provider=. The call is not recorded.")
        else:
            settings = _Settings(chosen, self.ledger, self.budget, self.tags,
                                 record_refusals=refusable)
            try:
                call = _Call(settings, "chat", dict(body))
            except BudgetExceeded:
                raise
            except Exception as exc:
                if enforced:
                    raise
                self._warn(f"the call to {body.get('model')!r} could not be estimated ({exc}); "
                           "it is sent, and recorded from its answer")
        if chosen is not None:
            with self._lock:
                self._calls[key] = _Pending(chosen, tags, call)

    def answered(self, key: Hashable, payload: Mapping[str, Any], text: str, *,
                 complete: bool = True, provider: str | None = None) -> Entry | None:
        """Record a call from its answer (``payload`` in a Chat Completions shape). Never
        raises: a problem is warned about."""
        if self._ended_already(key):
            return None
        pending = self._pop(key)
        try:
            if pending is not None and pending.call is not None:
                payload, complete = self._completed(pending.call, payload, text, complete)
                pending.call.finish(payload, text, complete=complete)
                return None
            chosen = pending.provider if pending else (self.provider or provider)
            if chosen is None:
                self._warn(f"cannot tell which provider bills model {payload.get('model')!r}; "
                           f"give {self.owner} provider=. The call is not recorded.")
                return None
            tags = pending.tags if pending else {**self.tags, **current_tags()}
            if self.budget is not None:
                tags = {**tags, **self.budget.tags}
            ledger = self.ledger or ledger_for_call()
            return record_response(dict(payload), ledger=ledger, provider=chosen, tags=tags)
        except Exception as exc:
            self._warn(f"the call to {payload.get('model')!r} could not be recorded ({exc})")
            return None

    def _completed(self, call: _Call, payload: Mapping[str, Any], text: str,
                   complete: bool) -> tuple[dict[str, Any], bool]:
        """The answer's payload (Chat Completions-shaped), with a usage that cannot be
        right completed: no input tokens for a prompt that was not empty. Its input is
        then counted, and the call is no longer ``complete`` (recorded ``incomplete``); a
        usage that reports neither input nor output counts as none, as the tracked
        clients count it."""
        payload = dict(payload)
        usage = payload.get("usage")
        if not isinstance(usage, Mapping) or usage.get("prompt_tokens"):
            return payload, complete
        counted = call._counted_usage(text)
        if counted.input_tokens == 0:
            return payload, complete  # an empty prompt: no input is right
        model = payload.get("model") or call.asked_ref
        if not usage.get("completion_tokens"):
            del payload["usage"]
            self._warn(f"the answer of {model!r} reports no tokens for a prompt of about "
                       f"{counted.input_tokens}; the call is recorded 'incomplete' with the "
                       "input and output counted")
            return payload, False
        details = usage.get("prompt_tokens_details")
        parts = 0
        if isinstance(details, Mapping):
            for name in ("cached_tokens", "cache_write_tokens"):
                value = details.get(name)
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    parts += value
        payload["usage"] = {**usage, "prompt_tokens": max(counted.input_tokens, parts)}
        self._warn(f"the answer of {model!r} reports no input tokens for a prompt of about "
                   f"{counted.input_tokens}; the call is recorded 'incomplete' with its "
                   "input counted")
        return payload, False

    def failed(self, key: Hashable, error: BaseException) -> None:
        """Record a call that got no answer (status ``error``). Never raises."""
        if self._ended_already(key):
            return
        pending = self._pop(key)
        if pending is None or pending.call is None:
            return  # refused before sending, or never estimated: nothing to record
        try:
            pending.call.failed(error)
        except Exception as exc:
            self._warn(f"the failed call could not be recorded ({exc})")

    def forget(self, key: Hashable) -> None:
        """Drop a call that was not sent after all, releasing what it held."""
        pending = self._pop(key)
        if pending is not None and pending.call is not None:
            try:
                pending.call._release()
            except Exception as exc:
                self._warn(f"a hold could not be released ({exc})")

    def pending(self) -> int:
        """How many calls started and have not ended."""
        with self._lock:
            return len(self._calls)

    def _ended_already(self, key: Hashable) -> bool:
        """Whether the call ``key`` was recorded already; marks it as recorded."""
        with self._lock:
            if key in self._ended:
                return True
            self._ended[key] = None
            if len(self._ended) > REMEMBERED:
                self._ended.popitem(last=False)
            return False

    def _pop(self, key: Hashable) -> _Pending | None:
        with self._lock:
            return self._calls.pop(key, None)

    def _drop_stale(self) -> None:
        now = time.monotonic()
        with self._lock:
            stale = [k for k, p in self._calls.items() if now - p.started > STALE_AFTER]
        for key in stale:
            self.forget(key)

    def _warn(self, message: str) -> None:
        warnings.warn(f"costbook: {message}", RuntimeWarning, stacklevel=4)
