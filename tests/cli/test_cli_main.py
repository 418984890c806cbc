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


def test_a_bare_costbook_lists_the_commands_one_line_each():
    from costbook.cli._main import build_parser

    done = subprocess.run([sys.executable, "-m", "costbook"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0
    assert done.stderr == ""
    listed = {line.split()[0]: line for line in done.stdout.splitlines()
              if line.startswith("  ")}
    commands = next(a for a in build_parser()._actions if hasattr(a, "_choices_actions"))
    assert sorted(listed) == sorted(commands.choices)
    for name, line in listed.items():
        assert len(line.split()) > 2, f"{name} has no one-line description"
    assert "--help" in done.stdout


def _options(parser, path):
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, [*path, name])
        else:
            yield " ".join(path), "/".join(action.option_strings) or action.dest, action.help


def test_every_option_and_argument_of_every_command_has_help():
    import argparse

    from costbook.cli._main import build_parser

    options = list(_options(build_parser(), ["costbook"]))
    assert len(options) > 100
    missing = [f"{command} {option}" for command, option, text in options
               if not text or text == argparse.SUPPRESS]
    assert missing == []


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        (["estimate", "gpt-4o-mini", "--input", "lots"], "usage"),
        (["estimate", "gpt-4o-mnii", "--input", "10"], "unknown_model"),
        (["count", "--model", "gpt-4o-mini", "/no/such/file.txt"], "file"),
        (["check", "/no/such/table.yaml"], "file"),
        (["report", "--ledger", "/no/such/ledger.sqlite"], "no_ledger"),
        (["compare"], "usage"),
    ],
)
def test_with_json_an_error_is_a_json_object_on_stderr_and_exit_2(capsys, argv, kind):
    import json

    try:
        code = main([*argv, "--json"])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1
    error = json.loads(err)
    assert set(error) == {"error", "kind"}
    assert error["kind"] == kind
    assert error["error"] and "Traceback" not in error["error"]


def test_checking_a_table_that_is_not_there_is_bad_input(capsys, tmp_path):
    code = main(["check", str(tmp_path / "missing.yaml")])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == (f"costbook: error: {tmp_path / 'missing.yaml'}: no such pricing table file "
                   "or folder; give a .yaml table or a folder of them\n")


@pytest.mark.parametrize("named_by", ["default", "environment", "option"])
def test_a_report_without_a_ledger_says_where_it_looked_and_how_to_point_elsewhere(
        capsys, tmp_path, monkeypatch, named_by):
    from costbook.ledger._paths import default_ledger_path

    monkeypatch.delenv("COSTBOOK_LEDGER", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    argv = ["report"]
    where, why = str(default_ledger_path()), "(the default)"
    if named_by == "environment":
        where, why = str(tmp_path / "env.sqlite"), "(named by $COSTBOOK_LEDGER)"
        monkeypatch.setenv("COSTBOOK_LEDGER", where)
    elif named_by == "option":
        where, why = str(tmp_path / "given.sqlite"), "(given by --ledger)"
        argv += ["--ledger", where]
    code = main(argv)
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith(f"costbook: error: no ledger at {where} {why}: ")
    assert "--ledger PATH" in err and "COSTBOOK_LEDGER" in err
    assert len(err.splitlines()) == 1
