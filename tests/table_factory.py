"""Pricing tables written by tests: a minimal valid table, with what a test needs changed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from costbook.pricing._catalog import Catalog
from costbook.pricing._tables import validate_table

# The YAML tables of this source tree (an installed package holds them compiled to JSON).
REPO_PRICING = Path(__file__).resolve().parents[1] / "pricing"

BASE_MODEL: dict[str, Any] = {
    "id": "tiny-1",
    "aliases": ["tiny-1-2025-01-01"],
    "context_window": 1000,
    "max_output_tokens": 100,
    "tokenizer": "o200k_base",
    "pricing_url": "https://example.com/pricing",
    "checked": "2025-06-01",
    "prices": [{"effective": "2025-01-01", "input": "1", "output": "2"}],
}


def model_entry(**changes: Any) -> dict[str, Any]:
    """A valid model entry with ``changes`` applied."""
    entry = copy.deepcopy(BASE_MODEL)
    entry.update(changes)
    return entry


def table_data(provider: str = "acme", *models: dict[str, Any]) -> dict[str, Any]:
    """A valid provider table holding ``models`` (default: one model)."""
    return {
        "provider": provider,
        "name": provider.title(),
        "pricing_url": "https://example.com/pricing",
        "models": list(models) or [model_entry()],
    }


def catalog_of(*tables: dict[str, Any]) -> Catalog:
    """A catalog of the given table dicts, validated as the YAML files would be."""
    return Catalog((validate_table(t, source=f"{t['provider']}.yaml"), "test") for t in tables)


def write_yaml(path: Path, text: str) -> Path:
    """Write a YAML table file and return its path."""
    path.write_text(text, encoding="utf-8")
    return path


def write_one_model_table(
    path: Path, *, provider: str, model: str, input_rate: str = "1", output_rate: str = "2",
    tokenizer: str = "o200k_base",
) -> Path:
    """Write a YAML table file, as a user would, with one model at one provider."""
    return write_yaml(path, f"""
provider: {provider}
name: {provider.title()}
pricing_url: https://example.com
models:
  - id: {model}
    context_window: 8000
    max_output_tokens: 1000
    tokenizer: {tokenizer}
    pricing_url: https://example.com
    checked: 2026-01-01
    prices: [{{effective: 2024-01-01, input: {input_rate}, output: {output_rate}}}]
""")


def table_generator() -> Any:
    """``scripts/generate_tables.py`` loaded as a module (once per process), for tests that
    check its rules or read the reference data the way it reads them."""
    import importlib.util
    import sys

    loaded = sys.modules.get("generate_tables")
    if loaded is not None:
        return loaded
    path = REPO_PRICING.parent / "scripts" / "generate_tables.py"
    spec = importlib.util.spec_from_file_location("generate_tables", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_tables"] = module
    spec.loader.exec_module(module)
    return module
