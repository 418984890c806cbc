import pytest

from costbook import PricingError
from costbook.pricing._check import check_tables
from table_factory import write_yaml

TABLE = """
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
    prices: [{{effective: 2025-01-01, input: 0.15, output: 0.60}}]
    examples:
      - usage: {{input_tokens: 100000, output_tokens: 10000}}
        total: {total}
"""


def test_bundled_tables_pass_with_every_example_verified():
    report = check_tables()
    assert report.ok, report.problems
    assert report.examples >= 6
    assert report.models >= 4


def test_a_wrong_documented_example_is_reported(tmp_path):
    write_yaml(tmp_path / "acme.yaml", TABLE.format(total="0.0211"))
    report = check_tables([tmp_path])
    assert report.problems == [
        f"{tmp_path / 'acme.yaml'}: model m: example (input_tokens=100000, output_tokens=10000) "
        "costs 0.021, but the table documents 0.0211"
    ]


def test_a_right_example_passes(tmp_path):
    write_yaml(tmp_path / "acme.yaml", TABLE.format(total="0.021"))
    report = check_tables([tmp_path / "acme.yaml"])
    assert report.ok and report.examples == 1 and report.files == 1


def test_an_invalid_table_is_a_problem_not_a_crash(tmp_path):
    write_yaml(tmp_path / "acme.yaml", TABLE.format(total="0.021").replace("0.15", "-1"))
    report = check_tables([tmp_path])
    assert not report.ok
    assert "acme.yaml: model m: prices[0].input" in report.problems[0]


def test_a_folder_without_tables_is_an_error_not_a_pass(tmp_path):
    (tmp_path / "notes.txt").write_text("no tables here\n")
    with pytest.raises(PricingError) as caught:
        check_tables([tmp_path])
    assert str(caught.value) == (
        f"no pricing tables (*.yaml, *.yml) in {tmp_path}; give table files, or folders "
        "that hold them"
    )
