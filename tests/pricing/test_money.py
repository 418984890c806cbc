from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# Amounts with zeros past their last digit, tiny and huge amounts: formatting never raises
# and never changes the amount.
ODD_AMOUNTS = ["10.000", "0.030", "0.100", "0.0150", "1E-30", "1E+30", str(10**40),
               "-0.100", "12345678901234567890.123456789012345", "1E+999999999",
               "1E-999999999", "-1E+999999999", "0E+30", "0E-40"]


@pytest.mark.parametrize("amount", ODD_AMOUNTS)
def test_money_text_keeps_every_amount_exactly(amount):
    text = money_text(Decimal(amount))
    assert Decimal(text) == Decimal(amount)
    assert len(text) < 120


@pytest.mark.parametrize(
    ("amount", "text"),
    [("10.000", "$10.00"), ("0.030", "$0.03"), ("0.100", "$0.10"), ("-0.100", "-$0.10"),
     ("1E-30", "$0.000000000000000000000000000001"), ("1E+30", "$1" + "0" * 30 + ".00"),
     (str(10**40), "$1" + "0" * 40 + ".00"), ("1E+999999999", "$1E+999999999"),
     ("1E-999999999", "$1E-999999999"), ("0E+30", "$0.00"),
     ("12345678901234567890.123456789012345", "$12345678901234567890.123456789012345")],
)
def test_usd_of_odd_amounts(amount, text):
    assert usd(Decimal(amount)) == text


@pytest.mark.parametrize(
    ("amount", "text"),
    [("10.000", "$10.0000"), ("0.030", "$0.0300"), ("1E-30", "$0.000000000000000000000000000001"),
     ("1E+30", "$1" + "0" * 30 + ".0000"), ("1E+999999999", "$1E+999999999"),
     ("-1E-999999999", "-$1E-999999999"),
     ("12345678901234567890.123456789012345", "$12345678901234567890.1235")],
)
def test_display_money_of_odd_amounts(amount, text):
    assert display_money(Decimal(amount)) == text


def test_parse_amount_refuses_absurd_amounts():
    with pytest.raises(ValueError, match="more than"):
        parse_amount("1E+999999")
    with pytest.raises(ValueError, match="more than"):
        parse_amount("9" * 40)
    assert parse_amount("1E-30") == Decimal("1E-30")
    assert parse_amount("0.100") == Decimal("0.100")


@given(st.decimals(allow_nan=False, allow_infinity=False))
@settings(max_examples=300, deadline=None)
def test_formatting_money_never_raises(amount):
    assert Decimal(money_text(amount)) == amount
    assert usd(amount).replace("$", "")
    assert display_money(amount).replace("$", "")


def test_parse_amount_refuses_digits_past_any_price():
    with pytest.raises(ValueError, match="more than 100 decimal places"):
        parse_amount("1e-999999999")
    assert parse_amount("1E-100") == Decimal("1E-100")
    assert parse_amount("0.1" + "0" * 150) == Decimal("0.1")
    assert str(parse_amount("0E-2000")) == "0"


def test_short_amounts_are_written_as_the_general_rule_writes_them():
    import random

    from costbook.pricing import _money

    def general(amount: Decimal) -> str:
        tidy = _money._tidy(amount)
        return _money._plain(tidy) or str(tidy)

    pick = random.Random(20)
    amounts = [Decimal("0"), Decimal("-0"), Decimal("0E-50"), Decimal("1E+40"),
               Decimal("-1E-40"), Decimal("100"), Decimal("1.000"), Decimal("-0.00100")]
    for _ in range(20_000):
        digits = "".join(pick.choice("0123456789") for _ in range(pick.randint(1, 45)))
        amounts.append(Decimal(f"{pick.choice('+-')}{digits}E{pick.randint(-60, 60)}"))
    assert [money_text(a) for a in amounts] == [general(a) for a in amounts]
