"""The overhead of a tracked call over an untracked one, against a local server.

Run: ``python benchmarks/bench_client.py``. Both clients call the same local server on
127.0.0.1 (the one costbook's tests use, which speaks the OpenAI and Anthropic protocols);
the difference per call is what tracking adds: estimating the request (counting its
tokens), pricing the answer and recording it in a SQLite ledger. Measured for the openai
SDK and, when it is installed, the anthropic SDK.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import costbook
import fake_anthropic_server
from fake_llm_server import FakeLLMServer

MESSAGES = [
    {"role": "system", "content": "You are a concise assistant."},
    {"role": "user", "content": "Give me one tip for writing clear commit messages."},
]


CLAUDE_BODY = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 50,
    "system": "You are a concise assistant.",
    "messages": [{"role": "user",
                  "content": "Give me one tip for writing clear commit messages."}],
}


def per_call(create, calls: int, body: dict) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        create(**body)
    return (time.perf_counter() - start) / calls


def timed(create, body: dict) -> float:
    start = time.perf_counter()
    create(**body)
    return time.perf_counter() - start


def compare(name: str, plain, tracked, body: dict, ledger, calls: int, rounds: int) -> None:
    for create in (plain, tracked):
        per_call(create, 20, body)  # warm up: connections, tokenizer, tables
    plain_times: list[float] = []
    tracked_times: list[float] = []
    for _ in range(calls * rounds):  # call by call in turn: both see the same machine load
        plain_times.append(timed(plain, body))
        tracked_times.append(timed(tracked, body))
    recorded = len(ledger.entries())
    plain_median = statistics.median(plain_times)
    tracked_median = statistics.median(tracked_times)
    overhead = statistics.median(t - p for t, p in zip(tracked_times, plain_times, strict=True))
    print(f"\n{name}")
    print(f"  untracked call (median) {plain_median * 1e3:8.3f} ms")
    print(f"  tracked call (median)   {tracked_median * 1e3:8.3f} ms")
    print(f"  overhead per call       {overhead * 1e3:8.3f} ms  (median of the "
          f"{len(plain_times)} differences; {tracked_median / plain_median:.2f}x; "
          f"{recorded} entries recorded)")


def main(calls: int = 300, rounds: int = 5) -> None:
    with FakeLLMServer() as server, tempfile.TemporaryDirectory() as folder:
        ledger = costbook.Ledger(Path(folder) / "bench.sqlite")
        tracked = costbook.track(server.client(), ledger=ledger, provider="openai")
        compare("openai SDK, chat.completions.create", server.client().chat.completions.create,
                tracked.chat.completions.create,
                {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 50},
                ledger, calls, rounds)
        try:
            import anthropic  # noqa: F401
        except ImportError:
            print("\nanthropic SDK: not installed")
            return
        claude_ledger = costbook.Ledger(Path(folder) / "bench-anthropic.sqlite")
        claude = costbook.track(fake_anthropic_server.client(server), ledger=claude_ledger,
                                provider="anthropic")
        compare("anthropic SDK, messages.create",
                fake_anthropic_server.client(server).messages.create,
                claude.messages.create, CLAUDE_BODY, claude_ledger, calls, rounds)


if __name__ == "__main__":
    main()
