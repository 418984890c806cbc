"""Reading pricing tables from YAML: rates as ``Decimal`` from the text, errors that name
the file, the model and the field."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .._errors import PricingError
from ._schema import ProviderTable

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DecimalLoader(_BaseLoader):  # type: ignore[misc]
    """A safe YAML loader that reads floats as ``Decimal`` straight from their text."""


def _decimal_from_text(loader: Any, node: yaml.ScalarNode) -> Decimal:
    text = str(node.value).replace("_", "")
    try:
        return Decimal(text)
    except ArithmeticError:
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not a decimal number", node.start_mark
        ) from None


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal_from_text)


def bundled_pricing_dir() -> Path:
    """The folder of the tables that ship with costbook."""
    packaged = resources.files("costbook").joinpath("tables")
    if packaged.is_dir():
        return Path(str(packaged))
    source_tree = Path(__file__).resolve().parents[3] / "pricing"
    if source_tree.is_dir():
        return source_tree
    raise PricingError(f"costbook's bundled pricing tables are missing (looked in {packaged})")


def table_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The ``*.yaml`` files named by ``paths``: files as given, folders by their contents."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))
        elif path.is_file():
            yield path
        else:
            raise PricingError(f"{path}: no such pricing table file or folder")


def read_table(path: Path) -> ProviderTable:
    """Parse and validate one table file. Raises :class:`PricingError` naming what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PricingError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = yaml.load(text, Loader=_DecimalLoader)
    except yaml.YAMLError as exc:
        raise PricingError(f"{path}: not valid YAML: {exc}") from None
    return validate_table(data, source=str(path))


def validate_table(data: Any, *, source: str) -> ProviderTable:
    """Validate parsed table data, naming ``source``, the model and the field on error."""
    if not isinstance(data, dict):
        raise PricingError(
            f"{source}: a pricing table is a mapping with provider, name, pricing_url "
            f"and models; got {type(data).__name__}"
        )
    try:
        return ProviderTable.model_validate(data)
    except ValidationError as exc:
        raise PricingError(_describe(exc, data, source)) from None


def _describe(exc: ValidationError, data: dict[str, Any], source: str) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        where = source
        if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
            models = data.get("models") or []
            index = loc[1]
            entry = models[index] if index < len(models) else {}
            model_id = entry.get("id", f"#{index + 1}") if isinstance(entry, dict) else index
            where += f": model {model_id}"
            loc = loc[2:]
        field = _dotted(loc)
        message = error["msg"].removeprefix("Value error, ")
        got = error.get("input")
        detail = f"{where}: {field}: {message}" if field else f"{where}: {message}"
        if error["type"] not in ("missing", "model_type") and not isinstance(got, (dict, list)):
            detail += f" (got {got!r})"
        lines.append(detail)
    return "\n".join(lines)


def _dotted(loc: list[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
