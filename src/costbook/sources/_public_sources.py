"""The public price catalogs costbook reads (genai-prices, LiteLLM, models.dev): what each
publishes, where, and which module converts it (into :class:`._converted.Converted`).

Each catalog is converted by its own module into costbook's table data, one table per
provider: rates as exact ``Decimal`` per million tokens (per unit for per-unit fees), with
prompt-size tiers, service tiers, price history and retirement dates where the catalog
states them. What costbook cannot price is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ._converted import Converted
from ._fetch import SyncError


@dataclass(frozen=True)
class CatalogSource:
    """A public catalog: its id, name, the URL of its data file and how to convert it."""

    id: str
    name: str
    url: str
    home: str
    convert: Callable[[Any, date], Converted]
    path: str
    """The data file's path under a base URL: ``v2/data.json``, ``api.json``, ..."""

    def url_under(self, base_url: str) -> str:
        """The data file's URL under ``base_url`` (a mirror of the catalog's folder)."""
        return base_url.rstrip("/") + "/" + self.path


def _sources() -> dict[str, CatalogSource]:
    from ._genai_prices import convert as genai
    from ._litellm_prices import convert as litellm
    from ._models_dev import convert as models_dev

    return {
        "genai-prices": CatalogSource(
            "genai-prices", "genai-prices",
            "https://raw.githubusercontent.com/pydantic/genai-prices/refs/heads/main/prices/"
            "new_data/v2/data.json",
            "https://github.com/pydantic/genai-prices", genai, "v2/data.json"),
        "litellm": CatalogSource(
            "litellm", "LiteLLM",
            "https://raw.githubusercontent.com/BerriAI/litellm/main/"
            "model_prices_and_context_window.json",
            "https://github.com/BerriAI/litellm", litellm,
            "model_prices_and_context_window.json"),
        "models.dev": CatalogSource(
            "models.dev", "models.dev", "https://models.dev/api.json",
            "https://models.dev", models_dev, "api.json"),
    }


from ..pricing._synced import CATALOG_IDS as CATALOG_IDS  # noqa: E402 - the catalogs named here


def catalog_source(name: str) -> CatalogSource:
    """The catalog named ``name``, or SyncError listing the known ones."""
    found = _sources().get(str(name).strip().lower())
    if found is None:
        raise SyncError(f"unknown price catalog {name!r}: give one of {', '.join(CATALOG_IDS)}")
    return found


def is_catalog(name: str) -> bool:
    return str(name).strip().lower() in CATALOG_IDS
