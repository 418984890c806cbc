"""Pricing commands: ``estimate``, ``models``, ``compare``, ``check``, ``schema``."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .._errors import PricingError
from ..pricing import _money
from ..pricing._cost import Cost
from ..pricing._model import Model
from ..pricing._stale import StaleReport
from ..pricing._usage import Usage
from ._common import USAGE_PARTS, BadInput, count, day, print_json, printable, table


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("estimate", help="the exact cost of a usage for a model")
    p.add_argument("model", nargs="?", help="a model ref: gpt-4o-mini, requesty:openai/gpt-4o-mini")
    p.add_argument("--provider", help="who bills the call (default: the model's maker)")
    _add_usage_options(p)
    p.add_argument("--image", dest="image_sizes", action="append", type=image_size,
                   metavar="WxH", help="an input image of this size in pixels, e.g. 1024x768: "
                   "its tokens are added to the input, or it counts as one image where the "
                   "provider bills per image (repeatable)")
    p.add_argument("--at", type=moment, help="price time, YYYY-MM-DD or YYYY-MM-DDTHH:MM in "
                   "UTC (a date alone is 00:00 UTC; default: now); picks the price set and "
                   "any time-of-day window in force then")
    _add_service_tier(p)
    p.add_argument("--request", metavar="FILE",
                   help="estimate a request body saved as JSON (- for standard input)")
    p.add_argument("--json", action="store_true", help="print JSON; amounts as exact strings")
    p.set_defaults(run=run_estimate)

    p = subparsers.add_parser("models", help="known models with their rates")
    p.add_argument("--provider", help="only this provider's models")
    p.add_argument("--at", type=day,
                   help="rates in force on this UTC day, YYYY-MM-DD (default: today)")
    p.add_argument("--json", action="store_true",
                   help="print JSON; rates in USD per million tokens, as exact strings")
    p.set_defaults(run=run_models)

    p = subparsers.add_parser("compare", help="one model at every provider, cheapest first")
    p.add_argument("model", help="a model ref in any provider's spelling: claude-sonnet-4-5, "
                   "meta-llama/llama-3.3-70b-instruct, llama-3.3-70b")
    _add_usage_options(p)
    p.add_argument("--at", type=moment, help="price time, YYYY-MM-DD or YYYY-MM-DDTHH:MM in "
                   "UTC (a date alone is 00:00 UTC; default: now)")
    _add_service_tier(p)
    p.add_argument("--include-retired", action="store_true",
                   help="also list providers that have retired the model (left out by default)")
    p.add_argument("--json", action="store_true",
                   help="print JSON; totals in USD as exact strings")
    p.set_defaults(run=run_compare)

    p = subparsers.add_parser("check", help="validate tables and verify documented examples")
    p.add_argument("paths", nargs="*", help="table files or folders (default: the tables in use)")
    p.add_argument("--pins", metavar="FILE",
                   help="also fail when the tables in use disagree with this pin file")
    p.add_argument("--stale", metavar="DAYS", type=_days,
                   help="also fail when a model's prices were last checked more than DAYS "
                   "days ago (listed per provider)")
    p.add_argument("--json", action="store_true",
                   help="print the problems, counts and stale models as JSON")
    p.set_defaults(run=run_check)

    p = subparsers.add_parser("schema", help="print the JSON Schema of a pricing table")
    p.set_defaults(run=run_schema)


def moment(text: str) -> date | datetime:
    """A price time for argparse: ``2026-12-07`` or ``2026-12-07T03:00`` (UTC unless it
    names a zone)."""
    try:
        if "T" in text or " " in text.strip():
            return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time; write it as YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC)"
        ) from None


def _add_service_tier(p: argparse.ArgumentParser) -> None:
    p.add_argument("--service-tier", metavar="TIER",
                   help="price at a request mode the table lists: batch, flex, priority, "
                   "fast, ... (default: standard)")


_CONVENTIONS = {
    "input_tokens": "all input tokens, cache reads and writes included (OpenAI's "
    "prompt_tokens convention; for Anthropic's input_tokens, use --uncached-input)",
    "output_tokens": "all output tokens, reasoning included",
    "cache_read_tokens": "input tokens read from the cache (part of the input)",
    "cache_write_tokens": "input tokens written to the cache (part of the input)",
}


def _add_usage_options(p: argparse.ArgumentParser) -> None:
    for flag, field in USAGE_PARTS:
        what = _CONVENTIONS.get(field, field)
        p.add_argument(f"--{flag}", dest=field, type=count, default=None, metavar="N",
                       help=f"{what}; a count such as 100000, 100_000, 100k, 1.5M")
        if flag == "input":
            p.add_argument(
                "--uncached-input", dest="uncached_input_tokens", type=count, default=None,
                metavar="N", help="input tokens excluding cache reads and writes (Anthropic's "
                "input_tokens convention); the input is N plus --cache-read and "
                "--cache-write. Give it or --input, not both")


def _usage(args: argparse.Namespace) -> Usage:
    counts = {field: getattr(args, field) or 0 for _, field in USAGE_PARTS}
    uncached = getattr(args, "uncached_input_tokens", None)
    if uncached is not None:
        if args.input_tokens is not None:
            raise ValueError(
                "give --input (all input tokens, cache reads and writes included) or "
                "--uncached-input (input excluding cache reads and writes), not both"
            )
        counts["input_tokens"] = (uncached + counts["cache_read_tokens"]
                                  + counts["cache_write_tokens"])
    return Usage(**counts)


def run_estimate(args: argparse.Namespace) -> int:
    from ..pricing._calculator import price

    if args.request is not None:
        from ._tokens import run_request_estimate

        return run_request_estimate(args)
    if args.model is None:
        raise ValueError("estimate needs a MODEL (or --request FILE with a request body)")
    from ..pricing._calculator import refuse_counted_images
    from ..pricing._catalog import catalog

    model = catalog().resolve(args.model, args.provider)
    refuse_counted_images(model, args.images or 0)
    usage = _usage(args)
    if args.image_sizes:
        usage = _with_images(usage, model, args.image_sizes)
    cost = price(usage, model, at=args.at, service_tier=args.service_tier)
    if cost.time_window is None and cost.note is None and model.retired_at(args.at):
        from ..pricing._calculator import retired_note

        cost = replace(cost, note=retired_note(model))
    if args.json:
        print_json(cost)
    else:
        print(format_cost(cost))
    return 0


def image_size(text: str) -> tuple[int, int]:
    """An image size for argparse: ``1024x768``."""
    width, sep, height = text.strip().lower().partition("x")
    if sep and width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0:
        return int(width), int(height)
    raise argparse.ArgumentTypeError(
        f"{text!r} is not an image size; write it as WIDTHxHEIGHT, like 1024x768"
    )


def _with_images(usage: Usage, model: Model, sizes: list[tuple[int, int]]) -> Usage:
    """``usage`` with images of these sizes: their tokens added to the input where the
    model bills images as tokens, else counted as images."""
    if model.images is not None and model.images.billing == "tokens":
        from ..tokens._images import image_tokens

        tokens = sum(image_tokens(w, h, model) for w, h in sizes)
        return replace(usage, input_tokens=usage.input_tokens + tokens)
    return replace(usage, images=usage.images + len(sizes))


def format_cost(cost: Cost) -> str:
    """A cost for people: the model, each priced part, the total."""
    lines = [f"{cost.provider}:{cost.model}"]
    if cost.service_tier != "standard" or cost.prompt_tier is not None:
        rules = [f"service tier {cost.service_tier}"] if cost.service_tier != "standard" else []
        if cost.prompt_tier is not None:
            rules.append(f"prompt {cost.prompt_tier} tokens")
        lines[0] += f" ({', '.join(rules)})"
    amounts = [*cost.items.values(), cost.total]
    shown = [_money.display_money(amount) for amount in amounts]
    if any(_shown_value(text) != amount for text, amount in zip(shown, amounts, strict=True)):
        # rounding would hide digits, and the parts shown would not add up to the total
        # shown: every amount is shown exactly
        shown = [_money.usd(amount) for amount in amounts]
    for part, text in zip(cost.items, shown, strict=False):
        lines.append(f"  {part:<15}{text:>14}")
    lines.append(f"  {'total':<15}{shown[-1]:>14}")
    if cost.time_window is not None:
        lines.append(f"  time window: {cost.time_window}")
    if cost.note is not None:
        lines.append(f"  note: {cost.note}")
    return "\n".join(lines)


def _shown_value(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace("$", ""))
    except ArithmeticError:
        return None


def _rate(value: Any) -> str:
    return "-" if value is None else _money.money_text(value)


def run_models(args: argparse.Namespace) -> int:
    from ..pricing._catalog import catalog
    from ..pricing._synced import source_label

    tables = catalog()
    models = tables.models_of(args.provider) if args.provider else tables.models
    rows: list[dict[str, Any]] = []
    for model in models:
        if args.at is not None and not model.known_at(args.at):
            continue  # not sold yet then, or the tables do not say since when
        if model.included:
            rates = None
        else:
            try:
                rates = model.rates_at(args.at)
            except PricingError:
                continue  # not priced yet on that date
        rows.append({
            "ref": model.ref,
            "provider": model.provider,
            "id": model.id,
            "aliases": list(model.aliases),
            "context_window": model.context_window,
            "max_output_tokens": model.max_output_tokens,
            "tokenizer": model.tokenizer,
            "effective": rates.effective if rates else None,
            "rates_per_million": {k: rates.per_million(k) for k in rates.per_token}
            if rates else {},
            "per_image": rates.per_image if rates else None,
            "per_request": rates.per_request if rates else None,
            "per_web_search": rates.per_web_search if rates else None,
            "prompt_tiers": [
                {"threshold": rule.label, "rates_per_million": dict(tier.per_million_tokens)}
                for rule, tier in rates.tiers
            ] if rates else [],
            "time_windows": [
                {"window": rule.label, "rates_per_million": dict(w.per_million_tokens)}
                for rule, w in rates.windows
            ] if rates else [],
            "service_tiers": list(model.service_tier_names),
            "same_as": model.same_as,
            "deprecated": model.deprecated,
            "retired": model.retired_at(args.at),
            "billing": model.billing,
            "canonical": model.canonical,
            "rates_source": model.rates_source,
            "checked": model.checked,
            "source": model.source,
            "bundled": _is_bundled(model.source),
            "from": source_label(model.source),
        })
    if not rows:
        return _nothing_in_force(
            args.at, f"at {args.provider}" if args.provider else "in the tables in use")
    if args.json:
        print_json(rows)
        return 0
    names = ["input", "output", "cache_read", "cache_write"]
    body = [
        [r["ref"], _limit(r["context_window"]), _limit(r["max_output_tokens"]),
         *(_rate(r["rates_per_million"].get(n)) if r["billing"] != "included" else "plan"
           for n in names),
         _status(r), r["from"]]
        for r in rows
    ]
    print(table(body, ["model", "context", "max out", "input/M", "output/M", "cache rd/M",
                       "cache wr/M", "status", "from"], right={1, 2, 3, 4, 5, 6}))
    return 0


def _status(row: dict[str, Any]) -> str:
    """``retired 2026-01-05``, ``retires 2027-01-05``, ``included``, ``free`` or ``-``."""
    deprecated = row["deprecated"]
    if deprecated is not None:
        return f"{'retired' if row['retired'] else 'retires'} {deprecated.isoformat()}"
    return row["billing"] or "-"


def _limit(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _is_bundled(source: str) -> bool:
    from pathlib import Path

    from ..pricing._bundle import bundled_pricing_dir

    return Path(source).parent == bundled_pricing_dir()


def run_compare(args: argparse.Namespace) -> int:
    from ..pricing._compare import compare

    rows = compare(args.model, _usage(args), at=args.at, service_tier=args.service_tier,
                   include_retired=args.include_retired)
    if not rows:
        return _nothing_in_force(args.at, f"for {args.model}")
    if args.json:
        print_json(rows)
        return 0
    body = [
        [r.provider, r.model, _money.display_money(r.total), _compare_note(r)]
        if isinstance(r, Cost) else [r.provider, r.model, "-", r.reason]
        for r in rows
    ]
    headers = ["provider", "model", "total", "note"]
    if not any(line[3] for line in body):
        body, headers = [line[:3] for line in body], headers[:3]
    print(table(body, headers, right={2}))
    return 0


def _compare_note(cost: Cost) -> str:
    notes = [f"prompt {cost.prompt_tier}"] if cost.prompt_tier else []
    if cost.time_window is not None:
        notes.append(cost.time_window)
    if cost.note is not None and "retired" in cost.note:
        notes.append("retired")
    return "; ".join(notes)


def _nothing_in_force(at: Any, what: str) -> int:
    """An empty result: said on stderr, exit status 1."""
    from ..pricing._model import as_day

    print(f"costbook: nothing had a price in force on {as_day(at).isoformat()} {what}",
          file=sys.stderr)
    return 1


def run_check(args: argparse.Namespace) -> int:
    import os

    from ..pricing._check import check_tables

    for path in args.paths or ():
        if not os.path.exists(path):
            raise BadInput("file", f"{path}: no such pricing table file or folder; give "
                           "a .yaml table or a folder of them")
    report = check_tables(args.paths or None)
    if args.pins:
        from ..pricing._pins import check_pins

        report.problems += check_pins(args.pins)
    stale = None
    if args.stale is not None:
        from ..pricing._stale import stale_models

        stale = stale_models(args.stale, args.paths or None)
    if args.json:
        print_json(report if stale is None else {**report.as_dict(), "stale": stale})
    else:
        for problem in report.problems:
            print(f"FAIL {printable(str(problem), lines=True)}", file=sys.stderr)
        status = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        print(f"{status}: {report.files} table file(s), {report.models} models, "
              f"{report.examples} documented examples verified")
        if stale is not None:
            print(format_stale(stale))
    return 0 if report.ok and (stale is None or stale.ok) else 1


def _days(text: str) -> int:
    if text.strip().isdigit():
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r} is not a number of days; write it like 90")


def format_stale(report: StaleReport) -> str:
    """Stale models per provider, oldest first, then those without a checked date."""
    lines = [f"stale: {report.count} model(s) last checked more than {report.days} day(s) "
             f"ago, before {report.before.isoformat()}"]
    for provider, models in sorted(report.stale.items()):
        lines.append(f"  {provider}: {len(models)}")
        for model_id, checked in sorted(models, key=lambda m: (m[1], m[0])):
            lines.append(f"    {model_id}  checked {checked.isoformat()} "
                         f"({(report.today - checked).days} days)")
    if report.unchecked:
        count = sum(len(ids) for ids in report.unchecked.values())
        lines.append(f"without a checked date: {count} model(s)")
        for provider, ids in sorted(report.unchecked.items()):
            lines.append(f"  {provider}: {', '.join(sorted(ids))}")
    return "\n".join(lines)


def run_schema(args: argparse.Namespace) -> int:
    from ..pricing._schema import table_json_schema

    print(json.dumps(table_json_schema(), indent=2))
    return 0
