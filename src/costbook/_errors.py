"""The exceptions costbook raises, each saying what was wrong and what would be right."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal


class CostbookError(Exception):
    """Base class of costbook's own errors."""


class UnknownModelError(CostbookError, LookupError):
    """A model ref that no pricing table knows; the message lists the closest known refs."""

    def __init__(self, ref: str, suggestions: Sequence[str] = (), *, detail: str = "") -> None:
        self.ref = ref
        self.suggestions = list(suggestions)
        message = f"unknown model {ref!r}"
        if detail:
            message += f" {detail}"
        if self.suggestions:
            message += "; closest known: " + ", ".join(self.suggestions)
        super().__init__(message)


class UnknownProviderError(CostbookError, LookupError):
    """A provider that no pricing table describes."""

    def __init__(self, provider: str, known: Sequence[str]) -> None:
        self.provider = provider
        super().__init__(f"unknown provider {provider!r}; known providers: {', '.join(known)}")


class PricingError(CostbookError, ValueError):
    """A pricing table is invalid, or a usage cannot be priced with the rates it has."""


class ContextWindowExceeded(CostbookError, ValueError):
    """A request's input plus its requested output do not fit the model's context window."""

    def __init__(self, model: str, input_tokens: int, output_tokens: int, window: int,
                 *, approximate: str | None = None) -> None:
        self.model = model
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.context_window = window
        self.approximate = approximate
        note = f" (the input count is approximate: {approximate})" if approximate else ""
        super().__init__(
            f"{model}: {input_tokens} input tokens + {output_tokens} output tokens = "
            f"{input_tokens + output_tokens}, more than its context window of {window} "
            f"tokens{note}"
        )


class BudgetExceeded(CostbookError):
    """A reservation would take spend past a budget's limit. ``limit``, ``spent``,
    ``reserved`` and ``asked`` give the numbers, where the refusal knows them."""

    def __init__(
        self,
        message: str,
        *,
        limit: Decimal | None = None,
        spent: Decimal | None = None,
        reserved: Decimal | None = None,
        asked: Decimal | None = None,
    ) -> None:
        super().__init__(message)
        self.limit = limit
        self.spent = spent
        self.reserved = reserved
        self.asked = asked


class CostLimitExceeded(CostbookError, AssertionError):
    """The calls made inside a ``max_cost`` block cost more than its limit."""


class LedgerError(CostbookError):
    """A ledger file cannot be used: not a costbook ledger, corrupt, locked, or too new."""


# Shown in tracebacks and test reports under the name users import them by.
for _error in (CostbookError, UnknownModelError, UnknownProviderError, PricingError,
               ContextWindowExceeded, BudgetExceeded, CostLimitExceeded, LedgerError):
    _error.__module__ = "costbook"
del _error
