"""costbook: what an LLM API call will cost, what it did cost, and whether it may still spend.

Importing costbook does no I/O: pricing tables and tokenizers load on first use.
"""

from __future__ import annotations

import importlib

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
from .pricing._calculator import estimate, price
from .pricing._catalog import load
from .pricing._cost import Cost
from .pricing._usage import Usage

TYPE_CHECKING = False  # typing is not imported at run time, to keep `import costbook` fast
if TYPE_CHECKING:
    from typing import Any

    from .budgets._budget import Budget, Reservation
    from .client._batches import BatchRecord, record_batch
    from .client._record import record_response
    from .client._response_usage import ResponseUsage, usage_from_response
    from .client._scopes import max_cost
    from .client._tracking import track
    from .ledger._ledger import Ledger
    from .ledger._paths import default_ledger_path
    from .pricing._catalog import Catalog, catalog
    from .pricing._compare import Unpriced, compare
    from .pricing._model import Model
    from .reconcile._import import import_usage
    from .reconcile._reconcile import Reconciliation, reconcile_with
    from .records._entry import Entry
    from .records._tags import tagged
    from .sources._audit import AuditReport, audit
    from .sources._auto_sync import AutoSync, auto_sync
    from .sources._catalog_sync import CatalogSyncReport, sync_catalog
    from .sources._sync import SyncError, SyncReport, sync
    from .testing._assertions import assert_estimate
    from .tokens._estimate import Estimate, estimate_request
    from .tokens._images import image_tokens
    from .tokens._messages import estimate_messages
    from .tokens._tokens import count_message_tokens, count_tokens

__version__ = "0.1.0"

# Public names whose modules are imported on first use, to keep `import costbook` fast.
_LAZY: dict[str, str] = {
    "Catalog": "costbook.pricing._catalog",
    "catalog": "costbook.pricing._catalog",
    "Model": "costbook.pricing._model",
    "compare": "costbook.pricing._compare",
    "Unpriced": "costbook.pricing._compare",
    "sync": "costbook.sources._sync",
    "SyncReport": "costbook.sources._sync",
    "SyncError": "costbook.sources._sync",
    "sync_catalog": "costbook.sources._catalog_sync",
    "CatalogSyncReport": "costbook.sources._catalog_sync",
    "audit": "costbook.sources._audit",
    "AuditReport": "costbook.sources._audit",
    "auto_sync": "costbook.sources._auto_sync",
    "AutoSync": "costbook.sources._auto_sync",
    "Ledger": "costbook.ledger._ledger",
    "Entry": "costbook.records._entry",
    "Budget": "costbook.budgets._budget",
    "Reservation": "costbook.budgets._budget",
    "default_ledger_path": "costbook.ledger._paths",
    "Estimate": "costbook.tokens._estimate",
    "estimate_request": "costbook.tokens._estimate",
    "estimate_messages": "costbook.tokens._messages",
    "count_tokens": "costbook.tokens._tokens",
    "count_message_tokens": "costbook.tokens._tokens",
    "image_tokens": "costbook.tokens._images",
    "ResponseUsage": "costbook.client._response_usage",
    "usage_from_response": "costbook.client._response_usage",
    "track": "costbook.client._tracking",
    "record_response": "costbook.client._record",
    "record_batch": "costbook.client._batches",
    "BatchRecord": "costbook.client._batches",
    "tagged": "costbook.records._tags",
    "max_cost": "costbook.client._scopes",
    "assert_estimate": "costbook.testing._assertions",
    "reconcile_with": "costbook.reconcile._reconcile",
    "Reconciliation": "costbook.reconcile._reconcile",
    "import_usage": "costbook.reconcile._import",
}

__all__ = [
    "AuditReport",
    "AutoSync",
    "BatchRecord",
    "Budget",
    "BudgetExceeded",
    "Catalog",
    "CatalogSyncReport",
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
    "Reconciliation",
    "Reservation",
    "ResponseUsage",
    "SyncError",
    "SyncReport",
    "UnknownModelError",
    "UnknownProviderError",
    "Unpriced",
    "Usage",
    "__version__",
    "assert_estimate",
    "audit",
    "auto_sync",
    "catalog",
    "compare",
    "count_message_tokens",
    "count_tokens",
    "default_ledger_path",
    "estimate",
    "estimate_messages",
    "estimate_request",
    "image_tokens",
    "import_usage",
    "load",
    "max_cost",
    "price",
    "reconcile_with",
    "record_batch",
    "record_response",
    "sync",
    "sync_catalog",
    "tagged",
    "track",
    "usage_from_response",
]


def __getattr__(name: str) -> Any:
    if name == "otel":  # a submodule, imported on first use
        return importlib.import_module("costbook.otel")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'costbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
