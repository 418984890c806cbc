"""docs/cli.md is what the argument parser says: regenerated, it is the same page."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("cli_reference",
                                                  ROOT / "scripts" / "cli_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_cli_reference_is_up_to_date():
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert page == _script().render(), "run: python scripts/cli_reference.py"


def test_the_reference_names_every_command_and_option():
    from costbook.cli._main import build_parser

    page = _script().render()
    for action in build_parser()._actions:
        for name in getattr(action, "choices", None) or ():
            assert f"## `costbook {name}`" in page
    assert "`--input N`" in page and "`--ledger PATH`" in page
