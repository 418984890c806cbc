"""Shared timing helpers for the benchmark scripts: best-of-N timings, import times."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

# LiteLLM fetches its price map over the network at import unless told to use its copy.
PEER_ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def per_call_seconds(fn: Callable[[], object], *, calls: int = 2000, rounds: int = 7) -> float:
    """The best (lowest) mean time of one call to ``fn`` over ``rounds`` rounds."""
    fn()  # warm up: caches, lazy loads
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def timed(fn: Callable[[], object]) -> float:
    """The time of one call to ``fn``."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def best(fn: Callable[[], object], rounds: int = 5) -> float:
    """The shortest time of one call to ``fn`` over ``rounds`` calls."""
    return min(timed(fn) for _ in range(rounds))


def import_seconds(module: str, *, rounds: int = 7) -> float | None:
    """The median time to import ``module`` in a fresh interpreter, less a bare start-up;
    None when the module is not installed."""
    return cold_seconds(f"import {module}", rounds=rounds)


def cold_seconds(code: str, *, rounds: int = 7) -> float | None:
    """The median time to run ``code`` in a fresh interpreter, less a bare start-up; None
    when it fails (a peer not installed)."""
    def run(text: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", text], check=True, env=PEER_ENV,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    try:
        run(code)
    except subprocess.CalledProcessError:
        return None
    bare = statistics.median(run("pass") for _ in range(rounds))
    loaded = statistics.median(run(code) for _ in range(rounds))
    return max(loaded - bare, 0.0)


def fmt_seconds(seconds: float | None) -> str:
    """Seconds in the unit that reads best."""
    if seconds is None:
        return "not installed"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.2f} µs"


def print_table(title: str, rows: list[tuple[str, float | None]], base: float | None) -> None:
    """Print ``rows`` of (name, seconds) with each one's ratio to ``base``."""
    print(f"\n{title}")
    for name, seconds in rows:
        ratio = "" if seconds is None or not base else f"{seconds / base:8.1f}x"
        print(f"  {name:<34}{fmt_seconds(seconds):>14}  {ratio}")
