"""The command line as a whole: ``--version`` and one style for every error."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

import costbook
from costbook.cli._main import main


def test_version_prints_the_installed_version():
    result = subprocess.run([sys.executable, "-m", "costbook", "--version"],
                            capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout == f"costbook {costbook.__version__}\n"
    assert costbook.__version__ == version("costbook")


@pytest.mark.parametrize(
    "argv",
    [
        ["estimate", "gpt-4o-mini", "--input", "lots"],          # a subcommand's argument
        ["estimate", "gpt-4o-mnii", "--input", "10"],            # a library error
        ["report", "--since", "yesterday"],
        ["budget", "status"],                                    # a required option
        ["budget", "status", "--limit", "1", "--ledger", "/no/such/dir/x.sqlite"],
        ["count", "--model", "gpt-4o-mini", "/no/such/file.txt"],
        ["pin", "gpt-4o-mini", "--at", "June"],
        ["diff"],
        ["no-such-command"],
    ],
)
def test_every_error_is_one_line_in_one_style(capsys, argv):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors leave by SystemExit
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.startswith("costbook: error: "), err
    assert err.count("error:") == 1
    assert "Errno" not in err


def test_a_reader_that_goes_away_is_no_error():
    import subprocess
    import sys

    done = subprocess.run(
        f"{sys.executable} -m costbook models | head -n 2", shell=True, capture_output=True,
        text=True, timeout=120)
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 2
    assert "error" not in done.stderr and "Traceback" not in done.stderr
