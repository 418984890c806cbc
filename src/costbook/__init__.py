"""costbook: what an LLM API call will cost, what it did cost, and whether it may still spend.

Importing costbook does no I/O: pricing tables and tokenizers load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from ._catalog import Catalog, catalog
    from ._model import Model

__version__ = "0.1.0"

# Public names whose modules are imported on first use, to keep `import costbook` fast.
_LAZY: dict[str, str] = {
    "Catalog": "costbook._catalog",
    "catalog": "costbook._catalog",
    "Model": "costbook._model",
}

__all__ = [
    "BudgetExceeded",
    "Catalog",
    "ContextWindowExceeded",
    "Cost",
    "CostLimitExceeded",
    "CostbookError",
    "LedgerError",
    "Model",
    "PricingError",
    "UnknownModelError",
    "UnknownProviderError",
    "Usage",
    "__version__",
    "catalog",
    "estimate",
    "load",
    "price",
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
