"""Which versions of each SDK ``track()`` is tested with, and the check that a client of
another version still has every method costbook wraps: such a client is tracked (with a
warning), and one that lacks a method fails at ``track()``, never in the middle of a call."""

from __future__ import annotations

import sys
import warnings
from typing import Any

TESTED: dict[str, tuple[str, int, int]] = {
    # SDK: (the range said to users, the oldest and newest major version tested)
    "openai": ("2.0 to 3.x", 2, 3),
    "anthropic": ("1.0 to 2.x", 1, 2),
}
"""The releases CI runs the suite with: the oldest ``pyproject.toml`` allows, and the
newest the package registry serves."""

WRAPPED: dict[str, tuple[str, ...]] = {
    "openai": ("with_options", "chat.completions.create"),
    "anthropic": ("with_options", "messages.create", "messages.stream"),
}
"""The attributes of a client that ``track()`` wraps or calls, by SDK."""

_warned: set[tuple[str, str]] = set()


def sdk_version(sdk: str) -> str:
    """The installed version of ``sdk`` as it reports it (``"unknown"`` when it does not)."""
    module = sys.modules.get(sdk)
    version = getattr(module, "__version__", None)
    return version if isinstance(version, str) else "unknown"


def check_sdk_surface(client: object, sdk: str) -> None:
    """Refuse, with one line naming the version and the supported range, a client that
    lacks a method costbook wraps; warn once per version about an untested major version
    whose surface is complete."""
    supported, oldest, newest = TESTED[sdk]
    version = sdk_version(sdk)
    missing = [path for path in WRAPPED[sdk] if not _has(client, path)]
    if missing:
        raise TypeError(
            f"track() cannot track this {sdk} {version} client: it has no "
            f"{', '.join(missing)}; costbook supports {sdk} {supported}"
        )
    major = _major(version)
    if major is not None and not oldest <= major <= newest and (sdk, version) not in _warned:
        _warned.add((sdk, version))
        warnings.warn(
            f"{sdk} {version} is outside the versions costbook is tested with ({supported}); "
            "its calls are tracked, since every method costbook wraps is there",
            stacklevel=3,
        )


def _has(obj: object, path: str) -> bool:
    for name in path.split("."):
        try:
            obj = getattr(obj, name)
        except Exception:
            return False
    return callable(obj)


def _major(version: str) -> int | None:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def shallow_copy(obj: Any, kind: type[Any] | None = None) -> Any:
    """A new object of ``kind`` (default: the same class) sharing ``obj``'s attributes."""
    copy = object.__new__(kind or type(obj))
    copy.__dict__.update(obj.__dict__)
    return copy
