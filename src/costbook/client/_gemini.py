"""``track()`` for Google's ``google-genai`` SDK: ``models.generate_content`` and
``models.generate_content_stream`` of a ``google.genai.Client`` and of its ``client.aio``.

Each request the SDK sends is one tracked call (automatic function calling and automatic
continuation send several): the SDK's one-request methods (``_generate_content`` and
``_generate_content_stream``) are wrapped where the SDK has them, else the public ones.
Before sending, the ``contents`` (with ``config.system_instruction``, function
declarations and response schemas) are counted offline as a chat body
(:func:`~costbook.estimate_request`); Google publishes no offline tokenizer for Gemini, so
the estimate says it is approximate. The high bound uses ``config.max_output_tokens``
(thinking included), else the model's max output. After the answer, its
``usage_metadata`` prices it: prompt (with tool-use prompt tokens), cached content, and
candidates plus thoughts as output; audio counts of the per-modality details where the
model's table prices audio. ``models.count_tokens`` is free and not recorded.

The provider is ``google`` for the Gemini API and ``vertex`` for a client made with
``vertexai=True``. ``google-genai`` is imported here only, once a client of it exists.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from .._errors import ContextWindowExceeded, UnknownModelError
from ._call import _TRACKED, _Call, _Settings
from ._sdk_support import shallow_copy
from ._streams import AsyncTrackedStream, TrackedStream, _StreamWatch

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..pricing._model import Model
    from ..pricing._usage import Usage
    from ..tokens._estimate import Estimate
    from ._response_usage import ResponseUsage

_API = "gemini"
# (the SDK's one-request method, the public method), for a call and for a stream
_DOORS = (("_generate_content", "generate_content", False),
          ("_generate_content_stream", "generate_content_stream", True))
_ROLES = {"model": "assistant", "user": "user", "function": "user", "tool": "user"}
_subclasses: dict[type[Any], type[Any]] = {}


def is_gemini_client(client: object) -> bool:
    """Whether ``client`` is a ``google.genai.Client`` or its ``AsyncClient``."""
    module = sys.modules.get("google.genai.client")
    if module is None:
        return False
    kinds = tuple(kind for kind in (getattr(module, "Client", None),
                                    getattr(module, "AsyncClient", None))
                  if isinstance(kind, type))
    return bool(kinds) and isinstance(client, kinds)


def client_facts(client: Any) -> tuple[str, str | None, dict[str, str]]:
    """The provider a client bills through (``vertex`` for ``vertexai=True``), its API key,
    and the tags its calls carry."""
    api = getattr(client, "_api_client", None)
    vertex = bool(getattr(api, "vertexai", False))
    key = getattr(api, "api_key", None)
    return ("vertex" if vertex else "google"), key if isinstance(key, str) else None, {}


def install_gemini(client: Any, settings: _Settings) -> Any:
    """A copy of ``client`` sharing its connection, whose ``models`` (and ``aio.models``)
    are tracked. The copy keeps the original alive and never closes the connection when it
    is dropped (the SDK's client closes it in ``__del__``)."""
    if getattr(client, _TRACKED, False):
        raise ValueError("this client is tracked already; track the original client once")
    kind = type(client)
    if "__del__" in {name for klass in kind.__mro__[:-1] for name in vars(klass)}:
        kind = _without_del(kind)
    tracked = shallow_copy(client, kind)
    tracked._costbook_original = client
    models = getattr(client, "_models", None)
    aio = getattr(client, "_aio", None)
    if aio is None:  # an AsyncClient tracked on its own
        tracked._models = _tracked_models(models, settings, is_async=True)
    else:
        tracked._models = _tracked_models(models, settings, is_async=False)
        tracked._aio = shallow_copy(aio)
        tracked._aio._models = _tracked_models(aio._models, settings, is_async=True)
    setattr(tracked, _TRACKED, True)
    return tracked


def _without_del(kind: type[Any]) -> type[Any]:
    found = _subclasses.get(kind)
    if found is None:
        def __del__(self: Any) -> None:
            pass  # the original client owns the connection

        found = type(kind.__name__, (kind,), {"__del__": __del__,
                                              "__module__": kind.__module__,
                                              "__qualname__": kind.__qualname__})
        _subclasses[kind] = found
    return found


def _tracked_models(models: Any, settings: _Settings, *, is_async: bool) -> Any:
    tracked = shallow_copy(models)
    for private, public, stream in _DOORS:
        name = private if callable(getattr(models, private, None)) else public
        original = getattr(models, name)
        if stream:
            wrapped = (_wrap_async_stream if is_async else _wrap_stream)(original, settings)
        else:
            wrapped = (_wrap_async_call if is_async else _wrap_call)(original, settings)
        setattr(tracked, name, wrapped)
    return tracked


# --- calls --------------------------------------------------------------------------------

def _wrap_call(original: Any, settings: _Settings) -> Any:
    @functools.wraps(original)
    def tracked(*args: Any, **kwargs: Any) -> Any:
        call = _begin(settings, kwargs)
        try:
            response = original(*args, **kwargs)
        except BaseException as exc:
            call.failed(exc)
            raise
        call.finish(_answer(response), _text(response), complete=True)
        return response

    return tracked


def _answer(response: Any) -> Any:
    """What prices an answer: the response, or for one made with
    ``config.should_return_http_response`` (only the HTTP response), its JSON body."""
    if getattr(response, "usage_metadata", None) is not None:
        return response
    body = getattr(getattr(response, "sdk_http_response", None), "body", None)
    if isinstance(body, str) and body:
        from ._response_usage import parse_json

        try:
            data = parse_json(body)
        except ValueError:
            return response
        if isinstance(data, Mapping):
            return data
    return response


def _wrap_async_call(original: Any, settings: _Settings) -> Any:
    @functools.wraps(original)
    async def tracked(*args: Any, **kwargs: Any) -> Any:
        call = _begin(settings, kwargs)
        try:
            response = await original(*args, **kwargs)
        except BaseException as exc:
            call.failed(exc)
            raise
        call.finish(_answer(response), _text(response), complete=True)
        return response

    return tracked


def _wrap_stream(original: Any, settings: _Settings) -> Any:
    """The sync stream is a generator, as the SDK's: the call is estimated, held and sent
    when it is first read."""

    @functools.wraps(original)
    def tracked(*args: Any, **kwargs: Any) -> Iterator[Any]:
        call = _begin(settings, kwargs)
        try:
            stream = original(*args, **kwargs)
        except BaseException as exc:
            call.failed(exc)
            raise
        watched = TrackedStream(iter(stream), call, False, GeminiWatch(call))
        try:
            yield from watched
        finally:
            watched.close()

    return tracked


def _wrap_async_stream(original: Any, settings: _Settings) -> Any:
    @functools.wraps(original)
    async def tracked(*args: Any, **kwargs: Any) -> Any:
        call = _begin(settings, kwargs)
        try:
            stream = await original(*args, **kwargs)
        except BaseException as exc:
            call.failed(exc)
            raise
        return AsyncTrackedStream(stream, call, False, GeminiWatch(call))

    return tracked


class GeminiCall(_Call):
    """A tracked Gemini call: audio counts are read from the answer's per-modality
    details where the model's table prices audio (else audio bills as the other input)."""

    payload: Any = None

    def finish(self, payload: Any, text: str, *, complete: bool) -> None:
        self.payload = payload
        super().finish(payload, text, complete=complete)

    def _price_and_record(self, answer: ResponseUsage, usage: Usage, status: str) -> None:
        from ._record import answered_model

        if answer.model and self.asked is not None:
            try:
                answered_model(answer.model, self.settings.provider, self.asked)
            except UnknownModelError:
                # a model version no table lists (``gemini-2.5-flash-001``): the model
                # asked for prices it
                answer = dataclasses.replace(answer, model=None)
        try:
            model = answered_model(answer.model, self.settings.provider, self.asked)
            usage = _with_audio(usage, self.payload, model)
        except (UnknownModelError, ValueError, TypeError):
            pass  # priced (or recorded unpriced) from the counts read as they are
        super()._price_and_record(answer, usage, status)


def _begin(settings: _Settings, kwargs: Mapping[str, Any]) -> GeminiCall:
    """Estimate the request and hold its high bound, before anything is sent."""
    from ..tokens._estimate import estimate_request

    asked = kwargs.get("model")
    name = _model_name(asked) if isinstance(asked, str) else str(asked)
    if isinstance(asked, str):
        name = settings.models.get(asked, settings.models.get(name, name))
    body, notes = chat_body(name, kwargs.get("contents"), kwargs.get("config"))
    estimate: Estimate | None
    try:
        estimate = estimate_request(body, provider=settings.provider)
    except UnknownModelError:
        estimate = None  # sent, and recorded unpriced, unless a limit must refuse it
    except ContextWindowExceeded:
        raise
    except ValueError as exc:  # an image costbook cannot read: counted without it
        notes.append(f"counted without its images ({exc})")
        body = {**body, "messages": [
            {**message, "content": [part for part in message["content"]
                                    if part.get("type") == "text"]}
            if isinstance(message["content"], list) else message
            for message in body["messages"]]}
        estimate = estimate_request(body, provider=settings.provider)
    if estimate is not None and notes:
        estimate = dataclasses.replace(
            estimate, exact=False, approximations=(*estimate.approximations, *notes)
        )
    return GeminiCall(settings, _API, body, estimate, estimated=True)


def _model_name(ref: str) -> str:
    """The model id in a ref the SDK takes: ``models/gemini-2.5-flash``,
    ``publishers/google/models/...``, ``projects/.../models/...`` or ``google/...``."""
    name = ref.strip()
    if "models/" in name and not name.startswith("tunedModels/"):
        name = name.rsplit("models/", 1)[1]
    return name.removeprefix("google/")


# --- the request, counted as a chat body ------------------------------------------------

def chat_body(model: str, contents: Any, config: Any) -> tuple[dict[str, Any], list[str]]:
    """A Chat Completions body that counts as the Gemini request does, and what it leaves
    out or approximates."""
    notes: list[str] = []
    settings = _plain(config) if config is not None else {}
    if not isinstance(settings, Mapping):
        settings = {}
    messages: list[dict[str, Any]] = []
    system = _field(settings, "system_instruction")
    if system is not None:
        messages.append({"role": "system",
                         "content": _parts(_as_parts(system), notes, "system_instruction")})
    for index, content in enumerate(_as_contents(contents)):
        role = _ROLES.get(str(content.get("role") or "user"), "user")
        messages.append({"role": role,
                         "content": _parts(content.get("parts") or [], notes,
                                           f"contents[{index}]")})
    declared = _declarations(_field(settings, "tools"), notes)
    if declared:
        messages.append({"role": "system", "content": _compact(declared)})
        notes.append("function declarations counted as their JSON text")
    schema = _field(settings, "response_json_schema")
    if schema is None:
        schema = _field(settings, "response_schema")
    if schema is not None:
        messages.append({"role": "system", "content": _compact(schema)})
        notes.append("the response schema is counted as its JSON text")
    if _field(settings, "cached_content") is not None:
        notes.append("config.cached_content is not counted (the answer says how many "
                      "cached tokens it read)")
    body: dict[str, Any] = {"model": model, "messages": messages}
    most = _field(settings, "max_output_tokens")
    if isinstance(most, int) and not isinstance(most, bool) and most > 0:
        body["max_tokens"] = most
    choices = _field(settings, "candidate_count")
    if isinstance(choices, int) and not isinstance(choices, bool) and choices > 0:
        body["n"] = choices
    notes.append("message framing counted as in OpenAI chat (3 tokens a message); Google "
                 "publishes no rule for it")
    return body, notes


def _plain(value: Any, depth: int = 0) -> Any:
    """SDK objects as plain dicts and lists (``None`` fields left out)."""
    if depth > 60:
        return None
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            value = dump(exclude_none=True)
        except TypeError:
            value = dump()
    if isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    return value


def _field(data: Mapping[str, Any], name: str) -> Any:
    """A field by its snake_case or camelCase name."""
    if name in data:
        return data[name]
    head, *rest = name.split("_")
    return data.get(head + "".join(word.title() for word in rest))


def _as_contents(contents: Any) -> list[Mapping[str, Any]]:
    """Contents as the SDK reads them: a Content, a list of Contents, or parts (strings,
    Parts, images) that make up user turns."""
    plain = _plain(contents)
    items = plain if isinstance(plain, list) else [plain]
    found: list[Mapping[str, Any]] = []
    loose: list[Any] = []
    for item in items:
        if isinstance(item, Mapping) and "parts" in item:
            if loose:
                found.append({"role": "user", "parts": loose})
                loose = []
            found.append(item)
        elif item is not None:
            loose.append(item)
    if loose:
        found.append({"role": "user", "parts": loose})
    return found


def _as_parts(value: Any) -> list[Any]:
    plain = _plain(value)
    if isinstance(plain, Mapping) and "parts" in plain:
        parts = plain["parts"]
        return list(parts) if isinstance(parts, list) else [parts]
    return list(plain) if isinstance(plain, list) else [plain]


def _parts(parts: Any, notes: list[str], where: str) -> list[dict[str, Any]]:
    """Gemini parts as chat content parts: text (and thoughts, function calls and
    results as their text), images as data URLs; others noted as not counted."""
    if not isinstance(parts, list):
        parts = [parts]
    counted: list[dict[str, Any]] = []
    for index, part in enumerate(parts):
        at = f"{where}.parts[{index}]"
        if isinstance(part, str):
            counted.append({"type": "text", "text": part})
        elif not isinstance(part, Mapping):
            notes.append(f"{at} ({type(part).__name__}) is not counted")
        elif isinstance(part.get("text"), str):
            counted.append({"type": "text", "text": part["text"]})
        elif _field(part, "inline_data") is not None:
            image = _image_url(_field(part, "inline_data"))
            if image is None:
                notes.append(f"{at} (inline data other than an image) is not counted")
            else:
                counted.append({"type": "image_url", "image_url": {"url": image}})
        elif _field(part, "file_data") is not None:
            notes.append(f"{at} (file data, read by Google from its URI) is not counted")
        else:
            shown = {k: v for k, v in part.items() if k not in ("thought", "thought_signature",
                                                                 "thoughtSignature")}
            if shown:
                counted.append({"type": "text", "text": _compact(shown)})
    return counted


def _image_url(data: Any) -> str | None:
    if not isinstance(data, Mapping):
        return None
    mime = _field(data, "mime_type")
    payload = data.get("data")
    if not isinstance(mime, str) or not mime.startswith("image/"):
        return None
    if isinstance(payload, (bytes, bytearray)):
        payload = base64.b64encode(bytes(payload)).decode("ascii")
    if not isinstance(payload, str):
        return None
    return f"data:{mime};base64,{payload}"


def _declarations(tools: Any, notes: list[str]) -> list[Any]:
    declared: list[Any] = []
    if not isinstance(tools, list):
        return declared
    for index, tool in enumerate(tools):
        if callable(tool) and not isinstance(tool, Mapping):
            declared.append({"name": getattr(tool, "__name__", "function"),
                             "description": getattr(tool, "__doc__", None) or ""})
            notes.append(f"tools[{index}] (a Python function) is counted as its name and "
                         "docstring")
        elif isinstance(tool, Mapping):
            functions = _field(tool, "function_declarations")
            if isinstance(functions, list):
                declared.extend(functions)
            others = sorted(k for k in tool if k not in ("function_declarations",
                                                         "functionDeclarations"))
            if others:
                notes.append(f"tools[{index}] ({', '.join(others)}) is not counted")
    return declared


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


# --- the answer -------------------------------------------------------------------------

def _text(response: Any) -> str:
    """The text (thoughts included) of an answer, for counting its output when it reports
    no usage."""
    pieces: list[str] = []
    for candidate in getattr(response, "candidates", None) or []:
        content = getattr(candidate, "content", None)
        for part in getattr(content, "parts", None) or []:
            text = getattr(part, "text", None)
            if isinstance(text, str):
                pieces.append(text)
    return "".join(pieces)


def _with_audio(usage: Usage, payload: Any, model: Model) -> Usage:
    """``usage`` with the audio counts of the answer's per-modality details, where the
    model's table prices audio."""
    from ..pricing._usage import Usage
    from ._response_usage import _as_mapping

    rates = model.rates_at().per_token
    data = _as_mapping(payload) if payload is not None else {}
    meta = data.get("usage_metadata") or data.get("usageMetadata")
    if not isinstance(meta, Mapping):
        return usage
    counts = usage.as_dict()
    if "audio_input" in rates:
        counts["audio_input_tokens"] = _audio(meta, "prompt_tokens_details")
        if "audio_cache_read" in rates:
            counts["audio_cache_read_tokens"] = _audio(meta, "cache_tokens_details")
    if "audio_output" in rates:
        counts["audio_output_tokens"] = _audio(meta, "candidates_tokens_details")
    return Usage(**counts)


def _audio(meta: Mapping[str, Any], name: str) -> int:
    total = 0
    details = _field(meta, name)
    for item in details if isinstance(details, list) else []:
        if not isinstance(item, Mapping):
            continue
        modality = item.get("modality")
        modality = getattr(modality, "value", modality)
        count = _field(item, "token_count")
        if str(modality).upper() == "AUDIO" and isinstance(count, int) and count > 0:
            total += count
    return total


class GeminiWatch(_StreamWatch):
    """What a Gemini stream has told so far: its text, and its last chunk that carried
    ``usage_metadata`` (each chunk's counts are cumulative)."""

    def __init__(self, call: _Call) -> None:
        super().__init__(_API, False)
        self.call = call

    def see(self, item: Any) -> bool:
        self.text.append(_text(item))
        if getattr(item, "usage_metadata", None) is not None:
            self.final = item
        elif self.final is None and getattr(item, "model_version", None):
            self.named = {"model_version": item.model_version}
        for candidate in getattr(item, "candidates", None) or []:
            if getattr(candidate, "finish_reason", None):
                self.finished = True
        return False

    def payload(self) -> Any:
        if self.final is None or self.finished:
            return self.final if self.final is not None else self.named
        # cut short: the output sent so far is counted where the chunks report less
        from ..tokens._tokens import counter_for, text_counter
        from ._response_usage import _as_mapping

        data = dict(_as_mapping(self.final))
        meta = dict(data.get("usage_metadata") or {})
        asked = self.call.asked
        counter = counter_for(asked) if asked is not None else text_counter("approximate")
        text = "".join(self.text)
        counted = counter.count(text) if text else 0
        reported = meta.get("candidates_token_count")
        meta["candidates_token_count"] = max(reported if isinstance(reported, int) else 0,
                                             counted)
        return {**data, "usage_metadata": meta}
