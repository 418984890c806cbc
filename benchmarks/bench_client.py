"""The overhead of a tracked call over an untracked one, against a local server.

Run: ``python benchmarks/bench_client.py``. Both clients call the same local
OpenAI-compatible server on 127.0.0.1 (the one costbook's tests use); the difference per call
is what tracking adds: estimating the request (counting its tokens), pricing the answer and
recording it in a SQLite ledger.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import costbook
from fake_llm_server import FakeLLMServer

MESSAGES = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "Give me one tip for writing clear commit messages."},
]


def per_call(create, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=50)
    return (time.perf_counter() - start) / calls


def main(calls: int = 300, rounds: int = 5) -> None:
    with FakeLLMServer() as server, tempfile.TemporaryDirectory() as folder:
        ledger = costbook.Ledger(Path(folder) / "bench.sqlite")
        plain = server.client()
        tracked = costbook.track(server.client(), ledger=ledger, provider="openai")
        for create in (plain.chat.completions.create, tracked.chat.completions.create):
            per_call(create, 20)  # warm up: connections, tokenizer, tables
        plain_best = tracked_best = float("inf")
        for _ in range(rounds):  # interleaved, so both see the same machine load
            plain_best = min(plain_best, per_call(plain.chat.completions.create, calls))
            tracked_best = min(tracked_best, per_call(tracked.chat.completions.create, calls))
        recorded = len(ledger.entries())
    overhead = tracked_best - plain_best
    print(f"untracked call            {plain_best * 1e3:8.3f} ms")
    print(f"tracked call              {tracked_best * 1e3:8.3f} ms")
    print(f"overhead per call         {overhead * 1e3:8.3f} ms  "
          f"({tracked_best / plain_best:.2f}x; {recorded} entries recorded)")


if __name__ == "__main__":
    main()
