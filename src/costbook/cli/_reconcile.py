"""``reconcile --with PROVIDER`` (the ledger beside the provider's usage and cost reports)
and ``import`` (the provider's usage the ledger lacks, recorded as imported entries)."""

from __future__ import annotations

import argparse
from typing import Any

from ._common import day, print_json, table

PROVIDERS = ("openai", "anthropic", "openrouter")


def add_report_options(p: argparse.ArgumentParser) -> None:
    """The options that say where a provider's reports are read from."""
    p.add_argument("--base-url", metavar="URL",
                   help="the provider's API as its SDK takes it (default "
                   "https://api.openai.com/v1, https://api.anthropic.com, "
                   "https://openrouter.ai/api/v1); a proxy or a test server")
    p.add_argument("--key-env", metavar="NAME",
                   help="the environment variable holding the admin key (default "
                   "OPENAI_ADMIN_KEY, ANTHROPIC_ADMIN_KEY, OPENROUTER_API_KEY); the key "
                   "is never printed, logged or stored")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "import", help="record the provider's reported usage that the ledger lacks",
        description="Read the provider's usage and cost reports for the window and record "
        "what no tracked call recorded as 'imported' entries, one per day, model and "
        "project, at the provider's reported cost (costbook's price beside it, as the "
        "entry's estimate). Running it again for the same window adds nothing.",
    )
    p.add_argument("--with", dest="with_", required=True, choices=PROVIDERS,
                   metavar="PROVIDER", help="whose reports: " + ", ".join(PROVIDERS))
    p.add_argument("--since", type=day, required=True, metavar="DATE",
                   help="from this UTC day, YYYY-MM-DD")
    p.add_argument("--until", type=day, metavar="DATE",
                   help="to this UTC day, included, YYYY-MM-DD (default: today)")
    add_report_options(p)
    p.add_argument("--ledger", metavar="PATH",
                   help="ledger file or postgresql:// URL (default: $COSTBOOK_LEDGER, else "
                   "ledger.sqlite in the user data directory)")
    p.add_argument("--json", action="store_true", help="print JSON; amounts exact strings")
    p.set_defaults(run=run_import)


def run_reconcile_with(args: argparse.Namespace) -> int:
    """``costbook reconcile --with``: exit 1 when a group differs beyond the tolerance."""
    from .._errors import LedgerError
    from ..ledger._ledger import Ledger
    from ..pricing._money import usd
    from ..reconcile._reconcile import reconcile_with

    if args.since is None:
        raise ValueError("reconcile --with needs --since DATE (and optionally --until DATE)")
    tolerance = str(args.tolerance).strip().removesuffix("%")
    try:  # kept in the ledger for the HTML report, where the ledger can be written
        ledger = Ledger(args.ledger, create=False)
    except LedgerError:
        ledger = Ledger(args.ledger, create=False, read_only=True)
    with ledger:
        result = reconcile_with(args.with_, since=args.since, until=args.until, ledger=ledger,
                                by=args.by or ["day", "model"], tolerance=tolerance,
                                base_url=args.base_url, key_env=args.key_env)
    if args.json:
        print_json(result.as_dict())
        return 0 if result.ok else 1

    def money(amount: Any) -> str:
        return "-" if amount is None else usd(amount)

    rows = [
        [*(str(v) if v is not None else "-" for v in g.group.values()),
         f"{g.calls:,}",
         "-" if g.reported_requests is None else f"{g.reported_requests:,}",
         f"{g.usage.input_tokens + g.usage.output_tokens:,}",
         f"{g.reported_usage.input_tokens + g.reported_usage.output_tokens:,}",
         money(g.cost), money(g.reported_priced), money(g.reported_cost),
         ", ".join(g.differences) or "ok"]
        for g in result.groups
    ]
    headers = [*result.by, "calls", "reported", "tokens", "reported", "ledger cost",
               "priced", "reported cost", "difference"]
    first = len(result.by)
    print(f"{result.provider}, {result.since} to {result.until} (reports from "
          f"{result.source}; tolerance {result.tolerance}%)")
    if rows:
        print(table(rows, headers, right=set(range(first, first + 7))))
    totals = result.totals()
    print(f"\ntotal: ledger {money(totals['ledger'])}, the provider's usage priced by "
          f"costbook {money(totals['priced'])}, reported cost {money(totals['reported'])}")
    counts = result.differences
    if result.ok:
        print("the ledger and the provider's reports agree within the tolerance")
        return 0
    meaning = {"untracked": "usage the ledger lacks (calls made outside costbook)",
               "price": "the provider's cost differs from costbook's price of its usage "
                        "(a wrong or stale price)",
               "extraction": "the ledger's tokens differ from the provider's for the same "
                             "calls"}
    for kind, n in counts.items():
        if n:
            print(f"{n} group(s) {kind}: {meaning[kind]}")
    return 1


def run_import(args: argparse.Namespace) -> int:
    from ..ledger._ledger import Ledger
    from ..pricing._money import usd
    from ..reconcile._import import import_usage

    with Ledger(args.ledger) as ledger:
        result = import_usage(args.with_, since=args.since, until=args.until, ledger=ledger,
                              base_url=args.base_url, key_env=args.key_env)
    if args.json:
        print_json(result.as_dict())
        return 0
    if result.added:
        print(table([[e.time.date().isoformat(), e.model, e.tags.get("project", "-"),
                      f"{e.usage.input_tokens:,}", f"{e.usage.output_tokens:,}", usd(e.total),
                      "-" if e.estimate_high is None else usd(e.estimate_high)]
                     for e in result.added],
                    ["day", "model", "project", "input", "output", "cost", "costbook price"],
                    right={3, 4, 5, 6}))
    print(f"imported {len(result.added)} entr{'y' if len(result.added) == 1 else 'ies'} "
          f"({usd(result.total)}); {result.complete} group(s) were complete already")
    return 0
