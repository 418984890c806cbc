"""Build hook: compile the YAML pricing tables into the JSON that the installed package
reads (see ``costbook.pricing._bundle``)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileTables(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "compile-tables"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        root = Path(self.root)
        sys.path.insert(0, str(root / "src"))
        try:
            from costbook.pricing._bundle import compile_tables
        finally:
            sys.path.pop(0)
        out = Path(tempfile.mkdtemp(prefix="costbook-tables-"))
        for path in compile_tables(root / "pricing", out):
            build_data["force_include"][str(path)] = f"costbook/tables/{path.name}"
        build_data["force_include"][str(root / "pricing" / "schema.json")] = (
            "costbook/tables/schema.json"
        )
