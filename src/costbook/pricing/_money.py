"""Money as text: exact for machines, rounded only for display."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, Inexact, InvalidOperation, Overflow, Rounded

_EXACT = Context(prec=1000, traps=[Inexact, Rounded, InvalidOperation, Overflow])

MILLION = Decimal(1_000_000)


def money_text(amount: Decimal) -> str:
    """The exact amount in plain notation, without trailing zeros: ``Decimal('0.021000')``
    gives ``'0.021'``, never ``'2.1E-2'``."""
    if amount == 0:
        return "0"
    return format(amount.normalize(), "f")


def display_money(amount: Decimal, *, places: int = 4) -> str:
    """A dollar amount for people: rounded to ``places`` decimals, but never showing a
    non-zero amount as zero (small amounts keep their first significant digits)."""
    if amount == 0:
        return "$0"
    sign = "-" if amount < 0 else ""
    magnitude = abs(amount)
    quantum = Decimal(1).scaleb(-places)
    rounded = magnitude.quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded == 0:
        # e.g. 0.0000015: show two significant digits instead of $0.0000
        exponent = magnitude.adjusted() - 1
        rounded = magnitude.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)
        return f"{sign}${format(rounded.normalize(), 'f')}"
    return f"{sign}${format(rounded, 'f')}"


def parse_amount(text: str) -> Decimal:
    """A money amount typed by a person: ``1``, ``0.25``, ``$0.25``. Raises ValueError."""
    cleaned = text.strip().removeprefix("$").replace("_", "")
    try:
        value = Decimal(cleaned)
    except ArithmeticError:
        raise ValueError(f"{text!r} is not an amount of money; write it like 0.25 or $1") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite amount of money")
    return value


def usd(amount: Decimal) -> str:
    """An exact amount for people: ``$0.90``, ``$1.00``, ``$0.00027`` (cents always shown,
    further digits only where the amount has them; never rounded)."""
    exponent = amount.normalize(_EXACT).as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        text = format(amount.quantize(Decimal("0.01"), context=_EXACT), "f")
    else:
        text = money_text(amount)
    return f"-${text[1:]}" if text.startswith("-") else f"${text}"
