"""OpenTelemetry export: recorded entries as GenAI metrics and span attributes, checked with
the real SDK's in-memory metric reader and span exporter."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from decimal import Decimal

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the test extra installs opentelemetry-sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

import costbook
from costbook import Budget, Ledger, Usage, price, record_response, track
from fake_llm_server import PROMPT_TOKENS

MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def metrics():
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield reader, provider
    costbook.otel.disable()
    provider.shutdown()


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter, provider
    costbook.otel.disable()
    provider.shutdown()


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "spend.sqlite") as book:
        yield book


def points(reader, name):
    """{frozenset(attributes): point} of the metric ``name``."""
    data = reader.get_metrics_data()
    found = {}
    for resource in (data.resource_metrics if data else []):
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        found[frozenset(point.attributes.items())] = (metric, point)
    return found


def call(provider, model, **extra):
    return frozenset({
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": provider,
        "gen_ai.request.model": model, "gen_ai.response.model": model, **extra,
    }.items())


def test_recorded_entries_add_to_the_token_histogram_and_the_cost_counter(metrics, ledger):
    reader, provider = metrics
    costbook.otel.enable(meter_provider=provider)
    mini = price(Usage(input_tokens=12_000, output_tokens=800), "gpt-4o-mini")
    ledger.record(mini)
    ledger.record(mini, status="incomplete")
    routed = price(Usage(input_tokens=5_000, output_tokens=500), "openai/gpt-4o-mini",
                   provider="openrouter")
    ledger.record(routed, reported_cost=Decimal("0.0011"))
    ledger.record(price(Usage(), "claude-3-5-haiku-20241022"), status="error")

    tokens = points(reader, "gen_ai.client.token.usage")
    metric, point = tokens[call("openai", "gpt-4o-mini", **{"gen_ai.token.type": "input"})]
    assert metric.unit == "{token}"
    assert (point.count, point.sum) == (2, 24_000)
    assert list(point.explicit_bounds)[:3] == [1, 4, 16]
    _, point = tokens[call("openai", "gpt-4o-mini", **{"gen_ai.token.type": "output"})]
    assert (point.count, point.sum) == (2, 1_600)
    _, point = tokens[call("openrouter", "openai/gpt-4o-mini", **{"gen_ai.token.type": "input"})]
    assert (point.count, point.sum) == (1, 5_000)
    # a failed call with no usage reports no tokens (the conventions: none when unknown)
    assert not [k for k in tokens if ("gen_ai.provider.name", "anthropic") in k]

    cost = points(reader, "costbook.cost")
    metric, point = cost[call("openai", "gpt-4o-mini", **{"costbook.status": "ok"})]
    assert metric.unit == "USD" and point.value == pytest.approx(0.00228)
    assert cost[call("openai", "gpt-4o-mini", **{"costbook.status": "incomplete"})][1].value \
        == pytest.approx(0.00228)
    assert cost[call("openrouter", "openai/gpt-4o-mini", **{"costbook.status": "ok"})][1].value \
        == pytest.approx(0.00105)
    anthropic = call("anthropic", "claude-3-5-haiku-20241022", **{"costbook.status": "error"})
    assert cost[anthropic][1].value == 0


def test_nothing_is_exported_before_enable_or_after_disable(metrics, ledger):
    reader, provider = metrics
    mini = price(Usage(input_tokens=1_000), "gpt-4o-mini")
    ledger.record(mini)
    assert not costbook.otel.enabled()
    costbook.otel.enable(meter_provider=provider)
    assert costbook.otel.enabled()
    ledger.record(mini)
    costbook.otel.disable()
    costbook.otel.disable()  # twice: nothing happens
    ledger.record(mini)
    _, point = points(reader, "gen_ai.client.token.usage")[
        call("openai", "gpt-4o-mini", **{"gen_ai.token.type": "input"})]
    assert point.count == 1


def test_enabling_again_replaces_the_providers_and_counts_once(metrics, ledger):
    reader, provider = metrics
    second = InMemoryMetricReader()
    other = MeterProvider(metric_readers=[second])
    costbook.otel.enable(meter_provider=provider)
    costbook.otel.enable(meter_provider=other)
    ledger.record(price(Usage(input_tokens=1_000), "gpt-4o-mini"))
    assert points(reader, "costbook.cost") == {}
    [(_, point)] = points(second, "costbook.cost").values()
    assert point.value == pytest.approx(0.00015)
    other.shutdown()


def test_a_current_span_gets_the_cost_of_each_call(metrics, spans, ledger):
    _, meters = metrics
    exporter, tracers = spans
    costbook.otel.enable(meter_provider=meters)
    tracer = tracers.get_tracer("app")
    routed = price(Usage(input_tokens=5_000, output_tokens=500), "openai/gpt-4o-mini",
                   provider="openrouter")
    with tracer.start_as_current_span("handle request"):
        ledger.record(routed, reported_cost=Decimal("0.0011"), request_id="gen-17")
    [span] = exporter.get_finished_spans()
    assert span.attributes["costbook.cost"] == pytest.approx(0.00105)
    assert span.attributes["costbook.cost.exact"] == "0.00105"
    assert span.attributes["costbook.reported_cost.exact"] == "0.0011"
    assert span.attributes["costbook.status"] == "ok"
    assert span.attributes["costbook.entry.id"] == 1
    [event] = span.events
    assert event.name == "costbook.entry"
    assert event.attributes["gen_ai.provider.name"] == "openrouter"
    assert event.attributes["gen_ai.usage.input_tokens"] == 5_000
    assert event.attributes["gen_ai.usage.output_tokens"] == 500
    assert event.attributes["gen_ai.response.id"] == "gen-17"


def test_with_a_tracer_provider_a_call_outside_any_span_gets_its_own(metrics, spans, ledger):
    _, meters = metrics
    exporter, tracers = spans
    ledger.record(price(Usage(input_tokens=10), "gpt-4o-mini"))  # before enable: no span
    costbook.otel.enable(meter_provider=meters, tracer_provider=tracers)
    at = datetime(2025, 6, 10, 14, 3, 7, 250_000, tzinfo=timezone.utc)
    ledger.record(price(Usage(input_tokens=2_000, output_tokens=100), "gpt-4o-mini"),
                  at=at, duration=1.5)
    [span] = exporter.get_finished_spans()
    assert span.name == "chat gpt-4o-mini" and span.kind == SpanKind.CLIENT
    assert span.end_time == 1749564187_250_000_000
    assert span.end_time - span.start_time == 1_500_000_000
    assert span.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert span.attributes["gen_ai.usage.input_tokens"] == 2_000
    assert span.attributes["costbook.cost.exact"] == "0.00036"


def test_tracked_calls_record_response_and_budget_commits_are_exported(
    metrics, ledger, llm_server
):
    reader, provider = metrics
    costbook.otel.enable(meter_provider=provider)
    client = track(llm_server.client(), ledger=ledger, provider="openrouter",
                   budget=Budget("1", ledger=ledger))
    client.chat.completions.create(model="openai/gpt-4o-mini", messages=MESSAGES,
                                   max_tokens=50,
                                   extra_headers={"X-Fake-Scenario": "openrouter"})
    record_response(
        {"id": "chatcmpl-1", "model": "gpt-4o-mini-2024-07-18",
         "usage": {"prompt_tokens": 100, "completion_tokens": 20}},
        ledger=ledger, provider="openai",
    )
    budget = Budget("1", ledger=ledger)
    budget.reserve("0.01").commit(price(Usage(input_tokens=300), "gpt-4o-mini"))
    tokens = points(reader, "gen_ai.client.token.usage")
    routed = tokens[call("openrouter", "openai/gpt-4o-mini", **{"gen_ai.token.type": "input"})]
    assert routed[1].sum == PROMPT_TOKENS
    direct = tokens[call("openai", "gpt-4o-mini", **{"gen_ai.token.type": "input"})]
    assert (direct[1].count, direct[1].sum) == (2, 400)
    assert len(ledger.entries()) == 3


def test_provider_ids_are_named_as_the_conventions_name_them():
    from costbook.client._otel import provider_name

    assert [provider_name(p) for p in ("openai", "anthropic", "bedrock", "azure", "google",
                                       "openrouter")] == [
        "openai", "anthropic", "aws.bedrock", "azure.ai.openai", "gcp.gemini", "openrouter"]


def test_importing_costbook_and_costbook_otel_loads_no_opentelemetry():
    probe = ("import json, sys\nimport costbook\nimport costbook.otel\n"
             "costbook.otel.disable()\n"
             "print(json.dumps(sorted(m for m in sys.modules if 'opentelemetry' in m)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert json.loads(done.stdout) == []


def test_enable_without_opentelemetry_says_which_extra_to_install():
    probe = ("import sys\nsys.modules['opentelemetry'] = None  # as if it were not installed\n"
             "import costbook\n"
             "try:\n    costbook.otel.enable()\nexcept ImportError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert "pip install 'costbook[otel]'" in done.stdout
