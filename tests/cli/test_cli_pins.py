import json
import re

import pytest

from costbook.cli._main import main
from table_factory import REPO_PRICING


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_pin_then_check_passes_then_fails_when_a_rate_changes(capsys, tmp_path):
    lock = tmp_path / "costbook-prices.lock"
    code, out, _ = run(capsys, "pin", "gpt-4o-mini", "--provider", "requesty", "--output", str(lock))
    assert (code, out) == (0, f"pinned 1 model(s) to {lock}\n")
    code, out, _ = run(capsys, "check", "--pins", str(lock))
    assert code == 0 and out.startswith("ok")
    lock.write_text(lock.read_text().replace("cache_read: 0.07", "cache_read: 0.05"))
    code, out, err = run(capsys, "check", "--pins", str(lock))
    assert code == 1
    assert ("FAIL requesty:openai/gpt-4o-mini cache_read: pinned at 0.05, the tables say 0.07 "
            "(+40%)") in err


@pytest.mark.parametrize(
    ("rate", "said"),
    [("1e999999999", "pinned at 1E+999999999, the tables say 0.15 (-100%)"),
     ("1E-999999999", "pinned at 1E-999999999, the tables say 0.15 (+1.5E+1000000000%)"),
     ("1e-30", "pinned at 0.000000000000000000000000000001, the tables say 0.15 (+1.5E+31%)")],
)
def test_check_pins_with_an_exponent_rate_fails_without_a_traceback(capsys, tmp_path, rate,
                                                                    said):
    lock = tmp_path / "p.lock"
    run(capsys, "pin", "gpt-4o-mini", "--output", str(lock))
    lock.write_text(lock.read_text().replace("input: 0.15", f"input: {rate}"))
    code, _, err = run(capsys, "check", "--pins", str(lock))
    assert code == 1
    assert f"FAIL openai:gpt-4o-mini input: {said}" in err


def test_pin_json(capsys):
    code, out, _ = run(capsys, "pin", "gpt-4o-mini", "--json")
    assert code == 0
    [row] = json.loads(out)
    assert row["ref"] == "openai:gpt-4o-mini" and row["rates"]["cache_read"] == "0.075"


def test_pin_unknown_model_exits_2(capsys):
    code, _, err = run(capsys, "pin", "gpt-4o-mnii")
    assert code == 2 and "unknown model" in err


def _tables(tmp_path, name, cache_read):
    folder = tmp_path / name
    folder.mkdir()
    text = (REPO_PRICING / "requesty.yaml").read_text()
    (folder / "requesty.yaml").write_text(
        re.sub(r"^(\s+cache_read: )0\.07$", rf"\g<1>{cache_read}", text, flags=re.M))
    return str(folder)


def test_diff_fail_on_increase(capsys, tmp_path):
    old, cheaper, dearer = (_tables(tmp_path, "old", "0.07"), _tables(tmp_path, "cheaper", "0.06"),
                            _tables(tmp_path, "dearer", "0.08"))
    code, out, _ = run(capsys, "diff", old, cheaper, "--fail-on", "increase")
    assert code == 0 and "-14.29%" in out
    code, out, _ = run(capsys, "diff", old, dearer, "--fail-on", "increase", "--json")
    assert code == 1
    assert json.loads(out)["changed"] == [{
        "ref": "requesty:openai/gpt-4o-mini", "rate": "cache_read", "old": "0.07", "new": "0.08",
        "change": "+14.29%"}]
    code, _, _ = run(capsys, "diff", old, cheaper, "--fail-on", "any")
    assert code == 1
    code, out, _ = run(capsys, "diff", old, old, "--fail-on", "any")
    assert (code, out) == (0, "no differences\n")


def test_diff_of_a_missing_folder_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "diff", str(tmp_path / "nope"), str(tmp_path))
    assert code == 2 and "no such pricing table file or folder" in err


def test_pin_into_a_missing_folder_names_the_folder(capsys, tmp_path):
    target = tmp_path / "no-such-folder" / "costbook-prices.lock"
    code, out, err = run(capsys, "pin", "gpt-4o-mini", "-o", str(target))
    assert (code, out) == (2, "")
    assert err == (f"costbook: error: {target}: the folder {tmp_path / 'no-such-folder'} "
                   "does not exist\n")
