"""The ``costbook`` entry point: builds the parser from the command modules and runs one."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from .._errors import CostbookError
from ._common import PrintableStream, file_error, printable

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
    same ``costbook: error: ...`` style as every other error, whichever command it is."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"costbook: error: {printable(message)}\n")


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
        title="commands", metavar="COMMAND", parser_class=_Parser, required=True
    )
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; bad input is a one-line message on stderr and exit status 2, and so
    is any failure (exit status 1 is the commands' own "differs" or "exhausted"). What the
    command prints has its control characters escaped."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
        return _error(message)
    except RecursionError:
        return _error("the input nests too deeply to read")
    except MemoryError:
        return _error("out of memory: the input is too large to read")
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a failure costbook did not foresee: still one line, exit 2
        return _error(f"{type(exc).__name__}: {str(exc).strip() or 'no message'}")
    finally:
        sys.stdout = stdout


def _error(message: str) -> int:
    """Write an error in the ``costbook: error:`` style, control characters escaped."""
    first, *rest = printable(message, lines=True).splitlines() or [""]
    sys.stderr.write(f"costbook: error: {first}\n")
    for line in rest:
        sys.stderr.write(f"  {line}\n")
    return EXIT_USAGE


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
