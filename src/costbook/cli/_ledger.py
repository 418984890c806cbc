"""Ledger commands: ``report``, ``budget status``, ``reconcile``."""

from __future__ import annotations

import argparse
import csv
import sys
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..records._entry import STATUSES
from ._common import BadInput, amount, day, print_json, table

if TYPE_CHECKING:
    from ..ledger._ledger import Ledger
    from ..records._store import ReportRow

_TOKEN_COLUMNS = [
    ("input", "input_tokens"),
    ("output", "output_tokens"),
    ("cache read", "cache_read_tokens"),
    ("cache write", "cache_write_tokens"),
    ("reasoning", "reasoning_tokens"),
]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report", help="spend recorded in a ledger, grouped by model, day, tag, ...",
        description="Spend recorded in a ledger: calls, tokens by part and exact cost per "
        "group. Keys: model, provider, day, month, status, or a tag key (tag:KEY, or a "
        "plain KEY that is none of the others). Calls a limit refused before sending are "
        "not among the calls and never spend: when there are any, columns 'refused' and "
        "'risked' (their estimates' high bounds, USD) show them.",
    )
    _add_ledger_option(p)
    p.add_argument("--by", action="extend", nargs="+", metavar="KEY",
                   help="group by these keys, in order (default: model)")
    _add_filter_options(p)
    p.add_argument("--status", choices=list(STATUSES),
                   help="only entries with this status")
    output = p.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON; amounts exact strings")
    output.add_argument("--csv", action="store_true", help="print CSV")
    output.add_argument("--html", metavar="PATH",
                        help="write a self-contained HTML page (charts, top spenders, "
                        "costliest calls, drift) to PATH")
    page = p.add_argument_group("the HTML page")
    page.add_argument("--limit", type=amount, metavar="AMOUNT",
                      help="draw a budget burn-down against this limit in USD")
    page.add_argument("--window", choices=["total", "day", "month"],
                      help="the budget's window: all time (default), today or this month (UTC)")
    page.add_argument("--top", type=int, default=None, metavar="N",
                      help="list the N costliest calls (default 10)")
    p.set_defaults(run=run_report)

    budget = subparsers.add_parser("budget", help="budgets over a ledger's spend")
    commands = budget.add_subparsers(title="commands", metavar="COMMAND", required=True)
    p = commands.add_parser(
        "status", help="spent, reserved and remaining of a budget",
        description="Spent, reserved and remaining of a budget over a ledger: the one kept "
        "under NAME (see 'budget set'), or one given by --limit, --window and --tag. Exit "
        "status 1 when nothing remains.",
    )
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="a budget kept in the ledger (see costbook budget list)")
    p.add_argument("--limit", type=amount, metavar="AMOUNT",
                   help="without NAME: the budget's limit in USD: 10, 0.25, $5")
    p.add_argument("--window", choices=["total", "day", "month"],
                   help="without NAME: count spend over all time (default), today or this "
                   "month (UTC)")
    p.add_argument("--tag", dest="tags", action="append", type=_tag, metavar="KEY=VALUE",
                   help="count only entries with this tag (repeatable)")
    _add_ledger_option(p)
    p.add_argument("--json", action="store_true", help="print JSON; amounts exact strings")
    p.set_defaults(run=run_budget_status)
    from ._budgets import register_commands

    register_commands(commands, _tag)

    p = subparsers.add_parser(
        "reconcile", help="the ledger beside what providers reported: per call, or with "
        "--with their usage and cost reports",
        description="Without --with: compare the table cost of each call with the cost the "
        "provider reported in its answer (OpenRouter, Requesty), per model. With --with "
        "openai|anthropic|openrouter: set the ledger beside the provider's usage and cost "
        "reports for --since..--until, per group, naming three kinds of difference "
        "(untracked usage, a wrong price, extraction errors). Exit status 1 when anything "
        "differs by more than the tolerance.",
    )
    _add_ledger_option(p)
    p.add_argument("--tolerance", default="0", metavar="X",
                   help="allowed difference: per call, USD (0.000001) or percent of the "
                   "table cost (2%%); with --with, a percent of the larger side (1 or 1%%); "
                   "default 0")
    p.add_argument("--with", dest="with_", choices=["openai", "anthropic", "openrouter"],
                   metavar="PROVIDER", help="reconcile with this provider's organisation "
                   "usage and cost reports (openai, anthropic, openrouter)")
    p.add_argument("--by", action="extend", nargs="+", metavar="KEY",
                   help="with --with: group by day, model, project (comma-separated or "
                   "repeated; default day,model)")
    from ._reconcile import add_report_options

    add_report_options(p)
    _add_filter_options(p)
    p.add_argument("--json", action="store_true", help="print JSON; amounts exact strings")
    p.set_defaults(run=run_reconcile)


def _add_ledger_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ledger", metavar="PATH",
                   help="ledger file or postgresql:// URL (default: $COSTBOOK_LEDGER, else "
                   "ledger.sqlite in the user data directory)")


def _add_filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", type=day, metavar="DATE", help="from this UTC day, YYYY-MM-DD")
    p.add_argument("--until", type=day, metavar="DATE",
                   help="to this UTC day, included, YYYY-MM-DD")
    p.add_argument("--model", help="only this model id (gpt-4o-mini, openai/gpt-4o-mini)")
    p.add_argument("--provider", help="only this provider (openai, openrouter, ...)")
    p.add_argument("--tag", dest="tags", action="append", type=_tag, metavar="KEY=VALUE",
                   help="only entries with this tag (repeatable)")


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not a tag; write it as KEY=VALUE")
    return key.strip(), value


def _open(args: argparse.Namespace) -> Ledger:
    from ..ledger._ledger import Ledger

    _missing_ledger(args.ledger)
    return Ledger(args.ledger, create=False, read_only=True)  # these commands only read


def _missing_ledger(named: str | None) -> None:
    """Refuse a ledger file that is not there, saying where it looked and why there, and how
    to point elsewhere."""
    import os

    from ..ledger._paths import LEDGER_ENV, default_ledger_path

    if named is not None:
        location, why = named, "given by --ledger"
    elif os.environ.get(LEDGER_ENV, "").strip():
        location, why = os.environ[LEDGER_ENV].strip(), f"named by ${LEDGER_ENV}"
    else:
        location, why = str(default_ledger_path()), "the default"
    if "://" in location or os.path.exists(os.path.expanduser(location)):
        return
    raise BadInput(
        "no_ledger",
        f"no ledger at {location} ({why}): nothing was recorded there; point to a ledger "
        f"with --ledger PATH or the {LEDGER_ENV} environment variable (a file or a "
        "postgresql:// URL)"
    )


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "since": args.since,
        "until": args.until,
        "model": args.model,
        "provider": args.provider,
        "tags": dict(args.tags or ()),
    }


def run_report(args: argparse.Namespace) -> int:
    from ..pricing._money import money_text, usd
    from ..pricing._usage import USAGE_FIELDS

    by = args.by or ["model"]
    if args.html is None:
        given = [f"--{name}" for name in ("limit", "window", "top")
                 if getattr(args, name) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} draw on the HTML page; add --html PATH")
    else:
        return _write_html(args, by)
    with _open(args) as ledger:
        _check_keys(ledger, by)
        rows = ledger.report(by, status=args.status, **_filters(args))
        totals = ledger.report((), status=args.status, **_filters(args))
        waiting = ledger.spooled()
    if waiting:
        print(
            f"costbook: {waiting} entr{'y waits' if waiting == 1 else 'ies wait'} in "
            f"{ledger.spool_path}, not counted here; written into the ledger at its next "
            "write",
            file=sys.stderr,
        )
    names = list(rows[0].group) if rows else list(dict.fromkeys(by))
    if args.json:
        print_json(rows)
        return 0
    refused = any(row.refused for row in rows)
    if args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([*names, "calls", *USAGE_FIELDS, "cost",
                         *(("refused", "risked") if refused else ())])
        for row in rows:
            writer.writerow([
                *("" if v is None else v for v in row.group.values()), row.calls,
                *(getattr(row.usage, f) for f in USAGE_FIELDS), money_text(row.cost),
                *((row.refused, money_text(row.risked)) if refused else ()),
            ])
        return 0
    if not rows:
        print(f"no entries in {ledger.location}" + (" match" if _any_filter(args) else ""))
        return 0

    def cells(row: ReportRow, labels: list[str]) -> list[str]:
        return [*labels, f"{row.calls:,}",
                *(f"{getattr(row.usage, f):,}" for _, f in _TOKEN_COLUMNS), usd(row.cost),
                *((f"{row.refused:,}", usd(row.risked)) if refused else ())]

    body = [cells(r, ["-" if v is None else str(v) for v in r.group.values()]) for r in rows]
    if len(rows) > 1 and totals:
        body.append(cells(totals[0], ["total", *([""] * (len(names) - 1))]))
    headers = [*names, "calls", *(label for label, _ in _TOKEN_COLUMNS), "cost",
               *(("refused", "risked") if refused else ())]
    print(table(body, headers, right=set(range(len(names), len(headers)))))
    return 0


def _write_html(args: argparse.Namespace, by: list[str]) -> int:
    from pathlib import Path

    from ..pricing._money import usd
    from ..reports._html import html_report

    if args.top is not None and args.top < 0:
        raise ValueError(f"--top must be 0 or more calls, got {args.top}")
    with _open(args) as ledger:
        _check_keys(ledger, by)
        page = html_report(
            ledger, by, status=args.status, limit=args.limit, window=args.window or "total",
            top=10 if args.top is None else args.top, **_filters(args),
        )
        totals = ledger.report((), status=args.status, **_filters(args))
    data = page.encode("utf-8")
    if args.html == "-":
        sys.stdout.write(page)
        return 0
    Path(args.html).write_bytes(data)
    calls, cost = (totals[0].calls, totals[0].cost) if totals else (0, Decimal(0))
    refused = totals[0].refused if totals else 0
    held = f", {refused:,} refused" if refused else ""
    print(f"wrote {args.html}: {calls:,} call{'' if calls == 1 else 's'}{held}, {usd(cost)}, "
          f"{len(data) / 1024:,.0f} KB")
    return 0


def _check_keys(ledger: Ledger, by: list[str]) -> None:
    """Refuse a report key that is neither built in nor a tag key any entry carries: it
    would group every call under ``-``."""
    from ..records._store import GROUP_COLUMNS, TAG_PREFIX

    keys = ledger.tag_keys()
    for name in by:
        if name in GROUP_COLUMNS or name.removeprefix(TAG_PREFIX) in keys:
            continue
        present = f"tag keys: {', '.join(keys)}" if keys else "no entry carries a tag"
        raise ValueError(
            f"cannot group by {name!r}: it is neither a built-in key "
            f"({', '.join(GROUP_COLUMNS)}) nor a tag key in {ledger.location} ({present})"
        )


def _any_filter(args: argparse.Namespace) -> bool:
    return any(v for v in _filters(args).values()) or bool(getattr(args, "status", None))


def run_budget_status(args: argparse.Namespace) -> int:
    from ..pricing._money import usd
    from ._budgets import status_budget

    with _open(args) as ledger:
        budget = status_budget(args, ledger)
        status = budget.status()
    if args.json:
        print_json(status if budget.name is None else {"name": budget.name,
                                                        **status.as_dict()})
        return 1 if status.exhausted else 0
    scope = "all time" if status.since is None else (
        f"since {status.since.strftime('%Y-%m-%d %H:%M')} UTC"
    )
    if status.tags:
        scope += ", tags " + " ".join(f"{k}={v}" for k, v in sorted(status.tags.items()))
    if budget.name is not None:
        scope = f"budget {budget.name}, {scope}"
    rows = [
        ["limit", usd(status.limit), f"{status.window} ({scope})"],
        ["spent", usd(status.spent), ""],
        ["reserved", usd(status.reserved), "open reservations"],
        ["remaining", usd(status.remaining), "exhausted" if status.exhausted else ""],
    ]
    if status.overrun or status.late:
        late = f"; {status.late} committed after their reservation lapsed" if status.late else ""
        rows.append(["overrun", usd(status.overrun),
                     f"committed above their reservations (included in spent){late}"])
    if status.refused:
        calls = f"{status.refused:,} call{'' if status.refused == 1 else 's'}"
        rows.append(["refused", usd(status.risked),
                     f"{calls} refused before sending would have risked it (not spent)"])
    print(table(rows, ["budget", "amount", ""], right={1}))
    return 1 if status.exhausted else 0


def run_reconcile(args: argparse.Namespace) -> int:
    from ..pricing._money import usd
    from ..records._entry import format_time

    if args.with_:
        from ._reconcile import run_reconcile_with

        return run_reconcile_with(args)

    with _open(args) as ledger:
        models = ledger.drift(args.tolerance, **_filters(args))
    drifted = sum(len(m.drifted) for m in models)
    if args.json:
        print_json({"tolerance": args.tolerance, "drifted": drifted, "models": models})
        return 1 if drifted else 0
    if not models:
        print("no entries with a reported cost to compare")
        return 0
    body = [
        [m.provider, m.model, f"{m.compared:,}", f"{len(m.drifted):,}", usd(m.table_cost),
         usd(m.reported_cost), usd(m.difference)]
        for m in models
    ]
    print(table(body, ["provider", "model", "calls", "drifted", "table cost", "reported",
                       "difference"], right={2, 3, 4, 5, 6}))
    if not drifted:
        print(f"\nno call differs by more than {args.tolerance}")
        return 0
    calls = [
        [str(e.id), format_time(e.time)[:19], f"{m.provider}:{m.model}", e.request_id or "-",
         usd(e.total), usd(e.reported_cost or Decimal(0)), usd(e.drift or Decimal(0))]
        for m in models for e in m.drifted
    ]
    print(f"\n{drifted} call(s) differ by more than {args.tolerance}:")
    print(table(calls, ["id", "time", "model", "request id", "table cost", "reported",
                        "difference"], right={0, 4, 5, 6}))
    return 1
