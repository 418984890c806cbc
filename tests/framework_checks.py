"""What the framework tests (``tests/frameworks/``) check of every run: each request the
local server got recorded once, at its price; refusals found through a framework's own
exceptions."""

from __future__ import annotations

import builtins
import importlib
import os
from decimal import Decimal
from typing import Any

import pytest

from costbook import BudgetExceeded, Ledger

# gpt-4o-mini: 25 input tokens at $0.15/M, 10 output tokens at $0.60/M
GPT_4O_MINI_CALL = Decimal("0.00000975")
# claude-sonnet-4-6: 25 input tokens at $3/M, 10 output tokens at $15/M
CLAUDE_CALL = Decimal("0.000225")
REPLY = "Hello from the local server."
_GROUP: Any = getattr(builtins, "BaseExceptionGroup", ())


def framework(module: str, install: str) -> Any:
    """The framework's module, imported; without it the test file is skipped, saying what
    to install, unless ``COSTBOOK_TEST_FRAMEWORKS`` names it (comma-separated), as
    ``.ci/frameworks`` does in each framework's environment: then it must be there."""
    required = {n.strip() for n in os.environ.get("COSTBOOK_TEST_FRAMEWORKS", "").split(",")}
    if module in required:
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"needs {install} (see .ci/frameworks)")


def refused_by_budget(error: BaseException) -> bool:
    """Whether ``error`` is, or was raised from, a costbook refusal (a framework may wrap
    what its model raised)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, BudgetExceeded):
            return True
        if _GROUP and isinstance(seen, _GROUP):
            return any(refused_by_budget(inner) for inner in seen.exceptions)
        seen = seen.__cause__ or seen.__context__
    return False


def once_each(ledger: Ledger, server: Any, path: str, cost: Decimal) -> None:
    """Every request the server got on ``path`` is recorded once, ok, at ``cost``."""
    sent = [r for r in server.requests if r.path == path]
    entries = ledger.entries()
    assert sent, f"no request reached {path}"
    assert len(entries) == len(sent), (len(entries), len(sent))
    assert [e.status for e in entries] == ["ok"] * len(sent)
    assert [e.total for e in entries] == [cost] * len(sent)
    named = [e.request_id for e in entries if e.request_id is not None]
    assert len(set(named)) == len(named), named  # no answer recorded twice
