import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costbook import PricingError
from costbook.pricing._catalog import Catalog
from costbook.pricing._check import CheckReport, check_tables
from costbook.pricing._money import MILLION
from costbook.pricing._schema import table_json_schema
from costbook.pricing._tables import load_yaml, read_table, validate_table
from table_factory import REPO_PRICING, model_entry, table_data, write_yaml

PRICING = REPO_PRICING


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
        ({"prices": []}, r"t.yaml: model tiny-1: a model gives its prices, or follows another with same_as"),
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


# -- prices the author did not mean are refused ---------------------------------------------

ONE_MODEL = """\
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
    prices:
      - effective: 2025-01-01
        input: 1
{rates}
"""


def table_with(tmp_path, rates: str) -> Path:
    return write_yaml(tmp_path / "t.yaml", ONE_MODEL.format(rates=rates))


def refusal(path: Path) -> str:
    with pytest.raises(PricingError) as refused:
        read_table(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: ")
    return message


def test_a_duplicate_key_is_refused_naming_both_lines(tmp_path):
    message = refusal(table_with(tmp_path, "        output: 3\n        output: 0"))
    assert "duplicate key 'output'" in message
    assert "line 15" in message and "line 14" in message


def test_a_duplicate_key_of_a_flow_mapping_is_refused(tmp_path):
    path = write_yaml(tmp_path / "t.yaml", ONE_MODEL.format(rates="        output: 3").replace(
        "tokenizer: o200k_base", "tokenizer: o200k_base\n    tokenizer: claude"))
    assert "duplicate key 'tokenizer'" in refusal(path)


@pytest.mark.parametrize(
    ("written", "meaning"),
    [
        ("010", "octal"),
        ("0_10", "octal"),
        ("-07", "octal"),
        ("0x1F", "hexadecimal"),
        ("0b11", "binary"),
        ("1:30", "base 60"),
        ("1:30.5", "base 60"),
    ],
)
def test_yaml_1_1_number_forms_are_refused(tmp_path, written, meaning):
    message = refusal(table_with(tmp_path, f"        output: {written}"))
    assert f"{written!r}" in message and meaning in message
    assert "line 14" in message


def test_a_yaml_1_2_octal_is_not_read_as_a_number(tmp_path):
    message = refusal(table_with(tmp_path, "        output: 0o10"))
    assert "prices[0].output: Input should be a valid decimal (got '0o10')" in message


def test_plain_numbers_still_read_as_written(tmp_path):
    rates = read_table(table_with(tmp_path, "        output: 0\n        cache_read: 10_000\n"
                                  "        cache_write: 1.0e-1\n        reasoning: 2e-1"))
    price_set = rates.models[0].prices[0]
    assert (price_set.output, price_set.cache_read) == (0, 10_000)
    assert (price_set.cache_write, price_set.reasoning) == (Decimal("0.1"), Decimal("0.2"))


def test_a_rate_with_more_digits_than_the_calculator_keeps_is_refused(tmp_path):
    forty = "0." + "1234567891" * 4
    message = refusal(table_with(tmp_path, f"        output: {forty}"))
    assert "model m: prices[0].output" in message
    assert "40 significant digits" in message and "at most 28" in message


def test_trailing_zeros_do_not_count_as_digits(tmp_path):
    padded = "1.5" + "0" * 40
    rates = read_table(table_with(tmp_path, f"        output: {padded}"))
    assert rates.models[0].prices[0].output == Decimal("1.5")


@pytest.mark.parametrize(
    ("written", "field"),
    [
        ("1e999999999", "output"),
        ("1.0e+999999999", "output"),
        ("'1E+20'", "output"),
        ("1e-999999999", "output"),
        ("0e999999999", "output"),
        ("1000000001", "output"),
    ],
)
def test_a_rate_out_of_range_is_refused(tmp_path, written, field):
    message = refusal(table_with(tmp_path, f"        {field}: {written}"))
    assert f"prices[0].{field}: " in message
    assert "out of range" in message


def test_an_example_total_out_of_range_is_refused():
    data = table_data("acme", model_entry(examples=[{"usage": {"input_tokens": 1},
                                                     "total": "1e999999999"}]))
    with pytest.raises(PricingError, match=r"examples\[0\].total: .*out of range"):
        validate_table(data, source="t.yaml")


@pytest.mark.parametrize(
    "billed_as",
    [
        "{cache_read: cache_write, cache_write: cache_read}",
        "{cache_read: cache_write, cache_write: reasoning, reasoning: cache_read}",
    ],
)
def test_a_billed_as_cycle_is_refused(tmp_path, billed_as):
    message = refusal(table_with(tmp_path, f"        output: 2\n        billed_as: {billed_as}"))
    assert "model m: prices[0]: billed_as:" in message
    assert "cycle" in message


def test_a_billed_as_chain_that_ends_at_a_rate_is_kept(tmp_path):
    table = read_table(table_with(
        tmp_path, "        output: 2\n        billed_as: {cache_read: cache_write, "
        "cache_write: input}"))
    assert table.models[0].prices[0].billed_as == {"cache_read": "cache_write",
                                                   "cache_write": "input"}


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("2025-02-30", r"checked: Input should be a valid date .*\(got '2025-02-30'\)"),
        ("!!timestamp someday", r"checked: a date is written YYYY-MM-DD \(got 'someday'\)"),
        ("1735689600", r"checked: a date is written YYYY-MM-DD \(got 1735689600\)"),
        ("'1735689600'", r"checked: a date is written YYYY-MM-DD \(got '1735689600'\)"),
    ],
)
def test_a_bad_date_is_a_problem_naming_the_file(tmp_path, written, message):
    path = write_yaml(tmp_path / "t.yaml", ONE_MODEL.format(rates="").replace(
        "checked: 2025-01-01", f"checked: {written}"))
    assert __import__("re").search(message, refusal(path))


def test_a_file_that_is_not_utf8_names_the_file_and_the_byte(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_bytes(ONE_MODEL.format(rates="").replace("Acme", "Acm\xe9").encode("latin-1"))
    message = refusal(path)
    assert "not UTF-8" in message and "0xe9" in message and "line 2" in message


def test_an_alias_bomb_is_refused_at_once(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = write_yaml(tmp_path / "t.yaml", "\n".join(lines) + "\nprovider: *a8\n")
    assert "aliases" in refusal(path)


def test_a_recursive_alias_is_refused(tmp_path):
    assert "refers to itself" in refusal(write_yaml(tmp_path / "t.yaml", "provider: &a [*a]\n"))


def test_a_deep_table_is_refused_by_depth(tmp_path):
    path = write_yaml(tmp_path / "t.yaml", "provider: " + "[" * 200 + "]" * 200 + "\n")
    message = refusal(path)
    assert "nested more than 64 levels deep" in message and "line 1" in message


# -- fuzzing the loader: a clean PricingError or a table read as written, nothing else -------

YAMLISH = st.text(
    alphabet=st.sampled_from(list(" \n\t-:,[]{}&*!|>'\"#%@?.0123456789eE+_xyzabn\\\x00\ufeff")),
    max_size=120,
)
NUMBERS = st.one_of(
    st.sampled_from(["010", "0_10", "-07", "0o10", "0x1F", "0b11", "1:30", "1:30.5", "1e5",
                     "1e999999999", "1e-999999999", "1E+20", ".inf", "-.inf", ".nan", "-0",
                     "0.0", "1_000", "yes", "~", "''", "!!float 3", "!!int 0x10", "!!str 3",
                     "1.5" + "0" * 40, "9" * 5000, "0." + "3" * 40, "[1]", "{a: 1}"]),
    st.from_regex(r"[-+]?[0-9_:.eE+]{1,24}", fullmatch=True),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
)
REAL_TABLES = [p.read_text(encoding="utf-8") for p in sorted(PRICING.glob("*.yaml"))]
RATE = re.compile(r"\b(?:input|output|cache_read|cache_write|per_image|per_request): "
                  r"([0-9][0-9._eE+-]*)")


def load_or_refuse(text: str | bytes) -> Catalog | None:
    """The catalog of one table text, its examples verified; None when refused cleanly."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    try:
        table = validate_table(load_yaml(raw, source="fuzz.yaml"), source="fuzz.yaml")
    except PricingError:
        return None
    tables = Catalog([(table, "fuzz.yaml")])
    check_tables.__globals__["_verify_examples"](tables, CheckReport())
    return tables


@settings(max_examples=300, deadline=2000)
@given(YAMLISH)
def test_fuzz_yamlish_texts_load_or_are_refused_cleanly(text):
    load_or_refuse(text)


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(REAL_TABLES), st.data())
def test_fuzz_mutated_real_tables_load_or_are_refused_cleanly(table, data):
    text = table
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["rate", "insert", "delete", "line"]))
        if kind == "rate":
            spots = list(RATE.finditer(text))
            if not spots:
                continue
            spot = data.draw(st.sampled_from(spots))
            text = text[:spot.start(1)] + data.draw(NUMBERS) + text[spot.end(1):]
        elif kind == "insert":
            at = data.draw(st.integers(0, len(text)))
            text = text[:at] + data.draw(YAMLISH) + text[at:]
        elif kind == "delete":
            at = data.draw(st.integers(0, len(text)))
            text = text[:at] + text[at + data.draw(st.integers(1, 40)):]
        else:
            lines = text.splitlines(keepends=True)
            at = data.draw(st.integers(0, len(lines) - 1))
            lines.insert(at, lines[data.draw(st.integers(0, len(lines) - 1))])
            text = "".join(lines)
    load_or_refuse(text)


@settings(max_examples=300, deadline=2000)
@given(NUMBERS)
def test_fuzz_a_written_rate_is_read_as_written_or_refused(written):
    tables = load_or_refuse(ONE_MODEL.format(rates=f"        output: {written}"))
    if tables is None:
        return
    rates = tables.models[0].price_sets[0]
    text = re.sub(r"^!!\w+ ", "", written)
    if text == "~":
        assert "output" not in rates.per_token  # no rate, not a zero rate
        return
    meant = Decimal(text.replace("_", ""))  # as YAML 1.2 and a person read it
    assert rates.per_million("output") == meant
    assert rates.per_token["output"] * MILLION == meant  # nothing rounded


def test_fuzz_bytes_that_are_not_utf8_are_refused_cleanly():
    assert load_or_refuse(REAL_TABLES[0].encode() + b"\xff\xfe") is None
