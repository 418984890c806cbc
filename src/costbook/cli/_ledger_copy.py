"""``costbook ledger copy``: every entry of one ledger into another, keeping ids."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ._common import print_json

_QUIET_FOR = 1.0  # seconds before a progress line is shown


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("ledger", help="work on whole ledgers: copy")
    commands = group.add_subparsers(title="commands", metavar="COMMAND", required=True)
    p = commands.add_parser(
        "copy", help="copy every entry of one ledger into another (SQLite, PostgreSQL)",
        description="Copy every entry of SRC into DST, keeping ids and exact amounts: a "
        "file path or a postgresql:// URL each (DST is created when missing). Run again, it "
        "copies only what is missing; an id holding another entry in DST is refused. Exit "
        "status 1 when entries that could not be read were left behind.",
    )
    p.add_argument("source", metavar="SRC", help="the ledger to copy from")
    p.add_argument("target", metavar="DST", help="the ledger to copy into")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(run=run_copy)


class _Progress:
    """``copied N of M entries`` on stderr, once a copy has run for a second, when stderr
    is a terminal."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.shown = False
        self.terminal = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.terminal or time.monotonic() - self.start < _QUIET_FOR:
            return
        percent = f" ({done * 100 // total}%)" if total else ""
        sys.stderr.write(f"\rcopied {done:,} of {total:,} entries{percent}")
        sys.stderr.flush()
        self.shown = True

    def end(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def run_copy(args: argparse.Namespace) -> int:
    from ..ledger._ledger import Ledger

    progress = _Progress()
    with Ledger(args.source, create=False, read_only=True) as source, \
            Ledger(args.target) as target:
        try:
            result = source.copy_to(target, progress=progress)
        finally:
            progress.end()
    if args.json:
        print_json(result.as_dict())
    else:
        print(f"copied {result.copied:,} entries from {result.source} to {result.target}"
              + (f"; {result.present:,} were there already" if result.present else "")
              + (f"; with {result.settings:,} named budget(s) and kept reconciliation(s)"
                 if result.settings else ""))
    if result.unreadable:
        ids = ", ".join(str(i) for i in result.unreadable[:20])
        print(f"costbook: {len(result.unreadable)} entries whose stored values cannot be read "
              f"were left in {result.source} (ids {ids}"
              f"{', ...' if len(result.unreadable) > 20 else ''}): see costbook export",
              file=sys.stderr)
        return 1
    return 0
