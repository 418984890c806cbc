"""The ``costbook`` entry point: builds the parser from the command modules and runs one."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from .._errors import CostbookError
from ._common import BadInput, PrintableStream, file_error, printable

# Each module has ``register(subparsers)``, adding its commands with ``set_defaults(run=...)``;
# ``run(args) -> int`` is one library call plus formatting.
COMMAND_MODULES = [
    "costbook.cli._pricing",
    "costbook.cli._tokens",
    "costbook.cli._pins",
    "costbook.cli._ledger",
    "costbook.cli._ledger_copy",
    "costbook.cli._sync",
    "costbook.cli._audit",
    "costbook.cli._batches",
    "costbook.cli._reconcile",
]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit status 2, in the
    same ``costbook: error: ...`` style as every other error, whichever command it is (a
    JSON object with ``--json``)."""

    json_errors = False  # set by main() when --json is among the arguments

    def error(self, message: str) -> NoReturn:
        _report_error(message, "usage", json_errors=_Parser.json_errors)
        self.exit(EXIT_USAGE)


def _report_error(message: str, kind: str, *, json_errors: bool) -> None:
    """Write an error on stderr: ``costbook: error: ...`` (later lines indented), or with
    ``--json`` one JSON object ``{"error": message, "kind": kind}``."""
    if json_errors:
        import json

        sys.stderr.write(json.dumps({"error": message, "kind": kind}) + "\n")
        return
    first, *rest = printable(message, lines=True).splitlines() or [""]
    sys.stderr.write(f"costbook: error: {first}\n")
    for line in rest:
        sys.stderr.write(f"  {line}\n")


def _kind(exc: BaseException) -> str:
    """What sort of bad input an exception says, for ``--json`` errors: ``file``,
    ``unknown_model``, ``pricing``, ``ledger``, ``bad_value``, ..."""
    import re

    if isinstance(exc, BadInput):
        return exc.kind
    if isinstance(exc, OSError):
        return "file"
    if isinstance(exc, CostbookError):
        name = type(exc).__name__.removesuffix("Error")
        return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    if isinstance(exc, LookupError):
        return "not_found"
    return "bad_value"


class _Version(argparse.Action):
    """``--version``: the installed version, read only when asked for."""

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> NoReturn:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("costbook")
        except PackageNotFoundError:
            text = "(not installed)"
        sys.stdout.write(f"costbook {text}\n")
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="costbook",
        description="Exact costs of LLM API calls: estimates, recorded spend, budgets.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    subparsers = parser.add_subparsers(
        title="commands", metavar="COMMAND", parser_class=_Parser, required=False
    )
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; bad input is a one-line message on stderr and exit status 2 (with
    ``--json``, a JSON object ``{"error": ..., "kind": ...}``), and so is any failure (exit
    status 1 is the commands' own "differs" or "exhausted"). What the command prints has
    its control characters escaped. With no command, print the commands, one line each,
    and exit 0."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    json_errors = "--json" in arguments
    _Parser.json_errors = json_errors
    parser = build_parser()
    args = parser.parse_args(arguments)
    if getattr(args, "run", None) is None:
        sys.stdout.write(command_list(parser))
        return 0
    stdout = sys.stdout
    sys.stdout = PrintableStream(stdout)
    try:
        return int(args.run(args))
    except BrokenPipeError:
        # the reader went away (``costbook models | head``): stop quietly, as other tools do
        _silence_stdout()
        return 0
    except (CostbookError, ValueError, LookupError, OSError, TypeError) as exc:
        if isinstance(exc, OSError):
            message = file_error(exc)
        else:
            message = str(exc).strip() or type(exc).__name__
        _report_error(message, _kind(exc), json_errors=json_errors)
    except RecursionError:
        _report_error("the input nests too deeply to read", "too_deep",
                      json_errors=json_errors)
    except MemoryError:
        _report_error("out of memory: the input is too large to read", "too_large",
                      json_errors=json_errors)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a failure costbook did not foresee: still one line, exit 2
        _report_error(f"{type(exc).__name__}: {str(exc).strip() or 'no message'}",
                      "internal", json_errors=json_errors)
    finally:
        sys.stdout = stdout
    return EXIT_USAGE


def command_list(parser: argparse.ArgumentParser) -> str:
    """The commands with one line each, what a bare ``costbook`` prints."""
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    rows = [(choice.dest, choice.help or "") for choice in commands._choices_actions]
    width = max(len(name) for name, _ in rows)
    lines = ["usage: costbook COMMAND [OPTIONS]    (costbook COMMAND --help for its options)",
             "", parser.description or "", "", "commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in rows]
    lines += ["", "Every command takes --json; bad input exits 2, and 'costbook --version' "
              "prints the version."]
    return "\n".join(lines) + "\n"


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
