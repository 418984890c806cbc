"""A provider as its table describes it, and a table known by its provider, read only when
the catalog needs it: what the bundled, synced and user tables each hand the catalog."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

TYPE_CHECKING = False  # typing is not imported at run time, to keep `import costbook` fast
if TYPE_CHECKING:
    from typing import Any


@dataclass(frozen=True, slots=True)
class Provider:
    """A provider as its table describes it."""

    id: str
    name: str
    pricing_url: str | None
    api_hosts: tuple[str, ...]
    source: str
    aliases: tuple[str, ...] = ()
    resells: bool = False


@dataclass(frozen=True, slots=True)
class PendingTable:
    """A table known by its provider, read only when a ref needs it."""

    provider: Provider
    load: Callable[[], Mapping[str, Any]]
