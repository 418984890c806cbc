"""Import time, the cold first price, warm prices and the wheel's size, costbook beside
genai-prices, LiteLLM and tokencost.

Run: ``pip install . -r benchmarks/requirements.txt`` (a plain install: the compiled tables
an installed costbook reads) then ``python benchmarks/bench_pricing.py``. Peers that are not
installed are reported as such. Ratios are to costbook (1.0x).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from _harness import cold_seconds, import_seconds, per_call_seconds, print_table

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def costbook_price() -> Callable[[], object]:
    import costbook

    return lambda: costbook.estimate("gpt-4o-mini", input_tokens=1000, output_tokens=100)


def genai_prices_price() -> Callable[[], object]:
    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=1000, output_tokens=100)
    return lambda: calc_price(usage, model_ref="gpt-4o-mini", provider_id="openai")


def litellm_price() -> Callable[[], object]:
    import litellm

    return lambda: litellm.cost_per_token(
        model="gpt-4o-mini", prompt_tokens=1000, completion_tokens=100
    )


def tokencost_price() -> Callable[[], object]:
    import tokencost

    def both() -> object:
        return tokencost.calculate_cost_by_tokens(
            1000, "gpt-4o-mini", "input"
        ) + tokencost.calculate_cost_by_tokens(100, "gpt-4o-mini", "output")

    return both


PEERS = [
    ("costbook", "costbook", costbook_price),
    ("genai-prices", "genai_prices", genai_prices_price),
    ("LiteLLM", "litellm", litellm_price),
    ("tokencost", "tokencost", tokencost_price),
]


# The first price in a fresh interpreter, import included: an OpenRouter model (the
# largest table) by each library's own API.
COLD = [
    ("costbook", "import costbook\n"
     "costbook.estimate('openai/gpt-4o-mini', provider='openrouter', input_tokens=1000, "
     "output_tokens=100)"),
    ("genai-prices", "from genai_prices import Usage, calc_price\n"
     "calc_price(Usage(input_tokens=1000, output_tokens=100), model_ref='openai/gpt-4o-mini', "
     "provider_id='openrouter')"),
    ("LiteLLM", "import litellm\n"
     "litellm.cost_per_token(model='openrouter/openai/gpt-4o-mini', prompt_tokens=1000, "
     "completion_tokens=100)"),
]


def costbook_tiered() -> Callable[[], object]:
    import costbook

    usage = costbook.Usage(input_tokens=300_000, cache_read_tokens=100_000, output_tokens=1000)
    return lambda: costbook.price(usage, "claude-sonnet-4-5")


def genai_prices_tiered() -> Callable[[], object]:
    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=300_000, cache_read_tokens=100_000, output_tokens=1000)
    return lambda: calc_price(usage, model_ref="claude-sonnet-4-5", provider_id="anthropic")


def costbook_openrouter() -> Callable[[], object]:
    import costbook

    usage = costbook.Usage(input_tokens=1000, output_tokens=100)
    return lambda: costbook.price(usage, "openai/gpt-4o-mini", provider="openrouter")


def genai_prices_openrouter() -> Callable[[], object]:
    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=1000, output_tokens=100)
    return lambda: calc_price(usage, model_ref="openai/gpt-4o-mini", provider_id="openrouter")


def wheel_sizes() -> list[tuple[str, int | None]]:
    """The size in bytes of costbook's wheel (built from this tree) and genai-prices'."""
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    sizes: list[tuple[str, int | None]] = []
    root = Path(__file__).resolve().parents[1]
    for name, source in (("costbook", str(root)), ("genai-prices", "genai-prices")):
        with tempfile.TemporaryDirectory() as folder:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", folder,
                 source], capture_output=True, text=True)
            wheels = list(Path(folder).glob("*.whl"))
            sizes.append((name, wheels[0].stat().st_size if done.returncode == 0 and wheels
                          else None))
    return sizes


def main() -> None:
    imports = [(name, import_seconds(module)) for name, module, _ in PEERS]
    print_table("import time (fresh interpreter, less bare start-up)", imports, imports[0][1])
    prices: list[tuple[str, float | None]] = []
    for name, _, make in PEERS:
        try:
            fn = make()
        except ImportError:
            prices.append((name, None))
            continue
        prices.append((name, per_call_seconds(fn, calls=500 if name != "costbook" else 20000)))
    print_table("one warm price of gpt-4o-mini (1,000 in, 100 out)", prices, prices[0][1])
    cold = [(name, cold_seconds(code)) for name, code in COLD]
    print_table("cold first price of openrouter:openai/gpt-4o-mini (fresh interpreter, import "
                "included, less bare start-up)", cold, cold[0][1])
    for title, pairs in (
        ("warm price at OpenRouter (the largest table)",
         [("costbook", costbook_openrouter), ("genai-prices", genai_prices_openrouter)]),
        ("warm price past a prompt-size tier (claude-sonnet-4-5, 300K in)",
         [("costbook", costbook_tiered), ("genai-prices", genai_prices_tiered)]),
    ):
        rows: list[tuple[str, float | None]] = []
        for name, make in pairs:
            try:
                fn = make()
            except ImportError:
                rows.append((name, None))
                continue
            rows.append((name, per_call_seconds(fn, calls=500 if name != "costbook" else 20000)))
        print_table(title, rows, rows[0][1])
    print("\nwheel size")
    sizes = wheel_sizes()
    base = sizes[0][1]
    for name, size in sizes:
        ratio = f"{size / base:8.2f}x" if size and base else ""
        shown = "not built" if size is None else f"{size / 1024:,.0f} KiB"
        print(f"  {name:<34}{shown:>14}  {ratio}")


if __name__ == "__main__":
    main()
