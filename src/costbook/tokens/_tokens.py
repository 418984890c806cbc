"""Token counts of text, chat messages and tool definitions, offline.

Counts are exact for models whose table names the ``o200k_base`` or ``cl100k_base``
tokenizer: the text is encoded whole by tiktoken. Other tokenizers are approximated with
``o200k_base``: ``claude`` counts ``o200k_base`` tokens times 1.2, rounded up (Claude's
tokenizers give more tokens than ``o200k_base`` for the same text, so the factor keeps
estimates on the high side); ``approximate`` (Gemini and others) counts ``o200k_base``
tokens as they are. Approximate counts make an estimate say ``exact=False``.

Messages follow OpenAI's rule for chat models: 3 tokens per message, every value encoded,
1 more per ``name``, 3 more to prime the reply. Content given as parts counts each text
part, and each image part by the model's image rule; assistant ``tool_calls`` count their
function name and arguments. Tool definitions are counted by :mod:`._tools`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..pricing._model import Model
from ._encodings import encoding
from ._images import (
    DETAILS,
    data_url_size,
    largest_image_tokens,
    resolve_model,
    rule_tokens,
    token_rule,
)
from ._tools import GPT_4_TOOLS, GPT_4O_TOOLS, ToolConstants, count_tools

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3

# Tokenizers counted with another encoding, and the factor (numerator, denominator).
_APPROXIMATED: dict[str, tuple[int, int]] = {"claude": (6, 5), "approximate": (1, 1)}
_APPROXIMATING_ENCODING = "o200k_base"

# Content part types that hold text, and the key of their text.
_TEXT_PART_KEYS = {
    "text": "text", "input_text": "text", "output_text": "text", "refusal": "refusal",
}
# Keys of Responses API items that describe the item rather than hold model input.
_ITEM_KEYS = frozenset({"type", "id", "status"})


@dataclass(frozen=True, slots=True)
class TextCounter:
    """Counts text for one tokenizer: exactly, or approximated with another encoding."""

    tokenizer: str
    encode: Callable[[str], list[int]]
    numerator: int = 1
    denominator: int = 1
    exact: bool = True
    tools: ToolConstants = GPT_4O_TOOLS

    def count(self, text: str) -> int:
        """Tokens of ``text``."""
        if self.exact:
            return len(self.encode(text))
        return self.scale(len(self.encode(text)))

    def raw(self, text: str) -> int:
        """Tokens of ``text`` in the encoding used, before any approximation factor."""
        return len(self.encode(text))

    def scale(self, raw: int) -> int:
        """An approximate count from raw tokens; exact counters return ``raw``."""
        if self.exact:
            return raw
        return -(-raw * self.numerator // self.denominator)

    @property
    def method(self) -> str:
        """How this counter counts, in words."""
        if self.exact:
            return f"exact ({self.tokenizer})"
        factor = self.numerator / self.denominator
        return f"approximate: {_APPROXIMATING_ENCODING} tokens x {factor:g}"


_counters: dict[str, TextCounter] = {}
_counters_lock = threading.Lock()


def text_counter(tokenizer: str) -> TextCounter:
    """The counter for a table's ``tokenizer`` name, built once per process."""
    found = _counters.get(tokenizer)
    if found is not None:
        return found
    with _counters_lock:
        found = _counters.get(tokenizer)
        if found is None:
            found = _build_counter(tokenizer)
            _counters[tokenizer] = found
        return found


def _build_counter(tokenizer: str) -> TextCounter:
    if tokenizer in _APPROXIMATED:
        numerator, denominator = _APPROXIMATED[tokenizer]
        return TextCounter(
            tokenizer, encoding(_APPROXIMATING_ENCODING).encode_ordinary,
            numerator, denominator, exact=False,
        )
    tools = GPT_4_TOOLS if tokenizer == "cl100k_base" else GPT_4O_TOOLS
    return TextCounter(tokenizer, encoding(tokenizer).encode_ordinary, tools=tools)


def counter_for(model: Model) -> TextCounter:
    """The text counter of ``model``'s tokenizer."""
    return text_counter(model.tokenizer or "approximate")


def count_tokens(text: str, model: str | Model) -> int:
    """Tokens of ``text`` for ``model`` (a ref such as ``"gpt-4o-mini"`` or a
    :class:`~costbook.Model`). The whole text is encoded; special-token text such as
    ``<|endoftext|>`` counts as ordinary text."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return counter_for(resolve_model(model)).count(text)


def count_message_tokens(
    messages: Sequence[Mapping[str, Any]],
    model: str | Model,
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    image_sizes: Mapping[str, tuple[int, int]] | None = None,
) -> int:
    """Input tokens of OpenAI chat ``messages`` (and ``tools``, function definitions) for
    ``model``, reply priming included.

    Images in ``data:`` URLs are measured from their headers; an ``http(s)`` image is never
    fetched: give its size in ``image_sizes`` (``{url: (width, height)}``), or it counts as
    the most one image can cost for the model. Images that the model's provider bills per
    image add no tokens.
    """
    tally = Tally(resolve_model(model), image_sizes)
    tally.chat(messages, tools)
    return tally.tokens


@dataclass
class Tally:
    """A running count of one request's input for one model."""

    model: Model
    image_sizes: Mapping[str, tuple[int, int]] | None = None
    text: int = 0  # tokens of text, before any approximation factor
    framing: int = 0  # message, name, priming and tool-definition constants
    image_tokens: int = 0
    images: int = 0
    approximations: list[str] = field(default_factory=list)
    counter: TextCounter = field(init=False)

    def __post_init__(self) -> None:
        self.counter = counter_for(self.model)
        if self.image_sizes is not None and not isinstance(self.image_sizes, Mapping):
            raise ValueError(
                "image_sizes must map image URLs to (width, height), e.g. "
                "{'https://example.com/a.png': (1024, 768)}"
            )

    @property
    def tokens(self) -> int:
        """Input tokens counted so far."""
        return self.counter.scale(self.text) + self.framing + self.image_tokens

    @property
    def exact(self) -> bool:
        """Whether the count is exact: an exact tokenizer and nothing approximated."""
        return self.counter.exact and not self.approximations

    # --- Chat Completions ------------------------------------------------------------

    def chat(
        self,
        messages: Sequence[Mapping[str, Any]],
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Count chat messages, reply priming and tool definitions."""
        if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Sequence):
            raise ValueError(
                "messages must be a list of message objects like "
                f"{{'role': 'user', 'content': 'Hi'}}, got {type(messages).__name__}"
            )
        for index, message in enumerate(messages):
            self.message(message, "messages", index)
        self.framing += REPLY_PRIMING
        if tools is not None:
            self.tools(tools)

    def message(
        self,
        message: Any,
        where: str,
        index: int | None = None,
        *,
        skip: frozenset[str] = frozenset(),
    ) -> None:
        """Count one message: its framing and every value. ``where`` (with ``index``, when
        given) names the message in errors."""
        if (type(message) is not dict and not isinstance(message, Mapping)) or (
            "role" not in message
        ):
            place = where if index is None else f"{where}[{index}]"
            if not isinstance(message, Mapping):
                raise ValueError(
                    f"{place} must be a message object like {{'role': 'user', 'content': "
                    f"'Hi'}}, got {type(message).__name__}"
                )
            raise ValueError(f"{place} has no 'role'; a message needs one, e.g. 'user'")
        encode = self.counter.encode
        text = 0
        framing = TOKENS_PER_MESSAGE
        for key, value in message.items():
            if value is None or key in skip:
                continue
            if isinstance(value, str):  # role, name, text content, tool_call_id, ...
                text += len(encode(value))
                if key == "name":
                    framing += TOKENS_PER_NAME
                continue
            place = f"{where}.{key}" if index is None else f"{where}[{index}].{key}"
            if key == "content":
                self.content(value, place)
            elif key == "tool_calls":
                self.tool_calls(value, place)
            elif key == "function_call":
                self.call(value, place)
            else:
                self.approximations.append(f"{place} is not counted")
        self.text += text
        self.framing += framing

    def content(self, content: Any, where: str) -> None:
        """Count message content: a string, or a list of text and image parts."""
        if isinstance(content, str):
            self.text += self.counter.raw(content)
            return
        if not isinstance(content, Sequence) or isinstance(content, (bytes, Mapping)):
            raise ValueError(
                f"{where} must be a string or a list of content parts, "
                f"got {type(content).__name__}"
            )
        for index, part in enumerate(content):
            self.part(part, f"{where}[{index}]")

    def part(self, part: Any, where: str) -> None:
        """Count one content part."""
        if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
            raise ValueError(
                f"{where} must be a content part with a 'type', like "
                "{'type': 'text', 'text': 'Hi'}"
            )
        kind = part["type"]
        if kind in _TEXT_PART_KEYS:
            key = _TEXT_PART_KEYS[kind]
            text = part.get(key)
            if not isinstance(text, str):
                raise ValueError(f"{where} is a {kind} part without a string {key!r}")
            self.text += self.counter.raw(text)
        elif kind == "image_url":
            image = part.get("image_url")
            if isinstance(image, str):
                self.image(image, "auto", where)
            elif isinstance(image, Mapping) and isinstance(image.get("url"), str):
                self.image(image["url"], image.get("detail") or "auto", where)
            else:
                raise ValueError(f"{where} is an image_url part without an image_url.url")
        elif kind == "input_image":
            url = part.get("image_url")
            self.image(url if isinstance(url, str) else None, part.get("detail") or "auto", where)
        else:
            self.approximations.append(f"{where} ({kind}) is not counted")

    def image(self, url: str | None, detail: str, where: str) -> None:
        """Count one input image: its tokens by the model's rule, and the image itself."""
        if detail not in DETAILS:
            raise ValueError(f"{where} has detail {detail!r}; use one of {', '.join(DETAILS)}")
        self.images += 1
        rule = token_rule(self.model)
        if rule is None:  # billed per image
            return
        size = self._size(url, where)
        if size is None:
            tokens = largest_image_tokens(rule, detail)
            if rule.method != "tiles" or detail != "low":  # low-detail tiles: size-free
                self.approximations.append(
                    f"{where}: image of unknown size counted at the most one image costs "
                    f"({tokens} tokens)" + ("; give its size in image_sizes" if url else "")
                )
        else:
            tokens = rule_tokens(rule, size[0], size[1], detail)
        self.image_tokens += tokens

    def _size(self, url: str | None, where: str) -> tuple[int, int] | None:
        if url is None:
            return None
        if url[:5].lower() == "data:":
            try:
                return data_url_size(url)
            except ValueError as exc:
                raise ValueError(f"{where}: {exc}") from None
        if self.image_sizes is None or url not in self.image_sizes:
            return None
        size = self.image_sizes[url]
        if (
            not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(type(n) is int and n > 0 for n in size)
        ):
            raise ValueError(
                f"image_sizes[{url!r}] must be (width, height) in whole pixels, got {size!r}"
            )
        return size[0], size[1]

    def tool_calls(self, calls: Any, where: str) -> None:
        """Count an assistant's tool calls: each function's name and arguments."""
        if not isinstance(calls, Sequence) or isinstance(calls, (str, bytes)):
            raise ValueError(f"{where} must be a list of tool calls")
        for index, call in enumerate(calls):
            if not isinstance(call, Mapping):
                raise ValueError(f"{where}[{index}] must be a tool call object")
            function = call.get("function")
            if isinstance(function, Mapping):
                self.call(function, f"{where}[{index}].function")
            else:
                self.approximations.append(f"{where}[{index}] ({call.get('type')}) is not counted")

    def call(self, function: Any, where: str) -> None:
        """Count a function call's name and arguments."""
        if not isinstance(function, Mapping):
            raise ValueError(f"{where} must be an object with a name and arguments")
        for key in ("name", "arguments"):
            value = function.get(key)
            if value is not None:
                if not isinstance(value, str):
                    raise ValueError(f"{where}.{key} must be a string, got {type(value).__name__}")
                self.text += self.counter.raw(value)

    # --- tool definitions --------------------------------------------------------------

    def tools(self, tools: Sequence[Mapping[str, Any]], where: str = "tools") -> None:
        """Count function definitions by OpenAI's rule for functions."""
        count = count_tools(tools, self.counter.raw, self.counter.tools, where)
        self.text += count.text
        self.framing += count.framing
        self.approximations.extend(count.approximations)

    # --- Responses API -------------------------------------------------------------------

    def responses(
        self,
        input: Any,
        instructions: Any = None,
        tools: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Count a Responses API input (a string or a list of items), its instructions and
        tools."""
        if instructions is not None:
            if not isinstance(instructions, str):
                raise ValueError("instructions must be a string")
            self.message({"role": "developer", "content": instructions}, "instructions")
        if isinstance(input, str):
            self.message({"role": "user", "content": input}, "input")
        elif isinstance(input, Sequence) and not isinstance(input, (bytes, Mapping)):
            for index, item in enumerate(input):
                self.item(item, f"input[{index}]")
        else:
            raise ValueError(
                "input must be a string or a list of input items, "
                f"got {type(input).__name__}"
            )
        self.framing += REPLY_PRIMING
        if tools is not None:
            self.tools(tools)

    def item(self, item: Any, where: str) -> None:
        """Count one Responses API input item."""
        if not isinstance(item, Mapping):
            raise ValueError(f"{where} must be an input item object, got {type(item).__name__}")
        kind = item.get("type", "message")
        if "role" in item and kind == "message":
            self.message(item, where, skip=_ITEM_KEYS)
        elif kind == "function_call":
            self.framing += TOKENS_PER_MESSAGE
            self.call(item, where)
        elif kind == "function_call_output":
            self.framing += TOKENS_PER_MESSAGE
            output = item.get("output")
            if output is not None:
                self.content(output, f"{where}.output")
        else:
            self.approximations.append(f"{where} ({kind}) is not counted")
