"""Writing table entries as YAML: the text reads back through the table loader unchanged."""

from datetime import date
from decimal import Decimal

from costbook.pricing._table_text import entry_text, number, scalar
from costbook.pricing._tables import load_yaml, validate_table


def test_numbers_are_written_plain_and_exact():
    assert number(Decimal("1.5E-7")) == "0.00000015"
    assert number(Decimal("0.150")) == "0.15"
    assert number(Decimal("3E+1")) == "30"
    assert number(Decimal(0)) == "0"


def test_text_yaml_would_misread_is_quoted():
    assert scalar("yes") == '"yes"'
    assert scalar("null") == '"null"'
    assert scalar("openai/gpt-4o") == "openai/gpt-4o"
    assert scalar("meta/llama: free") == '"meta/llama: free"'
    assert scalar("0.15") == '"0.15"'


def test_an_entry_reads_back_as_written():
    fields = {
        "name": "Yes: the model",
        "aliases": ["a/b-2025", "on"],
        "context_window": 1000,
        "max_output_tokens": 100,
        "checked": date(2026, 1, 2),
        "images": {"billing": "per_image"},
        "prices": [
            {"input": Decimal("1E-7"), "output": Decimal("0.3")},
            {"effective": date(2026, 1, 2), "output": Decimal("0.30000000000000004"),
             "input": Decimal(2), "per_image": Decimal("0.001"),
             "billed_as": {"reasoning": "output"}},
        ],
    }
    text = "provider: acme\nmodels:\n" + entry_text("acme/m:free", fields)
    data = load_yaml(text, source="t.yaml")
    table = validate_table(data, source="t.yaml")
    model = table.models[0]
    assert model.id == "acme/m:free"
    assert model.name == "Yes: the model"
    assert model.aliases == ["a/b-2025", "on"]
    assert model.prices[0].input == Decimal("0.0000001")
    assert model.prices[1].output == Decimal("0.30000000000000004")
    assert model.prices[1].billed_as == {"reasoning": "output"}
    assert model.images is not None and model.images.billing == "per_image"
    assert "E-" not in text
