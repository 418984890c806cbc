"""Pre-flight estimates of the OpenAI bodies that carry a bare prompt rather than messages:
an embeddings body (``POST /v1/embeddings``: ``model``, ``input``) and a legacy completion
body (``POST /v1/completions``: ``model``, ``prompt``, ``max_tokens``, ``n``, ``best_of``).

``input`` and ``prompt`` are a string, a list of strings, a list of token ids or a list of
lists of token ids; text is counted with the model's tokenizer, token ids one each. An
embedding has no output, so its high bound is its low one. A legacy completion's output
is bounded by ``max_tokens`` (16 when not given, as the API defaults), for each prompt
times ``max(n, best_of)`` (every candidate ``best_of`` makes is billed).

The model's context window is never a gate here: an embeddings body may hold many inputs,
each up to the window, and the API is the judge of what fits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral
from typing import TYPE_CHECKING, Any

from ..pricing._calculator import price
from ..pricing._usage import Usage
from ._estimate import Estimate
from ._tokens import counter_for

if TYPE_CHECKING:
    from ..pricing._model import Model

LEGACY_DEFAULT_MAX_TOKENS = 16
"""The output bound of a legacy completion that sets no ``max_tokens`` (the API's default)."""


def estimate_embeddings(body: Mapping[str, Any], *, provider: str | None = None) -> Estimate:
    """Estimate an embeddings body: the tokens of its ``input``, priced at the model's
    input rate. Raises ValueError naming what is wrong in a body that is not one."""
    model, tokens, exact = _prompt_tokens(body, "input", provider,
                                          "{'model': 'text-embedding-3-small', 'input': 'Hi'}")
    return _estimate(model, tokens, 0, 1, exact)


def estimate_completion(body: Mapping[str, Any], *, provider: str | None = None) -> Estimate:
    """Estimate a legacy completion body: its ``prompt`` (and ``suffix``) in, up to
    ``max_tokens`` out for each prompt and each of ``max(n, best_of)`` candidates. Raises
    ValueError naming what is wrong in a body that is not one."""
    model, tokens, exact = _prompt_tokens(
        body, "prompt", provider, "{'model': 'gpt-3.5-turbo-instruct', 'prompt': 'Say hi'}")
    suffix = body.get("suffix")
    if isinstance(suffix, str):
        tokens += counter_for(model).count(suffix)
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        max_tokens = LEGACY_DEFAULT_MAX_TOKENS
    elif type(max_tokens) is not int or max_tokens < 0:
        raise ValueError(f"max_tokens must be a whole number of tokens, got {max_tokens!r}")
    candidates = max(_whole(body, "n"), _whole(body, "best_of"))
    return _estimate(model, tokens, max_tokens, candidates * _prompts(body["prompt"]), exact)


def _whole(body: Mapping[str, Any], key: str) -> int:
    value = body.get(key)
    if value is None:
        return 1
    if type(value) is not int or value < 1:
        raise ValueError(f"{key} must be a whole number above 0, got {value!r}")
    return value


def _prompts(prompt: Any) -> int:
    """How many prompts a ``prompt`` holds (each gets its own completions)."""
    if isinstance(prompt, str) or not prompt:
        return 1
    first = prompt[0]
    return 1 if isinstance(first, int) else len(prompt)


def _prompt_tokens(body: Mapping[str, Any], field: str, provider: str | None,
                   example: str) -> tuple[Model, int, bool]:
    from ..pricing._catalog import catalog

    if not isinstance(body, Mapping):
        raise ValueError(
            f"a request body must be a JSON object (a dict), got {type(body).__name__}"
        )
    ref = body.get("model")
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(f"the request body has no 'model'; give one, e.g. {example}")
    model = catalog().resolve(ref, provider)
    if field not in body:
        raise ValueError(f"the request body has no {field!r}; give one, e.g. {example}")
    counter = counter_for(model)
    value = body[field]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, Sequence) or isinstance(items, (bytes, Mapping)):
        raise ValueError(
            f"{field} must be a string, a list of strings, a list of token ids or a list of "
            f"lists of token ids, got {type(value).__name__}"
        )
    if items and all(_is_token(item) for item in items):
        return model, len(items), True
    tokens = 0
    for index, item in enumerate(items):
        if isinstance(item, str):
            tokens += counter.count(item)
        elif isinstance(item, Iterable) and all(_is_token(t) for t in item):
            tokens += len(list(item))
        else:
            raise ValueError(
                f"{field}[{index}] must be a string or a list of token ids, "
                f"got {type(item).__name__}"
            )
    return model, tokens, counter.exact


def _is_token(value: object) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)


def _estimate(model: Model, input_tokens: int, max_output: int, n: int,
              exact: bool) -> Estimate:
    approximations = () if exact else (
        f"{model.tokenizer or 'no'} tokenizer: {counter_for(model).method}",)
    low = price(Usage(input_tokens=input_tokens), model)
    high = low if max_output == 0 else price(
        Usage(input_tokens=input_tokens, output_tokens=max_output * n), model)
    return Estimate(
        model=model.id, provider=model.provider, input_tokens=input_tokens, images=0,
        max_output_tokens=max_output, n=n, context_window=model.context_window, low=low,
        high=high, exact=exact, approximations=approximations,
    )
