"""Pre-flight estimates of an Anthropic Messages body (``POST /v1/messages``).

Anthropic publishes no offline tokenizer and no rule for the framing of messages, so the
count is an approximation (``exact=False``) kept on the high side:

- text (the ``system`` prompt, text blocks, tool inputs and results, thinking) is counted
  with the model's tokenizer, for Claude ``o200k_base`` tokens times 1.2;
- each message, and the system prompt, adds the chat framing (3 tokens), and the reply
  priming 3 more;
- a custom tool counts its JSON text (``name``, ``description``, ``input_schema``), and a
  request with tools adds the system prompt Anthropic adds for tool use
  (:data:`TOOL_USE_SYSTEM_PROMPT`, the largest its pricing page lists);
- an image counts ``width x height / 750`` tokens (after Anthropic's downscaling), its size
  read from base64 data or given in ``image_sizes``, else the most one image can cost.

Server tools (web search, code execution), documents and redacted thinking are not counted
and are listed in ``approximations``. ``max_tokens``, which the API requires, bounds the
output (thinking included).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ..pricing._catalog import catalog
from ._estimate import Estimate, _estimate
from ._tokens import REPLY_PRIMING, TOKENS_PER_MESSAGE, Tally

TOOL_USE_SYSTEM_PROMPT = {"auto": 346, "none": 346, "any": 313, "tool": 313}
"""Tokens of the system prompt Anthropic adds when a request has tools, by ``tool_choice``
type (Claude 4 models; older models add fewer)."""

_ROLES = ("user", "assistant")
LONG_CONTEXT_BETA = "context-1m-"
"""The prefix of Anthropic's beta flag (``anthropic-beta: context-1m-2025-08-07``) that
opens a model's 1M-token context window; a prompt past 200K tokens is then billed at the
table's long-context (prompt-size) tier."""
LONG_CONTEXT_WINDOW = 1_000_000


def estimate_messages(
    body: Mapping[str, Any],
    *,
    provider: str | None = None,
    image_sizes: Mapping[str, tuple[int, int]] | None = None,
    at: date | datetime | None = None,
    service_tier: str | None = None,
    betas: Sequence[str] | None = None,
) -> Estimate:
    """Estimate an Anthropic Messages body: ``model``, ``system`` (a string or text
    blocks), ``messages`` (content as a string or blocks: ``text``, ``image``,
    ``tool_use``, ``tool_result``, ``thinking``), ``tools`` and ``max_tokens``.

    ``provider`` picks who bills the call (default: the model's maker). Images given by URL
    are never fetched: give their sizes in ``image_sizes`` (``{url: (width, height)}``).
    ``service_tier`` prices it at a request mode the table lists; by default ``fast`` when
    the body asks for ``speed: "fast"`` and the table sells it, else ``standard``.
    ``betas`` are the beta flags the request sends (its ``anthropic-beta`` header, or the
    SDK's ``betas=``): ``context-1m-2025-08-07`` opens a 1M-token context window.

    Raises ValueError naming what is wrong in a body that is not a Messages body, and
    :class:`~costbook.ContextWindowExceeded` when it does not fit the model's window
    (saying that the count is approximate).
    """
    return messages_estimate(body, provider=provider, image_sizes=image_sizes, at=at,
                             service_tier=service_tier, betas=betas)


def messages_estimate(
    body: Mapping[str, Any],
    *,
    provider: str | None = None,
    image_sizes: Mapping[str, tuple[int, int]] | None = None,
    at: date | datetime | None = None,
    service_tier: str | None = None,
    betas: Sequence[str] | None = None,
    strict: bool = True,
) -> Estimate:
    """:func:`estimate_messages`; with ``strict=False`` (a tracked call), a body past what
    the table knows of the model is estimated all the same, and its
    :attr:`~costbook.Estimate.misfit` says how."""
    if not isinstance(body, Mapping):
        raise ValueError(
            f"a request body must be a JSON object (a dict), got {type(body).__name__}"
        )
    ref = body.get("model")
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(
            "the request body has no 'model'; give one, e.g. "
            "{'model': 'claude-sonnet-4-5', 'max_tokens': 1024, 'messages': [...]}"
        )
    model = catalog().resolve(ref, provider)
    tally = Tally(model, image_sizes)
    if "messages" not in body:
        raise ValueError("an Anthropic Messages body needs 'messages', a list of messages")
    max_tokens = body.get("max_tokens")
    if type(max_tokens) is not int or max_tokens < 1:
        raise ValueError(
            "an Anthropic Messages body needs 'max_tokens', a whole number of tokens above 0, "
            f"got {max_tokens!r}"
        )
    counter = _Counter(tally)
    counter.system(body.get("system"))
    counter.messages(body["messages"])
    tools = body.get("tools")
    if tools is not None:
        counter.tools(tools, body.get("tool_choice"))
    tally.approximations.append(
        "message framing counted as in OpenAI chat (3 tokens a message); Anthropic "
        "publishes no rule for it"
    )
    if service_tier is None and body.get("speed") == "fast" and "fast" in model.service_tiers:
        service_tier = "fast"
    window = None
    if long_context(betas) and (model.context_window or 0) < LONG_CONTEXT_WINDOW:
        window = LONG_CONTEXT_WINDOW
        tally.approximations.append(
            f"the request's {LONG_CONTEXT_BETA}* beta opens a {LONG_CONTEXT_WINDOW}-token "
            "context window; a prompt past 200000 tokens is priced at the long-context tier "
            "where the table has one"
        )
    return _estimate(model, tally, max_tokens, 1, at, service_tier, strict=strict,
                     context_window=window)


def long_context(betas: Sequence[str] | None) -> bool:
    """Whether the beta flags ``betas`` open Anthropic's 1M-token context window."""
    if not betas:
        return False
    if isinstance(betas, str):
        betas = [betas]
    return any(
        isinstance(flag, str) and flag.strip().lower().startswith(LONG_CONTEXT_BETA)
        for flag in betas
    )


class _Counter:
    """Counts the parts of one Messages body into a :class:`Tally`."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    def text(self, value: Any, where: str) -> None:
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, got {type(value).__name__}")
        self.tally.text += self.tally.counter.raw(value)

    def system(self, system: Any) -> None:
        if system is None:
            return
        self.tally.framing += TOKENS_PER_MESSAGE
        if isinstance(system, str):
            self.text(system, "system")
        else:
            self.blocks(system, "system")

    def messages(self, messages: Any) -> None:
        if isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Sequence):
            raise ValueError(
                "messages must be a list of message objects like "
                f"{{'role': 'user', 'content': 'Hi'}}, got {type(messages).__name__}"
            )
        for index, message in enumerate(messages):
            where = f"messages[{index}]"
            if not isinstance(message, Mapping):
                raise ValueError(
                    f"{where} must be a message object like {{'role': 'user', 'content': "
                    f"'Hi'}}, got {type(message).__name__}"
                )
            role = message.get("role")
            if role not in _ROLES:
                raise ValueError(
                    f"{where} has role {role!r}; a Messages body takes 'user' or 'assistant' "
                    "(the system prompt goes in the top-level 'system')"
                )
            self.tally.framing += TOKENS_PER_MESSAGE
            self.text(role, f"{where}.role")
            content = message.get("content")
            if isinstance(content, str):
                self.text(content, f"{where}.content")
            else:
                self.blocks(content, f"{where}.content")
        self.tally.framing += REPLY_PRIMING

    def blocks(self, blocks: Any, where: str) -> None:
        if isinstance(blocks, (str, bytes, Mapping)) or not isinstance(blocks, Sequence):
            raise ValueError(
                f"{where} must be a string or a list of content blocks, "
                f"got {type(blocks).__name__}"
            )
        for index, block in enumerate(blocks):
            self.block(block, f"{where}[{index}]")

    def block(self, block: Any, where: str) -> None:
        if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
            raise ValueError(
                f"{where} must be a content block with a 'type', like "
                "{'type': 'text', 'text': 'Hi'}"
            )
        kind = block["type"]
        if kind == "text":
            self.text(block.get("text"), f"{where}.text")
        elif kind == "image":
            self.image(block.get("source"), where)
        elif kind == "tool_use":
            self.text(block.get("name"), f"{where}.name")
            self.tally.text += self.tally.counter.raw(_compact(block.get("input") or {}))
        elif kind == "tool_result":
            content = block.get("content")
            if isinstance(content, str):
                self.text(content, f"{where}.content")
            elif content is not None:
                self.blocks(content, f"{where}.content")
        elif kind == "thinking":
            self.text(block.get("thinking"), f"{where}.thinking")
            self.tally.approximations.append(
                f"{where}: thinking counted in full (the API drops the thinking of earlier "
                "turns from the input)"
            )
        else:
            self.tally.approximations.append(f"{where} ({kind}) is not counted")

    def image(self, source: Any, where: str) -> None:
        if not isinstance(source, Mapping):
            raise ValueError(f"{where} is an image block without a 'source' object")
        kind = source.get("type")
        if kind == "base64":
            media, data = source.get("media_type"), source.get("data")
            if not isinstance(media, str) or not isinstance(data, str):
                raise ValueError(
                    f"{where}.source is base64 without a string media_type and data"
                )
            self.tally.image(f"data:{media};base64,{data}", "auto", where)
        elif kind == "url":
            url = source.get("url")
            self.tally.image(url if isinstance(url, str) else None, "auto", where)
        else:
            self.tally.image(None, "auto", where)

    def tools(self, tools: Any, choice: Any) -> None:
        if isinstance(tools, (str, bytes, Mapping)) or not isinstance(tools, Sequence):
            raise ValueError("tools must be a list of tool definitions")
        if not tools:
            return
        for index, tool in enumerate(tools):
            where = f"tools[{index}]"
            if not isinstance(tool, Mapping):
                raise ValueError(f"{where} must be a tool definition object")
            kind = tool.get("type", "custom")
            if kind not in (None, "custom"):
                self.tally.approximations.append(f"{where} ({kind}) is not counted")
                continue
            if not isinstance(tool.get("name"), str):
                raise ValueError(f"{where} has no tool name")
            shown = {k: tool[k] for k in ("name", "description", "input_schema") if k in tool}
            self.tally.text += self.tally.counter.raw(_compact(shown))
        chosen = choice.get("type") if isinstance(choice, Mapping) else None
        self.tally.framing += TOOL_USE_SYSTEM_PROMPT.get(str(chosen), 346)
        self.tally.approximations.append(
            "tool definitions counted as their JSON text, with the tool-use system prompt "
            "Anthropic lists for Claude 4 models"
        )


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
