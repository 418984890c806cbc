"""``costbook audit``: the tables in use beside the public catalogs, rate by rate."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from typing import Any

from ..pricing._money import money_text
from ..sources._audit import VERDICTS, AuditReport, AuditRow
from ._common import print_json, printable, table
from ._sync import Progress


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "audit", help="compare the tables in use with genai-prices, LiteLLM and models.dev, "
        "rate by rate; exit 1 when a rate differs from every catalog (likely stale)")
    p.add_argument("--sources", metavar="S[,S...]",
                   help="the catalogs to compare with: genai-prices, litellm, models.dev "
                   "(default: all three)")
    p.add_argument("--provider", dest="providers", metavar="P[,P...]",
                   help="only these providers (costbook's ids, or a catalog's spelling)")
    p.add_argument("--from", dest="files", metavar="SOURCE=FILE", action="append",
                   default=[], help="read a catalog's data file from FILE instead of fetching "
                   "it, e.g. --from litellm=prices.json; repeat for each catalog")
    p.add_argument("--all", action="store_true",
                   help="list the rates every catalog agrees with too (default: counted only)")
    p.add_argument("--json", action="store_true",
                   help="print JSON: every rate with its verdict, rates in USD per million "
                   "tokens (per unit for per-unit fees) as exact strings")
    p.set_defaults(run=run_audit)


def _names(text: str | None, option: str) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ValueError(f"{option} names nothing; give a comma-separated list")
    return names


def run_audit(args: argparse.Namespace) -> int:
    from ..sources._audit import audit

    files: dict[str, str] = {}
    for item in args.files:
        source, equals, path = item.partition("=")
        if not equals or not source.strip() or not path:
            raise ValueError(f"--from {item!r}: write it as SOURCE=FILE, like "
                             "--from litellm=model_prices_and_context_window.json")
        files[source.strip()] = path
    with Progress(sys.stderr) as progress:
        report = audit(_names(args.sources, "--sources"), files=files,
                       providers=_names(args.providers, "--provider"), progress=progress)
    if args.json:
        print_json(report)
    else:
        print(printable(format_audit(report, everything=args.all), lines=True))
    return 0 if report.ok else 1


_TITLES = {
    "stale": "the tables differ from every source (likely stale)",
    "disputed": "the sources disagree among themselves",
    "agree": "all agree",
}


def _row(row: AuditRow, sources: list[str]) -> list[str]:
    return [row.ref, row.rate, money_text(row.in_use),
            *(_value(row.sources.get(s)) for s in sources)]


def _value(value: Decimal | None) -> str:
    return "-" if value is None else money_text(value)


def format_audit(report: AuditReport, *, everything: bool = False) -> str:
    """An audit for people: the stale and disputed rates (and the agreed ones when asked),
    then a summary line per provider."""
    lines = [f"compared with {', '.join(f'{s} ({w})' for s, w in report.read.items())}"]
    headers = ["model", "rate", "in use", *report.sources]
    for verdict in VERDICTS:
        rows = report.group(verdict)
        lines.append("")
        lines.append(f"{_TITLES[verdict]}: {len(rows)} rates")
        if rows and (verdict != "agree" or everything):
            body = [_row(r, report.sources) for r in rows]
            lines += ["  " + line for line in table(body, headers).splitlines()]
    lines.append("")
    totals = {"models": 0, "agree": 0, "stale": 0, "disputed": 0}
    for provider, counts in report.summary().items():
        lines.append(f"{provider}: {counts['models']} models, {counts['agree']} rates agree, "
                     f"{counts['stale']} stale, {counts['disputed']} disputed")
        for key in totals:
            totals[key] += counts[key]
    lines.append(f"total: {totals['models']} models, {totals['agree']} rates agree, "
                 f"{totals['stale']} stale, {totals['disputed']} disputed")
    return "\n".join(lines)
