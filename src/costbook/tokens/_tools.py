"""Token counts of tool (function) definitions, by OpenAI's published rule for functions.

Each function costs a fixed framing plus the tokens of ``name:description``; each of its
top-level properties a framing plus ``key:type:description`` and its enum items. The
constants differ for the gpt-4o family (``o200k_base``) and for gpt-4 and gpt-3.5
(``cl100k_base``). Nested schemas are not in the published rule: they are noted as
approximations.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ToolConstants:
    """OpenAI's constants for counting function definitions."""

    per_function: int
    per_properties: int
    per_property: int
    per_enum: int
    per_enum_item: int
    after_functions: int


GPT_4O_TOOLS = ToolConstants(7, 3, 3, -3, 3, 12)
GPT_4_TOOLS = ToolConstants(10, 3, 3, -3, 3, 12)


@dataclass
class ToolCount:
    """Tokens of a list of tool definitions: text (before any approximation factor),
    framing constants, and what could not be counted exactly."""

    text: int = 0
    framing: int = 0
    approximations: list[str] = field(default_factory=list)


def count_tools(
    tools: Sequence[Mapping[str, Any]],
    raw: Callable[[str], int],
    constants: ToolConstants,
    where: str = "tools",
) -> ToolCount:
    """Count function definitions; ``raw`` counts the tokens of a text."""
    if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Sequence):
        raise ValueError(f"{where} must be a list of tool definitions")
    count = ToolCount()
    if not tools:
        return count
    for index, tool in enumerate(tools):
        place = f"{where}[{index}]"
        function = _function_of(tool, place)
        if function is None:
            kind = tool.get("type") if isinstance(tool, Mapping) else None
            count.approximations.append(f"{place} ({kind}) is not counted")
            continue
        _count_function(count, function, place, raw, constants)
    count.framing += constants.after_functions
    return count


def _count_function(
    count: ToolCount,
    function: Mapping[str, Any],
    where: str,
    raw: Callable[[str], int],
    constants: ToolConstants,
) -> None:
    name = function.get("name")
    if not isinstance(name, str):
        raise ValueError(f"{where} has no function name")
    description = _text(function.get("description"), f"{where}.description")
    count.framing += constants.per_function
    count.text += raw(f"{name}:{description.removesuffix('.')}")
    parameters = function.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise ValueError(f"{where}.parameters must be a JSON Schema object")
    properties = parameters.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise ValueError(f"{where}.parameters.properties must be an object")
    if not properties:
        return
    count.framing += constants.per_properties
    for key, schema in properties.items():
        place = f"{where}.parameters.properties.{key}"
        if not isinstance(schema, Mapping):
            raise ValueError(f"{place} must be a JSON Schema object")
        count.framing += constants.per_property
        enum = schema.get("enum")
        if enum is not None:
            count.framing += constants.per_enum
            for item in enum:
                count.framing += constants.per_enum_item
                count.text += raw(str(item))
        kind = _type_text(schema.get("type"))
        description = _text(schema.get("description"), f"{place}.description")
        count.text += raw(f"{key}:{kind}:{description.removesuffix('.')}")
        if any(k in schema for k in ("properties", "items", "anyOf", "oneOf", "allOf")):
            count.approximations.append(
                f"{place} has a nested schema; OpenAI's published rule counts "
                "top-level properties only"
            )


def _function_of(tool: Any, where: str) -> Mapping[str, Any] | None:
    """The function definition in a tool: Chat's nested form, the Responses flat form, or
    a bare function (the legacy ``functions`` list); ``None`` for other tool types."""
    if not isinstance(tool, Mapping):
        raise ValueError(f"{where} must be a tool definition object")
    kind = tool.get("type", "function")
    if kind != "function":
        return None
    nested = tool.get("function")
    if isinstance(nested, Mapping):
        return nested
    if "name" in tool:
        return tool
    raise ValueError(f"{where} is a function tool without a function name")


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string, got {type(value).__name__}")
    return value


def _type_text(kind: Any) -> str:
    if kind is None:
        return ""
    if isinstance(kind, str):
        return kind
    if isinstance(kind, Sequence):
        return ", ".join(str(k) for k in kind)
    return str(kind)
