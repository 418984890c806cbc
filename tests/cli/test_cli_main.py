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


def test_an_error_naming_outside_text_is_escaped(capsys):
    code = main(["count", "--model", "gpt-4o-mini", "/no/such/\x1b]0;PWNED\x07.txt"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err == ("costbook: error: /no/such/\\x1b]0;PWNED\\x07.txt: the folder /no/such "
                   "does not exist\n")


def test_json_output_escapes_every_control_character_and_reads_back_whole(capsys):
    import json

    from costbook.cli._common import print_json

    value = {"model": "a\x1b[2Jb\x9b2Jc\x7fd\u202ee\u2028f\x00"}
    print_json(value)
    out, _ = capsys.readouterr()
    assert not any(c in out for c in "\x1b\x9b\x7f\u202e\u2028\x00")
    assert json.loads(out) == value


def test_text_output_escapes_control_characters_and_keeps_lines(capsys):
    from costbook.cli._common import PrintableStream, printable

    assert printable("a\x1b]0;x\x07\tb\nc\r\u2066") == "a\\x1b]0;x\\x07\\tb\\nc\\r\\u2066"
    stream = PrintableStream(sys.stdout)
    print("line one\x1b[31m\tred\nline two\x9b", file=stream)
    out, _ = capsys.readouterr()
    assert out == "line one\\x1b[31m\tred\nline two\\x9b\n"
