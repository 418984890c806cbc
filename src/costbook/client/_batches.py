"""Recording a batch's results: OpenAI Batch output lines and Anthropic Message Batches
results, one ledger entry per request, priced at the model's ``batch`` service tier.

An OpenAI output line is ``{"id": "batch_req_...", "custom_id": ..., "response":
{"status_code": 200, "body": {...}}, "error": null}``; an Anthropic result is
``{"custom_id": ..., "result": {"type": "succeeded", "message": {...}}}`` (or ``errored``,
``canceled``, ``expired``). Each request is recorded with its ``custom_id`` as the request
id and a ``batch_result`` tag holding what names that result alone (the output line's
``id``, the message's ``id``, else a digest of the line), which is how re-recording the same
results records nothing twice. A request that failed, was canceled or expired is not
billed: it is recorded with status ``error`` at $0.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..pricing._cost import Cost
from ..pricing._usage import Usage
from ._record import answer_cost
from ._response_usage import usage_from_response

if TYPE_CHECKING:
    from ..ledger._ledger import Ledger
    from ..records._entry import Entry

BATCH_TIER = "batch"
RESULT_TAG = "batch_result"
"""The tag that names the batch result an entry was recorded from."""
MAX_LINE = 32 * 1024 * 1024
"""The longest result line read, in characters."""
_NO_MODEL = "(none)"


@dataclass(frozen=True)
class BatchRecord:
    """What :func:`record_batch` did: the ``entries`` it recorded (in the order of the
    results), how many results were ``already`` in the ledger (recorded before, so left
    alone), how many of the recorded requests ``failed`` (not billed, recorded ``error``)
    or are ``unpriced`` (no table has the model's batch rates), and the exact ``total``
    cost it recorded, in USD."""

    entries: list[Entry] = field(default_factory=list)
    already: int = 0
    failed: int = 0
    unpriced: int = 0

    @property
    def total(self) -> Decimal:
        """The summed cost of the entries recorded now, in USD."""
        return sum((entry.total for entry in self.entries), Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; amounts are exact decimal strings."""
        from ..pricing._money import money_text

        return {
            "recorded": len(self.entries),
            "already": self.already,
            "failed": self.failed,
            "unpriced": self.unpriced,
            "total": money_text(self.total),
        }


@dataclass(frozen=True)
class _Result:
    """One request's result, read and checked, ready to record."""

    custom_id: str
    key: str
    body: Any  # the answer's payload (None when the request failed)


def record_batch(
    results: Iterable[Any] | str | bytes | os.PathLike[str],
    *,
    provider: str,
    ledger: Ledger | None = None,
    tags: Mapping[str, str] | None = None,
) -> BatchRecord:
    """Record a batch's results in ``ledger``, one entry per request, priced at the
    ``batch`` service tier of the model each answer names.

    ``results`` is the output file of an OpenAI Batch (or Anthropic's Message Batches
    results): its path (a :class:`pathlib.Path`), its JSONL text (``str`` or ``bytes``),
    or its lines or results one by one (JSON text, dicts, or the SDK's result objects,
    as ``client.messages.batches.results(batch_id)`` yields them). ``provider`` bills
    the calls (``openai``, ``azure``, ``anthropic``, ...). Without ``ledger``, the
    default ledger is used. ``tags`` go on every entry.

    Every result is read and checked before anything is recorded: a line that is not a
    batch result, or a succeeded request whose answer reports no usage, raises
    ValueError naming the line, and nothing is recorded. Results recorded before (by any
    earlier call) are left alone, so recording the same results twice records them once.
    An answer whose model has no batch rates in its table is recorded ``unpriced`` (its
    cost 0, never the standard rates), with one warning for all of them.
    """
    from ..records._tags import check_tags
    from ._scopes import ledger_for_call

    if not isinstance(provider, str) or not provider.strip():
        raise ValueError(f"provider must name who billed the batch, like 'openai' or "
                         f"'anthropic', got {provider!r}")
    extra = check_tags(tags)
    if RESULT_TAG in extra:
        raise ValueError(f"the tag {RESULT_TAG!r} is set by record_batch; choose another key")
    read = [_read(item, number) for number, item in enumerate(_items(results), start=1)]
    book = ledger if ledger is not None else ledger_for_call()
    entries: list[Entry] = []
    already = failed = 0
    unpriced: dict[str, int] = {}
    # one read of the ledger: a query per result would read it once per result
    seen = {entry.tags[RESULT_TAG] for entry in book.entries() if RESULT_TAG in entry.tags}
    for result in read:
        if result.key in seen:
            already += 1
            continue
        seen.add(result.key)
        entry_tags = {**extra, RESULT_TAG: result.key}
        if result.body is None:
            failed += 1
            cost = Cost(total=Decimal(0), items={}, model=_NO_MODEL, provider=provider,
                        usage=Usage(requests=0))
            entries.append(book.record(cost, tags=entry_tags, request_id=result.custom_id,
                                       status="error"))
            continue
        answer = usage_from_response(result.body, provider=provider)
        assert answer.usage is not None  # checked by _read
        batch = dataclasses.replace(answer, service_tier=BATCH_TIER)
        cost, reason = answer_cost(batch, answer.usage, provider, None)
        if reason is not None:
            unpriced[reason] = unpriced.get(reason, 0) + 1
        entries.append(book.record(
            cost, tags=entry_tags, request_id=result.custom_id,
            reported_cost=answer.reported_cost,
            status="ok" if reason is None else "unpriced",
        ))
    for reason, count in unpriced.items():
        warnings.warn(
            f"{reason}: {count} batch request(s) are recorded with status 'unpriced' at $0; "
            "to price them, give the model its batch rates (service_tiers: batch) in a "
            "pricing table of your own (costbook.load(path) or COSTBOOK_PRICING_PATH) and "
            "record the entries again in a new ledger",
            RuntimeWarning,
            stacklevel=2,
        )
    return BatchRecord(entries, already, failed, sum(unpriced.values()))


def _items(results: Any) -> Iterable[Any]:
    if isinstance(results, os.PathLike):
        with Path(results).open(encoding="utf-8") as lines:
            try:
                yield from (line for line in lines if line.strip())
            except UnicodeDecodeError as exc:
                raise ValueError(f"{os.fspath(results)} is not UTF-8 text ({exc.reason} at "
                                 f"byte {exc.start}); give the batch's JSONL file") from None
        return
    if isinstance(results, bytes):
        try:
            results = results.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"the batch results are not UTF-8 text ({exc.reason} at byte "
                             f"{exc.start})") from None
    if isinstance(results, str):
        yield from (line for line in results.splitlines() if line.strip())
        return
    if isinstance(results, Mapping) or not isinstance(results, Iterable):
        raise TypeError(
            "results must be a batch's output file (a pathlib.Path), its JSONL text, or its "
            f"results one by one, got {type(results).__name__}"
        )
    yield from results


def _read(item: Any, number: int) -> _Result:
    """One result, checked; ``number`` counts the results from 1, for errors."""
    where = f"batch result {number}"
    if isinstance(item, bytes):
        item = item.decode("utf-8")
    if isinstance(item, str):
        if len(item) > MAX_LINE:
            raise ValueError(f"{where} is longer than {MAX_LINE} characters")
        try:
            item = json.loads(item, parse_float=Decimal)
        except RecursionError:
            raise ValueError(f"{where} is JSON nested too deeply to be a batch result"
                             ) from None
        except ValueError:
            raise ValueError(f"{where} is not JSON: {item[:60]!r}") from None
    elif not isinstance(item, Mapping):
        dump = getattr(item, "model_dump", None)
        item = dump(mode="json") if callable(dump) else item
    if not isinstance(item, Mapping):
        raise ValueError(f"{where} must be a JSON object, got {type(item).__name__}")
    custom_id = item.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id:
        raise ValueError(f"{where} has no custom_id; a batch result names the request it "
                         "answers with its custom_id")
    if "result" in item:
        return _anthropic(item, custom_id, where)
    if "response" in item or "error" in item:
        return _openai(item, custom_id, where)
    raise ValueError(
        f"{where} ({custom_id!r}) is neither an OpenAI Batch output line (with 'response') "
        "nor an Anthropic Message Batches result (with 'result')"
    )


def _openai(item: Mapping[str, Any], custom_id: str, where: str) -> _Result:
    key = item.get("id")
    key = key if isinstance(key, str) and key else _digest(item)
    response = item.get("response")
    if not isinstance(response, Mapping) or response.get("status_code") != 200:
        return _Result(custom_id, key, None)
    return _Result(custom_id, key, _answer(response.get("body"), custom_id, where))


def _anthropic(item: Mapping[str, Any], custom_id: str, where: str) -> _Result:
    result = item.get("result")
    if not isinstance(result, Mapping) or result.get("type") != "succeeded":
        if not isinstance(result, Mapping) or not isinstance(result.get("type"), str):
            raise ValueError(f"{where} ({custom_id!r}) has a result without a type")
        return _Result(custom_id, _digest(item), None)
    message = result.get("message")
    body = _answer(message, custom_id, where)
    key = message.get("id") if isinstance(message, Mapping) else None
    return _Result(custom_id, key if isinstance(key, str) and key else _digest(item), body)


def _answer(body: Any, custom_id: str, where: str) -> Any:
    if not isinstance(body, Mapping):
        raise ValueError(f"{where} ({custom_id!r}) succeeded without an answer body")
    try:
        usage = usage_from_response(body).usage
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{where} ({custom_id!r}) has a usage that cannot be read: {exc}"
                         ) from None
    if usage is None:
        raise ValueError(
            f"{where} ({custom_id!r}) reports no usage, so its cost is unknown; nothing was "
            "recorded"
        )
    return body


def _digest(item: Mapping[str, Any]) -> str:
    text = json.dumps(item, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]
