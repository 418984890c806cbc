import json
from decimal import Decimal
from pathlib import Path

import pytest

from costbook import PricingError
from costbook.pricing._schema import table_json_schema
from costbook.pricing._tables import bundled_pricing_dir, read_table, validate_table
from table_factory import model_entry, table_data, write_yaml

PRICING = bundled_pricing_dir()


def test_bundled_tables_are_there_for_each_provider():
    names = {p.name for p in PRICING.glob("*.yaml")}
    assert {"openai.yaml", "anthropic.yaml", "openrouter.yaml", "requesty.yaml"} <= names


def test_rates_are_read_from_the_yaml_text_as_decimal(tmp_path):
    path = write_yaml(tmp_path / "t.yaml", """
provider: acme
name: Acme
pricing_url: https://example.com
models:
  - id: m
    context_window: 1000
    max_output_tokens: 100
    tokenizer: o200k_base
    pricing_url: https://example.com
    checked: 2025-01-01
    prices: [{effective: 2025-01-01, input: 0.15, output: 1_000.5, cache_read: 7.5e-2}]
""")
    rates = read_table(path).models[0].prices[0]
    assert rates.input == Decimal("0.15")
    assert str(rates.input) == "0.15"
    assert rates.output == Decimal("1000.5")
    assert rates.cache_read == Decimal("0.075")


def test_a_float_rate_is_refused():
    data = table_data("acme", model_entry(prices=[{"effective": "2025-01-01", "input": 0.15}]))
    with pytest.raises(PricingError, match="came through binary float"):
        validate_table(data, source="t.yaml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"prices": [{"effective": "2025-01-01", "input": "-1"}]},
         r"t.yaml: model tiny-1: prices\[0\].input: Input should be greater than or equal to 0 \(got '-1'\)"),
        ({"prices": [{"effective": "2025-01-01", "inptu": "1"}]},
         r"t.yaml: model tiny-1: prices\[0\].inptu: Extra inputs are not permitted"),
        ({"tokenizer": "gpt2"},
         r"t.yaml: model tiny-1: tokenizer: Input should be 'o200k_base', 'cl100k_base', 'claude' or 'approximate' \(got 'gpt2'\)"),
        ({"prices": []}, r"t.yaml: model tiny-1: prices: List should have at least 1 item"),
        ({"prices": [{"effective": "2025-02-01", "input": "1"}, {"effective": "2025-01-01", "input": "2"}]},
         r"oldest first with distinct effective dates, got 2025-02-01, 2025-01-01"),
        ({"max_output_tokens": 5000}, r"max_output_tokens 5000 is larger than context_window 1000"),
        ({"prices": [{"effective": "2025-01-01", "input": "1", "billed_as": {"reasoning": "output"}}]},
         r"billed_as: reasoning is billed as output, which has no rate"),
        ({"images": {"billing": "per_image", "tokens": {"method": "tiles", "base_tokens": 1, "tile_tokens": 2}}},
         r"images billed per_image take no token rule"),
        ({"pricing_url": "http://insecure"}, r"pricing_url: String should match pattern"),
    ],
)
def test_table_errors_name_file_model_and_field(change, message):
    with pytest.raises(PricingError, match=message):
        validate_table(table_data("acme", model_entry(**change)), source="t.yaml")


def test_duplicate_refs_are_refused():
    data = table_data("acme", model_entry(), model_entry(id="tiny-2", aliases=["tiny-1"]))
    with pytest.raises(PricingError, match="ref 'tiny-1' of tiny-2 is already used by tiny-1"):
        validate_table(data, source="t.yaml")


def test_table_must_be_a_mapping(tmp_path):
    with pytest.raises(PricingError, match=r"t\.yaml: a pricing table is a mapping"):
        read_table(write_yaml(tmp_path / "t.yaml", "- just\n- a list\n"))


def test_invalid_yaml_names_the_file(tmp_path):
    with pytest.raises(PricingError, match=r"t\.yaml: not valid YAML"):
        read_table(write_yaml(tmp_path / "t.yaml", "provider: [unclosed\n"))


def test_missing_file():
    with pytest.raises(PricingError, match="no such pricing table file or folder"):
        from costbook.pricing._tables import table_files

        list(table_files(["/nonexistent/table.yaml"]))


def test_committed_schema_is_the_generated_one():
    committed = json.loads((PRICING / "schema.json").read_text())
    assert committed == table_json_schema()


@pytest.mark.parametrize("path", sorted(Path(PRICING).glob("*.yaml")), ids=lambda p: p.name)
def test_every_table_points_editors_at_the_schema(path):
    assert path.read_text().startswith("# yaml-language-server: $schema=./schema.json\n")
