"""``budget set``, ``budget list``, ``budget delete``: named budgets kept in the ledger
(``budget status NAME`` reads one; see :mod:`._ledger`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ._common import amount, print_json, table

if TYPE_CHECKING:
    from ..budgets._budget import Budget
    from ..ledger._ledger import Ledger

WINDOWS = ("total", "day", "month")
_LEDGER_HELP = ("ledger file or postgresql:// URL (default: $COSTBOOK_LEDGER, else "
                "ledger.sqlite in the user data directory)")


def register_commands(commands: Any, tag: Any) -> None:
    """Add ``set``, ``list`` and ``delete`` to the ``budget`` command; ``tag`` parses a
    ``KEY=VALUE`` option."""
    p = commands.add_parser(
        "set", help="keep a budget in the ledger under a name",
        description="Keep a budget in the ledger under NAME, so that 'budget status NAME', "
        "the HTML report and costbook.Budget.named(NAME, ledger=...) find it from any "
        "process. Setting a name that exists replaces that budget (and says so).",
    )
    p.add_argument("name", metavar="NAME",
                   help="1 to 64 letters, digits, '.', '_' or '-' (team-search)")
    p.add_argument("--limit", type=amount, required=True, metavar="AMOUNT",
                   help="the limit in USD: 10, 0.25, $5")
    p.add_argument("--window", choices=WINDOWS, default="total",
                   help="count spend over all time (default), each UTC day or each UTC "
                   "calendar month")
    p.add_argument("--tag", dest="tags", action="append", type=tag, metavar="KEY=VALUE",
                   help="count only entries with this tag (repeatable)")
    p.add_argument("--ledger", metavar="PATH", help=_LEDGER_HELP)
    p.add_argument("--json", action="store_true",
                   help="print JSON (the budget, and the one it replaced); the limit an "
                   "exact string")
    p.set_defaults(run=run_set)

    p = commands.add_parser(
        "list", help="the budgets kept in the ledger, with their spend",
        description="The budgets kept in the ledger: limit, window, tags, and the spend, "
        "reservations and what remains in the current window.",
    )
    p.add_argument("--ledger", metavar="PATH", help=_LEDGER_HELP)
    p.add_argument("--json", action="store_true", help="print JSON; amounts exact strings")
    p.set_defaults(run=run_list)

    p = commands.add_parser(
        "delete", help="remove a budget kept in the ledger",
        description="Remove the budget kept under NAME. Its spend stays recorded.",
    )
    p.add_argument("name", metavar="NAME", help="the budget's name")
    p.add_argument("--ledger", metavar="PATH", help=_LEDGER_HELP)
    p.add_argument("--json", action="store_true", help="print the removed budget as JSON")
    p.set_defaults(run=run_delete)


def status_budget(args: argparse.Namespace, ledger: Ledger) -> Budget:
    """The budget ``budget status`` reads: the one named, or one made of ``--limit``,
    ``--window`` and ``--tag``."""
    from ..budgets._budget import Budget

    if args.name is not None:
        given = [f"--{n}" for n in ("limit", "window") if getattr(args, n) is not None]
        if args.tags:
            given.append("--tag")
        if given:
            raise ValueError(f"budget status {args.name} reads the limit, window and tags "
                             f"kept under that name; drop {', '.join(given)} (or set it "
                             "again with costbook budget set)")
        return Budget.named(args.name, ledger=ledger)
    if args.limit is None:
        raise ValueError("budget status needs a budget's NAME (see costbook budget list), or "
                         "--limit AMOUNT [--window total|day|month] [--tag KEY=VALUE]")
    return Budget(args.limit, ledger=ledger, window=args.window or "total",
                  tags=dict(args.tags or ()))


def run_set(args: argparse.Namespace) -> int:
    from ..ledger._ledger import Ledger
    from ..ledger._named_budgets import make

    budget = make(args.name, args.limit, args.window, dict(args.tags or ()))
    with Ledger(args.ledger) as ledger:
        replaced = ledger.set_budget(budget.name, budget.limit, window=budget.window,
                                     tags=budget.tags)
        location = ledger.location
    if args.json:
        print_json({"budget": budget.as_dict(),
                    "replaced": None if replaced is None else replaced.as_dict()})
        return 0
    if replaced is None:
        print(f"budget {budget.name}: {budget.describe()}, kept in {location}")
    else:
        print(f"budget {budget.name}: {budget.describe()}, kept in {location}; it replaces "
              f"{replaced.describe()}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from ..budgets._budget import Budget
    from ..ledger._ledger import Ledger
    from ..pricing._money import usd

    with Ledger(args.ledger, create=False, read_only=True) as ledger:
        kept = ledger.budgets()
        statuses = {name: Budget.named(name, ledger=ledger).status() for name in kept}
        location = ledger.location
    if args.json:
        print_json([{**kept[name].as_dict(), "status": statuses[name].as_dict()}
                    for name in kept])
        return 0
    if not kept:
        print(f"no budgets kept in {location}; add one with costbook budget set NAME "
              "--limit AMOUNT")
        return 0
    rows = [
        [name, usd(b.limit), b.window,
         " ".join(f"{k}={v}" for k, v in sorted(b.tags.items())) or "-",
         usd(statuses[name].spent), usd(statuses[name].reserved),
         usd(statuses[name].remaining), "exhausted" if statuses[name].exhausted else ""]
        for name, b in kept.items()
    ]
    print(table(rows, ["name", "limit", "window", "tags", "spent", "reserved", "remaining",
                       ""], right={1, 4, 5, 6}))
    return 0


def run_delete(args: argparse.Namespace) -> int:
    from ..ledger._ledger import Ledger

    with Ledger(args.ledger, create=False) as ledger:
        removed = ledger.delete_budget(args.name)
        location = ledger.location
    if args.json:
        print_json(removed.as_dict())
        return 0
    print(f"deleted budget {removed.name} ({removed.describe()}) from {location}; its spend "
          "stays recorded")
    return 0
