"""Audit: the tables in use beside the three catalogs, from files in their published shapes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

import costbook
from catalog_payloads import REFERENCE, catalog_files
from costbook.pricing._catalog import reset
from costbook.sources._audit import audit

DAY = date(2026, 12, 6)


@pytest.fixture(autouse=True)
def _fresh_catalog() -> Iterator[None]:
    reset()
    yield
    reset()


def test_rates_are_grouped_as_agreed_stale_and_disputed(tmp_path):
    report = audit(files=catalog_files(tmp_path), providers=["openai"], today=DAY)
    assert report.sources == ["genai-prices", "litellm", "models.dev"]
    rows = {(r.ref, r.rate): r for r in report.rows}
    stale = rows[("openai:gpt-4o-mini", "input")]
    assert stale.verdict == "stale" and stale.in_use == Decimal("0.15")
    assert stale.sources == {"genai-prices": Decimal("0.2"), "litellm": Decimal("0.2"),
                             "models.dev": Decimal("0.2")}
    assert rows[("openai:gpt-4o-mini", "output")].verdict == "agree"
    disputed = rows[("openai:gpt-4o-mini", "cache_read")]
    assert disputed.verdict == "disputed"
    assert disputed.sources["models.dev"] == Decimal("0.08")
    assert disputed.sources["litellm"] == Decimal("0.075")
    # the dated spelling at LiteLLM names the same model: its own listing is compared
    assert stale.sources["litellm"] == Decimal("0.2")
    # a rate no catalog states is not compared; a model the tables lack is not either
    assert ("openai:gpt-4o-mini", "per_web_search") not in rows
    assert not any(r.model == "gpt-9-mini" for r in report.rows)
    assert not report.ok
    assert report.summary() == {"openai": {"models": 1, "agree": 1, "stale": 1,
                                           "disputed": 1}}


def test_the_tables_in_use_include_a_users_table_and_then_agree(tmp_path, monkeypatch):
    own = tmp_path / "own.yaml"
    own.write_text("provider: openai\nmodels:\n  - id: gpt-4o-mini\n    prices:\n"
                   "      - {input: 0.2, output: 0.6, cache_read: 0.075}\n", encoding="utf-8")
    monkeypatch.setenv("COSTBOOK_PRICING_PATH", str(own))
    report = audit(files=catalog_files(tmp_path), providers=["openai"], today=DAY)
    assert report.ok
    assert {r.rate: r.verdict for r in report.rows} == {
        "input": "agree", "cache_read": "disputed", "output": "agree"}


def test_one_source_only(tmp_path):
    files = catalog_files(tmp_path)
    report = audit(["models.dev"], files={"models.dev": files["models.dev"]},
                   providers=["openai"], today=DAY)
    assert report.sources == ["models.dev"]
    assert {r.rate: r.verdict for r in report.rows} == {
        "input": "stale", "cache_read": "stale", "output": "agree"}
    with pytest.raises(costbook.CostbookError, match="not among the sources audited"):
        audit(["models.dev"], files={"litellm": files["litellm"]})


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="the reference price files are not "
                    "beside this checkout (../shared/reference)")
def test_the_reference_files_against_the_bundled_tables():
    report = audit(files={
        "genai-prices": REFERENCE / "genai-prices-0.2.3-data.json",
        "litellm": REFERENCE / "litellm-1.106.2-model-prices.json",
        "models.dev": REFERENCE / "models-dev-2026-07-02.json",
    }, providers=["openai", "anthropic", "google"], today=DAY)
    summary = report.summary()
    assert set(summary) == {"openai", "anthropic", "google"}
    assert all(s["models"] > 10 for s in summary.values())
    agreed = sum(s["agree"] for s in summary.values())
    assert agreed > 0.8 * len(report.rows)
    # gpt-4o-mini's standard rates: every catalog states what the tables do
    rows = {r.rate: r for r in report.rows if r.ref == "openai:gpt-4o-mini"}
    assert rows["input"].in_use == Decimal("0.15") and rows["input"].verdict == "agree"
