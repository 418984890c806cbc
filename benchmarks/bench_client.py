"""The overhead of a tracked call over an untracked one, against a local server.

Run: ``python benchmarks/bench_client.py``. Both clients call the same local server on
127.0.0.1 (the one costbook's tests use, which speaks the OpenAI and Anthropic protocols),
run in a process of its own as a provider's API would be; the difference per call is what
tracking adds: estimating the request (counting its tokens), reading and pricing the
answer, and recording it in a SQLite ledger. Measured for the openai SDK and, when it is
installed, the anthropic SDK; then, in a pass of its own (timing each part slows the
call a little), where the tracked call's own time goes.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import openai
from _harness import timed

import costbook
from fake_llm_server import API_KEY

TESTS = Path(__file__).parents[1] / "tests"

SERVE = (
    "import sys; sys.path.insert(0, sys.argv[1]); from fake_llm_server import FakeLLMServer; "
    "server = FakeLLMServer().start(); print(server.port, flush=True); sys.stdin.read()"
)

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


def compare(name: str, plain, tracked, body: dict, ledger, calls: int, rounds: int) -> None:
    for _ in range(20):  # warm up: connections, tokenizer, tables
        plain(**body)
        tracked(**body)
    plain_times: list[float] = []
    tracked_times: list[float] = []
    for _ in range(calls * rounds):  # call by call in turn: both see the same machine load
        plain_times.append(timed(lambda: plain(**body)))
        tracked_times.append(timed(lambda: tracked(**body)))
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


@contextmanager
def local_server() -> Iterator[str]:
    """The local server's URL, served by a process of its own while the block runs."""
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(TESTS)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield f"http://127.0.0.1:{int(process.stdout.readline())}"
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=10)


def openai_client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=API_KEY, max_retries=0, timeout=10.0)


def anthropic_client(url: str) -> Any:
    import anthropic

    return anthropic.Anthropic(base_url=url, api_key=API_KEY, max_retries=0, timeout=10.0)


PARTS = (  # (what it is, module, attribute): the parts of a tracked call's own work
    ("before sending (the estimate)", "costbook.client._call", "_Call.begin"),
    ("before sending (the estimate)", "costbook.client._anthropic", "_begin"),
    ("reading the answer's usage", "costbook.client._call", "usage_from_response"),
    ("pricing the answer", "costbook.client._call", "answer_cost"),
    ("building the entry", "costbook.ledger._ledger", "make_entry"),
    ("the ledger write (SQLite)", "costbook.ledger._ledger", "Ledger.keep"),
)


def parts(create: Callable[..., Any], body: dict, calls: int) -> None:
    """Where a tracked call's own time goes: each part timed as it runs (median)."""
    import importlib

    times: dict[str, list[float]] = {}
    undo = []
    for name, module, attribute in PARTS:
        owner: Any = importlib.import_module(module)
        *path, function = attribute.split(".")
        for step in path:
            owner = getattr(owner, step)
        original = owner.__dict__[function]
        inner = original.__func__ if isinstance(original, classmethod) else original

        def timed_part(*args: Any, _inner: Any = inner, _name: str = name,
                       **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return _inner(*args, **kwargs)
            finally:
                times.setdefault(_name, []).append(time.perf_counter() - start)

        setattr(owner, function,
                classmethod(timed_part) if isinstance(original, classmethod) else timed_part)
        undo.append((owner, function, original))
    try:
        for _ in range(calls):
            create(**body)
    finally:
        for owner, function, original in undo:
            setattr(owner, function, original)
    for name, found in times.items():
        print(f"    {name:32s} {statistics.median(found) * 1e3:6.3f} ms")


def main(calls: int = 300, rounds: int = 5) -> None:
    with local_server() as url, tempfile.TemporaryDirectory() as folder:
        ledger = costbook.Ledger(Path(folder) / "bench.sqlite")
        tracked = costbook.track(openai_client(url), ledger=ledger, provider="openai")
        body = {"model": "gpt-4o-mini", "messages": MESSAGES, "max_tokens": 50}
        compare("openai SDK, chat.completions.create", openai_client(url).chat.completions.create,
                tracked.chat.completions.create, body, ledger, calls, rounds)
        print("  where the tracked call's own time goes (median of each part):")
        parts(tracked.chat.completions.create, body, calls)
        try:
            import anthropic  # noqa: F401
        except ImportError:
            print("\nanthropic SDK: not installed")
            return
        claude_ledger = costbook.Ledger(Path(folder) / "bench-anthropic.sqlite")
        claude = costbook.track(anthropic_client(url), ledger=claude_ledger,
                                provider="anthropic")
        compare("anthropic SDK, messages.create", anthropic_client(url).messages.create,
                claude.messages.create, CLAUDE_BODY, claude_ledger, calls, rounds)
        print("  where the tracked call's own time goes (median of each part):")
        parts(claude.messages.create, CLAUDE_BODY, calls)


if __name__ == "__main__":
    main()
