"""``costbook sync``: a router's table refreshed from its live models API."""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from decimal import Decimal
from typing import Any, TextIO

from ..pricing._money import money_text
from ..sources._catalog_sync import CatalogSyncReport
from ..sources._fetch import DEADLINE
from ..sources._sync import ModelChange, SyncReport
from ._common import print_json, printable

SHOWN = 12
"""Models listed per group in the text output; ``--json`` lists them all."""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "sync", help="refresh tables from a router's live models API (openrouter, requesty) "
        "or a public price catalog (genai-prices, litellm, models.dev)"
    )
    p.add_argument("provider", help="openrouter or requesty (a router's API), or "
                   "genai-prices, litellm or models.dev (a public catalog)")
    p.add_argument("--base-url", metavar="URL",
                   help="a router's API base URL, GET URL/models; or the folder a catalog's "
                   "data file is under, GET URL/v2/data.json, URL/api.json, ... (default: the "
                   "provider's or the catalog's own)")
    p.add_argument("--url", metavar="URL",
                   help="a catalog's data file URL (default: the one the catalog publishes)")
    p.add_argument("--from", dest="from_file", metavar="FILE",
                   help="read a catalog's data file from FILE instead of fetching it "
                   "(offline use); the file as the catalog publishes it")
    p.add_argument("--provider", dest="providers", metavar="P[,P...]",
                   help="with a catalog: sync only these providers (costbook's ids or the "
                   "catalog's own spelling); default: every provider it lists")
    p.add_argument("--output", metavar="PATH",
                   help="a router: the table to write and merge into (default: "
                   "PROVIDER.yaml in the per-user tables folder, which costbook reads after "
                   "its bundled tables); a catalog: the tables folder to write catalogs/ in "
                   "(default: the per-user tables folder)")
    p.add_argument("--check", action="store_true",
                   help="write nothing: compare the live rates with the tables in use and "
                   "exit 1 when a rate differs or a model the tables hold has a live price "
                   "that cannot be read")
    p.add_argument("--api-key-env", metavar="NAME",
                   help="send the API key held in this environment variable (optional: "
                   "the catalogs are public); it is never printed or written")
    p.add_argument("--deadline", type=_seconds, default=DEADLINE, metavar="SECONDS",
                   help="the most seconds the whole fetch may take, retries and redirects "
                   f"included (default {DEADLINE:g})")
    p.add_argument("--json", action="store_true", help="print JSON; rates as exact strings")
    p.set_defaults(run=run_sync)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(
            f"{printable(text[:40])!r} is not a number of seconds from 0 to 3600; write it "
            "like 30 or 2.5")
    return value


def run_sync(args: argparse.Namespace) -> int:
    from ..sources._public_sources import is_catalog
    from ..sources._sync import sync

    if is_catalog(args.provider):
        return _run_catalog_sync(args)
    for option, value in (("--url", args.url), ("--from", args.from_file),
                          ("--provider", args.providers)):
        if value is not None:
            raise ValueError(f"{option} goes with a catalog (genai-prices, litellm, "
                             f"models.dev), not with {args.provider}")
    if args.check and args.output is not None:
        raise ValueError("--check writes nothing, so it takes no --output; give one or the other")
    api_key = None
    if args.api_key_env is not None:
        api_key = os.environ.get(args.api_key_env, "").strip()
        if not api_key:
            raise ValueError(
                f"the environment variable {args.api_key_env} named by --api-key-env is "
                "not set or empty"
            )
    with Progress(sys.stderr) as progress:
        report = sync(args.provider, base_url=args.base_url, output=args.output,
                      check=args.check, api_key=api_key, progress=progress,
                      deadline=args.deadline)
    if args.json:
        print_json(report)
    else:
        print(format_report(report))
    return 0 if report.ok or not args.check else 1


class Progress:
    """What a sync is doing, on one line of a terminal, once it has taken a second; nothing
    when the stream is not a terminal."""

    def __init__(self, stream: TextIO, delay: float = 1.0) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._start = time.monotonic()
        self._delay = delay
        self._message = ""
        self._shown = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def __enter__(self) -> Progress:
        if self._tty:
            self._timer = threading.Timer(self._delay, self._show)
            self._timer.daemon = True
            self._timer.start()
        return self

    def __call__(self, message: str) -> None:
        self._message = message
        if self._tty and time.monotonic() - self._start >= self._delay:
            self._show()

    def _show(self) -> None:
        with self._lock:
            if self._message:
                self._stream.write(f"\r\x1b[Kcostbook: {self._message}")
                self._stream.flush()
                self._shown = True

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._message = ""
            if self._shown:
                self._stream.write("\r\x1b[K")
                self._stream.flush()


def _rates(rates: dict[str, Decimal]) -> str:
    return "  ".join(f"{name} {money_text(value)}" for name, value in _ordered(rates))


def _ordered(rates: dict[str, Decimal]) -> list[tuple[str, Decimal]]:
    from ..pricing._table_text import RATE_ORDER

    return sorted(rates.items(), key=lambda item: (
        RATE_ORDER.index(item[0]) if item[0] in RATE_ORDER else len(RATE_ORDER)))


def _difference(change: ModelChange) -> str:
    parts = []
    for name in change.differing:
        old, new = change.old.get(name), change.new.get(name)
        parts.append(f"{name} {'-' if old is None else money_text(old)} -> "
                     f"{'-' if new is None else money_text(new)}")
    return "  ".join(parts)


def format_report(report: SyncReport) -> str:
    """A sync report for people: the counts, then each model added, changed, removed or
    skipped (the first few of each). What the server sent is shown with its control
    characters escaped."""
    skipped = report.skipped
    if report.check:
        lines = [
            f"{report.provider}: {report.models} models at {report.source}, compared with "
            f"the tables in use: {len(report.changed)} differ, {report.unchanged} agree, "
            f"{len(report.added)} not in the tables, {len(report.removed)} not listed live"
            + (f", {len(report.uncompared)} cannot be compared" if report.uncompared else "")
        ]
        for reason in report.uncompared[:SHOWN]:
            lines.append(f"  cannot compare: {reason}")
        if len(report.uncompared) > SHOWN:
            lines.append(f"  cannot compare: ... and {len(report.uncompared) - SHOWN} more "
                         "(--json lists all)")
        uncompared = set(report.uncompared)
        skipped = [reason for reason in skipped if reason not in uncompared]
        # the models only the tables hold are counted above and listed by --json: the
        # bundled table may hold many the live catalog no longer lists
        groups = [("differs", report.changed, _difference),
                  ("not in the tables", report.added, lambda c: _rates(c.new))]
    else:
        lines = [
            f"{report.provider}: {report.models} models from {report.source} written to "
            f"{report.output}: {len(report.added)} added, {len(report.changed)} changed, "
            f"{len(report.removed)} removed, {report.unchanged} unchanged, "
            f"{len(report.skipped)} skipped"
        ]
        groups = [("added", report.added, lambda c: _rates(c.new)),
                  ("changed", report.changed, _difference),
                  ("removed", report.removed, lambda c: "")]
    for label, changes, describe in groups:
        for change in changes[:SHOWN]:
            lines.append(f"  {label}: {change.id}  {describe(change)}".rstrip())
        if len(changes) > SHOWN:
            lines.append(f"  {label}: ... and {len(changes) - SHOWN} more (--json lists all)")
    for reason in skipped[:SHOWN]:
        lines.append(f"  skipped: {reason}")
    if len(skipped) > SHOWN:
        lines.append(f"  skipped: ... and {len(skipped) - SHOWN} more (--json lists all)")
    lines += [f"  note: {note}" for note in report.notes]
    return "\n".join(printable(line) for line in lines)


def _run_catalog_sync(args: argparse.Namespace) -> int:
    from ..sources._catalog_sync import sync_catalog
    from ..sources._public_sources import catalog_source

    if args.api_key_env is not None:
        raise ValueError("--api-key-env goes with a router; the public catalogs need no key")
    if args.check and args.output is not None:
        raise ValueError("--check writes nothing, so it takes no --output; give one or the other")
    given = [o for o, v in (("--url", args.url), ("--base-url", args.base_url),
                            ("--from", args.from_file)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give one of --url, --base-url and --from, not {' and '.join(given)}")
    url = args.url
    if args.base_url is not None:
        url = catalog_source(args.provider).url_under(args.base_url)
    providers = None
    if args.providers is not None:
        providers = [p.strip() for p in args.providers.split(",") if p.strip()]
        if not providers:
            raise ValueError("--provider names no provider; give P[,P...], like openai,anthropic")
    with Progress(sys.stderr) as progress:
        report = sync_catalog(args.provider, url=url, from_file=args.from_file,
                              providers=providers, check=args.check, tables_dir=args.output,
                              progress=progress, deadline=args.deadline)
    if args.json:
        print_json(report)
    else:
        print(format_catalog_report(report))
    return 0 if report.ok or not args.check else 1


def format_catalog_report(report: CatalogSyncReport) -> str:
    """A catalog sync for people: the counts, a line per provider where something changed,
    then the first few models of each kind."""
    parts = report.providers
    added = [(p.provider, c) for p in parts for c in p.added]
    changed = [(p.provider, c) for p in parts for c in p.changed]
    removed = [(p.provider, c) for p in parts for c in p.removed]
    skipped = report.skipped + [s for p in parts for s in p.skipped]
    unchanged = sum(p.unchanged for p in parts)
    if report.check:
        lines = [
            f"{report.source}: {report.models} models at {len(parts)} providers in "
            f"{report.url}, compared with the tables in use: {len(changed)} differ, "
            f"{unchanged} agree, {len(added)} not in the tables"
        ]
        groups = [("differs", changed, _difference),
                  ("not in the tables", added, lambda c: _rates(c.new))]
    else:
        lines = [
            f"{report.source}: {report.models} models (and {report.retired} with a retirement "
            f"date) at {len(parts)} providers from {report.url} written to "
            f"{report.output}: {len(added)} added, {len(changed)} changed, {len(removed)} "
            f"removed, {unchanged} unchanged, {len(skipped)} skipped"
        ]
        groups = [("added", added, lambda c: _rates(c.new)), ("changed", changed, _difference),
                  ("removed", removed, lambda c: "")]
    for label, changes, describe in groups:
        for provider, change in changes[:SHOWN]:
            lines.append(f"  {label}: {provider}:{change.id}  {describe(change)}".rstrip())
        if len(changes) > SHOWN:
            lines.append(f"  {label}: ... and {len(changes) - SHOWN} more (--json lists all)")
    if not report.check:
        for item in skipped[:SHOWN]:
            lines.append(f"  skipped: {item}")
        if len(skipped) > SHOWN:
            lines.append(f"  skipped: ... and {len(skipped) - SHOWN} more (--json lists all)")
        lines += [f"  note: {note}" for note in report.notes[:SHOWN]]
        if len(report.notes) > SHOWN:
            lines.append(f"  note: ... and {len(report.notes) - SHOWN} more (--json lists all)")
    return "\n".join(printable(line) for line in lines)
