"""The catalog: every table loaded once, model refs resolved to a model at a provider."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .._errors import PricingError, UnknownModelError, UnknownProviderError
from ._model import Model

TYPE_CHECKING = False  # typing is not imported at run time, to keep `import costbook` fast
if TYPE_CHECKING:
    from pathlib import Path

    from ._schema import ProviderTable

PRICING_PATH_ENV = "COSTBOOK_PRICING_PATH"


@dataclass(frozen=True, slots=True)
class Provider:
    """A provider as its table describes it."""

    id: str
    name: str
    pricing_url: str
    api_hosts: tuple[str, ...]
    source: str


class Catalog:
    """Models by provider, with the indexes that resolve model refs."""

    def __init__(self, tables: Iterable[tuple[ProviderTable, str]]) -> None:
        self.providers: dict[str, Provider] = {}
        self._models: dict[str, dict[str, Model]] = {}
        for table, source in tables:
            self._add(table, source)
        self._index()

    def _add(self, table: ProviderTable, source: str) -> None:
        known = self.providers.get(table.provider)
        if known is None or known.source != source:
            self.providers[table.provider] = Provider(
                table.provider, table.name, table.pricing_url, tuple(table.api_hosts), source
            )
        models = self._models.setdefault(table.provider, {})
        for entry in table.models:
            # a later table overrides a model of the same provider and id
            models[entry.id.lower()] = Model.from_entry(table.provider, entry, source)

    def _index(self) -> None:
        self._by_provider: dict[str, dict[str, Model]] = {}
        self._short: dict[str, dict[str, list[Model]]] = {}
        self._own: dict[str, Model] = {}
        self._anywhere: dict[str, list[Model]] = {}
        self._cache: dict[tuple[str, str | None], Model] = {}
        for provider, models in self._models.items():
            index = self._by_provider.setdefault(provider, {})
            short = self._short.setdefault(provider, {})
            for model in models.values():
                for ref in (model.id, *model.aliases):
                    key = ref.lower()
                    index.setdefault(key, model)
                    self._anywhere.setdefault(key, []).append(model)
                    if "/" in key:
                        short.setdefault(key.split("/", 1)[1], []).append(model)
                    elif model.maker == provider:
                        self._own.setdefault(key, model)
                        self._own.setdefault(f"{provider}/{key}", model)

    @property
    def models(self) -> list[Model]:
        """Every model, by provider then id."""
        return [m for p in sorted(self._models) for m in sorted(
            self._models[p].values(), key=lambda m: m.id)]

    def provider(self, provider: str) -> Provider:
        """The provider named ``provider``, or :class:`UnknownProviderError`."""
        try:
            return self.providers[provider]
        except KeyError:
            raise UnknownProviderError(provider, sorted(self.providers)) from None

    def resolve(self, ref: str, provider: str | None = None) -> Model:
        """The model a ref names: at ``provider`` when given (or qualified as
        ``provider:model``), else at its maker's own table."""
        key = (ref, provider)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        model = self._resolve(ref, provider)
        self._cache[key] = model
        return model

    def _resolve(self, ref: str, provider: str | None) -> Model:
        if not isinstance(ref, str) or not ref.strip():
            raise UnknownModelError(repr(ref), detail="(a model ref is a non-empty string)")
        text = ref.strip()
        head, colon, rest = text.partition(":")
        if colon and "/" not in head and head.lower() in self.providers:
            if provider is not None and provider != head.lower():
                raise PricingError(
                    f"model ref {ref!r} names provider {head!r} but provider={provider!r} "
                    "was given; give one or the other"
                )
            provider, text = head.lower(), rest
        key = text.lower()
        if provider is not None:
            self.provider(provider)
            found = self._at_provider(key, provider)
            if found is not None:
                return found
            raise UnknownModelError(
                ref, self.suggest(text, provider), detail=f"at provider {provider!r}"
            )
        own = self._own.get(key)
        if own is not None:
            return own
        sellers = self._anywhere.get(key, [])
        if len(sellers) == 1:
            return sellers[0]
        if sellers:
            refs = ", ".join(m.ref for m in sellers)
            raise UnknownModelError(
                ref, detail=f"is sold by several providers and none made it; name one: {refs}"
            )
        raise UnknownModelError(ref, self.suggest(text))

    def _at_provider(self, key: str, provider: str) -> Model | None:
        index = self._by_provider.get(provider, {})
        found = index.get(key)
        if found is not None:
            return found
        maker, slash, name = key.partition("/")
        if slash and maker == provider:  # openai/gpt-4o-mini at openai
            found = index.get(name)
            if found is not None:
                return found
        if not slash:  # gpt-4o-mini at openrouter: openai/gpt-4o-mini
            candidates = self._short.get(provider, {}).get(key, [])
            if len(candidates) == 1:
                return candidates[0]
        return None

    def suggest(self, text: str, provider: str | None = None, limit: int = 5) -> list[str]:
        """Up to ``limit`` known refs closest to ``text``, one per model."""
        names: dict[str, tuple[str, Model]] = {}
        if provider is not None:
            for ref, model in sorted(self._by_provider.get(provider, {}).items()):
                names[ref] = (ref, model)
        else:
            for ref, model in self._own.items():
                names[ref] = (ref, model)
            for p, models in self._models.items():
                for m in models.values():
                    if m.maker != p:
                        names.setdefault(m.id.lower(), (m.ref, m))
        import difflib

        wanted = text.lower()
        close = difflib.get_close_matches(wanted, list(names), n=limit * 3, cutoff=0.5)
        close += [n for n in sorted(names) if wanted in n and n not in close]
        found: list[str] = []
        seen: set[str] = set()
        for name in close:
            shown, model = names[name]
            if model.ref not in seen:
                seen.add(model.ref)
                found.append(shown)
        return found[:limit]

    def sellers(self, ref: str) -> list[Model]:
        """The same model at every provider that sells it."""
        base = self.resolve(ref)
        names = {base.id.lower(), *(a.lower() for a in base.aliases)}
        names |= {f"{base.maker}/{n}" for n in list(names)}
        found = []
        for provider in sorted(self._models):
            for name in names:
                model = self._at_provider(name, provider)
                if model is not None:
                    found.append(model)
                    break
        return found


_lock = threading.Lock()
_catalog: Catalog | None = None
_extra_paths: list[Path] = []


def catalog() -> Catalog:
    """The catalog in use: the bundled tables, then ``COSTBOOK_PRICING_PATH``, then
    tables added with :func:`load`. Loaded on first use and cached."""
    global _catalog
    current = _catalog
    if current is not None:
        return current
    with _lock:
        if _catalog is None:
            _catalog = _build()
        return _catalog


def _build() -> Catalog:
    from pathlib import Path

    from ._tables import bundled_pricing_dir, read_table, table_files

    paths: list[Path] = [bundled_pricing_dir()]
    env = os.environ.get(PRICING_PATH_ENV, "")
    paths += [Path(p) for p in env.split(os.pathsep) if p]
    paths += _extra_paths
    return Catalog((read_table(f), str(f)) for f in table_files(paths))


def load(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> Catalog:
    """Add the user's own tables (files or folders) on top of the bundled ones.

    A model in a user table overrides the bundled model of the same provider and id; a new
    provider is added. Tables are validated now; a bad one raises :class:`PricingError`.
    """
    from pathlib import Path

    global _catalog
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    with _lock:
        previous = list(_extra_paths)
        _extra_paths.extend(Path(p) for p in items)
        try:
            _catalog = _build()
        except Exception:
            _extra_paths[:] = previous
            raise
        return _catalog


def reset() -> None:
    """Forget tables added with :func:`load` and reload on next use."""
    global _catalog
    with _lock:
        _extra_paths.clear()
        _catalog = None
