"""``costbook record-batch``: a batch's results recorded in a ledger."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from ._common import print_json, read_text


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "record-batch", help="record a batch's results in a ledger, at batch rates",
        description="Record the results of an OpenAI Batch (its output file, JSONL) or of "
        "Anthropic Message Batches (its results, JSONL) in a ledger: one entry per request, "
        "its custom_id as the request id, priced at the model's batch service tier. "
        "Results recorded before are left alone, so a file can be recorded again safely.",
    )
    p.add_argument("file", metavar="FILE",
                   help="the batch's results, one JSON object a line (- for standard input)")
    p.add_argument("--provider", required=True,
                   help="who billed the batch: openai, azure, anthropic, ...")
    p.add_argument("--ledger", metavar="PATH",
                   help="ledger file or postgresql:// URL (default: $COSTBOOK_LEDGER, else "
                   "ledger.sqlite in the user data directory)")
    p.add_argument("--tag", dest="tags", action="append", type=_tag, metavar="KEY=VALUE",
                   help="put this tag on every entry recorded (repeatable)")
    p.add_argument("--json", action="store_true",
                   help="print JSON (recorded, already, failed, unpriced counts and the "
                   "total in USD as an exact string)")
    p.set_defaults(run=run_record_batch)


def _tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not a tag; write it as KEY=VALUE")
    return key.strip(), value


def run_record_batch(args: argparse.Namespace) -> int:
    from ..client._batches import record_batch
    from ..ledger._ledger import Ledger
    from ..pricing._money import usd

    results: Any = (read_text("-", "batch results") if args.file == "-"
                    else Path(args.file))
    with Ledger(args.ledger) as ledger, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        done = record_batch(results, provider=args.provider, ledger=ledger,
                            tags=dict(args.tags or ()))
    for warning in caught:
        sys.stderr.write(f"costbook: warning: {warning.message}\n")
    if args.json:
        print_json(done)
        return 0
    print(f"recorded {len(done.entries)} request(s), {usd(done.total)} at batch rates")
    if done.already:
        print(f"already in the ledger: {done.already} (left alone)")
    if done.failed:
        print(f"failed, not billed: {done.failed} (recorded as errors at $0)")
    if done.unpriced:
        print(f"unpriced: {done.unpriced} (no batch rates for their model)")
    return 0
