"""Where the ledger lives when no path is given."""

from __future__ import annotations

import os
from pathlib import Path

LEDGER_ENV = "COSTBOOK_LEDGER"
LEDGER_FILE = "ledger.sqlite"


def default_ledger_path() -> Path:
    """The ledger used when none is named: the ``COSTBOOK_LEDGER`` environment variable
    when set, else ``ledger.sqlite`` in the per-user data directory of costbook
    (``platformdirs.user_data_path("costbook")``: ``~/.local/share/costbook`` on Linux,
    ``~/Library/Application Support/costbook`` on macOS, ``%LOCALAPPDATA%\\costbook`` on
    Windows)."""
    configured = os.environ.get(LEDGER_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return platformdirs.user_data_path("costbook", appauthor=False) / LEDGER_FILE
