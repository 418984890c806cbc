"""Import time and one warm price, costbook beside genai-prices, LiteLLM and tokencost.

Run: ``pip install -r benchmarks/requirements.txt`` then ``python benchmarks/bench_pricing.py``.
Peers that are not installed are reported as such. Ratios are to costbook (1.0x).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from _harness import import_seconds, per_call_seconds, print_table

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


if __name__ == "__main__":
    main()
