"""Commands for prices a team planned with: ``pin`` and ``diff``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import day, print_json, table


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("pin", help="write the rates in force for models to a pin file")
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="model refs to pin: gpt-4o-mini, requesty:openai/gpt-4o-mini")
    p.add_argument("--provider", help="who bills the calls (default: each model's maker)")
    p.add_argument("--at", type=day, help="rates in force on this date (default: today)")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="the pin file to write, e.g. costbook-prices.lock (default: stdout)")
    p.add_argument("--json", action="store_true", help="print the pins as JSON")
    p.set_defaults(run=run_pin)

    p = subparsers.add_parser("diff", help="compare two sets of pricing tables")
    p.add_argument("old", help="the old tables: a file or a folder")
    p.add_argument("new", help="the new tables: a file or a folder")
    p.add_argument("--at", type=day, help="compare the rates in force on this date")
    p.add_argument("--fail-on", choices=["increase", "any"],
                   help="exit 1 on any rate increase (or new charge), or on any difference")
    p.add_argument("--json", action="store_true",
                   help="print the differences as JSON; rates in USD per million tokens, "
                   "as exact strings")
    p.set_defaults(run=run_diff)


def run_pin(args: argparse.Namespace) -> int:
    from ..pricing._pins import pin, pins_text, write_pins

    pins = pin(args.models, provider=args.provider, at=args.at)
    if args.json:
        print_json([{"ref": p.ref, "effective": p.effective, "rates": p.rates} for p in pins])
    elif args.output:
        write_pins(args.output, pins)
        print(f"pinned {len(pins)} model(s) to {args.output}")
    else:
        sys.stdout.write(pins_text(pins))
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from ..pricing._diff import diff_tables

    result = diff_tables([args.old], [args.new], at=args.at)
    if args.json:
        print_json(result)
    else:
        for ref in result.added:
            print(f"+ {ref}")
        for ref in result.removed:
            print(f"- {ref}")
        if result.changed:
            rows = [[c.ref, c.rate, _text(c.old), _text(c.new), c.change] for c in result.changed]
            print(table(rows, ["model", "rate", "old", "new", "change"], right={2, 3, 4}))
        if result.empty:
            print("no differences")
    if args.fail_on == "any" and not result.empty:
        return 1
    if args.fail_on == "increase" and result.has_increase:
        return 1
    return 0


def _text(value: Any) -> str:
    from ..pricing._money import money_text

    return "-" if value is None else money_text(value)
