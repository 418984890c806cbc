"""Reading pricing tables from YAML: rates as ``Decimal`` from the text, errors that name
the file, the model and the field."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .._errors import PricingError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._schema import ProviderTable

# Files in a tables folder that are not tables.
NOT_TABLES = frozenset({"schema.json", "index.json"})

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_DEPTH = 64
"""How deeply a table may nest collections: a table needs about six levels; far deeper
input would exhaust the YAML parser's stack."""
MAX_VALUES = 1_000_000
"""How many values a table may hold once its aliases are expanded (the bundled tables
hold a few thousand); more is refused before it is built."""
_MAX_NUMBER_TEXT = 100
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _DecimalLoader(_BaseLoader):  # type: ignore[misc]
    """A safe YAML loader that reads numbers as the author wrote them: floats as
    ``Decimal`` straight from their text, integers in decimal only (YAML 1.1's octal
    ``010``, base 60 ``1:30``, hexadecimal and binary forms are refused rather than
    silently read as other numbers), dates as text for the schema to check, and no
    mapping with the same key twice."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping", node.start_mark,
                        f"found duplicate key {key!r} (first given on line "
                        f"{seen[key].line + 1}): give each key once", key_node.start_mark,
                    )
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep)


def _refuse(node: yaml.ScalarNode, problem: str) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


def _number_text(node: yaml.ScalarNode) -> str:
    text = str(node.value)
    if len(text) > _MAX_NUMBER_TEXT:
        raise _refuse(node, f"a number of {len(text)} characters is too long for a table")
    if ":" in text:
        raise _refuse(
            node, f"{text!r} is a YAML 1.1 base 60 number; write the number itself, or "
            "quote it if it is text"
        )
    return text.replace("_", "")


def _decimal_from_text(loader: Any, node: yaml.ScalarNode) -> Decimal:
    text = _number_text(node)
    try:
        return Decimal(text)
    except ArithmeticError:
        raise _refuse(node, f"{text!r} is not a decimal number") from None


def _int_from_text(loader: Any, node: yaml.ScalarNode) -> int:
    written = str(node.value)
    text = _number_text(node)
    digits = text.lstrip("+-")
    if digits[:2] in ("0x", "0X"):
        raise _refuse(node, f"{written!r} is a hexadecimal number; write it in decimal")
    if digits[:2] in ("0b", "0B"):
        raise _refuse(node, f"{written!r} is a binary number; write it in decimal")
    if len(digits) > 1 and digits.startswith("0"):
        raise _refuse(
            node, f"{written!r} is a YAML 1.1 octal number (a leading zero); write it "
            "without the leading zero, or quote it if it is text"
        )
    try:
        return int(text)
    except ValueError:
        raise _refuse(node, f"{written!r} is not a whole number") from None


def _date(loader: Any, node: yaml.ScalarNode) -> Any:
    """A date, or its text when it is no date (``2025-02-30``): the schema then refuses
    it naming the field."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except (ValueError, TypeError, AttributeError, OverflowError):
        return str(node.value)


_DecimalLoader.add_constructor(_FLOAT_TAG, _decimal_from_text)
_DecimalLoader.add_constructor(_INT_TAG, _int_from_text)
_DecimalLoader.add_constructor(_TIMESTAMP_TAG, _date)


def _check_shape(text: str, source: str, loader: Any = _BaseLoader) -> None:
    """Refuse, before the document is built, a table nested deeper than
    :data:`MAX_DEPTH` or whose aliases expand past :data:`MAX_VALUES` values (the parser
    reads events one by one here, with no recursion)."""
    sizes: dict[str | None, int] = {}
    stack: list[list[Any]] = [[None, 0]]  # [anchor, values so far] per open collection
    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1 if event.start_mark is not None else "?"
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) > MAX_DEPTH:
                raise PricingError(
                    f"{source}: nested more than {MAX_DEPTH} levels deep (line {line}); "
                    "a pricing table needs a few levels"
                )
            stack.append([event.anchor, 1])
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
        elif isinstance(event, yaml.AliasEvent):
            if any(frame[0] == event.anchor for frame in stack):
                raise PricingError(
                    f"{source}: alias *{event.anchor} (line {line}) refers to itself"
                )
            size = sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        else:
            continue
        stack[-1][1] += size
        if stack[-1][1] > MAX_VALUES:
            raise PricingError(
                f"{source}: its aliases expand to more than {MAX_VALUES:,} values (line "
                f"{line}); write the values out or use fewer aliases"
            )


def table_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """The ``*.yaml`` files named by ``paths``: files as given, folders by their contents."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(
                p for p in path.iterdir()
                if p.suffix in (".yaml", ".yml", ".json") and p.name not in NOT_TABLES
            )
        elif path.is_file():
            yield path
        else:
            raise PricingError(f"{path}: no such pricing table file or folder")


def read_table(path: Path) -> ProviderTable:
    """Parse and validate one table file. Raises :class:`PricingError` naming what is wrong."""
    return validate_table(read_table_data(path), source=str(path))


def read_table_data(path: Path) -> Any:
    """Parse one table file (YAML, or the compiled JSON of a bundled table) without
    validating it: rates come out as ``Decimal`` (YAML) or decimal strings (JSON)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PricingError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix == ".json":
        import json

        try:
            return json.loads(raw)
        except ValueError as exc:
            raise PricingError(f"{path}: not valid JSON: {exc}") from None
    return load_yaml(raw, source=str(path))


def load_yaml(raw: bytes | str, *, source: str) -> Any:
    """The data of a YAML text (UTF-8 when bytes) read with the table loader, its shape
    checked first. Raises :class:`PricingError` naming ``source`` and what is wrong."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise PricingError(
                f"{source}: not UTF-8 text (byte {raw[exc.start]:#04x} on line {line}); "
                "save the table as UTF-8"
            ) from None
    else:
        text = raw
    try:
        _check_shape(text, source)
        return yaml.load(text, Loader=_DecimalLoader)
    except yaml.YAMLError as exc:
        problem = _yaml_problem(exc, source)
    # The C parser reads ahead and may refuse deep nesting in its own words before the
    # shape check sees it; the pure-Python parser, event by event, says which limit it is.
    if _BaseLoader is not yaml.SafeLoader:
        with contextlib.suppress(yaml.YAMLError):
            _check_shape(text, source, yaml.SafeLoader)
    raise PricingError(problem)


def _yaml_problem(exc: yaml.YAMLError, source: str) -> str:
    """The parser's complaint as one line: the file, the line and column, the problem."""
    mark = getattr(exc, "problem_mark", None)
    if not isinstance(exc, yaml.MarkedYAMLError) or mark is None:
        return f"{source}: not valid YAML: {exc}"
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    if isinstance(exc, yaml.constructor.ConstructorError):
        return f"{source}: {where}: {exc.problem}"
    context = f"{exc.context}, " if exc.context else ""
    return f"{source}: not valid YAML: {where}: {context}{exc.problem}"


def validate_table(data: Any, *, source: str) -> ProviderTable:
    """Validate parsed table data, naming ``source``, the model and the field on error."""
    if not isinstance(data, dict):
        raise PricingError(
            f"{source}: a pricing table is a mapping with provider, name, pricing_url "
            f"and models; got {type(data).__name__}"
        )
    from pydantic import ValidationError

    from ._schema import ProviderTable

    try:
        return ProviderTable.model_validate(data)
    except ValidationError as exc:
        raise PricingError(_describe(exc, data, source)) from None


def _describe(exc: Any, data: dict[str, Any], source: str) -> str:
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
