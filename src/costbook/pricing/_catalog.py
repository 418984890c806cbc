"""The catalog: every table, loaded when first needed, and model refs resolved to a model at
a provider.

A provider's table is read the first time a ref names that provider; a ref that names no
provider reads them all. A model is built from its table entry the first time it is
resolved. Refs are resolved as providers and SDKs spell them: qualified
(``openrouter:openai/gpt-4o-mini``), with routing suffixes (``:nitro``), Bedrock region
prefixes and version suffixes (``us.anthropic.claude-...-v1:0``), Vertex ``@`` versions,
dated snapshots and ``-latest`` aliases.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence

from .._errors import PricingError, UnknownModelError, UnknownProviderError
from ._model import Model
from ._provider_tables import PendingTable, Provider

TYPE_CHECKING = False  # typing is not imported at run time, to keep `import costbook` fast
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from ._schema import ProviderTable

PRICING_PATH_ENV = "COSTBOOK_PRICING_PATH"

# OpenRouter's routing suffixes that pick how a request is routed, not what it costs.
ROUTING_SUFFIXES = (":nitro", ":floor", ":online", ":beta", ":exacto")
_BEDROCK_REGION = re.compile(r"^(?:us|eu|apac|ap|global|us-gov|jp|au|ca|sa|in)\.(?=[a-z0-9-]+\.)")
_BEDROCK_GEO = re.compile(r"^(?:us|eu|apac|ap|us-gov|jp|au|ca|sa|in)\.(?=[a-z0-9-]+\.)")
_BEDROCK_BARE = re.compile(r"^[a-z][a-z0-9-]*\.(?=[a-z])")  # maker.model: minimax.minimax-m2
_BEDROCK_UNNUMBERED = re.compile(r"-v\d+$")  # anthropic.claude-opus-4-6-v1, listed as -v1:0
# OpenRouter's answers name Claude models family last: claude-4.6-sonnet for claude-sonnet-4.6
_CLAUDE_NUMBER_FIRST = re.compile(r"claude-(\d+(?:[.-]\d+)?)-(sonnet|opus|haiku)\b")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
# Bedrock in one AWS commercial region: eu-west-1/deepseek.v3.2 (the region's own rates
# where the table lists them, else the in-region entry's)
_AWS_REGION_PATH = re.compile(r"^((?:us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+)/([^/]+)$")
# Azure in one Data Zone: eu/gpt-4o
_AZURE_ZONE_PATH = re.compile(r"^(us|eu|apac)/([^/]+)$")


def place_of(model_id: str) -> str | None:
    """The place whose own rates an entry holds: the AWS region of
    ``ap-northeast-1/deepseek.v3.2``, the Azure Data Zone of ``eu/gpt-4o``; else None."""
    key = model_id.lower()
    found = _AWS_REGION_PATH.match(key) or _AZURE_ZONE_PATH.match(key)
    return found.group(1) if found else None

_VERTEX_VERSION = re.compile(r"@(\d{8}|\d{3}|latest|default)$")
_DATE_SUFFIX = re.compile(r"[-@](?:\d{8}|\d{4}-\d{2}-\d{2})$")
# OpenAI fine-tuned models: ft:BASE:ORG:NAME:ID (NAME may be empty) bill at BASE's
# fine-tuned rates, which the tables list as ft:BASE
_FINE_TUNE = re.compile(r"^(ft:[^:]+):[^:]*:[^:]*:[^:]+$")
_FOUR_DIGIT_VERSION = re.compile(r"-\d{4}$")
# and as Azure names a fine-tuned deployment's model: BASE.ft-ID
_AZURE_FINE_TUNE = re.compile(r"^([^:/]+)\.ft-[0-9a-z]+$")


def canonical_key(key: str) -> str:
    """A canonical key as compared: lower case, dots in the model's name as dashes
    (``anthropic/claude-sonnet-4.5`` and ``anthropic/claude-sonnet-4-5`` are one key)."""
    maker, slash, name = key.strip().lower().partition("/")
    return f"{maker}/{name.replace('.', '-')}" if slash else maker.replace(".", "-")


def _table_data(table: ProviderTable | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(table, Mapping):
        return table
    return table.model_dump(exclude_none=True, exclude_defaults=False)


def _provider_of(data: Mapping[str, Any], source: str) -> Provider:
    provider = str(data["provider"]).lower()
    return Provider(
        id=provider,
        name=data.get("name") or provider,
        pricing_url=data.get("pricing_url"),
        api_hosts=tuple(data.get("api_hosts") or ()),
        source=source,
        aliases=tuple(a.lower() for a in data.get("aliases") or ()),
        resells=bool(data.get("resells", False)),
    )


class _ProviderModels:
    """One provider's entries (later tables override earlier ones) and their indexes."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[Mapping[str, Any], str]] = {}
        self.by_ref: dict[str, str] = {}  # ref -> entry key
        self.short: dict[str, list[str]] = {}  # name after maker/ -> entry keys
        self.built: dict[str, Model] = {}

    def add(self, data: Mapping[str, Any], source: str) -> None:
        for entry in data.get("models") or ():
            self.entries[str(entry["id"]).lower()] = (entry, source)

    def index(self) -> None:
        self.by_ref.clear()
        self.short.clear()
        self.built.clear()
        for key, (entry, _) in self.entries.items():
            for ref in (entry["id"], *(entry.get("aliases") or ())):
                lower = str(ref).lower()
                self.by_ref.setdefault(lower, key)
                if "/" in lower and place_of(lower) is None:
                    self.short.setdefault(lower.split("/", 1)[1], []).append(key)


class Catalog:
    """Models by provider, with the indexes that resolve model refs."""

    def __init__(
        self, tables: Iterable[Any] = (), *, upstream: Callable[[], Catalog] | None = None
    ) -> None:
        """``tables``: ``(table, source)`` pairs (a validated table or its parsed data) and
        :class:`PendingTable` items. ``upstream`` gives the catalog in which a ``same_as``
        that these tables do not hold is resolved (for tables checked on their own)."""
        self._upstream = upstream
        self.providers: dict[str, Provider] = {}
        self._aliases: dict[str, str] = {}
        self._pending: dict[str, list[Any]] = {}  # provider -> tables in order, some pending
        self._models: dict[str, _ProviderModels] = {}
        self._cache: dict[tuple[str, str | None], Model] = {}
        self._own: dict[str, tuple[str, str]] | None = None
        self._anywhere: dict[str, list[tuple[str, str]]] | None = None
        self._canonical: dict[str, list[tuple[str, str]]] = {}
        self._building: set[tuple[str, str]] = set()
        self._lock = threading.RLock()
        for item in tables:
            if isinstance(item, PendingTable):
                self._register(item.provider, item)
            else:
                table, source = item
                data = _table_data(table)
                self._register(_provider_of(data, source), (data, source))

    def _register(self, provider: Provider, item: Any) -> None:
        known = self.providers.get(provider.id)
        if known is None or known.source != provider.source:
            merged = provider
            if known is not None:
                merged = Provider(
                    provider.id, provider.name, provider.pricing_url or known.pricing_url,
                    provider.api_hosts or known.api_hosts, provider.source,
                    tuple(dict.fromkeys(known.aliases + provider.aliases)),
                    provider.resells or known.resells,
                )
            self.providers[provider.id] = merged
        for alias in provider.aliases:
            self._aliases.setdefault(alias, provider.id)
        self._pending.setdefault(provider.id, []).append(item)
        self._models.pop(provider.id, None)
        self._own = self._anywhere = None

    # -- loading -------------------------------------------------------------------------

    def _provider_models(self, provider: str) -> _ProviderModels:
        found = self._models.get(provider)
        if found is not None:
            return found
        with self._lock:
            found = self._models.get(provider)
            if found is None:
                found = _ProviderModels()
                for item in self._pending.get(provider, ()):
                    if isinstance(item, PendingTable):
                        found.add(item.load(), item.provider.source)
                    else:
                        found.add(*item)
                found.index()
                self._models[provider] = found
            return found

    def _all(self) -> None:
        if self._own is not None and self._anywhere is not None:
            return
        with self._lock:
            own: dict[str, tuple[str, str]] = {}
            anywhere: dict[str, list[tuple[str, str]]] = {}
            canonical: dict[str, list[tuple[str, str]]] = {}
            for provider, about in self.providers.items():
                models = self._provider_models(provider)
                for ref, key in models.by_ref.items():
                    anywhere.setdefault(ref, []).append((provider, key))
                    if "/" not in ref and not about.resells:
                        own.setdefault(ref, (provider, key))
                        own.setdefault(f"{provider}/{ref}", (provider, key))
                        canonical.setdefault(canonical_key(f"{provider}/{ref}"), []).append(
                            (provider, key))
                for key, (entry, _) in models.entries.items():
                    named = entry.get("canonical") or (key if "/" in key else None)
                    if named:
                        canonical.setdefault(canonical_key(str(named)), []).append(
                            (provider, key))
            self._canonical = {k: list(dict.fromkeys(v)) for k, v in canonical.items()}
            self._anywhere = anywhere
            self._own = own

    def _build(self, provider: str, key: str) -> Model:
        models = self._provider_models(provider)
        built = models.built.get(key)
        if built is not None:
            return built
        with self._lock:
            built = models.built.get(key)
            if built is not None:
                return built
            entry, source = models.entries[key]
            if (provider, key) in self._building:
                raise PricingError(
                    f"{source}: model {entry['id']}: same_as {entry.get('same_as')!r} "
                    "leads back to itself"
                )
            self._building.add((provider, key))
            try:
                upstream = None
                same_as = entry.get("same_as")
                if same_as is not None:
                    try:
                        upstream = self._resolve_upstream(str(same_as))
                    except (UnknownModelError, UnknownProviderError) as exc:
                        raise PricingError(
                            f"{source}: model {entry['id']}: same_as {same_as!r} does not "
                            f"resolve: {exc}"
                        ) from None
                built = Model.from_data(provider, entry, source, upstream)
            finally:
                self._building.discard((provider, key))
            models.built[key] = built
            return built

    def _resolve_upstream(self, ref: str) -> Model:
        try:
            return self.resolve(ref)
        except (UnknownModelError, UnknownProviderError):
            if self._upstream is None:
                raise
            return self._upstream().resolve(ref)

    @property
    def models(self) -> list[Model]:
        """Every model, by provider then id."""
        found = []
        for provider in sorted(self.providers):
            models = self._provider_models(provider)
            found += sorted((self._build(provider, key) for key in models.entries),
                            key=lambda m: m.id)
        return found

    def checked_models(self) -> tuple[list[Model], list[str]]:
        """Every model that builds, and a problem for each that does not (a ``same_as``
        that does not resolve), for ``costbook check``."""
        found: list[Model] = []
        problems: list[str] = []
        for provider in sorted(self.providers):
            for key in sorted(self._provider_models(provider).entries):
                try:
                    found.append(self._build(provider, key))
                except PricingError as exc:
                    problems.append(str(exc))
        return found, problems

    def models_of(self, provider: str) -> list[Model]:
        """Every model of one provider, by id."""
        provider = self.provider(provider).id
        models = self._provider_models(provider)
        return sorted((self._build(provider, key) for key in models.entries), key=lambda m: m.id)

    def provider(self, provider: str) -> Provider:
        """The provider named ``provider`` (or one of its aliases, in any case), or
        :class:`UnknownProviderError`."""
        found = self._provider_id(provider)
        if found is None:
            raise UnknownProviderError(str(provider), sorted(self.providers))
        return self.providers[found]

    def _provider_id(self, provider: str) -> str | None:
        if not isinstance(provider, str):
            return None
        key = provider.strip().lower()
        if key in self.providers:
            return key
        return self._aliases.get(key)

    # -- resolving -------------------------------------------------------------------------

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
        if colon and "/" not in head and "." not in head and self._provider_id(head):
            named = self._provider_id(head)
            if provider is not None and self._provider_id(provider) != named:
                raise PricingError(
                    f"model ref {ref!r} names provider {head!r} but provider={provider!r} "
                    "was given; give one or the other"
                )
            provider, text = named, rest
        if provider is not None:
            provider = self.provider(provider).id
            for spelling in _spellings(text):
                found = self._at_provider(spelling, provider)
                if found is not None:
                    return found
            raise UnknownModelError(
                ref, self.suggest(text, provider), detail=f"at provider {provider!r}"
            )
        self._all()
        assert self._own is not None and self._anywhere is not None
        for spelling in _spellings(text):
            own = self._own.get(spelling)
            if own is not None:
                return self._build(*own)
            sellers = self._anywhere.get(spelling, [])
            makers = [s for s in sellers if not self.providers[s[0]].resells]
            if len(makers) == 1:
                return self._build(*makers[0])
            if len(sellers) == 1:
                return self._build(*sellers[0])
            if sellers:
                refs = ", ".join(self._build(*s).ref for s in sellers)
                raise UnknownModelError(
                    ref, detail=f"is sold by several providers and none made it; name one: {refs}"
                )
        raise UnknownModelError(ref, self.suggest(text))

    def _at_provider(self, key: str, provider: str) -> Model | None:
        models = self._provider_models(provider)
        found = models.by_ref.get(key)
        if found is not None:
            return self._build(provider, found)
        maker, slash, name = key.partition("/")
        if slash and self._provider_id(maker) == provider:  # openai/gpt-4o-mini at openai
            found = models.by_ref.get(name)
            if found is not None:
                return self._build(provider, found)
        if not slash:  # gpt-4o-mini at openrouter: openai/gpt-4o-mini
            candidates = models.short.get(key, [])
            if len(candidates) == 1:
                return self._build(provider, candidates[0])
        return None

    def suggest(self, text: str, provider: str | None = None, limit: int = 5) -> list[str]:
        """Up to ``limit`` known refs closest to ``text``, one per model."""
        import difflib

        names: dict[str, tuple[str, str, str]] = {}  # ref -> (shown, provider, key)
        if provider is not None:
            for ref, key in sorted(self._provider_models(provider).by_ref.items()):
                names[ref] = (ref, provider, key)
        else:
            self._all()
            assert self._own is not None
            for ref, (p, key) in self._own.items():
                names[ref] = (ref, p, key)
            for p in self.providers:
                for key, (entry, _) in self._provider_models(p).entries.items():
                    if place_of(key) is None:  # one region's or zone's rates: not another model
                        names.setdefault(key, (f"{p}:{entry['id']}", p, key))
        wanted = text.lower()
        close = difflib.get_close_matches(wanted, list(names), n=limit * 3, cutoff=0.5)
        close += [n for n in sorted(names) if wanted in n and n not in close]
        found: list[str] = []
        seen: set[tuple[str, str]] = set()
        for name in close:
            shown, p, key = names[name]
            if (p, key) not in seen:
                seen.add((p, key))
                found.append(shown)
        return found[:limit]

    def sellers(self, ref: str) -> list[Model]:
        """The same model at every provider that sells it: the entries that share its
        canonical key, and each provider's entry of its id and aliases. A ref that several
        providers sell (and none made) names them all, rather than being an error."""
        try:
            bases = [self.resolve(ref)]
        except UnknownModelError:
            bases = self._all_named(ref)
            if not bases:
                raise
        self._all()
        found: dict[tuple[str, str], Model] = {}
        keys: set[str] = set()
        for base in bases:
            found[(base.provider, base.id)] = base
            keys |= self._keys_of(base)
            names = {base.id.lower(), *(a.lower() for a in base.aliases)}
            names |= {f"{base.maker}/{n}" for n in list(names)}
            for provider in sorted(self.providers):
                for name in sorted(names):
                    model = self._at_provider(name, provider)
                    if model is not None:
                        found.setdefault((model.provider, model.id), model)
                        break
        for key in sorted(keys):
            for provider, entry_key in self._canonical.get(key, ()):
                model = self._build(provider, entry_key)
                found.setdefault((model.provider, model.id), model)
        listed = {(m.provider, m.id.lower()) for m in found.values()}
        return [
            m for m in sorted(found.values(), key=lambda m: (m.provider, m.id))
            if not _follows_listed(m, listed)
        ]

    def _keys_of(self, model: Model) -> set[str]:
        """The canonical keys a model is known by."""
        keys = set()
        if model.canonical:
            keys.add(canonical_key(model.canonical))
        elif "/" in model.id:
            keys.add(canonical_key(model.id))
        if not self.providers[model.provider].resells and "/" not in model.id:
            for name in (model.id, *model.aliases):
                keys.add(canonical_key(f"{model.provider}/{name}"))
        return keys

    def _all_named(self, ref: str) -> list[Model]:
        """Every provider's model that ``ref`` names exactly (after its spellings)."""
        self._all()
        assert self._anywhere is not None
        text = ref.strip()
        for spelling in _spellings(text):
            sellers = self._anywhere.get(spelling, [])
            if sellers:
                return [self._build(*s) for s in sellers]
        return []


def _follows_listed(model: Model, listed: set[tuple[str, str]]) -> bool:
    """Whether ``model`` is another spelling at its own provider of an entry already
    listed (``same_as`` one of that provider's listed entries)."""
    if model.same_as is None:
        return False
    provider, _, upstream = model.same_as.partition(":")
    return provider == model.provider and (provider, upstream.lower()) in listed


def _spellings(text: str) -> list[str]:
    """The spellings to try for a model ref, as given first: without a routing suffix,
    a Bedrock region prefix or version suffix, a Vertex ``@`` version, ``-latest`` or a
    date."""
    key = text.lower()
    region = _AWS_REGION_PATH.match(key)
    if region is not None:
        # a model in one region: that region's entry under any spelling of the model,
        # else the model's own (a global. profile bills its global rates in any region)
        named, model = region.groups()
        rest = _spellings(model)
        bare = _BEDROCK_GEO.sub("", model)  # eu.x bills in the calling region too
        if bare != model:
            rest += [s for s in _spellings(bare) if s not in rest]
        here = [] if model.startswith("global.") else [
            f"{named}/{s}" for s in rest if not s.startswith("regional.")]
        return list(dict.fromkeys([key, *here, *rest]))
    found = [key]

    def add(spelling: str) -> None:
        if spelling and spelling not in found:
            found.append(spelling)

    for suffix in ROUTING_SUFFIXES:
        if key.endswith(suffix):
            add(key.removesuffix(suffix))
    fine_tune = _FINE_TUNE.match(key) or _AZURE_FINE_TUNE.match(key)
    if fine_tune is not None:
        base = fine_tune.group(1)
        base = base if base.startswith("ft:") else f"ft:{base}"
        add(base)
        add(_FOUR_DIGIT_VERSION.sub("", base))
    for spelling in list(found):
        # Bedrock: a geographic prefix (us., eu., ...) or none is the regional price
        regional = None
        if _BEDROCK_GEO.match(spelling):
            regional = _BEDROCK_GEO.sub("regional.", spelling)
        elif _BEDROCK_BARE.match(spelling):
            regional = f"regional.{spelling}"
        if regional is not None:
            add(regional)
        if _BEDROCK_BARE.match(spelling) and _BEDROCK_UNNUMBERED.search(spelling):
            add(f"{spelling}:0")
            if regional is not None:
                add(f"{regional}:0")
        add(_BEDROCK_VERSION.sub("", _BEDROCK_REGION.sub("", spelling)))
        vertex = _VERTEX_VERSION.search(spelling)
        if vertex is not None:
            version = vertex.group(1)
            base = spelling[: vertex.start()]
            if version.isdigit() and len(version) == 8:
                add(f"{base}-{version}")
            add(base)
        if spelling.endswith("-latest"):
            add(spelling.removesuffix("-latest"))
    for spelling in list(found):
        undated = _DATE_SUFFIX.sub("", spelling)
        if undated != spelling:
            add(undated)
    for spelling in list(found):
        add(_CLAUDE_NUMBER_FIRST.sub(r"claude-\2-\1", spelling))
    return found


_lock = threading.Lock()
_catalog: Catalog | None = None
_extra_paths: list[Path] = []


def catalog() -> Catalog:
    """The catalog in use: the bundled tables, then the public catalogs synced (the most
    recent check winning per model), then the per-user tables folder (where
    ``costbook sync`` writes a router's table), then ``COSTBOOK_PRICING_PATH``, then
    tables added with :func:`load`; a later table's model overrides an earlier one of the
    same provider and id. Loaded on first use and cached."""
    global _catalog
    current = _catalog
    if current is not None:
        return current
    with _lock:
        if _catalog is None:
            _catalog = _build()
        return _catalog


def user_tables(paths: Sequence[Path]) -> list[tuple[ProviderTable, str]]:
    """The user's tables in ``paths``, validated now (a bad one raises PricingError)."""
    from ._tables import read_table, table_files

    return [(read_table(f), str(f)) for f in table_files(paths)]


def _build() -> Catalog:
    from pathlib import Path

    from ._bundle import bundled_tables
    from ._user_tables import user_tables_dir

    paths: list[Path] = []
    synced = user_tables_dir()
    if synced.is_dir():
        paths.append(synced)
    env = os.environ.get(PRICING_PATH_ENV, "")
    paths += [Path(p) for p in env.split(os.pathsep) if p]
    paths += _extra_paths
    tables: list[Any] = list(bundled_tables())
    from ._synced import synced_tables

    tables += synced_tables()  # the public catalogs synced, over the bundled tables
    if paths:
        tables += user_tables(paths)
    return Catalog(tables)


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


def forget() -> None:
    """Read the tables again on next use (after a table was written), keeping the tables
    added with :func:`load`."""
    global _catalog
    with _lock:
        _catalog = None


def refresh() -> Catalog:
    """Build the catalog from the tables as they are now, then put it in use in one step:
    a caller sees the catalog before or the one after, never a mix. Calls go on pricing
    with the catalog before while this one is built."""
    global _catalog
    new = _build()
    with _lock:
        _catalog = new
    return new
