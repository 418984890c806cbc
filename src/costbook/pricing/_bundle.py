"""The tables that ship with costbook.

An installed package holds them compiled: one JSON file per provider and a manifest
(``index.json``) naming each provider, its aliases and API hosts, so that a provider's
table is read only when a ref first needs it, and never through validation (the tables
are validated when the package is built, by the tests and by ``costbook check``). A source
tree reads ``pricing/*.yaml`` directly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from .._errors import PricingError
from ._provider_tables import PendingTable, Provider

MANIFEST = "index.json"
FORMAT = 1


def bundled_pricing_dir() -> Path:
    """The folder of the tables that ship with costbook (beside this package's modules;
    found without importlib.resources, which costs more to import than the tables do to
    read)."""
    packaged = Path(__file__).resolve().parents[1] / "tables"
    if packaged.is_dir():
        return packaged
    source_tree = Path(__file__).resolve().parents[3] / "pricing"
    if source_tree.is_dir():
        return source_tree
    raise PricingError(f"costbook's bundled pricing tables are missing (looked in {packaged})")


def bundled_tables() -> list[Any]:
    """The bundled tables, as the catalog takes them: pending per provider when compiled,
    else parsed now."""
    folder = bundled_pricing_dir()
    manifest = folder / MANIFEST
    if not manifest.is_file():
        from ._tables import read_table_data, table_files

        return [(read_table_data(f), str(f)) for f in table_files([folder])]
    index = json.loads(manifest.read_text(encoding="utf-8"))
    tables: list[Any] = []
    for entry in index["providers"]:
        path = folder / entry["file"]
        provider = Provider(
            id=entry["provider"],
            name=entry["name"],
            pricing_url=entry.get("pricing_url"),
            api_hosts=tuple(entry.get("api_hosts") or ()),
            source=str(path),
            aliases=tuple(entry.get("aliases") or ()),
            resells=bool(entry.get("resells", False)),
        )
        tables.append(PendingTable(provider, partial(_read_json, path)))
    return tables


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PricingError(f"{path}: cannot read costbook's bundled table: {exc}") from None


def compile_tables(source: Path, target: Path) -> list[Path]:
    """Write every table in ``source`` as compact JSON into ``target``, with the manifest.
    Returns the files written. Rates are written as decimal strings, dates as ISO text."""
    from ._tables import read_table_data, table_files

    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    providers: list[dict[str, Any]] = []
    for path in table_files([source]):
        if path.suffix == ".json":
            continue
        data = read_table_data(path)
        out = target / f"{path.stem}.json"
        out.write_text(json.dumps(_jsonable(data), separators=(",", ":")), encoding="utf-8")
        written.append(out)
        providers.append({
            "provider": str(data["provider"]).lower(),
            "file": out.name,
            "name": data.get("name") or data["provider"],
            "pricing_url": data.get("pricing_url"),
            "api_hosts": list(data.get("api_hosts") or ()),
            "aliases": [str(a).lower() for a in data.get("aliases") or ()],
            "resells": bool(data.get("resells", False)),
        })
    manifest = target / MANIFEST
    manifest.write_text(
        json.dumps({"format": FORMAT, "providers": providers}, indent=1), encoding="utf-8"
    )
    written.append(manifest)
    return written


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
