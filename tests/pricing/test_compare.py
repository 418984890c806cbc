"""One model at every provider that sells it."""

from datetime import date
from decimal import Decimal

from costbook import Cost, Usage
from costbook.pricing._compare import Unpriced, compare


def test_a_provider_that_cannot_price_a_part_gets_a_row_saying_which_and_why():
    rows = compare("gpt-4o-mini", Usage(input_tokens=1_000_000, images=2))
    assert (rows[0].provider, type(rows[0])) == ("openrouter", Cost)
    assert all(type(r) is Unpriced for r in rows[1:])
    unpriced = {r.provider: r.reason for r in rows[1:]}
    assert {"openai", "requesty", "github-copilot"} <= set(unpriced)
    assert rows[0].items == {"input": Decimal("0.15"), "image": Decimal("0.000434")}
    assert unpriced["openai"].startswith(
        "openai:gpt-4o-mini bills input images as input tokens, so 2 image(s) cannot be "
        "priced by count")


def test_a_provider_without_a_price_in_force_on_the_date_is_left_out():
    assert compare("gpt-4o-mini", Usage(input_tokens=1000), at=date(2024, 7, 1)) == []
    assert {r.provider for r in compare("o3", Usage(input_tokens=1000), at=date(2025, 6, 9))} \
        >= {"openai"}
