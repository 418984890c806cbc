"""Where the per-user tables live: the folder ``costbook sync`` writes to, read by the
catalog after the bundled tables."""

from __future__ import annotations

import os
import sys
from pathlib import Path

TABLES_DIR_ENV = "COSTBOOK_TABLES_DIR"


def user_tables_dir() -> Path:
    """The per-user tables folder: the ``COSTBOOK_TABLES_DIR`` environment variable when
    set, else ``tables`` in costbook's per-user data folder
    (``platformdirs.user_data_path("costbook")``: ``~/.local/share/costbook/tables`` on
    Linux, ``~/Library/Application Support/costbook/tables`` on macOS,
    ``%LOCALAPPDATA%\\costbook\\tables`` on Windows)."""
    configured = os.environ.get(TABLES_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    if sys.platform.startswith("linux"):
        # platformdirs' rule on Linux, without importing it on the way to the first price
        data = os.environ.get("XDG_DATA_HOME", "").strip() or "~/.local/share"
        return Path(data).expanduser() / "costbook" / "tables"
    import platformdirs

    return platformdirs.user_data_path("costbook", appauthor=False) / "tables"
