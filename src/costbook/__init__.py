"""costbook: what an LLM API call will cost, what it did cost, and whether it may still spend.

Importing costbook does no I/O: pricing tables and tokenizers load on first use.
"""

from __future__ import annotations

import importlib

from ._calculator import estimate, price
from ._catalog import load
from ._cost import Cost
from ._errors import (
    BudgetExceeded,
    ContextWindowExceeded,
    CostbookError,
    CostLimitExceeded,
    LedgerError,
    PricingError,
    UnknownModelError,
    UnknownProviderError,
)
from ._usage import Usage

TYPE_CHECKING = False  # typing is not imported at run time, to keep `import costbook` fast
if TYPE_CHECKING:
    from typing import Any

    from ._assertions import assert_estimate
    from ._budget import Budget, Reservation
    from ._catalog import Catalog, catalog
    from ._entry import Entry
    from ._estimate import Estimate, estimate_request
    from ._images import image_tokens
    from ._ledger import Ledger
    from ._model import Model
    from ._paths import default_ledger_path
    from ._record import record_response
    from ._response_usage import ResponseUsage, usage_from_response
    from ._scopes import max_cost
    from ._tags import tagged
    from ._tokens import count_message_tokens, count_tokens
    from ._tracking import track

__version__ = "0.1.0"

# Public names whose modules are imported on first use, to keep `import costbook` fast.
_LAZY: dict[str, str] = {
    "Catalog": "costbook._catalog",
    "catalog": "costbook._catalog",
    "Model": "costbook._model",
    "Ledger": "costbook._ledger",
    "Entry": "costbook._entry",
    "Budget": "costbook._budget",
    "Reservation": "costbook._budget",
    "default_ledger_path": "costbook._paths",
    "Estimate": "costbook._estimate",
    "estimate_request": "costbook._estimate",
    "count_tokens": "costbook._tokens",
    "count_message_tokens": "costbook._tokens",
    "image_tokens": "costbook._images",
    "ResponseUsage": "costbook._response_usage",
    "usage_from_response": "costbook._response_usage",
    "track": "costbook._tracking",
    "record_response": "costbook._record",
    "tagged": "costbook._tags",
    "max_cost": "costbook._scopes",
    "assert_estimate": "costbook._assertions",
}

__all__ = [
    "Budget",
    "BudgetExceeded",
    "Catalog",
    "ContextWindowExceeded",
    "Cost",
    "CostLimitExceeded",
    "CostbookError",
    "Entry",
    "Estimate",
    "Ledger",
    "LedgerError",
    "Model",
    "PricingError",
    "Reservation",
    "ResponseUsage",
    "UnknownModelError",
    "UnknownProviderError",
    "Usage",
    "__version__",
    "assert_estimate",
    "catalog",
    "count_message_tokens",
    "count_tokens",
    "default_ledger_path",
    "estimate",
    "estimate_request",
    "image_tokens",
    "load",
    "max_cost",
    "price",
    "record_response",
    "tagged",
    "track",
    "usage_from_response",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'costbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
