import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parents[2] / "examples" / "ci_project"


def run_pytest(cwd, *args):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, capture_output=True, text=True, check=False, timeout=300)


def _sample_run(out, *args):
    result = run_pytest(SAMPLE, f"--junitxml={out / 'junit.xml'}", "--costbook-report",
                        f"--costbook-report-json={out / 'costs.json'}", *args)
    cases = {}
    for case in ET.parse(out / "junit.xml").getroot().iter("testcase"):
        failure = case.find("failure")
        cases[case.get("name")] = None if failure is None else failure.get("message", "")
    return result, cases, json.loads((out / "costs.json").read_text())


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    return _sample_run(tmp_path_factory.mktemp("sample"))


def _report_text(stdout):
    """The lines of the report, from its title to its total."""
    lines = stdout.splitlines()
    start = next(n for n, line in enumerate(lines) if "costbook: LLM calls and cost" in line)
    end = next(n for n, line in enumerate(lines) if line.startswith("total: "))
    return lines[start:end + 1]


def test_the_sample_project_passes_and_fails_as_designed(sample_run):
    result, cases, _ = sample_run
    assert result.returncode == 1, result.stdout + result.stderr
    passed = {name for name, failure in cases.items() if failure is None}
    failed = {name: failure for name, failure in cases.items() if failure is not None}
    assert passed == {
        "test_fixture_ledger_holds_the_calls", "test_a_cheap_call_stays_under_the_limit",
        "test_max_cost_block", "test_request_bound_is_under_budget",
        "test_prices_are_the_ones_we_planned_with",
    }
    assert set(failed) == {name for name in cases if name.startswith("test_fails_")}
    assert "CostLimitExceeded" in failed["test_fails_when_calls_cost_more_than_the_marker"]
    assert "more than the limit of $0.01" in failed["test_fails_when_calls_cost_more_than_the_marker"]
    assert "BudgetExceeded" in failed["test_fails_when_a_call_could_pass_the_limit"]
    assert "may cost up to $0.0196659 (17 input tokens" in failed["test_fails_when_the_request_bound_is_over_budget"]
    assert "pinned at 0.9, the tables say 1.2 (+33.33%)" in failed["test_fails_when_prices_moved_under_us"]


def test_the_report_gives_calls_and_cost_per_test_and_model(sample_run):
    result, _, costs = sample_run
    assert "costbook: LLM calls and cost" in result.stdout
    assert "total: 5 call(s), $0.6001" in result.stdout
    tests = {nodeid.split("::")[-1]: row for nodeid, row in costs["tests"].items()}
    assert tests["test_a_cheap_call_stays_under_the_limit"]["calls"] == 2
    assert tests["test_fails_when_calls_cost_more_than_the_marker"] == {
        "calls": 1, "cost": "0.600012"}
    assert "test_fails_when_a_call_could_pass_the_limit" not in tests  # refused: no call
    assert costs["models"]["openai:gpt-4o-mini"]["calls"] == 2
    assert costs["total"]["calls"] == 5


def test_the_plugin_is_inert_until_used(tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_nothing():\n    assert True\n")
    result = run_pytest(tmp_path)
    assert result.returncode == 0
    assert "LLM calls and cost" not in result.stdout


def test_a_bad_marker_is_a_usage_error(tmp_path):
    (tmp_path / "test_bad.py").write_text(
        "import pytest\n\n@pytest.mark.max_cost()\ndef test_x():\n    pass\n")
    result = run_pytest(tmp_path)
    assert result.returncode != 0
    assert 'write the marker as @pytest.mark.max_cost("0.10")' in result.stdout + result.stderr


def test_under_xdist_the_workers_calls_reach_the_report_as_in_a_serial_run(
        sample_run, tmp_path):
    serial, serial_cases, serial_costs = sample_run
    result, cases, costs = _sample_run(tmp_path, "-n", "2")
    assert "2 workers" in result.stdout, result.stdout + result.stderr
    assert cases == serial_cases
    assert costs == serial_costs
    assert costs["total"] == {"calls": 5, "cost": "0.6000705"}
    assert _report_text(result.stdout) == _report_text(serial.stdout)
