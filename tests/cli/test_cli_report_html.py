"""``costbook report --html``: the page written where asked, and its options checked."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from costbook import Ledger, Usage, price
from costbook.cli._main import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def path(tmp_path):
    file = tmp_path / "spend.sqlite"
    with Ledger(file) as ledger:
        for n in range(1, 13):
            ledger.record(price(Usage(input_tokens=1000 * n), "gpt-4o-mini"),
                          at=datetime(2025, 6, n, tzinfo=timezone.utc), tags={"team": "a"})
    return file


def test_html_writes_the_page_and_says_what_it_holds(capsys, path, tmp_path):
    code, out, err = run(capsys, "report", "--ledger", str(path), "--html",
                         str(tmp_path / "r.html"), "--top", "3", "--since", "2025-06-03")
    assert code == 0 and err == ""
    assert out.startswith(f"wrote {tmp_path / 'r.html'}: 10 calls, $0.01125, ")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("<tr><td class=\"nw\">") == 3  # the three costliest calls
    assert "Window: from 2025-06-03 on; by model" in page
    assert "2025-06-02" not in page


def test_html_to_standard_output(capsys, path):
    code, out, _ = run(capsys, "report", "--ledger", str(path), "--html", "-", "--by", "team",
                       "--limit", "1", "--window", "month")
    assert code == 0 and out.startswith("<!DOCTYPE html>") and 'id="burn-chart"' in out


@pytest.mark.parametrize("option", [["--limit", "5"], ["--window", "day"], ["--top", "3"]])
def test_page_options_without_html_are_refused(capsys, path, option):
    code, _, err = run(capsys, "report", "--ledger", str(path), *option)
    assert code == 2
    assert err == f"costbook: error: {option[0]} draw on the HTML page; add --html PATH\n"


def test_html_cannot_be_combined_with_json(capsys, path, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--ledger", str(path), "--json", "--html", str(tmp_path / "r.html")])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_folder_that_does_not_exist_is_named(capsys, path, tmp_path):
    code, _, err = run(capsys, "report", "--ledger", str(path), "--html",
                       str(tmp_path / "nowhere" / "r.html"))
    assert code == 2 and "the folder" in err and "does not exist" in err


def test_a_negative_top_is_refused(capsys, path, tmp_path):
    code, _, err = run(capsys, "report", "--ledger", str(path), "--html",
                       str(tmp_path / "r.html"), "--top", "-1")
    assert code == 2 and "--top must be 0 or more" in err
