from decimal import Decimal

import pytest

from costbook.pricing._money import display_money, money_text, parse_amount, usd


@pytest.mark.parametrize(
    ("amount", "text"),
    [("0.021000", "0.021"), ("2.10", "2.1"), ("100", "100"), ("1E+2", "100"),
     ("0.0000001500", "0.00000015"), ("0", "0"), ("0E-8", "0")],
)
def test_money_text_is_exact_and_plain(amount, text):
    assert money_text(Decimal(amount)) == text


@pytest.mark.parametrize(
    ("amount", "text"),
    [("0.021", "$0.0210"), ("2.1", "$2.1000"), ("0.00001", "$0.00001"),
     ("0.0000015", "$0.0000015"), ("0.000123456", "$0.0001"), ("0", "$0"),
     ("-0.5", "-$0.5000")],
)
def test_display_never_shows_a_non_zero_cost_as_zero(amount, text):
    assert display_money(Decimal(amount)) == text


def test_parse_amount():
    assert parse_amount("$1.50") == Decimal("1.50")
    assert parse_amount("0.30") == Decimal("0.30")
    with pytest.raises(ValueError, match="not an amount of money"):
        parse_amount("ten dollars")
    with pytest.raises(ValueError, match="not a finite"):
        parse_amount("NaN")


@pytest.mark.parametrize(
    ("amount", "text"),
    [("0.9", "$0.90"), ("1", "$1.00"), ("0.00027000", "$0.00027"), ("0", "$0.00"),
     ("-0.5", "-$0.50"), ("1E+2", "$100.00"), ("12.3456789", "$12.3456789"),
     ("-0.000001", "-$0.000001")],
)
def test_usd_shows_cents_and_every_further_digit(amount, text):
    assert usd(Decimal(amount)) == text
