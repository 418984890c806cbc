"""Token counting speed: costbook against raw tiktoken on the same input, as ratios.

Raw tiktoken is tiktoken's own ``get_encoding``, loading the same vocabulary files from a
temporary tiktoken cache (nothing is downloaded). Cases:

- a 1 MB text: ``costbook.count_tokens`` against ``len(encoding.encode_ordinary(text))``;
- a 50-message conversation: ``costbook.count_message_tokens`` against the same message
  rule written as a plain loop over raw tiktoken;
- the one-time cost of building an encoding, each in a fresh process with the modules
  already imported (tiktoken's from its warm cache; costbook's from the packaged, gzipped
  vocabulary, whose hash it checks).

Run: ``python benchmarks/bench_tokens.py``. Times are the best of several runs.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tiktoken

import costbook
from costbook.tokens._encodings import read_vocabulary

MODEL = "gpt-4o-mini"
ENCODING = "o200k_base"


def tiktoken_cache() -> str:
    """A tiktoken cache folder holding the packaged vocabularies under tiktoken's keys."""
    from tiktoken_ext import openai_public

    folder = tempfile.mkdtemp(prefix="bench-tiktoken-")
    for name in ("o200k_base", "cl100k_base"):
        source = inspect.getsource(openai_public.ENCODING_CONSTRUCTORS[name])
        match = re.search(rf'"(https://[^"]+/{name}\.tiktoken)"', source)
        assert match is not None
        key = hashlib.sha1(match.group(1).encode()).hexdigest()
        Path(folder, key).write_bytes(read_vocabulary(name))
    return folder


def text_of(size: int, seed: int = 1) -> str:
    words = [
        "the", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog", "while", "costs",
        "are", "counted", "in", "exact", "decimals", "and", "tokens", "offline", "2024", "3.14",
        "def", "return", "{}", "[]", "お誕生日", "🎉",
    ]
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(words)
        sep = "\n" if rng.random() < 0.05 else " "
        parts.append(word + sep)
        length += len(word) + 1
    return "".join(parts)[:size]


def conversation(count: int = 50) -> list[dict[str, str]]:
    rng = random.Random(2)
    messages = [{"role": "system", "content": text_of(400, seed=0)}]
    for index in range(1, count):
        role = "user" if index % 2 else "assistant"
        message = {"role": role, "content": text_of(rng.randint(100, 2_000), seed=index)}
        if index % 7 == 0:
            message["name"] = "example_user"
        messages.append(message)
    return messages


def raw_message_count(encoding: Any, messages: list[dict[str, str]]) -> int:
    total = 0
    for message in messages:
        total += 3
        for key, value in message.items():
            total += len(encoding.encode_ordinary(value))
            if key == "name":
                total += 1
    return total + 3


def best(fn: Callable[[], object], runs: int, loops: int = 1) -> float:
    """The best time of ``runs`` runs of ``loops`` calls, in seconds per call."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter() - start) / loops)
    return min(times)


def paired(ours: Callable[[], object], theirs: Callable[[], object], runs: int,
           loops: int = 1) -> tuple[float, float]:
    """Best times of two functions, run in alternation so that both see the same machine."""
    ours_best, theirs_best = float("inf"), float("inf")
    for _ in range(runs):
        theirs_best = min(theirs_best, best(theirs, 1, loops))
        ours_best = min(ours_best, best(ours, 1, loops))
    return ours_best, theirs_best


def load_time(code: str, env: dict[str, str], runs: int = 3) -> float:
    """Best time of ``code`` (which prints seconds) in fresh processes."""
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True).stdout
        results.append(float(out))
    return min(results)


def main() -> None:
    cache = tiktoken_cache()
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": cache}
    os.environ["TIKTOKEN_CACHE_DIR"] = cache
    reference = tiktoken.get_encoding(ENCODING)
    costbook.count_tokens("warm up", MODEL)

    text = text_of(1_000_000)
    assert costbook.count_tokens(text, MODEL) == len(reference.encode_ordinary(text))
    text_ours, text_theirs = paired(
        lambda: costbook.count_tokens(text, MODEL),
        lambda: len(reference.encode_ordinary(text)),
        runs=7,
    )

    messages = conversation()
    assert costbook.count_message_tokens(messages, MODEL) == raw_message_count(reference, messages)
    chat_ours, chat_theirs = paired(
        lambda: costbook.count_message_tokens(messages, MODEL),
        lambda: raw_message_count(reference, messages),
        runs=25,
        loops=40,
    )

    # imports are done before the clock starts: this is the load alone
    timer = "import time, tiktoken; {}; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
    loads = []
    for name in ("o200k_base", "cl100k_base"):
        ours = load_time(timer.format(
            "from costbook.tokens._encodings import encoding", f"encoding({name!r})"), env)
        theirs = load_time(timer.format("pass", f"tiktoken.get_encoding({name!r})"), env)
        loads.append((name, ours, theirs))

    tokens = costbook.count_tokens(text, MODEL)
    chat_tokens = costbook.count_message_tokens(messages, MODEL)
    rows = [
        (f"1 MB text ({tokens:,} tokens)", text_ours, text_theirs),
        (f"50-message conversation ({chat_tokens:,} tokens)", chat_ours, chat_theirs),
        *((f"load {name}, one time (fresh process)", ours, theirs)
          for name, ours, theirs in loads),
    ]
    print(f"Python {sys.version.split()[0]}, tiktoken {tiktoken.__version__}, "
          f"{os.cpu_count()} CPUs; best of several runs\n")
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'costbook':>11}  {'tiktoken':>11}  {'ratio':>6}")
    print(f"{'-' * width}  {'-' * 11}  {'-' * 11}  {'-' * 6}")
    for label, ours, theirs in rows:
        print(f"{label:<{width}}  {ours * 1e3:>8.2f} ms  {theirs * 1e3:>8.2f} ms  "
              f"{ours / theirs:>6.3f}")


if __name__ == "__main__":
    main()
