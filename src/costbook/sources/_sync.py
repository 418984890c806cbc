"""Sync: a router's table refreshed from its live models API, on request only.

OpenRouter and Requesty publish their whole catalog with USD-per-token rates. A sync reads
it (rates from the JSON text straight to ``Decimal``), turns each model into a table entry
with its rates per million tokens, merges it into the table already at the output path (a
changed rate becomes a new price set effective today; older sets are kept), validates the
result and writes it atomically. Nothing is written unless the whole sync succeeded.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._errors import CostbookError, PricingError
from .._printable import clipped
from ..pricing._money import _tidy
from ._fetch import (
    ATTEMPTS,
    DEADLINE,
    MAX_BYTES,
    TIMEOUT,
    Fetched,
    Progress,
    SyncError,
    bounded_decimal,
    fetch,
    shown_url,
)

# the bounded fetch has a module of its own (._fetch); its names are still found here
__all__ = [
    "ATTEMPTS", "DEADLINE", "MAX_BYTES", "MAX_MODELS", "SOURCES", "TIMEOUT", "Fetched", "Live",
    "ModelChange", "Progress", "Source", "SyncError", "SyncReport", "fetch", "fetch_json",
    "per_million", "read_models", "shown_url", "sync",
]

_ZERO = Decimal(0)
MAX_MODELS = 10_000
"""The most models a payload may list (OpenRouter lists a few hundred; writing 10,000 takes
about 25 s, most of it rendering and validating the YAML)."""
MAX_ID = 256
"""The longest model id read; a longer one is skipped."""


@dataclass(frozen=True)
class Source:
    """A provider whose models API costbook can read."""

    id: str
    name: str
    base_url: str
    pricing_url: str
    model_url: str
    api_hosts: tuple[str, ...]
    read: Callable[[Mapping[str, Any], int], Live]


@dataclass(frozen=True)
class Live:
    """One model as the live catalog lists it, or why it cannot be priced."""

    id: str
    rates: dict[str, Decimal] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelChange:
    """A model whose rates differ: USD per million tokens, per-unit fees per unit."""

    id: str
    old: dict[str, Decimal]
    new: dict[str, Decimal]

    @property
    def differing(self) -> list[str]:
        """The rate names whose values differ (a rate only one side states included)."""
        names = sorted(set(self.old) | set(self.new), key=_rate_position)
        return [n for n in names if self.old.get(n) != self.new.get(n)]

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "old": self.old, "new": self.new, "differing": self.differing}


@dataclass
class SyncReport:
    """What a sync found: models added, changed and removed with their old and new rates,
    and the models skipped with the reason. With ``check``, nothing was written and the
    comparison is with the tables in use."""

    provider: str
    source: str
    checked: date
    output: Path | None = None
    check: bool = False
    models: int = 0
    unchanged: int = 0
    added: list[ModelChange] = field(default_factory=list)
    changed: list[ModelChange] = field(default_factory=list)
    removed: list[ModelChange] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    uncompared: list[str] = field(default_factory=list)
    """With ``check``: the models the tables hold whose live price could not be read (the
    reasons, also among ``skipped``)."""

    @property
    def ok(self) -> bool:
        """No rate of a model the compared tables hold differs, and every such model listed
        live could be compared."""
        return not self.changed and not self.uncompared

    def as_dict(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "source": self.source,
            "checked": self.checked,
            "output": None if self.output is None else str(self.output),
            "check": self.check,
            "ok": self.ok,
            "models": self.models,
            "unchanged": self.unchanged,
            "added": [c.as_dict() for c in self.added],
            "changed": [c.as_dict() for c in self.changed],
            "removed": [c.as_dict() for c in self.removed],
            "skipped": list(self.skipped),
            "uncompared": list(self.uncompared),
            "notes": list(self.notes),
        }


# -- reading the payloads ---------------------------------------------------------------------


def _rate(value: Any, where: str) -> Decimal:
    """A rate from the payload: a JSON number (already a bounded Decimal or an int) or a
    decimal string, finite and in range. Raises ValueError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int, str)):
        raise ValueError(f"{where} is {clipped(repr(value), 80)}, not a number")
    if isinstance(value, str):
        return bounded_decimal(value, where)
    return bounded_decimal(str(value), where)


def per_million(per_token: Decimal) -> Decimal:
    """A per-token rate per million tokens, exactly: ``0.00000015`` gives ``0.15``."""
    sign, digits, exponent = per_token.as_tuple()
    assert isinstance(exponent, int)
    return _plain(Decimal((sign, digits, exponent + 6)))


def _plain(value: Decimal) -> Decimal:
    """``value`` exactly, without trailing zeros after the point or a positive exponent:
    ``0.15``, ``40`` (not ``4E+1``)."""
    sign, digits, exponent = _tidy(value).as_tuple()
    assert isinstance(exponent, int)
    if exponent > 0:
        return Decimal((sign, digits + (0,) * exponent, 0))
    return Decimal((sign, digits, exponent))


def _limit(value: Any) -> int | None:
    """A token limit from the payload, or None when absent, null or not positive."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    if value <= 0 or value > 1_000_000_000 or value != int(value):
        return None
    return int(value)


def _model_from(
    item: Any,
    index: int,
    fields: Mapping[str, tuple[str, bool]],
    required: tuple[str, ...],
    known: frozenset[str],
    prices: Mapping[str, Any],
    where: str,
) -> Live:
    """A live model: ``fields`` maps a payload price field to (costbook rate, per token)."""
    model_id = item.get("id")
    if not isinstance(model_id, str) or not model_id.strip():
        return Live(f"#{index + 1}", skipped=f"model #{index + 1} has no id")
    if len(model_id) > MAX_ID:
        return Live(f"#{index + 1}", skipped=f"model #{index + 1}: its id is "
                    f"{len(model_id):,} characters, more than the {MAX_ID} costbook reads")
    for name in required:
        if prices.get(name) is None:
            return Live(model_id, skipped=f"{model_id}: no {where}{name}")
    rates: dict[str, Decimal] = {}
    parsed: dict[str, Decimal] = {}
    for name in fields:
        if prices.get(name) is None:
            continue
        try:
            parsed[name] = _rate(prices[name], f"{where}{name}")
        except ValueError as exc:
            return Live(model_id, skipped=f"{model_id}: {exc}")
    dynamic = [n for n, v in parsed.items() if v == -1]
    if dynamic:
        return Live(model_id, skipped=f"{model_id}: priced dynamically (-1 in {where}{dynamic[0]})")
    negative = [n for n, v in parsed.items() if v < 0]
    if negative:
        return Live(model_id, skipped=f"{model_id}: {where}{negative[0]} is negative "
                    f"({parsed[negative[0]]})")
    for name, value in parsed.items():
        rate, per_token = fields[name]
        if name in required or value != _ZERO:
            rates[rate] = per_million(value) if per_token else _plain(value)
    notes = tuple(
        f"{where}{name} is not a rate costbook bills; left out"
        for name in sorted(set(prices) - known)
        if _nonzero(prices[name])
    )
    return Live(model_id, rates=rates, notes=notes)


def _nonzero(value: Any) -> bool:
    try:
        return _rate(value, "") != _ZERO
    except ValueError:
        return True


_OPENROUTER_FIELDS: dict[str, tuple[str, bool]] = {
    "prompt": ("input", True),
    "completion": ("output", True),
    "input_cache_read": ("cache_read", True),
    "input_cache_write": ("cache_write", True),
    "internal_reasoning": ("reasoning", True),
    "audio": ("audio_input", True),
    "input_audio_cache": ("audio_cache_read", True),
    "request": ("per_request", False),
    "image": ("per_image", False),
    "web_search": ("per_web_search", False),
}
# Fields that state no charge of their own: a discount already applied to the rates.
_OPENROUTER_IGNORED = frozenset({"discount"})


def _openrouter(item: Mapping[str, Any], index: int) -> Live:
    prices = item.get("pricing")
    if not isinstance(prices, Mapping):
        model_id = item.get("id")
        if not isinstance(model_id, str) or not model_id.strip() or len(model_id) > MAX_ID:
            model_id = f"model #{index + 1}"
        return Live(model_id, skipped=f"{model_id}: no pricing")
    live = _model_from(item, index, _OPENROUTER_FIELDS, ("prompt", "completion"),
                       frozenset(_OPENROUTER_FIELDS) | _OPENROUTER_IGNORED, prices, "pricing.")
    if live.skipped is not None:
        return live
    top = item.get("top_provider")
    facts = {
        "name": item.get("name") if isinstance(item.get("name"), str) else None,
        "context_window": _limit(item.get("context_length")),
        "max_output_tokens": _limit(top.get("max_completion_tokens"))
        if isinstance(top, Mapping) else None,
    }
    return Live(live.id, live.rates, facts, notes=live.notes)


_REQUESTY_FIELDS: dict[str, tuple[str, bool]] = {
    "input_price": ("input", True),
    "output_price": ("output", True),
    "cached_price": ("cache_read", True),
    "caching_price": ("cache_write", True),
}


def _requesty(item: Mapping[str, Any], index: int) -> Live:
    prices = {k: v for k, v in item.items() if k in _REQUESTY_FIELDS}
    live = _model_from(item, index, _REQUESTY_FIELDS, ("input_price", "output_price"),
                       frozenset(_REQUESTY_FIELDS), prices, "")
    if live.skipped is not None:
        return live
    facts = {
        "context_window": _limit(item.get("context_window")),
        "max_output_tokens": _limit(item.get("max_output_tokens")),
    }
    return Live(live.id, live.rates, facts, notes=live.notes)


SOURCES: dict[str, Source] = {
    "openrouter": Source(
        "openrouter", "OpenRouter", "https://openrouter.ai/api/v1",
        "https://openrouter.ai/models", "https://openrouter.ai/{id}", ("openrouter.ai",),
        _openrouter,
    ),
    "requesty": Source(
        "requesty", "Requesty", "https://router.requesty.ai/v1",
        "https://www.requesty.ai/models", "https://www.requesty.ai/models/{id}",
        ("router.requesty.ai", "router.eu.requesty.ai"),
        _requesty,
    ),
}


def _source(provider: str) -> Source:
    found = SOURCES.get(str(provider).strip().lower())
    if found is None:
        raise SyncError(
            f"cannot sync provider {provider!r}: costbook syncs {', '.join(SOURCES)} "
            "(the routers that publish their prices through an API)"
        )
    return found


def read_models(source: Source, payload: Any, url: str) -> list[Live]:
    """The live models of a parsed payload; a payload of the wrong shape raises SyncError."""
    models = payload.get("data") if isinstance(payload, Mapping) else None
    if not isinstance(models, list):
        got = type(payload).__name__ if not isinstance(payload, Mapping) else (
            "an object with keys " + ", ".join(clipped(str(k), 40) for k in
                                               sorted(map(str, payload))[:6]) or "no keys")
        raise SyncError(
            f"{url}: expected a JSON object with a data list of models, got {got}"
        )
    if len(models) > MAX_MODELS:
        raise SyncError(f"{url}: the payload lists {len(models):,} models, more than the "
                        f"{MAX_MODELS:,} costbook reads")
    found: list[Live] = []
    for index, item in enumerate(models):
        if not isinstance(item, Mapping):
            found.append(Live(f"#{index + 1}", skipped=f"model #{index + 1} is not an object"))
            continue
        found.append(source.read(item, index))
    return found


# -- the request ---------------------------------------------------------------------------------


def fetch_json(
    url: str,
    *,
    api_key: str | None = None,
    timeout: float = TIMEOUT,
    deadline: float = DEADLINE,
    attempts: int = ATTEMPTS,
    backoff: float = 1.0,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """The parsed JSON at ``url``, fetched within the bounds of :func:`._fetch.fetch`."""
    return fetch(url, api_key=api_key, timeout=timeout, deadline=deadline, attempts=attempts,
                 backoff=backoff, progress=progress, sleep=sleep).data


# -- merging into a table ------------------------------------------------------------------------


def _rate_position(name: str) -> int:
    from ..pricing._table_text import RATE_ORDER

    return RATE_ORDER.index(name) if name in RATE_ORDER else len(RATE_ORDER)


def _stated(price_set: Mapping[str, Any]) -> dict[str, Decimal]:
    from ..pricing._schema import RATE_FIELDS

    return {k: Decimal(price_set[k]) for k in RATE_FIELDS if price_set.get(k) is not None}


def _data(value: Any) -> Any:
    """Validated table data as plain values for the writer (rates stay Decimal)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True, exclude_defaults=True)
    return value


def _entry_fields(
    source: Source, live: Live, existing: dict[str, Any] | None, in_use: Any, today: date,
) -> tuple[dict[str, Any], ModelChange | None, bool]:
    """The entry's fields after this sync, the change to report (None: unchanged), and
    whether the model is new to the table."""
    fields: dict[str, Any] = dict(existing or {})
    fields.pop("id", None)
    fields.pop("deprecated", None)
    for key, value in live.facts.items():
        if value is not None:
            fields[key] = value
        elif key == "max_output_tokens":
            fields.pop(key, None)
    window, most = fields.get("context_window"), fields.get("max_output_tokens")
    if window is not None and most is not None and most > window:
        fields.pop("max_output_tokens")
    fields["pricing_url"] = source.model_url.format(id=live.id)
    fields["checked"] = today
    new_set: dict[str, Any] = dict(live.rates)
    if "per_image" in live.rates:
        fields["images"] = {"billing": "per_image"}
    elif existing is None and in_use is not None and in_use.images is not None \
            and in_use.images.billing == "tokens":
        fields["images"] = _images_data(in_use.images)  # the maker's token rule
    if existing is None and in_use is not None and in_use.tokenizer is not None:
        fields["tokenizer"] = in_use.tokenizer
    sets: list[dict[str, Any]] = list(fields.get("prices") or [])
    if not sets or "same_as" in fields:
        fields.pop("same_as", None)
        fields.pop("overrides", None)
        fields["prices"] = [new_set]
        return fields, ModelChange(live.id, {}, dict(live.rates)), True
    old = _stated(sets[-1])
    if old == live.rates:
        return fields, None, False
    new_set["effective"] = today
    if sets[-1].get("effective") == today:
        sets[-1] = new_set
    else:
        sets.append(new_set)
    fields["prices"] = sets
    return fields, ModelChange(live.id, old, dict(live.rates)), False


def _images_data(images: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"billing": images.billing}
    rule = images.tokens
    if rule is not None:
        from dataclasses import asdict

        data["tokens"] = asdict(rule)
    return data


def _header(source: Source, shown: str, today: date) -> str:
    return "\n".join([
        f"# {source.name}'s models and rates as its models API listed them on "
        f"{today.isoformat()}:",
        f"# {shown}",
        "# Written by `costbook sync`; a changed rate adds a price set effective on the day",
        "# of the sync, older sets are kept. Rates are USD per million tokens (per-unit fees",
        "# per unit), converted exactly from the per-token rates the API lists.",
    ]) + "\n"


def sync(
    provider: str,
    *,
    base_url: str | None = None,
    output: str | os.PathLike[str] | None = None,
    check: bool = False,
    api_key: str | None = None,
    progress: Progress | None = None,
    timeout: float = TIMEOUT,
    attempts: int = ATTEMPTS,
    today: date | None = None,
    deadline: float = DEADLINE,
) -> SyncReport:
    """Refresh ``provider``'s table (``openrouter`` or ``requesty``) from its live models
    API at ``base_url`` (default: the provider's own) and write it to ``output`` (default:
    ``<provider>.yaml`` in the per-user tables folder, which the catalog reads after the
    bundled tables).

    The table at ``output`` is merged: a model whose rates changed gets a new price set
    effective today, its older sets kept; a model the API no longer lists is kept, marked
    deprecated today. With ``check``, nothing is written: the live rates are compared with
    the tables in use, and :attr:`SyncReport.ok` is false when a rate differs or a model
    the tables hold has a live price that cannot be read.

    The fetch is bounded (see :mod:`costbook.sources._fetch`): ``timeout`` seconds per
    connect or read, ``deadline`` seconds in all; the key goes only to the origin of
    ``base_url``, and :attr:`SyncReport.source` names the URL the data came from.
    """
    from ..pricing._model import as_day

    source = _source(provider)
    day = today or as_day(None)
    url = (base_url or source.base_url).rstrip("/") + "/models"
    fetched = fetch(url, api_key=api_key, progress=progress, timeout=timeout,
                    attempts=attempts, deadline=deadline)
    shown = fetched.url
    models = read_models(source, fetched.data, shown)
    report = SyncReport(provider=source.id, source=shown, checked=day, check=check)
    live: dict[str, Live] = {}
    unread: dict[str, Live] = {}
    notes: dict[str, list[str]] = {}
    for model in models:
        if model.skipped is not None:
            report.skipped.append(model.skipped)
            unread.setdefault(model.id.lower(), model)
            continue
        if model.id.lower() in live:
            report.skipped.append(f"{model.id}: listed twice; the first listing is used")
            continue
        live[model.id.lower()] = model
        for note in model.notes:
            notes.setdefault(note, []).append(model.id)
    report.notes = [
        f"{note} ({', '.join(ids[:3])}{', ...' if len(ids) > 3 else ''}: {len(ids)} models)"
        for note, ids in sorted(notes.items())
    ]
    redirect = fetched.note()
    if redirect is not None:
        report.notes.insert(0, redirect)
    if check:
        _compare_in_use(source, live, report, day)
        _uncompared(source, {k: m for k, m in unread.items() if k not in live}, report)
        return report
    target = Path(output) if output is not None else _default_output(source)
    _write_synced(source, live, target, report, day, shown, frozenset(unread) - set(live))
    return report


def _default_output(source: Source) -> Path:
    from ..pricing._user_tables import user_tables_dir

    return user_tables_dir() / f"{source.id}.yaml"


def _in_use(source: Source) -> dict[str, Any]:
    """The models the tables in use hold for this provider, by lower-case id."""
    from ..pricing._catalog import catalog

    try:
        return {m.id.lower(): m for m in catalog().models_of(source.id)}
    except CostbookError:
        return {}


def _held(tables: Any, source: Source, model_id: str) -> Any:
    """The model the tables in use hold under this id or an alias at the source's provider,
    or None; without the suggestions an unknown ref would compute (slow for thousands)."""
    from ..pricing._catalog import _spellings

    try:
        for spelling in _spellings(model_id.strip()):
            found = tables._at_provider(spelling, source.id)
            if found is not None:
                return found
    except CostbookError:
        return None
    return None


def _uncompared(source: Source, unread: dict[str, Live], report: SyncReport) -> None:
    """The models the tables in use hold whose live listing could not be read: each makes
    the check fail, since it cannot say whether their rates differ."""
    from ..pricing._catalog import catalog

    in_use = _in_use(source)
    for key, model in sorted(unread.items()):
        if key.startswith("#") or key.startswith("model #"):
            continue
        if in_use.get(key) is None and _held(catalog(), source, model.id) is None:
            continue
        report.uncompared.append(model.skipped or model.id)


def _compare_in_use(source: Source, live: dict[str, Live], report: SyncReport, day: date) -> None:
    from ..pricing._catalog import catalog

    tables = catalog()
    in_use = _in_use(source)
    report.models = len(live)
    for key, model in sorted(live.items()):
        held = in_use.get(key) or _held(tables, source, model.id)
        if held is None:
            report.added.append(ModelChange(model.id, {}, dict(model.rates)))
            continue
        try:
            rates = held.rates_at(day)
        except PricingError:
            report.added.append(ModelChange(model.id, {}, dict(model.rates)))
            continue
        names = set(model.rates) | set(_stated(rates.source))
        ours = {}
        for name in names:
            value = rates.per_million(name)
            if value is None:
                value = rates.per_unit.get(name)
            if value is not None:
                ours[name] = _plain(value)
        change = ModelChange(model.id, ours, dict(model.rates))
        if change.differing:
            report.changed.append(change)
        else:
            report.unchanged += 1
    for key, held in sorted(in_use.items()):
        if key not in live and held.deprecated is None:
            try:
                from ..pricing._pins import rate_map

                old = rate_map(held.rates_at(day))
            except PricingError:
                old = {}
            report.removed.append(ModelChange(held.id, old, {}))


def _write_synced(
    source: Source, live: dict[str, Live], target: Path, report: SyncReport, day: date,
    shown: str, unread: frozenset[str] = frozenset(),
) -> None:
    from ..pricing._table_text import entry_text
    from ..pricing._tables import load_yaml, read_table, validate_table

    report.output = target
    previous = read_table(target) if target.is_file() else None
    if previous is not None and previous.provider != source.id:
        raise SyncError(
            f"{target} is a table of provider {previous.provider!r}, not {source.id!r}; "
            "give another --output"
        )
    existing: dict[str, dict[str, Any]] = {}
    for entry in previous.models if previous is not None else []:
        existing[entry.id.lower()] = _data(entry)
    in_use = _in_use(source)
    entries: dict[str, tuple[str, dict[str, Any]]] = {}
    for key, model in sorted(live.items()):
        fields, change, new = _entry_fields(source, model, existing.get(key), in_use.get(key), day)
        problem = _entry_problem(source, model.id, fields)
        if problem is not None:
            report.skipped.append(problem)
            if key in existing:
                entries[key] = (existing[key]["id"], _without_id(existing[key]))
            continue
        entries[key] = (model.id, fields)
        if change is None:
            report.unchanged += 1
        elif new:
            report.added.append(change)
        else:
            report.changed.append(change)
    for key, fields in existing.items():
        if key in live or key in entries:
            continue
        if key in unread:  # still listed, with a price this sync could not read: kept as is
            entries[key] = (fields["id"], _without_id(fields))
            continue
        kept = _without_id(fields)
        if kept.get("deprecated") is None:
            kept["deprecated"] = day
            report.removed.append(ModelChange(fields["id"], _latest(fields), {}))
        entries[key] = (fields["id"], kept)
    _add_aliases(entries, in_use, existing)
    report.models = sum(1 for _, f in entries.values() if f.get("deprecated") is None)
    lines = [
        _header(source, shown, day),
        f"provider: {source.id}",
        f"name: {source.name}",
        f"pricing_url: {source.pricing_url}",
        f"api_hosts: [{', '.join(source.api_hosts)}]",
        "resells: true",
        "models:" if entries else "models: []",
    ]
    text = "\n".join(lines) + "\n" + "".join(
        entry_text(model_id, fields) for _, (model_id, fields) in sorted(entries.items())
    )
    validate_table(load_yaml(text, source=str(target)), source=str(target))
    _write_atomically(target, text)
    from ..pricing._catalog import forget

    forget()  # the catalog in use may read this table


def _without_id(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != "id"}


def _latest(fields: Mapping[str, Any]) -> dict[str, Decimal]:
    sets = fields.get("prices") or []
    return _stated(sets[-1]) if sets else {}


def _add_aliases(
    entries: dict[str, tuple[str, dict[str, Any]]], in_use: Mapping[str, Any],
    existing: Mapping[str, Any],
) -> None:
    """A new entry keeps the aliases the tables in use give the model, where no other
    entry uses the same spelling."""
    taken = set(entries)
    for _, fields in entries.values():
        taken.update(a.lower() for a in fields.get("aliases") or ())
    for key, (_, fields) in sorted(entries.items()):
        held = in_use.get(key)
        if key in existing or held is None or fields.get("aliases"):
            continue
        aliases = [a for a in held.aliases if a.lower() not in taken]
        if aliases:
            fields["aliases"] = aliases
            taken.update(a.lower() for a in aliases)


def _entry_problem(source: Source, model_id: str, fields: dict[str, Any]) -> str | None:
    """Why this entry is not a valid table entry (then it is skipped), or None."""
    from ..pricing._tables import validate_table

    try:
        validate_table({"provider": source.id, "models": [{"id": model_id, **fields}]},
                       source=model_id)
    except PricingError as exc:
        return " ".join(str(exc).split(": model ", 1)[-1].split())
    return None


def _write_atomically(target: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``target``, then rename it over ``target``."""
    import tempfile

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                     dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
