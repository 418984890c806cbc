"""OpenTelemetry export: every entry this process records, as GenAI metrics and span attributes.

:func:`enable` registers a record listener in the ledger layer; from then on each entry
(from :meth:`Ledger.record`, a tracked client, :func:`record_response`, a budget's commit)
adds to two instruments of the meter ``costbook``:

- ``gen_ai.client.token.usage``: the GenAI semantic conventions' histogram of tokens
  (unit ``{token}``), one measurement per token type (``input``, ``output``), with
  ``gen_ai.operation.name``, ``gen_ai.provider.name``, ``gen_ai.request.model``,
  ``gen_ai.response.model`` and ``gen_ai.token.type``;
- ``costbook.cost``: a counter of the table cost in USD (unit ``USD``), with the same
  attributes but the token type, and ``costbook.status``.

When a span is current and recording, the call's cost is set on it (``costbook.cost``,
``costbook.cost.exact``, ...) and added as a ``costbook.entry`` event. OpenTelemetry is
imported by :func:`enable` alone: ``import costbook`` never loads it.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ..pricing._money import money_text
from ..records._entry import Entry
from ..records._listeners import add_record_listener, remove_record_listener

METER_NAME = "costbook"
TOKEN_USAGE = "gen_ai.client.token.usage"
COST = "costbook.cost"
OPERATION = "chat"
"""``gen_ai.operation.name`` of every entry: costbook records chat-style calls (Chat
Completions, Responses, Messages)."""

TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
                 16777216, 67108864)
"""The bucket boundaries the GenAI conventions advise for ``gen_ai.client.token.usage``."""

PROVIDER_NAMES: Mapping[str, str] = {
    "bedrock": "aws.bedrock",
    "azure": "azure.ai.openai",
    "google": "gcp.gemini",
    "vertex": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "xai": "x_ai",
    "watsonx": "ibm.watsonx.ai",
}
"""costbook provider ids whose ``gen_ai.provider.name`` is spelled otherwise by the
conventions; any other id (``openai``, ``anthropic``, ``openrouter``, ...) is used as is."""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_lock = threading.Lock()
_active: _Exporter | None = None


def enable(meter_provider: Any = None, tracer_provider: Any = None) -> None:
    """Export every entry recorded from now on in this process to OpenTelemetry.

    ``meter_provider`` defaults to the global one (``opentelemetry.metrics``). Spans are
    annotated when current; with ``tracer_provider``, an entry recorded while no span is
    current gets a span of its own from that provider, named as the conventions name a
    call's span (``chat gpt-4o-mini``, kind CLIENT), timed from the call's start to its end.
    Enabling again replaces the providers (nothing is counted twice). Needs the
    ``costbook[otel]`` extra (opentelemetry-api)."""
    global _active
    try:
        from opentelemetry import metrics
    except ImportError:
        raise ImportError(
            "costbook.otel needs the OpenTelemetry API: pip install 'costbook[otel]' "
            "(opentelemetry-api and opentelemetry-sdk)"
        ) from None
    provider = meter_provider if meter_provider is not None else metrics.get_meter_provider()
    exporter = _Exporter(provider, tracer_provider)
    with _lock:
        if _active is not None:
            remove_record_listener(_active.export)
        _active = exporter
        add_record_listener(exporter.export)


def disable() -> None:
    """Stop exporting; entries recorded from now on are not seen by OpenTelemetry.
    Disabling when not enabled does nothing."""
    global _active
    with _lock:
        if _active is not None:
            remove_record_listener(_active.export)
            _active = None


def enabled() -> bool:
    """Whether entries are being exported."""
    return _active is not None


def provider_name(provider: str) -> str:
    """``gen_ai.provider.name`` for a costbook provider id."""
    return PROVIDER_NAMES.get(provider, provider)


def call_attributes(entry: Entry) -> dict[str, str]:
    """The GenAI conventions' attributes of the call an entry records."""
    return {
        "gen_ai.operation.name": OPERATION,
        "gen_ai.provider.name": provider_name(entry.provider),
        "gen_ai.request.model": entry.model,
        "gen_ai.response.model": entry.model,
    }


class _Exporter:
    """The instruments of one :func:`enable`, and the listener that feeds them."""

    def __init__(self, meter_provider: Any, tracer_provider: Any) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            release = version("costbook")
        except PackageNotFoundError:
            release = None
        meter = meter_provider.get_meter(METER_NAME, release)
        self.tokens = meter.create_histogram(
            TOKEN_USAGE, unit="{token}",
            description="Number of input and output tokens used, per call",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS,
        )
        self.cost = meter.create_counter(
            COST, unit="USD", description="Table cost of LLM calls recorded by costbook",
        )
        self.tracer = (
            None if tracer_provider is None
            else tracer_provider.get_tracer(METER_NAME, release)
        )

    def export(self, entry: Entry) -> None:
        """Add one recorded entry to the instruments and to the current span."""
        from opentelemetry import trace

        attributes = call_attributes(entry)
        usage = entry.usage
        for kind, count in (("input", usage.input_tokens), ("output", usage.output_tokens)):
            if count or entry.status != "error":  # a failed call with no usage has no tokens
                self.tokens.record(count, {**attributes, "gen_ai.token.type": kind})
        self.cost.add(float(entry.total), {**attributes, "costbook.status": entry.status})
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attributes(_cost_attributes(entry))
            span.add_event("costbook.entry", {**attributes, **_usage_attributes(entry),
                                              **_cost_attributes(entry)})
        elif self.tracer is not None:
            self._own_span(entry, attributes)

    def _own_span(self, entry: Entry, attributes: dict[str, str]) -> None:
        from opentelemetry.trace import SpanKind

        assert self.tracer is not None
        end = entry.time
        start = end - timedelta(seconds=entry.duration or 0)
        span = self.tracer.start_span(
            f"{OPERATION} {entry.model}", kind=SpanKind.CLIENT,
            attributes={**attributes, **_usage_attributes(entry), **_cost_attributes(entry)},
            start_time=_nanoseconds(start),
        )
        span.end(end_time=_nanoseconds(end))


def _usage_attributes(entry: Entry) -> dict[str, int]:
    return {
        "gen_ai.usage.input_tokens": entry.usage.input_tokens,
        "gen_ai.usage.output_tokens": entry.usage.output_tokens,
    }


def _cost_attributes(entry: Entry) -> dict[str, Any]:
    """The cost of a call as span attributes: in USD as a float (for queries and sums) and
    as exact decimal text; the provider's reported cost where it gave one."""
    values: dict[str, Any] = {
        "costbook.cost": float(entry.total),
        "costbook.cost.exact": money_text(entry.total),
        "costbook.status": entry.status,
    }
    if entry.id:
        values["costbook.entry.id"] = entry.id
    if entry.reported_cost is not None:
        values["costbook.reported_cost"] = float(entry.reported_cost)
        values["costbook.reported_cost.exact"] = money_text(entry.reported_cost)
    if entry.request_id:
        values["gen_ai.response.id"] = entry.request_id
    return values


def _nanoseconds(moment: datetime) -> int:
    """Nanoseconds since the Unix epoch, exactly (no float on the way)."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1_000

