"""Calls a limit refused before sending, and requests the tables cannot judge.

A refused call is recorded: an entry with status ``refused``, cost 0 (it never counts as
spend), the estimate that was refused, the call's tags, and the limit that refused it in
the tag :data:`REFUSED_BY` (``budget $5.00 (today, UTC)``, ``max_cost $0.001``,
``unknown_models='refuse'``). A request past what a table knows of its model (context
window, max output) is never refused: it is warned about once per model, and sent.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from .._errors import CostbookError, PricingError
from ..pricing._cost import Cost
from ..pricing._money import usd
from ..pricing._usage import Usage
from ..records._entry import REFUSED_BY

if TYPE_CHECKING:
    from ..budgets._budget import Budget
    from ..ledger._ledger import Ledger
    from ..pricing._model import Model
    from ..records._entry import Entry
    from ..tokens._estimate import Estimate
    from ._scopes import max_cost

_lock = threading.Lock()
_warned: set[tuple[str, str, str]] = set()
_WINDOWS = {"total": "all time", "day": "today, UTC", "month": "this month, UTC"}


def budget_label(budget: Budget | None) -> str:
    """How a refusal names a budget: ``budget $5.00 (today, UTC, tags team=search)``."""
    if budget is None:
        return "budget"
    scope = _WINDOWS.get(budget.window, budget.window)
    if budget.tags:
        scope += ", tags " + " ".join(f"{k}={v}" for k, v in sorted(budget.tags.items()))
    return f"budget {usd(budget.limit)} ({scope})"


def scope_label(scope: max_cost) -> str:
    """How a refusal names a ``max_cost`` block: ``max_cost $0.001``."""
    return "max_cost" if scope.limit is None else f"max_cost {usd(scope.limit)}"


def record_refusal(
    ledger: Ledger,
    *,
    model: Model | None,
    ref: str | None,
    provider: str,
    estimate: Estimate | None,
    tags: Mapping[str, str],
    refused_by: str,
) -> Entry | None:
    """Record a call ``refused_by`` a limit before it was sent. Never raises: the
    refusal itself is what the caller gets (a ledger that cannot be written keeps the
    entry in its spool; anything else is warned about)."""
    from ..ledger._ledger import make_entry

    cost = Cost(
        total=Decimal(0),
        items={},
        model=model.id if model is not None else (ref or "(none)"),
        provider=model.provider if model is not None else provider,
        usage=Usage(requests=0),
    )
    try:
        entry = make_entry(cost, tags={**tags, REFUSED_BY: refused_by}, estimate=estimate,
                           status="refused", asked_model=ref if ref != cost.model else None)
        return ledger.keep(entry)
    except Exception as exc:  # the refusal is raised all the same
        warnings.warn(f"costbook: the refused call could not be recorded ({exc})",
                      RuntimeWarning, stacklevel=4)
        return None


def unestimated_refusal(problem: Exception, refused_by: str) -> Exception:
    """The error that refuses a call that could not be estimated under ``refused_by``:
    ``problem``, saying why the call was not sent (of the same class)."""
    if type(problem) not in (PricingError, CostbookError, ValueError):
        return problem
    return type(problem)(
        f"{problem}; the call was not sent, as {refused_by} is in force and the call's cost "
        "cannot be held (without a limit it is sent, and recorded from its answer)"
    )


def _first(kind: str, provider: str, model: str) -> bool:
    key = (kind, provider, model)
    with _lock:
        if key in _warned:
            return False
        _warned.add(key)
        return True


def warn_misfit(estimate: Estimate) -> None:
    """Warn, once per model, that a tracked request goes past what the table knows of
    its model; it is sent all the same, and the provider decides."""
    if not _first("misfit", estimate.provider, estimate.model):
        return
    warnings.warn(
        f"{estimate.misfit}. The call is sent all the same (the provider decides; a table's "
        f"limits inform estimates only), and budgets hold up to {usd(estimate.high.total)} "
        "for it. This is said once per model",
        RuntimeWarning,
        stacklevel=5,
    )


def warn_unestimated(ref: str | None, provider: str, problem: Exception) -> None:
    """Warn, once per model, that a tracked request could not be estimated; it is sent,
    and recorded from its answer (``unpriced`` where no table prices it)."""
    if not _first("unestimated", provider, str(ref)):
        return
    warnings.warn(
        f"the call to {ref!r} at {provider!r} could not be estimated ({problem}); it is "
        "sent, and recorded from its answer ('unpriced' where no table prices it). Under a "
        "budget or max_cost block such a call is refused, as its cost cannot be held. This "
        "is said once per model",
        RuntimeWarning,
        stacklevel=5,
    )
