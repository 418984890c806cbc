"""Writing pricing table entries as YAML text, in the layout of the bundled tables: one
block per model, each price set a flow mapping on one line, numbers as written (never in
exponent notation), text quoted only where YAML would read it as something else."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

_PLAIN = re.compile(
    r"^[A-Za-z_][A-Za-z0-9_./+()@ -]*[A-Za-z0-9_.)]$|^[A-Za-z]$|^https://[^\s#,\[\]{}]+$"
)
_YAML_WORDS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
ENTRY_ORDER = ["id", "name", "aliases", "canonical", "context_window", "max_output_tokens",
               "tokenizer", "pricing_url", "source", "checked", "deprecated", "billing", "note",
               "same_as", "overrides", "prices", "service_tiers"]
RATE_ORDER = ["above", "at_or_above", "name", "days", "start", "end", "effective", "input",
              "cache_read", "cache_write", "cache_write_1h", "output", "reasoning",
              "audio_input", "audio_cache_read", "audio_output", "per_web_search",
              "per_request", "per_image", "billed_as", "tiers", "windows"]


def scalar(value: Any) -> str:
    """One value as YAML that reads back the same through the table loader."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, (int, date)):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS and _reads_back(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _reads_back(text: str) -> bool:
    """Whether ``text`` written plain in a flow sequence reads back as the same string."""
    import yaml

    try:
        return bool(yaml.safe_load(f"[{text}]") == [text])
    except yaml.YAMLError:
        return False


def number(value: Decimal) -> str:
    """A decimal in plain notation without trailing zeros: ``0.15``, ``3``, never ``1.5E-7``."""
    return format(value.normalize(), "f")


def flow(value: Any, order: list[str] = RATE_ORDER) -> str:
    """A value as one line of YAML: mappings as ``{k: v}`` (keys in ``order``, others
    after), sequences as ``[a, b]``."""
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda k: order.index(k) if k in order else len(order))
        return "{" + ", ".join(f"{k}: {flow(value[k], order)}" for k in keys) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(v, order) for v in value) + "]"
    return scalar(value)


def rates_text(rates: Mapping[str, Any]) -> str:
    """A price set, a prompt-size tier or overrides as one flow mapping."""
    return flow(rates)


def entry_text(model_id: str, fields: Mapping[str, Any], comments: Iterable[str] = ()) -> str:
    """One model entry of a table's ``models`` list, its comments above it."""
    lines = [f"  # {line}" for comment in comments for line in wrap(comment)]
    keys = sorted(fields, key=lambda k: ENTRY_ORDER.index(k) if k in ENTRY_ORDER else 99)
    first = True
    for key in ["id", *(k for k in keys if k != "id")]:
        value: Any = model_id if key == "id" else fields[key]
        lead = "  - " if first else "    "
        first = False
        if key == "prices":
            lines.append(f"{lead}prices:")
            lines += [f"      - {rates_text(s)}" for s in value]
        elif key == "service_tiers":
            lines.append(f"{lead}service_tiers:")
            for tier, sets in sorted(value.items()):
                lines.append(f"      {tier}:")
                lines += [f"        - {rates_text(s)}" for s in sets]
        elif key == "examples":
            lines.append(f"{lead}examples:")
            lines += [f"      - {flow(e, ['usage', 'total'])}" for e in value]
        elif isinstance(value, (Mapping, list, tuple)):
            lines.append(f"{lead}{key}: {flow(value)}")
        else:
            lines.append(f"{lead}{key}: {scalar(value)}")
    return "\n".join(lines) + "\n"


def wrap(text: str, width: int = 92) -> list[str]:
    """``text`` broken into lines of at most ``width`` characters, at spaces."""
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines
