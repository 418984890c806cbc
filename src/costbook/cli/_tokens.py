"""Token commands: ``count`` a text, and ``estimate --request`` for a saved request body."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from ..pricing import _money
from ._common import USAGE_PARTS, print_json, read_text

if TYPE_CHECKING:
    from ..tokens._estimate import Estimate


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("count", help="count the tokens of a text file or standard input")
    p.add_argument("file", nargs="?", default="-", metavar="FILE",
                   help="a UTF-8 text file, or - for standard input (default)")
    p.add_argument("--model", required=True, help="a model ref: gpt-4o-mini, claude-3-5-haiku")
    p.add_argument("--provider", help="who sells the model (default: the model's maker)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run_count)


def run_count(args: argparse.Namespace) -> int:
    from ..pricing._catalog import catalog
    from ..tokens._tokens import counter_for

    model = catalog().resolve(args.model, args.provider)
    text = read_text(args.file)
    counter = counter_for(model)
    tokens = counter.count(text)
    if args.json:
        print_json({
            "model": model.id,
            "provider": model.provider,
            "tokenizer": model.tokenizer,
            "exact": counter.exact,
            "characters": len(text),
            "tokens": tokens,
        })
    else:
        print(f"{tokens} tokens  ({model.ref}, {counter.method})")
    return 0


def run_request_estimate(args: argparse.Namespace) -> int:
    """``costbook estimate --request FILE``: estimate a request body saved as JSON."""
    from ..tokens._estimate import estimate_request

    if args.model is not None:
        raise ValueError(
            "--request takes the model from the request body; leave out MODEL"
        )

    given = [f"--{flag}" for flag, field in USAGE_PARTS if getattr(args, field, 0)]
    given += ["--image"] if getattr(args, "image_sizes", None) else []
    if given:
        raise ValueError(
            f"--request counts the usage from the request body; leave out {', '.join(given)}"
        )
    too_deep = ValueError(f"{args.request} is nested too deeply to be a request body")
    try:
        body = json.loads(read_text(args.request, "JSON"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{args.request} is not JSON: {exc}") from None
    except RecursionError:
        raise too_deep from None
    try:
        estimate = estimate_request(body, provider=args.provider, at=args.at,
                                    service_tier=args.service_tier)
    except RecursionError:
        raise too_deep from None
    if args.json:
        print_json(estimate)
    else:
        print(format_estimate(estimate))
    return 0


def format_estimate(estimate: Estimate) -> str:
    """An estimate for people: the counts, then the low and high cost."""
    display = _money.display_money
    rows = [
        ("input tokens", f"{estimate.input_tokens:,}"),
        ("images", f"{estimate.images:,}"),
        ("max output tokens", f"{estimate.max_output_tokens:,}"),
        *([("choices (n)", f"{estimate.n:,}")] if estimate.n > 1 else []),
        ("context window", f"{estimate.context_window:,}"),
        ("low (no output)", display(estimate.low.total)),
        ("high (max output)", display(estimate.high.total)),
    ]
    lines = [f"{estimate.ref}  ({'exact' if estimate.exact else 'approximate'})"]
    lines += [f"  {label:<19}{value:>14}" for label, value in rows]
    lines += [f"  ~ {note}" for note in estimate.approximations]
    return "\n".join(lines)
