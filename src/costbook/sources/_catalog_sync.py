"""Sync from a public catalog (genai-prices, LiteLLM, models.dev): its data file read,
converted exactly, merged with what the last sync of it wrote (a changed rate is a new
price set, older sets kept; a model it no longer lists is kept, retired), and written as a
new generation of tables that a manifest names, swapped in at once. Nothing is written
unless the whole sync succeeded.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .._errors import CostbookError, PricingError
from ._converted import Converted, ConvertedTable, flat_rates, set_at
from ._fetch import (
    ATTEMPTS,
    DEADLINE,
    MAX_BYTES,
    TIMEOUT,
    Progress,
    SyncError,
    fetch,
    parse_json,
)
from ._public_sources import CatalogSource, catalog_source
from ._sync import ModelChange, SyncReport, _write_atomically

FORMAT = 1
KEEP_SECONDS = 3600
"""Generations older than this (and neither the current nor the one before) are removed."""
_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


@dataclass
class CatalogSyncReport:
    """What a sync from a public catalog found, one :class:`SyncReport` per provider. With
    ``check``, nothing was written and the comparison is with the tables in use."""

    source: str
    url: str
    checked: date
    version: str | None = None
    check: bool = False
    output: Path | None = None
    providers: list[SyncReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    retired: int = 0
    """Models kept in the written tables as retired (not counted in ``models``)."""

    @property
    def ok(self) -> bool:
        """No rate of a model the compared tables hold differs."""
        return all(p.ok for p in self.providers)

    @property
    def models(self) -> int:
        return sum(p.models for p in self.providers)

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "url": self.url,
            "version": self.version,
            "checked": self.checked,
            "check": self.check,
            "ok": self.ok,
            "output": None if self.output is None else str(self.output),
            "models": self.models,
            "retired": self.retired,
            "providers": [p.as_dict() for p in self.providers],
            "skipped": list(self.skipped),
            "notes": list(self.notes),
        }


def read_catalog_file(path: str | os.PathLike[str]) -> Any:
    """A catalog's data file from disk, within the bounds of a download: numbers parsed
    as Decimal from the text."""
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise SyncError(f"{file}: larger than {MAX_BYTES:,} bytes")
        raw = file.read_bytes()
    except OSError as exc:
        raise SyncError(f"{file}: cannot read: {exc.strerror or exc}") from None
    try:
        return parse_json(raw, str(file))
    except SyncError as exc:  # the same bounds as a download; the words of a file
        raise SyncError(str(exc).replace(": the response ", ": the file ", 1)) from None


def load_catalog(
    source: str,
    *,
    url: str | None = None,
    from_file: str | os.PathLike[str] | None = None,
    today: date,
    progress: Progress | None = None,
    timeout: float = TIMEOUT,
    deadline: float = DEADLINE,
    attempts: int = ATTEMPTS,
) -> tuple[CatalogSource, str, Converted]:
    """A catalog read (from ``from_file``, else fetched from ``url`` or its own URL) and
    converted: the catalog, where it was read, and its tables."""
    found = catalog_source(source)
    if from_file is not None:
        if url is not None:
            raise SyncError("give --from FILE or a URL, not both")
        payload = read_catalog_file(from_file)
        where = str(from_file)
    else:
        fetched = fetch(url or found.url, progress=progress, timeout=timeout,
                        deadline=deadline, attempts=attempts)
        where, payload = fetched.url, fetched.data  # where the data came from
    if progress is not None:
        progress(f"converting {found.name}'s prices")
    try:
        converted = found.convert(payload, today)
    except SyncError as exc:
        raise SyncError(f"{where}: {exc}") from None
    return found, where, converted


def selected(converted: Converted, providers: Sequence[str] | None,
             source: CatalogSource) -> dict[str, ConvertedTable]:
    """The converted tables of ``providers`` (all when None); a provider the catalog does
    not list raises SyncError naming those it lists."""
    if not providers:
        return dict(sorted(converted.tables.items()))
    from ..pricing._catalog import catalog

    chosen: dict[str, ConvertedTable] = {}
    for name in providers:
        key = name.strip().lower()
        table = converted.tables.get(key)
        if table is None:
            matches = [t for t in converted.tables.values() if t.source_provider.lower() == key]
            if not matches:
                try:
                    known = catalog().provider(key).id
                except CostbookError:
                    known = None
                matches = [converted.tables[known]] if known in converted.tables else []
            if not matches:
                listed = ", ".join(sorted(converted.tables)[:40])
                raise SyncError(f"{source.name} lists no provider {name!r}; it lists {listed}"
                                + (", ..." if len(converted.tables) > 40 else ""))
            table = matches[0]
        chosen[table.provider] = table
    return dict(sorted(chosen.items()))


def sync_catalog(
    source: str,
    *,
    url: str | None = None,
    from_file: str | os.PathLike[str] | None = None,
    providers: Sequence[str] | None = None,
    check: bool = False,
    tables_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    timeout: float = TIMEOUT,
    deadline: float = DEADLINE,
    attempts: int = ATTEMPTS,
    today: date | None = None,
    forget: bool = True,
) -> CatalogSyncReport:
    """Refresh costbook's tables from a public catalog: ``genai-prices``, ``litellm`` or
    ``models.dev``, read from ``from_file`` or fetched from ``url`` (default: the catalog's
    published data file), limited to ``providers`` when given.

    The tables are written to ``catalogs/`` in the per-user tables folder (or
    ``tables_dir``), which the catalog reads over the bundled tables; with ``check``,
    nothing is written and the rates are compared with the tables in use
    (:attr:`CatalogSyncReport.ok` is false when one differs). The catalog in use is read
    again on next use, unless ``forget`` is false.
    """
    from ..pricing._model import as_day

    day = today or as_day(None)
    found, where, converted = load_catalog(
        source, url=url, from_file=from_file, today=day, progress=progress,
        timeout=timeout, deadline=deadline, attempts=attempts)
    chosen = selected(converted, providers, found)
    report = CatalogSyncReport(
        found.id, where, day, converted.version, check,
        skipped=converted.skipped(list(chosen) if providers else None),
        notes=converted.notes_for(list(chosen) if providers else None))
    if check:
        _compare(chosen, report, day)
        return report
    from ..pricing._user_tables import user_tables_dir

    folder = Path(tables_dir) if tables_dir is not None else user_tables_dir()
    with _lock_for(str(folder.resolve()) + found.id):
        _write(found, chosen, report, folder, day, full=not providers)
    if forget:
        from ..pricing._catalog import forget as forget_catalog

        forget_catalog()
    return report


def _lock_for(key: str) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(key, threading.Lock())


# -- comparing with the tables in use ---------------------------------------------------------


def _compare(chosen: Mapping[str, ConvertedTable], report: CatalogSyncReport, day: date) -> None:
    from ..pricing._catalog import catalog

    tables = catalog()
    for provider, table in chosen.items():
        part = SyncReport(provider=provider, source=report.url, checked=day, check=True)
        for model_id, fields in sorted(table.entries.items()):
            theirs_set = set_at(fields["prices"], day)
            if theirs_set is None or fields.get("deprecated") is not None:
                continue
            part.models += 1
            theirs = flat_rates(theirs_set)
            try:
                held = tables.resolve(model_id, provider=provider)
                ours = flat_rates(held.rates_at(day).source)
            except (CostbookError, PricingError):
                part.added.append(ModelChange(model_id, {}, theirs))
                continue
            # a rate the catalog does not state (a per-search fee it leaves out) is not a
            # difference: the check compares what the catalog says
            change = ModelChange(model_id, {k: v for k, v in ours.items() if k in theirs},
                                 theirs)
            if change.differing:
                part.changed.append(change)
            else:
                part.unchanged += 1
        report.providers.append(part)


# -- writing -----------------------------------------------------------------------------------


def _write(found: CatalogSource, chosen: Mapping[str, ConvertedTable],
           report: CatalogSyncReport, tables_dir: Path, day: date, full: bool) -> None:
    import tempfile

    from ..pricing._bundle import _jsonable
    from ..pricing._synced import catalogs_dir, manifest_path, read_manifest

    folder = catalogs_dir(tables_dir)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        previous = read_manifest(found.id, tables_dir)
    except PricingError:
        previous = None  # a manifest that cannot be read is replaced
    old_items: dict[str, dict[str, Any]] = {}
    old_folder: Path | None = None
    last_sync = None
    if previous is not None:
        from ._converted import day as as_date

        last_sync = as_date(previous.get("checked"))
        old_folder = folder / previous["folder"]
        old_items = {i["provider"]: i for i in previous["providers"]}
    generation = Path(tempfile.mkdtemp(prefix=f"{found.id}@{day:%Y%m%d}-", dir=folder))
    report.output = generation
    try:
        items: list[dict[str, Any]] = []
        from ..pricing._catalog import catalog

        tables = catalog()
        for provider in sorted(set(chosen) | (set(old_items) if full else set())):
            table = chosen.get(provider)
            old = _old_table(old_folder, old_items.get(provider))
            if table is None and not full:
                continue
            part = SyncReport(provider=provider, source=report.url, checked=day,
                              output=generation / f"{provider}.json")
            name = table.name if table is not None else old.get("name") or provider
            provenance = (f"{report.source} {report.version or day.isoformat()}, synced from "
                          f"{report.url}")
            data = _merged_table(provider, table, old, part, day, tables, last_sync,
                                 provenance)
            report.retired += sum(1 for e in data["models"] if e.get("deprecated") is not None)
            item = old_items.get(provider)
            # a host the tables did not know: refs that name no provider go to makers first
            resells = bool(item["resells"]) if item else provider not in tables.providers
            if resells:
                data["resells"] = True
            _validate(data, part, provider)
            (generation / f"{provider}.json").write_text(
                json.dumps(_jsonable(data), separators=(",", ":")), encoding="utf-8")
            items.append({"provider": provider, "file": f"{provider}.json", "name": name,
                          "pricing_url": table.pricing_url if table is not None else None,
                          "resells": resells, "models": part.models})
            report.providers.append(part)
        if not full:  # providers this sync left alone keep their tables as they were
            for provider, item in sorted(old_items.items()):
                if provider not in chosen and old_folder is not None:
                    shutil.copyfile(old_folder / item["file"], generation / item["file"])
                    items.append(item)
        manifest = {
            "format": FORMAT, "source": found.id, "name": found.name, "url": report.url,
            "version": report.version, "checked": day.isoformat(),
            "folder": generation.name, "providers": items,
        }
        _write_atomically(manifest_path(found.id, tables_dir),
                          json.dumps(manifest, indent=1) + "\n")
    except BaseException:
        shutil.rmtree(generation, ignore_errors=True)
        raise
    # the generation before stays for catalogs built on it, and any written in the last
    # hour (a catalog built then may not have read them yet); older ones go
    import time

    for stale in folder.glob(f"{found.id}@*"):
        if stale.is_dir() and stale not in (generation, old_folder):
            try:
                if time.time() - stale.stat().st_mtime > KEEP_SECONDS:
                    shutil.rmtree(stale, ignore_errors=True)
            except OSError:
                continue




def _old_table(folder: Path | None, item: Mapping[str, Any] | None) -> dict[str, Any]:
    """The table the last sync wrote for a provider, validated (rates as Decimal), or an
    empty table."""
    if folder is None or item is None:
        return {}
    from ..pricing._tables import read_table

    try:
        table = read_table(folder / item["file"])
    except PricingError:
        return {}  # a table that cannot be read is written anew
    return table.model_dump(exclude_none=True, exclude_defaults=True)


def _merged_table(provider: str, table: ConvertedTable | None, old: Mapping[str, Any],
                  part: SyncReport, day: date, tables: Any,
                  last_sync: date | None, provenance: str) -> dict[str, Any]:
    previous = {str(e["id"]).lower(): e for e in old.get("models") or ()}
    entries: dict[str, dict[str, Any]] = {}
    in_use = _in_use(provider, tables)
    for model_id, fields in sorted((table.entries if table else {}).items()):
        key = model_id.lower()
        merged, change, new = _merged_entry(model_id, previous.get(key), fields, day)
        entries[key] = {"id": model_id, **merged, "source": provenance}
        if change is None:
            part.unchanged += 1
        elif new:
            part.added.append(change)
        else:
            part.changed.append(change)
    for key, entry in sorted(previous.items()):
        if key in entries:
            continue
        kept = dict(entry)
        if kept.get("checked") == last_sync or kept.get("deprecated") is None:
            # listed by the last sync, gone now: retired today at the latest
            kept["deprecated"] = min(kept.get("deprecated") or day, day)
            latest = set_at(kept["prices"], day) or {}
            part.removed.append(ModelChange(kept["id"], flat_rates(latest), {}))
        entries[key] = kept
    taken = set(entries)
    for entry in entries.values():
        taken.update(a.lower() for a in entry.get("aliases") or ())
    for key, entry in sorted(entries.items()):
        held = in_use.get(key)
        if held is None or entry.get("aliases"):
            continue
        aliases = [a for a in held.aliases if a.lower() not in taken]
        if aliases:
            entry["aliases"] = aliases
            taken.update(a.lower() for a in aliases)
    part.models = sum(1 for e in entries.values() if e.get("deprecated") is None)
    return {"provider": provider, "name": table.name if table else old.get("name", provider),
            "models": [entries[k] for k in sorted(entries)]}


def _in_use(provider: str, tables: Any) -> dict[str, Any]:
    """The models the tables in use hold for a provider, by lower-case id (a new entry
    keeps their aliases)."""
    try:
        return {m.id.lower(): m for m in tables.models_of(provider)}
    except CostbookError:
        return {}


def _without_effective(price_set: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in price_set.items() if k != "effective"}


def merged_sets(old: list[dict[str, Any]], new: list[dict[str, Any]],
                day: date) -> list[dict[str, Any]]:
    """A price history after a sync: the catalog's own history where it dates a change,
    else a changed rate becomes a set effective ``day``, older sets kept."""
    if not old:
        return [dict(s) for s in new]
    if _without_effective(old[-1]) == _without_effective(new[-1]):
        return [dict(s) for s in (new if len(new) > len(old) else old)]
    stated = new[-1].get("effective")
    last = old[-1].get("effective")
    if stated is not None and (last is None or stated > last):
        return [*map(dict, old), dict(new[-1])]
    kept = [dict(s) for s in old if (s.get("effective") or date.min) < day]
    return [*kept, {**_without_effective(new[-1]), "effective": day}]


def _merged_entry(model_id: str, old: Mapping[str, Any] | None, fields: Mapping[str, Any],
                  day: date) -> tuple[dict[str, Any], ModelChange | None, bool]:
    merged: dict[str, Any] = {k: v for k, v in fields.items() if k != "id"}
    merged["checked"] = day
    theirs = flat_rates(set_at(fields["prices"], day) or fields["prices"][-1])
    if old is None:
        return merged, ModelChange(model_id, {}, theirs), True
    merged["prices"] = merged_sets(list(old.get("prices") or []), list(fields["prices"]), day)
    tiers = {}
    for name, sets in (fields.get("service_tiers") or {}).items():
        tiers[name] = merged_sets(list((old.get("service_tiers") or {}).get(name) or []),
                                  list(sets), day)
    if tiers:
        merged["service_tiers"] = tiers
    if old.get("aliases"):
        merged["aliases"] = list(old["aliases"])
    retired = old.get("deprecated")
    if retired is not None and merged.get("deprecated") is not None:
        merged["deprecated"] = min(retired, merged["deprecated"])
    ours = flat_rates(set_at(list(old.get("prices") or []), day) or {})
    change = ModelChange(model_id, ours, theirs)
    return merged, (change if change.differing else None), False


def _validate(data: dict[str, Any], part: SyncReport, provider: str) -> None:
    """Entries that are not valid table entries are skipped (and the report says why); the
    table is then validated whole."""
    from ..pricing._tables import validate_table

    kept = []
    for entry in data["models"]:
        try:
            validate_table({"provider": provider, "models": [entry]}, source=str(entry["id"]))
        except PricingError as exc:
            part.skipped.append(" ".join(str(exc).split(": model ", 1)[-1].split()))
            continue
        kept.append(entry)
    data["models"] = kept
    try:
        validate_table(data, source=provider)
    except PricingError as exc:
        raise SyncError(f"the synced table of {provider} is not valid: {exc}") from None
