import subprocess
import sys

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
        f"no pricing tables (*.yaml, *.yml, *.json) in {tmp_path}; give table files, or "
        "folders that hold them"
    )


def run_check(*paths) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "costbook", "check", *map(str, paths)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "text",
    [
        "provider: " + "[" * 60_000,
        "provider: " + "{a: " * 30_000,
        "provider:\n" + "- " * 30_000 + "x\n",
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences"],
)
def test_a_table_nested_60_kb_deep_is_a_problem_not_a_crash(tmp_path, text):
    deep = write_yaml(tmp_path / "deep.yaml", text)
    write_yaml(tmp_path / "acme.yaml", TABLE.format(total="0.021"))
    done = run_check(tmp_path)
    assert done.returncode == 1, (done.returncode, done.stderr[-2000:])  # not -11 (SIGSEGV)
    assert f"FAIL {deep}: nested more than 64 levels deep (line " in done.stderr
    assert "Traceback" not in done.stderr
    assert "1 problem(s): 2 table file(s), 1 models, 1 documented examples verified" in (
        done.stdout)


def test_loading_a_deep_table_raises_a_pricing_error_in_a_subprocess(tmp_path):
    deep = write_yaml(tmp_path / "deep.yaml", "provider: " + "[" * 60_000)
    code = (
        "import sys, costbook\n"
        "try:\n"
        f"    costbook.load({str(deep)!r})\n"
        "except costbook.PricingError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    assert done.stdout.startswith(f"{deep}: nested more than 64 levels deep")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda t: t.replace("output: 0.60}", "output: 0.60, output: 0}"),
         "duplicate key 'output'"),
        (lambda t: t.replace("output: 0.60", "output: 1:30"), "base 60"),
        (lambda t: t.replace("output: 0.60", "output: 060"), "octal"),
        (lambda t: t.replace("output: 0.60", "output: 1e999999999"), "out of range"),
        (lambda t: t.replace("output: 0.60", "output: 0." + "6" * 40), "significant digits"),
        (lambda t: t.replace("output: 0.60", "output: 0.6, billed_as: {cache_read: "
                             "cache_write, cache_write: cache_read}"), "cycle"),
        (lambda t: t.replace("checked: 2025-01-01", "checked: 2025-13-01"), "checked: "),
    ],
    ids=["duplicate", "base-60", "octal", "exponent", "digits", "billed-as-cycle", "date"],
)
def test_a_price_the_author_did_not_mean_fails_check(tmp_path, change, problem):
    write_yaml(tmp_path / "acme.yaml", change(TABLE.format(total="0.021")))
    report = check_tables([tmp_path])
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"{tmp_path / 'acme.yaml'}: ")
    assert problem in report.problems[0]


def test_a_file_that_is_not_utf8_is_a_problem_with_its_name(tmp_path):
    bad = tmp_path / "latin.yaml"
    bad.write_bytes(TABLE.format(total="0.021").replace("Acme", "Acm\xe9").encode("latin-1"))
    report = check_tables([tmp_path])
    assert report.problems == [f"{bad}: not UTF-8 text (byte 0xe9 on line 3); save the "
                               "table as UTF-8"]


def test_a_missing_path_is_a_problem_and_the_others_are_still_checked(tmp_path):
    write_yaml(tmp_path / "acme.yaml", TABLE.format(total="0.021"))
    report = check_tables([tmp_path / "gone.yaml", tmp_path])
    assert report.problems == [f"{tmp_path / 'gone.yaml'}: no such pricing table file or folder"]
    assert report.examples == 1
