import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from costbook import PricingError
from costbook.pricing._pins import check_pins, percent_change, pin, pins_text, read_pins, write_pins
from table_factory import catalog_of, model_entry, table_data


def test_pin_writes_sorted_readable_yaml_with_exact_rates(tmp_path):
    path = tmp_path / "costbook-prices.lock"
    write_pins(path, pin(["requesty:openai/gpt-4o-mini", "gpt-4o-mini"]))
    text = path.read_text()
    assert text.index('"openai:gpt-4o-mini"') < text.index('"requesty:openai/gpt-4o-mini"')
    assert "      cache_read: 0.07\n" in text
    pins = {p.ref: p for p in read_pins(path)}
    assert pins["requesty:openai/gpt-4o-mini"].rates["cache_read"] == Decimal("0.07")
    assert pins["openai:gpt-4o-mini"].rates["input"] == Decimal("0.15")
    assert pins["openai:gpt-4o-mini"].effective == date(2024, 7, 18)


def test_pins_agree_with_the_tables_they_came_from(tmp_path):
    path = tmp_path / "p.lock"
    write_pins(path, pin(["gpt-4o-mini"], provider="openrouter"))
    assert check_pins(path) == []


def _history():
    entry = model_entry(prices=[
        {"effective": "2025-01-01", "input": "10", "output": "40"},
        {"effective": "2025-06-10", "input": "2", "output": "8", "per_request": "0.01"},
    ])
    return catalog_of(table_data("acme", entry))


def test_a_changed_price_is_named_rate_by_rate(tmp_path):
    tables = _history()
    path = tmp_path / "p.lock"
    write_pins(path, pin(["tiny-1"], at=date(2025, 1, 2), tables=tables))
    assert check_pins(path, at=date(2025, 6, 10), tables=tables) == [
        "acme:tiny-1 input: pinned at 10, the tables say 2 (-80%)",
        "acme:tiny-1 output: pinned at 40, the tables say 8 (-80%)",
        "acme:tiny-1 per_request: not pinned, the tables now charge 0.01",
    ]
    assert check_pins(path, at=date(2025, 6, 9), tables=tables) == []


def test_a_pinned_model_that_is_gone(tmp_path):
    path = tmp_path / "p.lock"
    path.write_text('pins:\n  "acme:gone-1":\n    effective: 2025-01-01\n    rates: {input: 1}\n')
    [problem] = check_pins(path)
    assert problem.startswith("acme:gone-1: pinned, but unknown model")


@pytest.mark.parametrize(
    ("text", "message"),
    [("[]", "a pin file has a 'pins' mapping"),
     ('pins:\n  "x:y": {rates: {input: 1}}\n', r"pin x:y: expected 'effective: YYYY-MM-DD'"),
     ("pins: [unclosed", "not valid YAML"),
     ('pins:\n  "x:y": {effective: 2025-01-01, rates: {input: 1}, rates: {input: 0}}\n',
      "duplicate key 'rates'")],
)
def test_bad_pin_files(tmp_path, text, message):
    path = tmp_path / "p.lock"
    path.write_text(text)
    with pytest.raises(PricingError, match=message):
        read_pins(path)


def test_a_pin_file_nested_60_kb_deep_is_refused_not_a_crash(tmp_path):
    path = tmp_path / "p.lock"
    path.write_text("pins: " + "[" * 60_000)
    done = subprocess.run([sys.executable, "-c", "import sys\n"
                           "from costbook.pricing._pins import read_pins\n"
                           "from costbook import PricingError\n"
                           "try:\n    read_pins(sys.argv[1])\n"
                           "except PricingError as exc:\n    print(exc)\n", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # not -11 (SIGSEGV)
    assert done.stdout.startswith(f"{path}: nested more than 64 levels deep")


def test_missing_pin_file(tmp_path):
    with pytest.raises(PricingError, match="cannot read the pin file"):
        read_pins(tmp_path / "none.lock")


@pytest.mark.parametrize(
    ("old", "new", "text"),
    [("0.15", "0.20", "+33.33%"), ("0.6", "0.3", "-50%"), ("1", "1", "0%"),
     ("0", "1", "new charge"), ("0.150000", "0.3", "+100%"), ("1E-30", "0.15", "+1.5E+31%"),
     ("1e999999999", "0.15", "-100%"), ("1E-999999999", "1", "+1E+1000000001%"),
     ("0.15", "1E+30", "+6.667E+32%")],
)
def test_percent_change(old, new, text):
    assert percent_change(Decimal(old), Decimal(new)) == text


def test_pins_text_round_trips(tmp_path):
    pins = pin(["gpt-4o-mini", "claude-sonnet-4-5", "openrouter:openai/gpt-4o-mini"])
    path = tmp_path / "p.lock"
    path.write_text(pins_text(pins))
    assert read_pins(path) == pins
    assert pins[0].rates["per_web_search"] == Decimal("0.01")


@pytest.mark.parametrize("rate", ["nan", "Infinity", "-inf"])
def test_a_pin_that_is_not_a_finite_rate_is_refused(tmp_path, rate):
    path = tmp_path / "p.lock"
    path.write_text(f"pins:\n  gpt-4o-mini:\n    effective: 2024-07-18\n    rates:\n"
                    f"      input: {rate}\n")
    with pytest.raises(PricingError, match="finite"):
        read_pins(path)
