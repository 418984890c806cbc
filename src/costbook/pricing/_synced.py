"""The tables synced from the public catalogs, as the catalog reads them, and which one
prices each model.

Each catalog's sync writes a generation: a folder of one compiled table per provider
(``catalogs/<source>@<stamp>/<provider>.json`` in the per-user tables folder) and then,
atomically, the manifest ``catalogs/<source>.json`` naming it. A catalog built before a
sync keeps reading the generation it started with, so nothing ever sees half a sync.

Where several catalogs price the same model at the same provider, the one checked most
recently wins, unless the user orders them: ``COSTBOOK_SOURCES=litellm,genai-prices``, or
``{"order": ["litellm", "genai-prices"]}`` in ``catalogs/sources.json`` in the per-user
tables folder.
Sources not named come after those named.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

from .._errors import PricingError
from ._provider_tables import PendingTable, Provider

SOURCES_ENV = "COSTBOOK_SOURCES"
ORDER_FILE = "sources.json"
FOLDER = "catalogs"
CATALOG_IDS = ("genai-prices", "litellm", "models.dev")
"""The public catalogs, in the order used when two were checked the same day."""


def catalogs_dir(tables_dir: Path | None = None) -> Path:
    """Where the synced catalogs live: ``catalogs`` in the per-user tables folder."""
    from ._user_tables import user_tables_dir

    return (tables_dir or user_tables_dir()) / FOLDER


def manifest_path(source: str, tables_dir: Path | None = None) -> Path:
    return catalogs_dir(tables_dir) / f"{source}.json"


def read_manifest(source: str, tables_dir: Path | None = None) -> dict[str, Any] | None:
    """The manifest of ``source``'s current generation, or None when never synced."""
    path = manifest_path(source, tables_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise PricingError(f"{path}: cannot read the synced catalog's manifest: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("providers"), list) \
            or not isinstance(data.get("folder"), str):
        raise PricingError(f"{path}: not a synced catalog's manifest; sync again")
    return data


def source_order(tables_dir: Path | None = None) -> list[str]:
    """The order the user gives the catalogs (``COSTBOOK_SOURCES``, else ``order`` in
    ``sources.json``), or an empty list: then the most recent check wins."""
    text = os.environ.get(SOURCES_ENV, "").strip()
    if text:
        names = [n.strip().lower() for n in text.split(",") if n.strip()]
        where = f"{SOURCES_ENV}={text!r}"
    else:
        path = catalogs_dir(tables_dir) / ORDER_FILE
        if not path.is_file():
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PricingError(f"{path}: not valid JSON: {exc}") from None
        order = data.get("order") if isinstance(data, dict) else None
        if not isinstance(order, list) or not all(isinstance(n, str) for n in order):
            raise PricingError(
                f'{path}: give the order as {{"order": ["litellm", "genai-prices", ...]}}')
        names = [n.strip().lower() for n in order]
        where = str(path)
    unknown = [n for n in names if n not in CATALOG_IDS]
    if unknown:
        raise PricingError(
            f"{where}: unknown source {unknown[0]!r}; name some of {', '.join(CATALOG_IDS)}")
    return list(dict.fromkeys(names))


class _Winners:
    """One provider's entries across the synced catalogs, and which catalog wins each model
    (worked out once, when the provider is first needed)."""

    def __init__(self, files: dict[str, Path], order: list[str]) -> None:
        self._files = files
        self._order = order
        self._lock = threading.Lock()
        self._tables: dict[str, dict[str, Any]] | None = None

    def table(self, source: str) -> Mapping[str, Any]:
        with self._lock:
            if self._tables is None:
                self._tables = self._split()
            return self._tables[source]

    def _split(self) -> dict[str, dict[str, Any]]:
        read = {s: _read(path) for s, path in self._files.items()}
        best: dict[str, tuple[tuple[int, int, int], str, Any]] = {}
        for source, data in read.items():
            for entry in data.get("models") or ():
                key = str(entry["id"]).lower()
                rank = (
                    self._order.index(source) if source in self._order else len(self._order),
                    -_checked(entry).toordinal(),
                    CATALOG_IDS.index(source) if source in CATALOG_IDS else len(CATALOG_IDS),
                )
                if key not in best or rank < best[key][0]:
                    best[key] = (rank, source, entry)
        tables: dict[str, dict[str, Any]] = {}
        for source, data in read.items():
            tables[source] = {**data, "models": [e for r, s, e in best.values() if s == source]}
        return tables


def _checked(entry: Mapping[str, Any]) -> date:
    value = entry.get("checked")
    try:
        return date.fromisoformat(str(value)[:10]) if value else date.min
    except ValueError:
        return date.min


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PricingError(f"{path}: cannot read the synced table: {exc}") from None
    if not isinstance(data, dict):
        raise PricingError(f"{path}: not a synced table; sync again")
    return data


def synced_tables(tables_dir: Path | None = None) -> list[Any]:
    """The synced catalogs' tables, as the catalog takes them: one pending table per
    catalog and provider, each holding the models that catalog wins. A manifest that cannot
    be read is logged and left out (the other tables still price)."""
    folder = catalogs_dir(tables_dir)
    if not folder.is_dir():
        return []
    order = source_order(tables_dir)
    by_provider: dict[str, dict[str, tuple[Path, dict[str, Any]]]] = {}
    for source in CATALOG_IDS:
        try:
            manifest = read_manifest(source, tables_dir)
        except PricingError as exc:
            import logging  # only here: the first price does not import it

            logging.getLogger("costbook.sync").warning(
                "costbook: %s; its synced prices are not used", exc)
            continue
        if manifest is None:
            continue
        generation = folder / manifest["folder"]
        for item in manifest["providers"]:
            by_provider.setdefault(item["provider"], {})[source] = (
                generation / item["file"], item)
    tables: list[Any] = []
    for provider_id, sources in sorted(by_provider.items()):
        winners = _Winners({s: path for s, (path, _) in sources.items()}, order)
        for source, (path, item) in sources.items():
            provider = Provider(
                id=provider_id,
                name=item.get("name") or provider_id,
                pricing_url=item.get("pricing_url"),
                api_hosts=(),
                source=str(path),
                resells=bool(item.get("resells", False)),
            )
            tables.append(PendingTable(provider, partial(winners.table, source)))
    return tables


def source_label(path: str) -> str:
    """Which source a table file is: ``bundled``, ``litellm (synced)``, ``openrouter API
    (synced)``, or the path of the user's own table."""
    from ._bundle import bundled_pricing_dir
    from ._user_tables import user_tables_dir

    file = Path(path)
    try:
        if file.parent == bundled_pricing_dir():
            return "bundled"
    except PricingError:
        pass
    tables = user_tables_dir()
    if file.parent.parent == tables / FOLDER and "@" in file.parent.name:
        return f"{file.parent.name.split('@', 1)[0]} (synced)"
    if file.parent == tables:
        return f"{file.stem} API (synced)"
    return path
